"""Context in every task, in a real browser (headless Chromium) on a desktop and on a phone with a touch screen:
the county officer approving a school's plan sees the plan, the expert scoring a case sees its title and
downloads its file, the principal rectifying sees the score, the grade and the assessors' opinions, and the
school's monthly check shows each teacher's score boxes with a running total. The demo is
driven through the engine's commands; screenshots of the three task pages go to artifacts/task-pages/."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import datetime

import pytest
from flask.testing import FlaskClient
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready

from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ, VirtualClock
from engine.commands import ENGINE, ClaimTask, SetPassword, StartInstance
from engine.web import create_app
from tests.helpers import page_wait, served_in_thread
from tests.library.conftest import complete
from tests.library.test_supervision import ROOM, SELF, _marks
from tests.test_browser import ARTIFACTS, PASSWORD, _browser, _field, _log_in
from tests.test_inbox import PDF
from tests.test_task_context import PLAN, SCHOOL, scored_case, submitted_plan
from workers.job_worker import run_due_jobs

SHOTS = ARTIFACTS / "task-pages"
#: A phone as the bureau's staff use it: WeCom's browser on Android, touch, 390×844 CSS pixels.
PHONE = {"deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 2.0, "touch": True},
         "userAgent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                      "Chrome/124.0 Mobile Safari/537.36 wxwork/4.1.22 MicroMessenger/7.0.1"}
NO_SIDEWAYS_SCROLL = "return document.documentElement.scrollWidth <= window.innerWidth + 1"
#: Whether a read-only field of the rendered form holds ``arguments[0]`` (a textarea's value is not page text).
SHOWS_VALUE = ("return [...document.querySelectorAll('.fjs-form textarea, .fjs-form input')]"
               ".some(e => e.readOnly && e.value === arguments[0])")
#: The download a link starts, fetched as the browser would: status and size.
DOWNLOAD = ("const done = arguments[arguments.length - 1];"
            "fetch(arguments[0], {credentials: 'same-origin'})"
            ".then(r => r.arrayBuffer().then(b => done([r.status, b.byteLength]))).catch(e => done([0, String(e)]));")


def _phone() -> webdriver.Chrome:
    browser = _browser(390, 844)
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {**PHONE["deviceMetrics"], "mobile": True,
                                                                   "deviceScaleFactor": 2.0})
    browser.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 5})
    browser.execute_cdp_cmd("Network.setUserAgentOverride", {"userAgent": PHONE["userAgent"]})
    return browser


def _shoot(browser: webdriver.Chrome, name: str) -> None:
    """The screen as the person sees it, and the whole page (the files of earlier steps are further down)."""
    browser.save_screenshot(str(SHOTS / f"{name}.png"))
    width, height = browser.execute_script(
        "return [window.innerWidth, document.documentElement.scrollHeight]")
    page = browser.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": {
        "x": 0, "y": 0, "width": width, "height": height, "scale": 1}})
    (SHOTS / f"{name}-full.png").write_bytes(base64.b64decode(page["data"]))


def _take(demo: Huhua, task: int, person: str) -> None:
    """Claim ``task`` for ``person`` unless it came to them already (the sole holder of its role)."""
    if demo.queries.task(task)["assignee"] != person:
        demo.execute(ClaimTask(task, person))


def _rectification(demo: Huhua) -> int:
    """A school that failed its supervision round: the rectification task the principal has claimed."""
    instance = demo.execute(StartInstance("supervision_round", "admin", org_scope=SCHOOL, origin=ENGINE,
                                          variables={"year": "2026"}))["id"]
    complete(demo, f"{SCHOOL}-zr", "supervision_self_report", SELF)
    complete(demo, "zhuhui-zr", "supervision_routine", {"routine": _marks("supervision_routine", "routine", False),
                                                        "routine_basis": "月查台账不全"}, SCHOOL)
    complete(demo, "zhuhui-zr", "supervision_onsite", {
        "room": ROOM, "onsite": _marks("supervision_onsite", "onsite", False), "onsite_date": "2026-10-10",
        "onsite_opinion": "心理咨询室未按时开放，辅导记录缺失"}, SCHOOL)
    complete(demo, "zhuhui-jys", "supervision_teaching", {
        "lessons_observed": 2, "teaching": _marks("supervision_teaching", "teaching"), "teaching_opinion": "课堂活跃"},
        SCHOOL)
    task = next(t["id"] for t in demo.queries.tasks(instance_id=instance) if t["element_id"] == "supervision_rectify")
    _take(demo, task, f"{SCHOOL}-xz")
    return task


def _monthly_sheet(demo: Huhua) -> int:
    """The school's monthly check of its class teachers, claimed by its 德育处主任."""
    instance = demo.execute(StartInstance("monthly_school_check", "scheduler", org_scope=SCHOOL, origin=ENGINE))["id"]
    run_due_jobs(demo)
    task = next(t["id"] for t in demo.queries.tasks(instance_id=instance) if t["element_id"] == "check_class_teachers")
    _take(demo, task, f"{SCHOOL}-dy")
    return task


@pytest.fixture
def pages(demo: Huhua, clock: VirtualClock) -> Iterator[tuple[Huhua, str, dict[str, int], str]]:
    """The three task pages, made through the engine's commands, and the app served: (engine, base URL, the
    tasks by page, the expert)."""
    client: FlaskClient = create_app(demo, {"TESTING": True}).test_client()
    _, review, _ = submitted_plan(demo, client)
    _take(demo, review, "zhuhui-zr")
    expert, _ = scored_case(demo, client, clock)
    scoring = next(t["id"] for t in demo.queries.tasks(user=expert) if t["element_id"] == "expert_review")
    clock.set(datetime(2026, 10, 12, 10, tzinfo=BUSINESS_TZ))
    rectify = _rectification(demo)
    sheet = _monthly_sheet(demo)
    for person in ("zhuhui-zr", expert, f"{SCHOOL}-xz", f"{SCHOOL}-dy"):
        demo.execute(SetPassword(person, PASSWORD, "admin"))
    with served_in_thread(demo) as base:
        yield demo, base, {"plan-review": review, "expert-review": scoring, "rectify": rectify,
                                       "monthly-check": sheet}, expert


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_reviewers_scorers_and_rectifiers_see_what_they_judge(
        pages: tuple[Huhua, str, dict[str, int], str]) -> None:
    _, base, tasks, expert = pages
    SHOTS.mkdir(parents=True, exist_ok=True)
    for screen, browser in (("desktop", _browser(1366, 900)), ("phone", _phone())):
        wait = page_wait(browser, 20)
        try:
            # the county officer approving the school's plan reads the plan, read-only, and its scan
            _log_in(browser, wait, base, "zhuhui-zr")
            browser.get(f"{base}/inbox/tasks/{tasks['plan-review']}")
            wait.until(lambda b: b.execute_script(SHOWS_VALUE, PLAN["plan_content"]))
            wait.until(lambda b: b.execute_script(SHOWS_VALUE, PLAN["first_responsible"]))
            assert "珠晖区第一中学" in browser.find_element(By.ID, "form").text
            assert "工作方案（盖章）.pdf" in browser.find_element(By.ID, "earlier-files").text
            assert browser.execute_script(NO_SIDEWAYS_SCROLL)
            _shoot(browser, f"plan-review-{screen}")
            browser.delete_all_cookies()

            # the expert sees which case they score, by whom, and downloads its original
            _log_in(browser, wait, base, expert)
            browser.get(f"{base}/inbox/tasks/{tasks['expert-review']}")
            wait.until(ready.text_to_be_present_in_element((By.ID, "form"), "《从家访开始》"))
            form = browser.find_element(By.ID, "form").text
            assert "田老师" in form and "珠晖区第一中学" in form and "班主任工作案例" in form
            wait.until(lambda b: b.execute_script(SHOWS_VALUE, "全文：从家访开始。"))
            link = wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, "#earlier-files a.earlier-file")))
            assert link.text == "从家访开始.pdf"
            assert browser.execute_async_script(DOWNLOAD, link.get_attribute("href")) == [200, len(PDF)]
            assert browser.execute_script(NO_SIDEWAYS_SCROLL)
            _shoot(browser, f"expert-review-{screen}")
            browser.delete_all_cookies()

            # the principal rectifying sees the score, the grade and what the assessors said
            _log_in(browser, wait, base, f"{SCHOOL}-xz")
            browser.get(f"{base}/inbox/tasks/{tasks['rectify']}")
            wait.until(ready.text_to_be_present_in_element((By.ID, "form"), "不合格"))
            assert "督查考核总分" in browser.find_element(By.ID, "form").text
            wait.until(lambda b: b.execute_script(SHOWS_VALUE, "心理咨询室未按时开放，辅导记录缺失"))
            wait.until(lambda b: b.execute_script(SHOWS_VALUE, "月查台账不全"))
            assert browser.execute_script(NO_SIDEWAYS_SCROLL)
            _shoot(browser, f"rectify-{screen}")
            browser.delete_all_cookies()

            # the school's monthly check: every teacher's score boxes, and a running total per teacher
            _log_in(browser, wait, base, f"{SCHOOL}-dy")
            browser.get(f"{base}/inbox/tasks/{tasks['monthly-check']}")
            wait.until(ready.text_to_be_present_in_element((By.ID, "form"), "学期和年度工作计划、总结齐全（15分）"))
            wait.until(lambda b: _field(b, "学期和年度工作计划、总结齐全（15分）")).send_keys("12")
            wait.until(ready.text_to_be_present_in_element((By.ID, "form"), "本行合计：12 分"))
            assert browser.execute_script(NO_SIDEWAYS_SCROLL)
        finally:
            browser.quit()
