"""The notification centre in a real browser (headless Chromium), on a desktop and on a phone-sized screen: a class
teacher sees the bell's count, opens the centre, opens the notification of a new task (the count drops, she lands
on the task), and sets her choices: no e-mail for tasks assigned to her, quiet hours of her own. Nothing scrolls
sideways. Screenshots go to artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready
from sqlalchemy import update

from engine.bootstrap import Huhua
from engine.commands import ENGINE, LoadDirectory, NotifyPeople, SetPassword, StartInstance
from engine.config import Settings
from engine.org.profiles import generate
from engine.store import tables
from tests.conftest import PROJECT
from tests.helpers import deploy_fixtures, page_wait, served_in_thread
from tests.test_browser import ARTIFACTS, PASSWORD, _browser, _log_in
from tests.test_notification_centre import NOTIFICATIONS_TOML, TEACHER, _deliveries

NO_SIDEWAYS_SCROLL = "return document.documentElement.scrollWidth <= window.innerWidth + 1"
#: The bell is on the screen, not cut off or wrapped away: its box lies inside the window.
BELL_ON_SCREEN = """const box = document.getElementById('bell').getBoundingClientRect();
return box.width > 0 && box.left >= 0 && box.right <= window.innerWidth && box.top >= 0;"""


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """E-mail, a WeCom robot for the teacher's school and an SMS gateway set up (nothing is sent here)."""
    path = tmp_path / "notifications.toml"
    path.write_text(NOTIFICATIONS_TOML, encoding="utf-8")
    return Settings(database_url=database_url, data_dir=tmp_path, processes_dir=PROJECT / "processes",
                    max_model_bytes=5 * 1024 * 1024, node_name="test", outbound_allow=("127.0.0.1",),
                    notifications_file=path)


@pytest.fixture
def told(huhua: Huhua) -> Iterator[tuple[Huhua, str, int]]:
    """A task offered to the teacher's school and two notifications for her, one leading to the task; served."""
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    deploy_fixtures(huhua, "teacher_report.bpmn", "teacher_home_visit.form.json")
    with huhua.services.database.engine.begin() as connection:  # her address as the directory has it
        connection.execute(update(tables.person).where(tables.person.c.id == TEACHER).values(
            email="weinaxiu@zhuhui-s001.example"))
    huhua.execute(SetPassword(TEACHER, PASSWORD, "admin"))
    started = huhua.execute(StartInstance("teacher_report", "admin", org_scope="zhuhui-s001", origin=ENGINE))
    task = huhua.queries.instance(started["id"])["open_tasks"][0]["id"]
    huhua.execute(NotifyPeople("admin", "message", "本周工作安排", "请查阅[工作安排](/inbox)。", (TEACHER,)))
    huhua.execute(NotifyPeople("admin", "task_offered", "新的待认领任务：登记本周家访", "请在**本周五**前完成。",
                               (TEACHER,), link=f"/inbox/tasks/{task}", task_id=task))
    with served_in_thread(huhua) as base:
        yield huhua, base, task


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("screen", "width", "height"), [("desktop", 1366, 900), ("phone", 390, 844)])
def test_a_teacher_opens_a_notification_from_the_bell_and_sets_her_choices(
        told: tuple[Huhua, str, int], screen: str, width: int, height: int) -> None:
    huhua, base, task = told
    browser = _browser(width, height)
    wait = page_wait(browser, 20)
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        _log_in(browser, wait, base, TEACHER)
        count = wait.until(ready.visibility_of_element_located((By.ID, "bell-count")))
        assert count.text == "2" and browser.execute_script(BELL_ON_SCREEN)
        browser.find_element(By.ID, "bell").click()
        wait.until(ready.url_contains("/notifications"))
        cards = browser.find_elements(By.CSS_SELECTOR, ".card.notification.unread")
        assert [c.find_element(By.CSS_SELECTOR, ".subject").text for c in cards] == [
            "新的待认领任务：登记本周家访", "本周工作安排"]
        assert "新的待认领任务 · 2026-03-02 08:30" in cards[0].text
        assert cards[0].find_element(By.CSS_SELECTOR, ".body strong").text == "本周五"
        assert browser.execute_script(NO_SIDEWAYS_SCROLL)
        browser.save_screenshot(str(ARTIFACTS / f"notifications-centre-{screen}.png"))

        cards[0].find_element(By.CSS_SELECTOR, ".subject").click()
        wait.until(ready.url_to_be(f"{base}/inbox/tasks/{task}"))
        wait.until(ready.text_to_be_present_in_element((By.ID, "bell-count"), "1"))
        assert browser.execute_script(BELL_ON_SCREEN)

        browser.get(base + "/notifications")
        browser.find_element(By.ID, "choices-link").click()
        wait.until(ready.presence_of_element_located((By.ID, "choices-form")))
        email = browser.find_element(By.CSS_SELECTOR, "input[name='channels-task_assigned'][value='email']")
        dingtalk = browser.find_element(By.CSS_SELECTOR, "input[name='channels-task_assigned'][value='dingtalk']")
        assert email.is_selected() and email.is_enabled() and not dingtalk.is_enabled()  # no robot at her school
        email.click()
        browser.find_element(By.ID, "quiet-own").click()
        browser.find_element(By.ID, "quiet-from").send_keys("21:00")
        browser.find_element(By.ID, "quiet-until").send_keys("06:30")
        assert browser.execute_script(NO_SIDEWAYS_SCROLL)
        browser.find_element(By.ID, "save-choices").click()
        wait.until(ready.visibility_of_element_located((By.ID, "choices-saved")))
        row = browser.find_element(By.CSS_SELECTOR, "tr[data-kind='task_assigned']")
        assert "我的选择" in row.text
        assert not browser.find_element(
            By.CSS_SELECTOR, "input[name='channels-task_assigned'][value='email']").is_selected()
        assert browser.find_element(By.ID, "quiet-from").get_attribute("value") == "21:00"
        browser.save_screenshot(str(ARTIFACTS / f"notifications-choices-{screen}.png"))
    finally:
        browser.quit()
    assigned = huhua.execute(NotifyPeople("admin", "task_assigned", "分派给您的任务", "请办理。", (TEACHER,)))
    assert set(_deliveries(huhua, assigned["notifications"][TEACHER])) == {"wecom"}  # no e-mail any more
    choices = huhua.queries.notifications.choices(TEACHER, huhua.services.notifications)
    assert choices is not None and choices["quiet_hours"]["hours"] == ["21:00", "06:30"]
