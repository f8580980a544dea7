"""The administrator's instance page in a real browser: variables, history, jobs, and moving to a newer version."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready

from engine.bootstrap import Huhua
from engine.commands import ENGINE, StartInstance
from tests.helpers import deploy_fixtures, page_wait
from tests.test_browser import ARTIFACTS, _browser, _log_in, site  # noqa: F401 (site is a fixture)


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_administrator_sees_an_instance_and_migrates_it_to_version_2(site: tuple[Huhua, str]) -> None:  # noqa: F811
    huhua, base = site
    deploy_fixtures(huhua, "migration/leave_v1.bpmn")
    long_note = "家长反映情况：" + "孩子最近情绪低落，" * 20
    started = huhua.execute(StartInstance("leave", "admin", variables={"days": 3, "note": long_note}, origin=ENGINE))
    deploy_fixtures(huhua, "migration/leave_v2.bpmn")
    browser = _browser(1366, 900)
    wait = page_wait(browser, 30)
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        _log_in(browser, wait, base, "admin")
        wait.until(ready.url_contains("/inbox"))
        browser.get(f"{base}/admin/instances/{started['id']}")
        wait.until(lambda b: b.execute_script("return document.body.dataset.ready === 'yes'"))
        assert browser.find_element(By.ID, "version").text == "第 1 版"
        assert browser.find_element(By.ID, "state").text == "运行中"
        variables = browser.find_element(By.ID, "variables").text
        assert "days" in variables and "prepared" in variables and "note" in variables
        assert browser.execute_script("return document.querySelectorAll('#variables details').length") == 1  # folded
        wait.until(ready.text_to_be_present_in_element((By.ID, "history"), "启动"))
        assert "生成待办" in browser.find_element(By.ID, "history").text
        wait.until(ready.text_to_be_present_in_element((By.ID, "jobs"), "overdue"))
        assert "待执行" in browser.find_element(By.ID, "jobs").text

        migrate = wait.until(ready.element_to_be_clickable((By.ID, "migrate")))
        assert migrate.text == "迁移到第 2 版"
        migrate.click()
        confirm = wait.until(ready.element_to_be_clickable((By.ID, "confirm-migrate")))
        report = browser.find_element(By.ID, "migration").text
        assert "填写请假申请（fill）" in report and "主管审批（approve）" in report  # where it is, what is new
        assert "准备材料（prepare）" in report  # and what is gone
        browser.save_screenshot(str(ARTIFACTS / "instance-migration-check.png"))
        confirm.click()
        wait.until(ready.text_to_be_present_in_element((By.ID, "version"), "第 2 版"))
        wait.until(lambda b: b.execute_script("return document.body.dataset.ready === 'yes'"))
        wait.until(ready.text_to_be_present_in_element((By.ID, "history"), "迁移版本"))
        assert not browser.find_element(By.ID, "migrate").is_displayed()  # nothing newer now
        browser.save_screenshot(str(ARTIFACTS / "instance-migrated.png"))
        browser.execute_script("document.getElementById('history').scrollIntoView()")
        browser.save_screenshot(str(ARTIFACTS / "instance-variables-history.png"))
    finally:
        browser.quit()
    assert huhua.queries.instance(started["id"])["definition"]["version"] == 2
