"""The process modeler in a real browser: an administrator sets a task's candidate role and due date in the
properties panel, deploys, and a new instance's task is offered to that role with that due date; the palette,
context pad and panel speak Chinese. One served app and one browser for the module."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import Select, WebDriverWait

from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ
from engine.commands import ENGINE, PERSON, DeployModels, LoadDirectory, SetPassword, StartInstance
from engine.org.calendar import working_deadline
from engine.org.profiles import generate
from tests.helpers import deploy_fixtures, one_task_model, page_wait, served_client, served_in_thread, token_headers
from tests.test_browser import ARTIFACTS, PASSWORD, _browser, _log_in

SCHOOL = "zhuhui-s001"
MODEL = one_task_model("panel_demo", "班会记录", "填写班会记录", "candidateRoles", "principal", task_id="record")


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    chrome = _browser(1366, 900)
    try:
        yield chrome
    finally:
        chrome.quit()


@pytest.fixture
def modeler(huhua: Huhua, browser: webdriver.Chrome) -> Iterator[tuple[Huhua, WebDriverWait]]:
    """The administrator in the modeler on the first version of panel_demo, the demo directory loaded."""
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    first = huhua.execute(DeployModels((("panel_demo.bpmn", MODEL.encode()),), "admin"))["processes"][0]
    huhua.execute(SetPassword("admin", PASSWORD, "admin"))
    wait = page_wait(browser, 30)
    with served_in_thread(huhua) as base:
        _log_in(browser, wait, base, "admin")
        browser.get(f"{base}/admin/processes/{first['definition_id']}/edit")
        wait.until(lambda b: b.execute_script("return document.body.dataset.ready === 'yes'"))
        yield huhua, wait
        browser.delete_all_cookies()


def _select(browser: webdriver.Chrome, wait: WebDriverWait, element_id: str) -> None:
    """Click a shape, as a person does, and wait for the panel to show it."""
    browser.find_element(By.CSS_SELECTOR, f".djs-element[data-element-id={element_id}] .djs-hit").click()
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "[data-group-id=group-huhua]"))


def _choose(browser: webdriver.Chrome, select_id: str, value: str) -> None:
    """Pick an option as a person does; chromedriver's pick fires ``change`` only, a person's also ``input``,
    which the properties panel listens to."""
    select = browser.find_element(By.ID, select_id)
    Select(select).select_by_value(value)
    browser.execute_script("arguments[0].dispatchEvent(new Event('input', {bubbles: true}))", select)


def _open_group(browser: webdriver.Chrome, wait: WebDriverWait, group: str) -> None:
    header = f"[data-group-id=group-{group}] .bio-properties-panel-group-header"
    if "open" not in browser.find_element(By.CSS_SELECTOR, header).get_attribute("class"):
        browser.find_element(By.CSS_SELECTOR, header).click()
    wait.until(lambda b: "open" in b.find_element(By.CSS_SELECTOR, header).get_attribute("class"))


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_administrator_sets_the_candidate_role_and_due_days_in_the_panel_and_new_tasks_follow(
        modeler: tuple[Huhua, WebDriverWait], browser: webdriver.Chrome) -> None:
    huhua, wait = modeler
    # the palette and the context pad in Chinese
    assert browser.find_element(By.CSS_SELECTOR, ".djs-palette .entry.bpmn-icon-task").get_attribute("aria-label") \
        == "创建任务"
    _select(browser, wait, "record")
    pad = {entry.get_attribute("aria-label") or entry.get_attribute("title")
           for entry in browser.find_elements(By.CSS_SELECTOR, ".djs-context-pad .entry")}
    assert {"追加任务", "追加结束事件", "删除"} <= pad, pad
    _open_group(browser, wait, "huhua")
    panel = browser.find_element(By.ID, "properties")
    assert "办理设置" in panel.text and "候选角色" in panel.text and "期限（工作日）" in panel.text
    _choose(browser, "bio-properties-panel-huhua-candidate-role", "class_teacher")
    wait.until(lambda b: b.execute_script(
        "return modeler.get('elementRegistry').get('record').businessObject.extensionElements.values[0]"
        ".properties[0].value") == "class_teacher")
    due = browser.find_element(By.ID, "bio-properties-panel-huhua-due")
    due.send_keys("3天")  # not a number of days: the panel says so and keeps it out of the model
    wait.until(ready.text_to_be_present_in_element((By.CSS_SELECTOR, "[data-entry-id=huhua-due]"), "工作日数"))
    due.clear()
    due.send_keys("3")
    wait.until(lambda b: not b.find_elements(By.CSS_SELECTOR, "[data-entry-id=huhua-due].has-error"))
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "modeler_properties_panel.png"))
    # nothing selected: the process, and who may start it
    browser.find_element(By.CSS_SELECTOR, "#canvas svg").click()
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "[data-group-id=group-huhua-start]"))
    _open_group(browser, wait, "huhua-start")
    starters = browser.find_element(By.ID, "bio-properties-panel-huhua-start-roles")
    starters.send_keys("班主任, 县长")
    wait.until(ready.text_to_be_present_in_element((By.CSS_SELECTOR, "[data-entry-id=huhua-start-roles]"),
                                                   "“县长”不是通讯录中的角色"))
    starters.send_keys(Keys.BACKSPACE * 4)
    wait.until(lambda b: b.execute_script("return modeler.get('canvas').getRootElement().businessObject"
                                          ".extensionElements?.values[0].properties[0].value") == "班主任")
    browser.find_element(By.ID, "deploy").click()
    wait.until(ready.text_to_be_present_in_element((By.ID, "message"), "班会记录 第 2 版"))

    started = huhua.execute(StartInstance("panel_demo", "admin", org_scope=SCHOOL, origin=ENGINE))
    task = huhua.queries.instance(started["id"])["open_tasks"][0]
    teacher = f"{SCHOOL}-bzr1"
    with served_client(huhua) as client:  # the class teacher is offered the task, the principal no longer
        answer = client.get("/api/v1/tasks", query_string={"instance_id": started["id"]},
                            headers=token_headers(huhua, teacher)).get_json()
        principal = client.get("/api/v1/tasks", headers=token_headers(huhua, f"{SCHOOL}-xz")).get_json()
    assert [t["id"] for t in answer] == [task["id"]], answer
    assert task["id"] not in [t["id"] for t in principal], principal
    now = huhua.clock.now().astimezone(BUSINESS_TZ).date()
    expected = working_deadline(huhua.queries.calendar.working_calendar(), now, 3)
    assert datetime.fromisoformat(answer[0]["due_at"]) == expected
    # the start rule the panel wrote: a class teacher of the school may start it by hand
    assert huhua.execute(StartInstance("panel_demo", teacher, org_scope=SCHOOL, origin=PERSON))["id"]


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_form_editor_speaks_chinese_and_offers_only_what_huhua_forms_hold(
        huhua: Huhua, browser: webdriver.Chrome) -> None:
    first = deploy_fixtures(huhua, "score_review.bpmn", "score_band.dmn", "score_confirm.form.json")
    huhua.execute(SetPassword("admin", PASSWORD, "admin"))
    wait = page_wait(browser, 30)
    with served_in_thread(huhua) as base:
        _log_in(browser, wait, base, "admin")
        browser.get(f"{base}/admin/processes/{first['processes'][0]['definition_id']}/forms/score_confirm")
        wait.until(lambda b: b.execute_script("return document.body.dataset.ready === 'yes'"))
        wait.until(ready.text_to_be_present_in_element((By.CSS_SELECTOR, ".fjs-palette-container"), "单行文本"))
        palette = browser.find_element(By.CSS_SELECTOR, ".fjs-palette-container")
        names = set(palette.text.split("\n"))
        assert {"组件", "输入", "选择", "展示", "多行文本", "下拉选择"} <= names and "操作" not in names, names
        offered = {e.get_attribute("data-field-type")
                   for e in palette.find_elements(By.CSS_SELECTOR, ".fjs-palette-field") if e.is_displayed()}
        assert {"textfield", "datetime", "dynamiclist"} <= offered
        assert not offered & {"filepicker", "iframe", "button", "documentPreview"}, offered
        browser.find_element(By.CSS_SELECTOR, ".fjs-form-field[data-id] .fjs-form-field-label, .fjs-form-field").click()
        wait.until(ready.text_to_be_present_in_element((By.CSS_SELECTOR, ".fjs-properties-container"), "常规"))
        ARTIFACTS.mkdir(exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / "form_editor_chinese.png"))
        browser.delete_all_cookies()


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_model_with_an_extension_the_editor_does_not_know_is_not_deployed_from_it(
        huhua: Huhua, browser: webdriver.Chrome) -> None:
    """Saving would drop the element: the page says so and offers no deploy."""
    model = MODEL.replace("<spiffworkflow:properties>", "<spiffworkflow:unitTests/><spiffworkflow:properties>")
    first = huhua.execute(DeployModels((("panel_demo.bpmn", model.encode()),), "admin"))["processes"][0]
    huhua.execute(SetPassword("admin", PASSWORD, "admin"))
    wait = page_wait(browser, 30)
    with served_in_thread(huhua) as base:
        _log_in(browser, wait, base, "admin")
        browser.get(f"{base}/admin/processes/{first['definition_id']}/edit")
        wait.until(lambda b: b.execute_script("return document.body.dataset.ready === 'yes'"))
        assert "spiffworkflow:UnitTests" in browser.find_element(By.ID, "message").text
        assert not browser.find_element(By.ID, "deploy").is_enabled()
        browser.delete_all_cookies()
