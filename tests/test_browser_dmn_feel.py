"""Issue 15's cases authored in dmn-js in a real browser: an administrator types ``"甲","乙"`` and ``not("甲")``
into a string column, ``true`` / ``false`` into a boolean column and ``date("2026-09-01")`` comparisons into a
date column, picks hit policies from the editor's menu (COLLECT SUM, RULE ORDER, PRIORITY), deploys, and a
business rule task evaluates the table as FEEL says. Screenshots go to artifacts/dmn/."""

from __future__ import annotations

from typing import Any

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

from engine.bootstrap import Huhua
from engine.commands import ENGINE, DeployModels, SetPassword, StartInstance
from tests.helpers import page_wait, served_in_thread
from tests.test_browser import ARTIFACTS, PASSWORD, _browser, _log_in
from tests.test_browser_editors import _ready

#: rule id → the cells typed into it: 等级 (string), 加急 (boolean), 日期 (date), then the points
TYPED = {
    "r1": ('"甲","乙"', "true", '>= date("2026-09-01")', "3"),
    "r2": ('not("甲")', "-", "-", "1"),
    "r3": ("-", "false", '< date("2026-09-01")', "0.5"),
}
COLUMNS = ("grade", "urgent", "day", "points")
#: the table as deployed before the edit: dmn-js's own file (no expressionLanguage: FEEL), every cell "any"
TABLE = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="points_defs" name="评优加分"
             namespace="http://camunda.org/schema/1.0/dmn">
  <decision id="points" name="评优加分">
    <decisionTable id="points_table" hitPolicy="UNIQUE">
      <input id="in_grade" label="等级"><inputExpression id="in_grade_expr" typeRef="string"><text>grade</text>
        </inputExpression></input>
      <input id="in_urgent" label="加急"><inputExpression id="in_urgent_expr" typeRef="boolean"><text>urgent</text>
        </inputExpression></input>
      <input id="in_day" label="日期"><inputExpression id="in_day_expr" typeRef="date"><text>date(day)</text>
        </inputExpression></input>
      <output id="out_points" label="加分" name="points" typeRef="number"/>
""" + "".join(
    f'      <rule id="{rule}">'
    + "".join(f'<inputEntry id="{rule}_{column}"><text>-</text></inputEntry>' for column in COLUMNS[:3])
    + f'<outputEntry id="{rule}_points"><text>0</text></outputEntry></rule>\n' for rule in TYPED) + """\
    </decisionTable>
  </decision>
</definitions>
"""
PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="d" targetNamespace="http://huhua.example/test">
  <bpmn:process id="award_points" name="评优加分" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="decide"/>
    <bpmn:businessRuleTask id="decide" name="计算加分">
      <bpmn:extensionElements><spiffworkflow:calledDecisionId>points</spiffworkflow:calledDecisionId></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:businessRuleTask>
    <bpmn:sequenceFlow id="f2" sourceRef="decide" targetRef="end"/>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""
#: (等级, 加急, 日期) → the rules that match, as FEEL says
CASES = [
    (("乙", True, "2026-09-01"), ["r1", "r2"]),   # one of the two picked; not 甲; no earlier than the date
    (("甲", True, "2026-09-02"), ["r1"]),          # 甲 is one of the two; not(甲) fails
    (("丙", True, "2026-08-31"), ["r2"]),          # neither picked; before the date; urgent
    (("甲", False, "2026-08-31"), ["r3"]),         # false matches false only; before the date
]
POINTS = {"r1": 3, "r2": 1, "r3": 0.5}


def _points(huhua: Huhua, grade: str, urgent: bool, day: str) -> Any:
    started = huhua.execute(StartInstance("award_points", "admin", origin=ENGINE,
                                          variables={"grade": grade, "urgent": urgent, "day": day}))
    instance = huhua.queries.instance(started["id"])
    assert instance["state"] == "completed", instance
    return instance["data"]["points"]


def _type_into(browser: WebDriver, wait: WebDriverWait, element_id: str, text: str) -> None:
    """Click a cell and type over what it holds, as a person does; waits until the table shows it."""
    selector = f'#canvas [data-element-id="{element_id}"]'

    def typed(b: WebDriver) -> bool:
        try:
            b.find_element(By.CSS_SELECTOR, selector).click()
            ActionChains(b).key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL).send_keys(text).perform()
            return True
        except StaleElementReferenceException:  # dmn-js drew the cell anew: find it again
            return False
    wait.until(typed)
    wait.until(lambda b: b.find_element(By.CSS_SELECTOR, selector).text.strip() == text)


def _pick_hit_policy(browser: WebDriver, wait: WebDriverWait, label: str) -> None:
    """Open the hit policy menu in the table's head and choose ``label``, as a person does."""
    wait.until(ready.element_to_be_clickable((By.CSS_SELECTOR, "#canvas .hit-policy-edit-policy-select"))).click()
    wait.until(ready.element_to_be_clickable(
        (By.XPATH, f"//div[contains(@class,'dms-select-options')]//div[contains(@class,'option')][.='{label}']"))
    ).click()
    wait.until(ready.text_to_be_present_in_element((By.CSS_SELECTOR, "#canvas .hit-policy-edit-policy-select"),
                                                   label))


def _deploy(browser: WebDriver, wait: WebDriverWait, version: int) -> None:
    browser.find_element(By.ID, "deploy").click()
    wait.until(ready.text_to_be_present_in_element((By.ID, "version"), f"第 {version} 版"))
    assert "已部署新版本" in browser.find_element(By.ID, "message").text


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_cells_typed_and_hit_policies_picked_in_dmn_js_evaluate_as_feel_says(huhua: Huhua) -> None:
    first = huhua.execute(DeployModels(files=(("award_points.bpmn", PROCESS.encode()),
                                              ("points.dmn", TABLE.encode())), actor="admin"))
    definition_id = first["processes"][0]["definition_id"]
    huhua.execute(SetPassword("admin", PASSWORD, "admin"))
    shots = ARTIFACTS / "dmn"
    shots.mkdir(parents=True, exist_ok=True)
    with served_in_thread(huhua) as base:
        browser = _browser(1366, 900)
        wait = page_wait(browser, 30)
        try:
            _log_in(browser, wait, base, "admin")
            wait.until(ready.url_contains("/inbox"))
            browser.get(f"{base}/admin/processes/{definition_id}/decisions/points")
            _ready(wait)
            for rule, cells in TYPED.items():
                for column, cell in zip(COLUMNS, cells, strict=True):
                    _type_into(browser, wait, f"{rule}_{column}", cell)
            _pick_hit_policy(browser, wait, "收集求和（C+）")
            browser.save_screenshot(str(shots / "feel_cells_collect_sum.png"))
            _deploy(browser, wait, 2)
            for (grade, urgent, day), rules in CASES:
                assert _points(huhua, grade, urgent, day) == sum(POINTS[r] for r in rules), (grade, urgent, day)

            _pick_hit_policy(browser, wait, "规则顺序（RULE ORDER）")
            _deploy(browser, wait, 3)
            for (grade, urgent, day), rules in CASES:
                assert _points(huhua, grade, urgent, day) == [POINTS[r] for r in rules], (grade, urgent, day)

            # PRIORITY: the output's listed values rank the rules (0.5 first), not the rules' order
            browser.execute_script(  # the output's listed values, as dmn-js's head editor sets them for text
                "const viewer = modeler.getActiveViewer();"
                "const column = viewer.get('sheet').getRoot().cols.find(c => c.id === 'out_points');"
                "viewer.get('modeling').editAllowedValues(column.businessObject, ['0.5', '3', '1']);")
            _pick_hit_policy(browser, wait, "优先级（PRIORITY）")
            _deploy(browser, wait, 4)
            assert _points(huhua, "乙", True, "2026-09-01") == 3  # r1 and r2 match; 3 ranks above 1
            browser.save_screenshot(str(shots / "feel_cells_priority.png"))
        finally:
            browser.quit()
    [newest] = [d for d in huhua.queries.definitions(key="award_points") if d["version"] == 4]
    _name, xml = huhua.queries.definition_decision(newest["id"], "points")
    assert '<text>"甲","乙"</text>' in xml and '<text>not("甲")</text>' in xml  # as typed, and as FEEL
    assert 'hitPolicy="PRIORITY"' in xml and "expressionLanguage" not in xml
