"""A class teacher who missed the training says so in the browser (phone-sized): no box to tick falsely, the
reason asked for and required, and the register records an absence, not attendance."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready

from engine.bootstrap import Huhua
from engine.commands import ENGINE, CompleteTask, SetPassword, StartInstance
from tests.helpers import page_wait, served_in_thread
from tests.test_browser import ARTIFACTS, PASSWORD, _browser, _log_in

SCHOOL, TEACHER = "zhuhui-s002", "zhuhui-s002-bzr4"
REASON = "//label[starts-with(normalize-space(.), '未参加的原因')]"
SESSION = {"held_on": "2026-03-20", "trainers": "专家组", "session_hours": 6, "participants": 40, "content": "专题讲座"}


@pytest.fixture
def site(demo: Huhua) -> Iterator[tuple[Huhua, str]]:
    demo.execute(SetPassword(TEACHER, PASSWORD, "admin"))
    with served_in_thread(demo) as base:
        yield demo, base


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_teacher_who_missed_the_training_says_so_with_a_reason(site: tuple[Huhua, str]) -> None:
    huhua, base = site
    variables = {"people": [{"id": TEACHER, "name": "班主任"}], "city_hours": 3, "county_hours": 3,
                 "unit": {"id": SCHOOL, "name": "珠晖区第二小学", "kind": "school"}, "topics": ["班主任心育能力"]}
    instance = int(huhua.execute(StartInstance("ct_training_school", "admin", org_scope=SCHOOL, origin=ENGINE,
                                               variables=variables))["id"])
    assert huhua.queries.instance(instance)["state"] == "running"
    session = huhua.queries.tasks(user=f"{SCHOOL}-zr")[0]
    huhua.execute(CompleteTask(session["id"], f"{SCHOOL}-zr", SESSION))
    task = huhua.queries.tasks(user=TEACHER)[0]
    assert task["assignee"] == TEACHER  # hers, nothing to claim
    browser = _browser(390, 844)
    wait = page_wait(browser, 20)
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        _log_in(browser, wait, base, TEACHER)
        browser.get(f"{base}/inbox/tasks/{task['id']}")
        wait.until(ready.presence_of_element_located((By.XPATH, REASON)))
        browser.find_element(By.ID, "submit").click()  # not attended, and no reason given: refused at the field
        wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, ".fjs-has-errors, .fjs-form-field-error"))
        assert huhua.queries.tasks(user=TEACHER)[0]["state"] == "open"
        browser.find_element(By.XPATH, REASON + "/ancestor::div[contains(@class, 'fjs-form-field')][1]"
                                                "//div[contains(@class, 'fjs-input-group')]").click()
        wait.until(ready.element_to_be_clickable(
            (By.XPATH, "//*[contains(@class, 'fjs-dropdownlist-item') and normalize-space(.)='病假']"))).click()
        browser.save_screenshot(str(ARTIFACTS / "task-attendance-absent-phone.png"))
        browser.find_element(By.ID, "submit").click()
        wait.until(ready.text_to_be_present_in_element((By.ID, "message"), "已提交"))
    finally:
        browser.quit()
    register = huhua.queries.instance(instance)["data"]["attendance_register"]
    assert [(e["id"], e["status"], e["reason"], e["hours"]) for e in register] == [(TEACHER, "absent", "病假", 0)]
