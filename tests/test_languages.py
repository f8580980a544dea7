"""Pages in Simplified Chinese by default, and in English for a person who asks for it (Flask-Babel)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po
from flask.testing import FlaskClient

from engine.bootstrap import Huhua
from engine.commands import LoadDirectory, SetPassword, StartInstance
from engine.org.profiles import generate
from engine.web import create_app
from engine.web.i18n import CATALOGUES
from tests.conftest import PROJECT
from tests.helpers import deploy_fixtures

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
TEACHER = "zhuhui-s001-bzr1"


@pytest.fixture
def client(huhua: Huhua) -> FlaskClient:
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    huhua.execute(SetPassword("zhuhui-s001-bzr1", "correct horse", "admin"))
    return create_app(huhua, {"SECRET_KEY": "test-secret", "TRUST_USER_HEADER": False}).test_client()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_log_in_page_is_chinese_unless_english_is_chosen(client: FlaskClient) -> None:
    chinese = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(as_text=True)
    assert '<html lang="zh-CN">' in chinese and "用户名" in chinese and "User name" not in chinese

    chosen = client.get("/login?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in chosen and "User name" in chosen and "用户名" not in chosen
    assert "Password" in client.get("/login").get_data(as_text=True)  # the choice is kept in a cookie
    client.get("/login?lang=zh_Hans_CN")
    assert "密码" in client.get("/login").get_data(as_text=True)
    assert "密码" in client.get("/login?lang=klingon").get_data(as_text=True)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_wrong_password_is_told_in_the_persons_language(client: FlaskClient) -> None:
    page = client.get("/login?lang=en").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    answer = client.post("/login", data={"username": "zhuhui-s001-bzr1", "password": "wrong", "csrf_token": token})
    assert answer.status_code == 401
    assert "Wrong user name or password" in answer.get_data(as_text=True)


def test_every_text_of_the_pages_has_its_english_translation() -> None:
    """A text added to a page without its translation would show in Chinese on an English page."""
    method_map = [("engine/web/**.py", "python"), ("engine/web/templates/**.html", "jinja2")]  # as babel.cfg
    keywords = {**DEFAULT_KEYWORDS, "lazy_gettext": None}
    texts = {message for _file, _line, message, *_ in extract_from_dir(PROJECT, method_map, keywords=keywords)
             if isinstance(message, str)}
    with (CATALOGUES / "en" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        english = {m.id: m.string for m in read_po(po) if m.id}
    assert len(texts) >= 7
    assert sorted(t for t in texts if not english.get(t)) == []


@pytest.fixture
def office(huhua: Huhua) -> Iterator[tuple[Huhua, Callable[[str], FlaskClient]]]:
    """A teacher's task at their school, and a way to be logged in as the teacher or the administrator."""
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    deploy_fixtures(huhua, "teacher_report.bpmn", "teacher_home_visit.form.json")
    huhua.execute(StartInstance("teacher_report", "admin", org_scope="zhuhui-s001"))
    app = create_app(huhua, {"SECRET_KEY": "pages", "TRUST_USER_HEADER": False, "WTF_CSRF_ENABLED": False})

    def log_in(user: str) -> FlaskClient:
        huhua.execute(SetPassword(user, "correct horse", "admin"))
        client = app.test_client()
        client.post("/login", data={"username": user, "password": "correct horse"})
        return client

    yield huhua, log_in


def _english(page: str, *parts: str, data: tuple[str, ...] = ()) -> None:
    """Each part is on the page, and the page's chrome (title, header links, headings, labels, buttons, table
    heads, placeholders and the texts its script shows) has no Chinese left; ``data`` (a task's name) may."""
    for part in parts:
        assert part in page, part
    assert '<html lang="en">' in page
    chrome = re.findall(r"<(title|h[1-4]|button|th|label|summary)\b[^>]*>(.*?)</\1>", page, re.S)
    chrome = [(tag, re.sub(r"<select\b.*?</select>|<[^>]+>", "", text, flags=re.S)) for tag, text in chrome]
    chrome += [("attribute", v) for v in re.findall(r'(?:placeholder|title|aria-label)="([^"]*)"', page)]
    chrome += [("nav", n) for n in re.findall(r"<nav\b[^>]*>(.*?)</nav>", page, re.S)]
    assert [c for c in chrome if CJK.search(re.sub("|".join(map(re.escape, data)) or "^$", "", c[1]))] == []
    for texts in re.findall(r"const (?:T|NAV_T) = (\{.*?\});\n", page, re.S):
        values = json.loads(texts)
        flat = [v for v in values.values() if isinstance(v, str)]
        flat += [w for v in values.values() if isinstance(v, dict) for w in v.values()]
        assert flat and [v for v in flat if CJK.search(v)] == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_inbox_and_a_task_come_in_english_once_chosen(office: tuple[Huhua, Callable[[str], FlaskClient]]) -> None:
    _huhua, log_in = office
    client = log_in(TEACHER)
    inbox = client.get("/inbox?lang=en").get_data(as_text=True)
    _english(inbox, "<title>My tasks · Huhua</title>", "All open tasks", "Save current filter", "Log out",
             "1 tasks", "working days left")
    assert "登记本周家访" in inbox  # the task's name is data, not a page text
    for selected in ("view", "due", "sort"):
        options = re.search(rf'<select name="{selected}".*?</select>', inbox, re.S).group(0)  # type: ignore[union-attr]
        assert not CJK.search(re.sub(r"<[^>]+>", "", options))
    assert re.search(r'<a href="/inbox\?lang=en" [^>]*class="current" aria-current="true">English</a>', inbox)
    assert '<a href="/inbox?lang=zh_Hans_CN" hreflang="zh-CN" lang="zh-CN" data-lang="zh_Hans_CN">中文</a>' in inbox

    task = int(re.search(r'data-task="(\d+)"', inbox).group(1))  # type: ignore[union-attr]
    page = client.get(f"/inbox/tasks/{task}").get_data(as_text=True)  # the cookie keeps English
    _english(page, "Attachments", "Comments", "Process history", "Add comment", "Loading…",
             '"no_attachments": "No attachments"', '"task_created": "Task created"',
             data=("登记本周家访", "珠晖区第一中学"))  # the task's title and its unit's name are data

    chinese = client.get("/inbox?lang=zh_Hans_CN").get_data(as_text=True)
    assert "我的待办" in chinese and "全部待办" in chinese and "My tasks" not in chinese
    assert "我的待办" in client.get("/inbox").get_data(as_text=True)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_admin_process_list_and_the_dashboard_come_in_english(
        office: tuple[Huhua, Callable[[str], FlaskClient]]) -> None:
    client = office[1]("admin")
    processes = client.get("/admin/?lang=en").get_data(as_text=True)
    _english(processes, "Process definitions", "Version 1", "1 instance", "Recent process instances", "Edit",
             "Jobs and incidents", "Working-day calendar", "Org directory", "Schedules", "Dashboard",
             '"running": "Running"', '"failed": "The operation failed"')
    dashboard = client.get("/admin/dashboard").get_data(as_text=True)
    _english(dashboard, "Huhua dashboard", "Whole city", "Rollout coverage: every school, every person",
             "Monthly checks: submission rates and score distribution", "Overdue tasks", "All processes",
             '"submitted_rate": "Submission rate"', '"\u4f18\u79c0": "Excellent"')
    instance = re.search(r'href="(/admin/instances/\d+)"', processes).group(1)  # type: ignore[union-attr]
    _english(client.get(instance).get_data(as_text=True), "Process variables", "Suspend", "Terminate",
             '"task_created": "Task created"', '"confirm_terminate": "Terminate this process instance',
             data=("登记本周家访", "班主任家访登记"))
    form = re.search(r'href="(/admin/processes/\d+/forms/[^"]+)"', processes).group(1)  # type: ignore[union-attr]
    modeler = re.search(r'href="(/admin/processes/\d+/edit)"', processes).group(1)  # type: ignore[union-attr]
    for path in ("/admin/instances", "/admin/jobs", "/admin/schedules", "/admin/calendar", "/admin/org",
                 "/admin/benchmarks", form, modeler):
        answer = client.get(path)
        assert answer.status_code == 200, path
        _english(answer.get_data(as_text=True))
    modeler_page = client.get(modeler).get_data(as_text=True)  # bpmn-js keeps its own English labels
    assert "'Create task'" not in modeler_page and "'Huhua': 'Huhua settings'" in modeler_page
    assert "'Append task': '追加任务'" in client.get(modeler + "?lang=zh_Hans_CN").get_data(as_text=True)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_language_switch_keeps_the_pages_query(office: tuple[Huhua, Callable[[str], FlaskClient]]) -> None:
    client = office[1](TEACHER)
    page = client.get("/inbox?view=mine&q=%E5%AE%B6%E8%AE%BF&lang=en").get_data(as_text=True)
    assert 'href="/inbox?view=mine&amp;q=%E5%AE%B6%E8%AE%BF&amp;lang=zh_Hans_CN"' in page
    login = client.get("/login?next=/inbox").get_data(as_text=True)  # English still, from the cookie
    assert "User name" in login and 'href="/login?next=/inbox&amp;lang=zh_Hans_CN"' in login
