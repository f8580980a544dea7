"""A second administrator in a real browser (headless Chromium): a teacher's account given ``--admin`` on the
command line works the jobs page, whose calls to the API succeed with the session; once the flag is taken away
the same session is refused at its next page. Screenshots are saved under artifacts/."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from click.testing import Result
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready

from engine.bootstrap import Huhua
from engine.commands import ENGINE, StartInstance
from tests.helpers import cli_json, deploy_fixtures, page_wait
from tests.test_browser import ARTIFACTS, PASSWORD, _browser, _log_in, site  # noqa: F401  (site is a fixture)

SECOND = "zhuhui-s001-bzr2"


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_second_administrator_retries_an_incident_and_loses_the_page_when_revoked(
        site: tuple[Huhua, str], cli: Callable[..., Result]) -> None:  # noqa: F811
    huhua, base = site
    deploy_fixtures(huhua, "failing_script.bpmn")
    failed = huhua.execute(StartInstance("failing_script", "admin", org_scope="zhuhui-s002", origin=ENGINE))
    made = cli_json(cli("accounts", "password", SECOND, "--password", PASSWORD, "--admin", "--json"))
    assert made == {"username": SECOND, "is_admin": True}
    browser = _browser(1366, 900)
    wait = page_wait(browser, 20)
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        _log_in(browser, wait, base, SECOND)
        wait.until(ready.presence_of_element_located((By.LINK_TEXT, "流程管理")))  # the header offers the admin pages
        browser.get(base + "/admin/jobs")
        wait.until(lambda b: b.execute_script("return document.body.dataset.ready") == "yes")
        row = browser.find_element(By.CSS_SELECTOR, "#incidents tbody tr")
        assert "脚本出错" in row.text  # the process by its name
        row.find_element(By.CSS_SELECTOR, "input.variables").send_keys('{"done": 3, "total": 4}')
        row.find_element(By.CSS_SELECTOR, "button.retry").click()
        wait.until(ready.text_to_be_present_in_element((By.ID, "incident-message"), "故障已处理"))
        browser.save_screenshot(str(ARTIFACTS / "second-administrator-jobs.png"))

        cli("accounts", "password", SECOND, "--password", PASSWORD, "--json")  # no --admin: the right goes
        browser.get(base + "/admin/jobs")
        assert "没有权限" in browser.page_source  # the same session, refused at its next page (a Chinese 403 page)
        browser.get(base + "/inbox")
        wait.until(ready.presence_of_element_located((By.TAG_NAME, "main")))
        assert "流程管理" not in browser.page_source  # still logged in, as a teacher now
    finally:
        browser.quit()
    assert huhua.queries.instance(failed["id"])["state"] == "completed"
