"""发起事项 in a real browser (headless Chromium), on a desktop and on a phone-sized screen (issue 13, review M6):
the counsellor of zhuhui-s001 registers an appointment from the inbox's 发起 button and lands on its first task,
offered to the school's duty counsellors; a county officer launches his county's 督查考核 and chases a school
through a start form; a class teacher is offered nothing, and a start she posts anyway is refused in Chinese; the
city's bureau head lands on the dashboard. One served app for the module; screenshots go to artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import Select, WebDriverWait

from engine.bootstrap import Huhua, bootstrap
from engine.clock import VirtualClock
from engine.commands import SetPassword
from engine.config import Settings
from tests.conftest import PROJECT, START
from tests.helpers import load_demo, page_wait, served_in_thread
from tests.test_browser import ARTIFACTS, PASSWORD, _browser, _log_in

COUNSELLOR, COUNTY, TEACHER, HEAD = "zhuhui-s001-xl1", "zhuhui-zr", "zhuhui-s001-bzr1", "hy-jz"
NO_SIDEWAYS_SCROLL = "return document.documentElement.scrollWidth <= window.innerWidth + 1"
#: A start posted from the page's own script, as a person who edits the page could: the answer's status and body.
POST_START = """const done = arguments[arguments.length - 1];
fetch('/start/' + arguments[0], {method: 'POST', credentials: 'same-origin', headers: {'Content-Type':
  'application/json', 'X-CSRFToken': document.querySelector('meta[name="csrf-token"]').content},
  body: JSON.stringify({org_scope: arguments[1]})}).then(async r => done([r.status, await r.json()]));"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Huhua, str]]:
    """The demo directory and the shipped library, served once for the module's screens."""
    folder: Path = tmp_path_factory.mktemp("starting")
    settings = Settings(database_url=f"sqlite:///{folder / 'huhua.db'}", data_dir=folder,
                        processes_dir=PROJECT / "processes", max_model_bytes=5 * 1024 * 1024)
    huhua = bootstrap(settings, clock=VirtualClock(START))
    try:
        load_demo(huhua)
        for person in (COUNSELLOR, COUNTY, TEACHER, HEAD):
            huhua.execute(SetPassword(person, PASSWORD, "admin"))
        with served_in_thread(huhua) as base:
            yield huhua, base
    finally:
        huhua.close()


def _start_from_list(browser: object, wait: WebDriverWait, name: str) -> None:
    """From the inbox: the 发起 button, then the process's 发起 button on the list."""
    wait.until(ready.element_to_be_clickable((By.ID, "start-button"))).click()
    wait.until(ready.url_contains("/start"))
    card = f"//div[contains(@class,'startable')][.//h3/a[normalize-space(.)='{name}']]//button"
    wait.until(ready.element_to_be_clickable((By.XPATH, card))).click()
    wait.until(ready.text_to_be_present_in_element((By.TAG_NAME, "h2"), name))


@pytest.mark.slow
@pytest.mark.parametrize(("screen", "width", "height"), [("desktop", 1366, 900), ("phone", 390, 844)])
def test_people_start_their_work_from_the_inbox(site: tuple[Huhua, str], screen: str, width: int,
                                                height: int) -> None:
    huhua, base = site
    ARTIFACTS.mkdir(exist_ok=True)
    browser = _browser(width, height)
    wait = page_wait(browser, 20)
    try:
        # the counsellor registers an appointment: its first task, 预约登记, is the school's duty counsellors'
        _log_in(browser, wait, base, COUNSELLOR)
        button = wait.until(ready.visibility_of_element_located((By.ID, "start-button")))
        assert browser.execute_script("return arguments[0].getBoundingClientRect().bottom <= innerHeight", button)
        _start_from_list(browser, wait, "心理咨询预约登记")
        assert "发起单位：珠晖区第一中学" in browser.find_element(By.TAG_NAME, "main").text
        browser.save_screenshot(str(ARTIFACTS / f"start-appointment-{screen}.png"))
        browser.find_element(By.ID, "start").click()
        wait.until(ready.url_contains("/inbox/tasks/"))
        wait.until(ready.text_to_be_present_in_element((By.TAG_NAME, "h2"), "预约登记"))
        wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, ".fjs-form input")))  # hers: its form opens
        browser.save_screenshot(str(ARTIFACTS / f"start-appointment-task-{screen}.png"))
        task = int(browser.current_url.rsplit("/", 1)[1])
        assert huhua.queries.task(task, viewer=COUNSELLOR)["candidate_roles"] == ["duty_counsellor@zhuhui-s001"]
        browser.get(base + "/inbox")
        wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, f'.card.task[data-task="{task}"]')))
        browser.delete_all_cookies()

        # the county officer launches his county's 督查考核 and lands on its first task, his own
        _log_in(browser, wait, base, COUNTY)
        _start_from_list(browser, wait, "督查考核部署")
        assert "发起单位：珠晖区教育局" in browser.find_element(By.TAG_NAME, "main").text
        browser.find_element(By.ID, "start").click()
        wait.until(ready.text_to_be_present_in_element((By.TAG_NAME, "h2"), "部署督查考核"))
        # and chases a school of his county through the start form: each field is checked before it goes
        browser.get(base + "/start")
        card = "//div[contains(@class,'startable')][.//h3/a[normalize-space(.)='督办学校一月一查']]//button"
        button = wait.until(ready.element_to_be_clickable((By.XPATH, card)))
        assert browser.execute_script(NO_SIDEWAYS_SCROLL)
        browser.save_screenshot(str(ARTIFACTS / f"start-list-county-{screen}.png"))
        button.click()
        month = wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, ".fjs-form input[type=text]")))
        browser.find_element(By.ID, "start").click()
        wait.until(ready.text_to_be_present_in_element((By.ID, "message"), "请检查表单中标红的内容"))
        Select(browser.find_element(By.ID, "org-scope")).select_by_visible_text("珠晖区第二小学")
        browser.find_element(By.CSS_SELECTOR, ".fjs-form textarea").send_keys("请说明本月检查未完成的原因")
        month.send_keys("2026-123")  # the whole value must match the month's pattern, as on the server: at the field
        browser.find_element(By.ID, "start").click()
        wait.until(ready.text_to_be_present_in_element((By.ID, "message"), "请检查表单中标红的内容"))
        wait.until(lambda b: "格式不正确" in b.execute_script(
            "const e = document.querySelector('.fjs-has-errors'); return e ? e.textContent : ''"))
        month = browser.find_element(By.CSS_SELECTOR, ".fjs-form input[type=text]")
        month.clear()
        month.send_keys("2026-03")
        assert browser.execute_script(NO_SIDEWAYS_SCROLL)
        browser.save_screenshot(str(ARTIFACTS / f"start-chase-form-{screen}.png"))
        browser.find_element(By.ID, "start").click()
        wait.until(ready.url_contains("/start/started"))
        confirmation = browser.find_element(By.TAG_NAME, "main").text
        assert "已为珠晖区第二小学发起“督办学校一月一查”。" in confirmation
        officer = huhua.queries.person_names(["zhuhui-s002-zr"])["zhuhui-s002-zr"]
        assert f"“回复一月一查督办”由 {officer} 办理，已进入其待办" in confirmation  # the only officer: hers
        browser.save_screenshot(str(ARTIFACTS / f"start-chase-started-{screen}.png"))
        # signed out meanwhile (another tab, an expired session): told so in Chinese, with the way back
        browser.get(base + "/start/supervision_campaign")
        start = wait.until(ready.element_to_be_clickable((By.ID, "start")))
        campaigns = len(huhua.queries.instances(process_key="supervision_campaign"))
        browser.delete_all_cookies()
        start.click()
        wait.until(ready.text_to_be_present_in_element((By.ID, "message"), "登录已过期，请重新登录后再发起"))
        again = browser.find_element(By.LINK_TEXT, "重新登录").get_attribute("href")
        assert again.endswith("/login?next=/start/supervision_campaign")
        assert len(huhua.queries.instances(process_key="supervision_campaign")) == campaigns  # nothing started

        # a class teacher is offered nothing to start; a start she posts anyway is refused in Chinese
        _log_in(browser, wait, base, TEACHER)
        wait.until(ready.presence_of_element_located((By.ID, "filter-form")))
        assert not browser.find_elements(By.ID, "start-button") and not browser.find_elements(By.ID, "nav-start")
        browser.get(base + "/start")
        wait.until(ready.presence_of_element_located((By.ID, "nothing-to-start")))
        status, answer = browser.execute_async_script(POST_START, "counselling_appointment", "zhuhui-s001")
        assert status == 404 and answer["message"] == "找不到该事项，未发起。"  # as its page answers
        browser.delete_all_cookies()

        # the city's bureau head, with nothing open, lands on the dashboard, and its header says so
        _log_in(browser, wait, base, HEAD)
        wait.until(ready.url_contains("/admin/dashboard"))
        assert "心育护花 · 看板" in browser.find_element(By.TAG_NAME, "header").text
    finally:
        browser.quit()
    assert {i["org_scope"] for i in huhua.queries.instances(process_key="counselling_appointment")} == {"zhuhui-s001"}
