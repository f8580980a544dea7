"""The inbox in a real browser (Debian's Chromium, headless): a class teacher logs in, claims and completes a task
through its form, on a desktop and on a phone-sized screen. Screenshots are saved under artifacts/."""

from __future__ import annotations

import io
import urllib.request
from collections.abc import Iterator
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

from engine.bootstrap import Huhua
from engine.commands import ENGINE, DeployShippedProcesses, LoadDirectory, SetPassword, StartInstance
from engine.org.profiles import generate
from tests import browsers
from tests.conftest import PROJECT
from tests.helpers import deploy_fixtures, page_wait, served_in_thread
from workers.job_worker import run_due_jobs

ARTIFACTS = PROJECT / "artifacts"
PASSWORD = "correct horse"


@pytest.fixture
def site(huhua: Huhua) -> Iterator[tuple[Huhua, str]]:
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    deploy_fixtures(huhua, "teacher_report.bpmn", "teacher_home_visit.form.json")
    for person in ("zhuhui-s001-bzr1", "zhuhui-s001-bzr2", "admin"):
        huhua.execute(SetPassword(person, PASSWORD, "admin"))
    with served_in_thread(huhua) as base:
        yield huhua, base


def _browser(width: int, height: int, lang: str = "zh-CN") -> webdriver.Chrome:
    """Headless Chromium at ``width``×``height`` whose own language (date fields, Accept-Language) is ``lang``, as
    fresh as a new one; ``quit()`` hands it back (tests/browsers.py)."""
    return browsers.browser(width, height, lang)


def _log_in(browser: webdriver.Chrome, wait: WebDriverWait, base: str, user: str, password: str = PASSWORD) -> None:
    """Log in and wait for the answer (the inbox, or the refusal): going on at once would cancel a slow log-in."""
    browser.get(base + "/login")
    wait.until(ready.presence_of_element_located((By.NAME, "username"))).send_keys(user)
    browser.find_element(By.NAME, "password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(lambda b: "/login" not in b.current_url or b.find_elements(By.CSS_SELECTOR, ".error"))


def _field(browser: webdriver.Chrome, label: str) -> object:
    """The form field a label names, as a person finds it."""
    found = browser.find_element(By.XPATH, f"//label[normalize-space(.)='{label}' or starts-with(normalize-space(.), "
                                           f"'{label}')]")
    return browser.find_element(By.ID, found.get_attribute("for"))


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("screen", "width", "height"), [("desktop", 1366, 900), ("phone", 390, 844)])
def test_a_class_teacher_claims_and_completes_a_task_through_its_form(
        site: tuple[Huhua, str], screen: str, width: int, height: int) -> None:
    huhua, base = site
    started = huhua.execute(StartInstance("teacher_report", "admin", org_scope="zhuhui-s001", origin=ENGINE))
    browser = _browser(width, height)
    wait = page_wait(browser, 20)
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        browser.get(base + "/inbox")
        wait.until(ready.presence_of_element_located((By.NAME, "username"))).send_keys("zhuhui-s001-bzr1")
        browser.find_element(By.NAME, "password").send_keys(PASSWORD)
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        claim = wait.until(ready.element_to_be_clickable((By.CSS_SELECTOR, "button.claim")))
        assert "登记本周家访" in browser.page_source and "剩 3 个工作日" in browser.page_source
        browser.save_screenshot(str(ARTIFACTS / f"inbox-{screen}.png"))
        assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
        claim.click()
        wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, ".fjs-form input")))
        _field(browser, "学生（化名）").send_keys("小明")
        _field(browser, "家访次数").send_keys("2")
        _field(browser, "家访情况").send_keys("家长配合，学生情绪稳定")
        browser.save_screenshot(str(ARTIFACTS / f"task-form-{screen}.png"))
        browser.find_element(By.ID, "submit").click()
        wait.until(ready.text_to_be_present_in_element((By.ID, "message"), "已提交"))
    finally:
        browser.quit()
    done = huhua.queries.instance(started["id"])
    assert done["state"] == "completed"
    assert (done["data"]["student"], done["data"]["visits"]) == ("小明", 2)
    history = [(e["kind"], e["actor"]) for e in done["history"] if e["kind"] in ("task_claimed", "task_completed")]
    assert history == [("task_claimed", "zhuhui-s001-bzr1"), ("task_completed", "zhuhui-s001-bzr1")]


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_wrong_password_and_a_missing_csrf_token_are_refused_in_the_browser(site: tuple[Huhua, str]) -> None:
    _huhua, base = site
    browser = _browser(1366, 900)
    wait = page_wait(browser, 20)
    try:
        _log_in(browser, wait, base, "zhuhui-s001-bzr1", "not the password")
        wait.until(ready.text_to_be_present_in_element((By.CSS_SELECTOR, ".error"), "用户名或密码错误"))
        browser.get(base + "/login")
        wait.until(ready.presence_of_element_located((By.NAME, "username"))).send_keys("zhuhui-s001-bzr1")
        browser.find_element(By.NAME, "password").send_keys(PASSWORD)
        browser.execute_script("document.querySelector('input[name=csrf_token]').remove()")
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait.until(ready.text_to_be_present_in_element((By.TAG_NAME, "body"), "CSRF"))
        browser.get(base + "/inbox")
        assert "/login" in browser.current_url  # still nobody
    finally:
        browser.quit()


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_administrator_adds_a_task_in_the_modeler_and_sees_the_instance_on_its_diagram(
        site: tuple[Huhua, str]) -> None:
    huhua, base = site
    started = huhua.execute(StartInstance("teacher_report", "admin", org_scope="zhuhui-s001", origin=ENGINE))
    first = huhua.queries.definitions(key="teacher_report")[0]
    browser = _browser(1366, 900)
    wait = page_wait(browser, 30)
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        _log_in(browser, wait, base, "admin")
        wait.until(ready.url_contains("/inbox"))
        browser.get(f"{base}/admin/instances/{started['id']}")
        wait.until(lambda b: b.execute_script("return document.body.dataset.ready === 'yes'"))
        active = browser.execute_script(
            "return [...document.querySelectorAll('.djs-element.huhua-active')].map(e => e.dataset.elementId)")
        assert active == ["home_visit"]  # the open task is marked on the diagram
        browser.save_screenshot(str(ARTIFACTS / "instance.png"))
        browser.get(f"{base}/admin/processes/{first['id']}/edit")
        wait.until(lambda b: b.execute_script("return document.body.dataset.ready === 'yes'"))
        browser.execute_script("""
            const registry = modeler.get('elementRegistry'), modeling = modeler.get('modeling');
            const visit = registry.get('home_visit');
            const shape = modeler.get('elementFactory').createShape({type: 'bpmn:UserTask'});
            const review = modeling.appendShape(visit, shape, {x: visit.x + visit.width / 2, y: visit.y + 180});
            modeling.updateLabel(review, '校长审阅家访记录');
            modeling.connect(review, registry.get('end'));
        """)
        browser.save_screenshot(str(ARTIFACTS / "modeler.png"))
        browser.find_element(By.ID, "deploy").click()
        wait.until(ready.text_to_be_present_in_element((By.ID, "message"), "第 2 版"))
    finally:
        browser.quit()
    versions = sorted(d["version"] for d in huhua.queries.definitions(key="teacher_report"))
    assert versions == [1, 2]
    assert huhua.queries.instance(started["id"])["definition_id"] == first["id"]  # the running one stays on v1


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_dashboard_charts_the_monthly_checks_and_overdue_work(site: tuple[Huhua, str]) -> None:
    huhua, base = site
    huhua.execute(DeployShippedProcesses(str(huhua.settings.processes_dir)))
    for school in ("zhuhui-s001", "zhuhui-s002", "qidong-s001"):
        huhua.execute(StartInstance("monthly_school_check", "scheduler", org_scope=school,
                                    variables={"scheduled_for": "2026-03-02T08:30:00+08:00"}, origin=ENGINE))
    run_due_jobs(huhua)  # each school's two checking sheets open
    huhua.services.clock.advance(timedelta(days=30))  # and are overdue now
    browser = _browser(1366, 900)
    wait = page_wait(browser, 30)
    try:
        _log_in(browser, wait, base, "admin")
        wait.until(ready.url_contains("/inbox"))
        browser.get(base + "/admin/dashboard")
        wait.until(lambda b: b.execute_script("return document.body.dataset.ready === 'yes'"))
        charts = browser.execute_script("return document.querySelectorAll('#monthly canvas, #overdue canvas').length")
        assert charts >= 2
        table = browser.find_element(By.ID, "overdue-table").text
        assert "珠晖区教育局 4" in table and "祁东县教育局 2" in table
        browser.save_screenshot(str(ARTIFACTS / "dashboard.png"))
        cookies = {c["name"]: c["value"] for c in browser.get_cookies()}
    finally:
        browser.quit()
    exported = requests_get(base + "/admin/dashboard.xlsx", cookies)
    rows = list(load_workbook(io.BytesIO(exported), read_only=True)["一月一查"].iter_rows(values_only=True))
    assert rows[1][:3] == ("2026-03", 3, 0)


def requests_get(url: str, cookies: dict[str, str]) -> bytes:
    """A download as the logged-in browser would make it."""
    request = urllib.request.Request(url, headers={"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read()
