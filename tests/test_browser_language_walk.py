"""Every page each demo role can reach, in Chinese mode in Chromium, reads Chinese: no English words and no raw ids
(unit codes like ``zhuhui-s001``, process keys, log-in ids, event kinds) in the visible text, outside a short list of
proper nouns. The demo is driven until inboxes hold work (a launch issued and set up down to a school, a semester's
routine and a training started, an appointment to register); each role's pages are found the way a person finds
them, by following the links of the pages it sees, plus one task page per kind of task in its inbox. The API's
error answers (401, 403, 404, 400) to a Chinese caller say what went wrong in Chinese.

Text marked ``translate="no"`` is engine data an administrator reads as it is (element ids, JSON variables, a
decision table's cells, a form's id); it is not checked. Every page is walked, the editors included, and no page or
API answer is excused."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from urllib.parse import urljoin, urlsplit

import pytest
from selenium.common.exceptions import TimeoutException
from werkzeug.exceptions import HTTPException
from werkzeug.routing import MapAdapter

from engine.bootstrap import Huhua
from engine.commands import ENGINE, SetPassword, StartInstance
from engine.web import create_app
from tests.helpers import page_wait, served_in_thread, token_headers
from tests.library.conftest import complete
from tests.library.test_ct_training import PLAN as TRAINING_PLAN
from tests.library.test_launch import APPROVE, HEAD_APPROVES, NOTICE, SETUP
from tests.test_browser import ARTIFACTS, PASSWORD, _browser, _log_in
from workers.job_worker import run_due_jobs

#: The demo roles walked: the administrator, the city's officer and bureau head, a county officer, a school's
#: officer, principal, class teacher and duty counsellor, and an expert of the city's pool.
ROLES = ("admin", "hy-zr", "hy-jz", "zhuhui-zr", "zhuhui-s001-zr", "zhuhui-s001-xz", "zhuhui-s001-bzr1",
         "zhuhui-s001-xl1", "zj01")
#: Words a Chinese page may carry: proper nouns, file kinds and units, and the language switch naming English.
ALLOWED_WORDS = frozenset({"Excel", "PDF", "BPMN", "DMN", "API", "Huhua", "English", "MB", "KB", "Office", "xlsx",
                           "JSON", "FEEL", "ID", "csv", "CSV", "pdf", "docx", "doc", "xls", "png", "jpg",
                           # the language the decision cells are written in, and DMN's names of hit policies
                           "Python", "HTML", "UNIQUE", "FIRST", "PRIORITY", "ANY", "COLLECT", "RULE", "OUTPUT",
                           "ORDER",
                           # the notation a notice's body is written in
                           "Markdown",
                           # the archive kind and the product whose process model folders are uploaded as one
                           "zip", "spiff-arena"})
#: Pages (endpoints) not walked, with why.
SKIPPED: dict[str, str] = {}
#: Pages that differ between roles only in the header.
SAME_FOR_EVERYONE = frozenset({"account.password", "account.tokens"})
#: Words allowed to stay English on a walked page (by endpoint), each with why.
KNOWN: dict[str, tuple[str, ...]] = {}
#: API error messages allowed to stay English (by status), each with why.
KNOWN_API_ENGLISH: dict[str, str] = {}
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_@.-]*[A-Za-z0-9]|[A-Za-z]")
_CJK = re.compile(r"[\u3400-\u9fff]")
#: The visible text of the page, without what is marked as engine data (translate="no").
_VISIBLE_TEXT = """
const data = [...document.querySelectorAll('[translate="no"]')], shown = data.map(e => e.style.display);
data.forEach(e => { e.style.display = 'none'; });
const text = document.body.innerText;
data.forEach((e, i) => { e.style.display = shown[i]; });
return text;"""
_SETTLED = """return document.readyState === 'complete' && !document.body.innerText.includes('加载中')
  && (document.body.dataset.ready === undefined || document.body.dataset.ready === 'yes');"""


@pytest.fixture
def driven(demo: Huhua) -> Iterator[tuple[Huhua, str]]:
    """The demo with work in every walked inbox, served."""
    huhua = demo
    huhua.execute(StartInstance("launch_programme", "scheduler", origin=ENGINE, variables={
        "scheduled_for": "2026-03-02T08:30:00+08:00", "late": False}))
    complete(huhua, "hy-zr", "launch_draft_notice", NOTICE)
    complete(huhua, "hy-jz", "od_sign", {"od_decision": "signed"})
    for county in ("zhuhui", "hengdong"):
        complete(huhua, f"{county}-zr", "launch_county_setup", SETUP)
        complete(huhua, f"{county}-jz", "launch_county_approve", HEAD_APPROVES)
    complete(huhua, "hy-zr", "launch_county_review", APPROVE, scope="zhuhui")  # hengdong's waits in the city's inbox
    complete(huhua, "zhuhui-s001-zr", "launch_school_setup", SETUP, scope="zhuhui-s001")  # the principal approves
    huhua.execute(StartInstance("ct_routine_semester", "zhuhui-zr", org_scope="zhuhui",
                                variables={"semester": "2026年春季学期"}))
    huhua.execute(StartInstance("ct_training_city", "scheduler", origin=ENGINE, variables={
        "scheduled_for": "2026-03-02T08:30:00+08:00", "late": False}))
    complete(huhua, "hy-zr", "ct_training_city_plan", TRAINING_PLAN)  # the experts are asked to lecture
    huhua.execute(StartInstance("counselling_appointment", "zhuhui-s001-xl1", org_scope="zhuhui-s001"))
    run_due_jobs(huhua)
    for person in ROLES:
        huhua.execute(SetPassword(person, PASSWORD, "admin"))
    with served_in_thread(huhua) as base:
        yield huhua, base


def _foreign(text: str) -> list[str]:
    """The English words and raw ids in a text, outside the allowed proper nouns."""
    return sorted({word for word in _WORD.findall(text) if word not in ALLOWED_WORDS})


def _around(text: str, word: str) -> str:
    at = text.find(word)
    return text[max(0, at - 20):at + len(word) + 20].replace("\n", " ")


def _route(routes: MapAdapter, path: str) -> str:
    """A page's route (its endpoint), walked once: one county's oversight page stands for the others'."""
    try:
        return str(routes.match(path)[0])
    except HTTPException:
        return path


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_page_each_role_reaches_reads_chinese_with_names_not_ids(driven: tuple[Huhua, str]) -> None:
    huhua, base = driven
    routes = create_app(huhua, {"SECRET_KEY": "routes"}).url_map.bind("localhost")
    browser = _browser(1366, 900)
    wait = page_wait(browser, 15)
    found: dict[str, list[str]] = {}
    walked: list[str] = []
    everyones: set[str] = set()  # pages the same for every role but the header: walked for the first role only
    try:
        for role in ROLES:
            browser.delete_all_cookies()
            _log_in(browser, wait, base, role)
            seen: set[str] = set()
            queue = ["/inbox", *(f"/inbox/tasks/{task_id}" for task_id in _one_task_per_kind(huhua, role))]
            while queue:
                path = queue.pop(0)
                route = path if path.startswith("/inbox/tasks/") else _route(routes, path)  # tasks: one per kind
                if route in seen or route in SKIPPED or route in everyones:
                    continue
                seen.add(route)
                if route in SAME_FOR_EVERYONE:
                    everyones.add(route)
                browser.get(base + path)
                try:
                    wait.until(lambda b: b.execute_script(_SETTLED))
                except TimeoutException:
                    found.setdefault(f"{role} {path}", []).append("(never finished loading)")
                walked.append(f"{role} {path}")
                text = browser.execute_script(_VISIBLE_TEXT)
                words = [w for w in _foreign(text) if w not in KNOWN.get(_route(routes, path), ())]
                if words:  # each with the words around it, to find it on the page
                    found[f"{role} {path}"] = [_around(text, w) for w in words]
                queue += [link for link in _links(browser, base) if link not in queue]
            if role == ROLES[0]:
                browser.save_screenshot(str(ARTIFACTS / "language-walk-admin.png"))
    finally:
        browser.quit()
    assert len(walked) >= 30, walked
    assert found == {}, json.dumps(found, ensure_ascii=False, indent=1)


def _one_task_per_kind(huhua: Huhua, person: str) -> list[int]:
    """A task page of each kind of task in the person's inbox (for the administrator, of everyone's)."""
    kinds: dict[str, int] = {}
    for task in huhua.queries.tasks(user=person, limit=500):
        if huhua.queries.may_read_task(person, task["id"]):  # an administrator sees that a counselling case waits
            kinds.setdefault(task["element_id"], task["id"])
    return sorted(kinds.values())[:8]


def _links(browser: object, base: str) -> list[str]:
    """The same-site pages the current page links to that are not yet walked (no API, files or exports)."""
    hrefs = browser.execute_script("return [...document.querySelectorAll('a[href]')].map(a => a.href)")  # type: ignore[attr-defined]
    found = []
    for href in hrefs:
        parts = urlsplit(urljoin(base, href))
        if f"{parts.scheme}://{parts.netloc}" != base or parts.path.startswith(("/api/", "/vendor/")):
            continue
        if parts.path.endswith(("/export", ".xlsx", ".pdf")) or "lang=" in parts.query:
            continue
        if parts.path not in found:
            found.append(parts.path)
    return found


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_api_answers_a_chinese_caller_in_chinese_when_refusing(demo: Huhua) -> None:
    teacher = token_headers(demo, "zhuhui-s001-bzr1")
    calls = {
        "401": ("GET", "/api/v1/tasks", {}, None),
        "403": ("GET", "/api/v1/jobs", teacher, None),
        "404": ("GET", "/api/v1/tasks/999999", teacher, None),
        "400": ("POST", "/api/v1/saved-filters", teacher, {"name": ""}),
    }
    with served_in_thread(demo) as base:
        english = {}
        for status, (method, path, headers, body) in calls.items():
            request = urllib.request.Request(base + path, method=method,
                                             data=json.dumps(body).encode() if body else None,
                                             headers={**headers, "Accept-Language": "zh-CN,zh;q=0.9",
                                                      "Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request) as answer:
                    pytest.fail(f"{method} {path} answered {answer.status}")
            except urllib.error.HTTPError as refused:
                assert str(refused.code) == status, (path, refused.code)
                message = json.loads(refused.read())["message"]
            if not _CJK.search(message) or _foreign(message):
                english[status] = message
    assert set(english) <= set(KNOWN_API_ENGLISH), english  # an entry answered in Chinese may be dropped
