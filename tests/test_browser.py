"""The inbox in a real browser (Debian's Chromium, headless): a class teacher logs in, claims and completes a task
through its form, on a desktop and on a phone-sized screen. Screenshots are saved under artifacts/."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait
from werkzeug.serving import make_server

from engine.bootstrap import Huhua
from engine.commands import LoadDirectory, SetPassword, StartInstance
from engine.org.profiles import generate
from engine.web import create_app
from tests.conftest import PROJECT
from tests.helpers import deploy_fixtures

ARTIFACTS = PROJECT / "artifacts"
PASSWORD = "correct horse"


@pytest.fixture
def site(huhua: Huhua) -> Iterator[tuple[Huhua, str]]:
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    deploy_fixtures(huhua, "teacher_report.bpmn", "teacher_home_visit.form.json")
    for teacher in ("zhuhui-s001-bzr1", "zhuhui-s001-bzr2"):
        huhua.execute(SetPassword(teacher, PASSWORD, "admin"))
    app = create_app(huhua, {"SECRET_KEY": "browser-test", "TRUST_USER_HEADER": False})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield huhua, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


def _browser(width: int, height: int) -> webdriver.Chrome:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.fail("browser tests need Debian's chromium and chromium-driver (scripts/test.sh installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", f"--window-size={width},{height}",
                 "--lang=zh-CN"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(driver), options=options)


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
    started = huhua.execute(StartInstance("teacher_report", "admin", org_scope="zhuhui-s001"))
    browser = _browser(width, height)
    wait = WebDriverWait(browser, 20)
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
