"""The DMN and form editors in a real browser: an administrator opens a version's decision table in dmn-js
and its form in the form-js editor, edits, deploys, and sees the new version. Screenshots go to artifacts/."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

from engine.bootstrap import Huhua
from engine.commands import ENGINE, SetPassword, StartInstance
from tests.helpers import deploy_fixtures, page_wait, served_in_thread
from tests.test_browser import ARTIFACTS, PASSWORD, _browser, _log_in

FILES = ("score_review.bpmn", "score_band.dmn", "score_confirm.form.json")


@pytest.fixture
def site(huhua: Huhua) -> Iterator[tuple[Huhua, str, int]]:
    first = deploy_fixtures(huhua, *FILES)["processes"][0]["definition_id"]
    huhua.execute(SetPassword("admin", PASSWORD, "admin"))
    with served_in_thread(huhua) as base:
        yield huhua, base, first


def _ready(wait: WebDriverWait) -> None:
    wait.until(lambda b: b.execute_script("return document.body.dataset.ready === 'yes'"))


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_administrator_edits_a_decision_table_in_dmn_js_and_deploys_a_new_version(
        site: tuple[Huhua, str, int]) -> None:
    huhua, base, first = site
    old = huhua.execute(StartInstance("score_review", "admin", variables={"score": 70}, origin=ENGINE))
    browser = _browser(1366, 900)
    wait = page_wait(browser, 30)
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        _log_in(browser, wait, base, "admin")
        wait.until(ready.url_contains("/inbox"))
        browser.get(base + "/admin/")
        link = wait.until(ready.element_to_be_clickable(
            (By.CSS_SELECTOR, ".process[data-key=score_review] a.decision")))
        assert link.text == "考核等级"  # the decision table by its name, not its file
        assert "确认评定结果（第 1 版）" in browser.find_element(
            By.CSS_SELECTOR, ".process[data-key=score_review] a.form").text
        link.click()
        _ready(wait)
        table = browser.find_element(By.CSS_SELECTOR, "#canvas .tjs-table")
        assert "得分" in table.text and "等级" in table.text and '"合格"' in table.text and '"不合格"' in table.text
        assert len(browser.find_elements(By.CSS_SELECTOR, "#canvas tbody tr")) == 2  # its two rules
        assert "命中策略" in browser.page_source and "当" in table.text and "则" in table.text  # dmn-js in Chinese
        browser.save_screenshot(str(ARTIFACTS / "dmn_editor.png"))
        # a cell the engine cannot evaluate is refused, and marked in the table
        browser.execute_script("""
            const sheet = modeler.getActiveViewer().get('sheet'), modeling = modeler.getActiveViewer().get('modeling');
            const rows = sheet.getRoot().rows;
            modeling.editCell(rows[1].cells[1].businessObject, '不 合格');
        """)
        browser.find_element(By.ID, "deploy").click()
        wait.until(ready.text_to_be_present_in_element((By.ID, "message"), "第 2 条规则，输出列“等级”"))
        assert browser.find_elements(By.CSS_SELECTOR, "#canvas .huhua-error")
        # the threshold raised to 80, with text in quotes: deployed as version 2
        browser.execute_script("""
            const sheet = modeler.getActiveViewer().get('sheet'), modeling = modeler.getActiveViewer().get('modeling');
            const rows = sheet.getRoot().rows;
            modeling.editCell(rows[0].cells[0].businessObject, '>= 80');
            modeling.editCell(rows[1].cells[0].businessObject, '< 80');
            modeling.editCell(rows[1].cells[1].businessObject, '"不合格"');
        """)
        browser.find_element(By.ID, "deploy").click()
        wait.until(ready.text_to_be_present_in_element((By.ID, "message"), "考核评定 第 2 版"))
        assert browser.find_element(By.ID, "version").text == "考核评定 第 2 版"  # the header follows the deploy
    finally:
        browser.quit()
    assert sorted(d["version"] for d in huhua.queries.definitions(key="score_review")) == [1, 2]
    new = huhua.execute(StartInstance("score_review", "admin", variables={"score": 70}, origin=ENGINE))
    assert huhua.queries.instance(new["id"])["data"]["band"] == "不合格"
    assert huhua.queries.instance(old["id"])["data"]["band"] == "合格"
    assert huhua.queries.instance(old["id"])["definition_id"] == first


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_administrator_adds_a_field_in_the_form_editor_and_deploys_a_new_version(
        site: tuple[Huhua, str, int]) -> None:
    huhua, base, first = site
    browser = _browser(1366, 900)
    wait = page_wait(browser, 30)
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        _log_in(browser, wait, base, "admin")
        wait.until(ready.url_contains("/inbox"))
        browser.get(base + "/admin/")
        wait.until(ready.element_to_be_clickable((By.CSS_SELECTOR, ".process[data-key=score_review] a.form"))).click()
        _ready(wait)
        assert "第 1 版" in browser.find_element(By.ID, "version").text
        wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, "#editor .fjs-form-field")))
        assert "备注" in browser.find_element(By.CSS_SELECTOR, "#editor .fjs-editor-container").text
        browser.execute_script("""
            const modeling = formEditor.get('modeling'), registry = formEditor.get('formFieldRegistry');
            const root = formEditor._state.schema;
            modeling.addFormField({type: 'textfield', key: 'signature', label: '签名', validate: {required: true}},
                                  root, root.components.length);
        """)
        wait.until(ready.text_to_be_present_in_element((By.CSS_SELECTOR, "#editor .fjs-editor-container"), "签名"))
        browser.save_screenshot(str(ARTIFACTS / "form_editor.png"))
        browser.find_element(By.ID, "deploy").click()
        wait.until(ready.text_to_be_present_in_element((By.ID, "message"), "已部署表单第 2 版"))
        assert "考核评定 第 2 版" in browser.find_element(By.ID, "message").text
    finally:
        browser.quit()
    second = max(huhua.queries.definitions(key="score_review"), key=lambda d: d["version"])
    assert second["version"] == 2
    schema = huhua.queries.definition_form(second["id"], "score_confirm")["schema"]
    assert [c.get("key") for c in schema["components"]] == ["remark", "signature"]
    assert huhua.queries.definition_form(first, "score_confirm")["version"] == 1
