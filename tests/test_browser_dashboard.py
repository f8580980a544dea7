"""The dashboard in a real browser: its charts are drawn, a click on a county's bar drills to its schools, a school
to its people; a county officer sees only their county. Screenshots are saved under artifacts/."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

from engine.bootstrap import Huhua
from engine.commands import ENGINE, CompleteTask, DeployShippedProcesses, SetPassword, StartInstance
from tests import test_browser
from tests.helpers import deploy_fixtures
from tests.test_browser import ARTIFACTS, PASSWORD, _browser, _log_in
from workers.job_worker import run_due_jobs

site = test_browser.site  # the served app of the browser tests, as a fixture of this module too

MISSING = {"hengshan-s003-bzr1", "hengshan-s003-bzr2", "hengshan-s003-bzr3"}


def _ready(browser: object) -> bool:
    return browser.execute_script("return document.body.dataset.ready === 'yes'")  # type: ignore[attr-defined]


def _click_bar(browser: object, chart_id: str, category: str) -> None:
    """Click the middle of a category's bar in an ECharts chart, as a person would."""
    x, y = browser.execute_script(  # type: ignore[attr-defined]
        """const chart = echarts.getInstanceByDom(document.getElementById(arguments[0]));
           const option = chart.getOption(), index = option.xAxis[0].data.indexOf(arguments[1]);
           const total = option.series.filter(s => s.type === 'bar').reduce((sum, s) => sum + s.data[index], 0);
           return chart.convertToPixel({seriesIndex: 0}, [index, total / 2]);""", chart_id, category)
    element = browser.find_element(By.ID, chart_id)  # type: ignore[attr-defined]
    size = element.size
    ActionChains(browser).move_to_element_with_offset(element, int(x - size["width"] / 2),
                                                      int(y - size["height"] / 2)).click().perform()


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_dashboard_draws_its_charts_and_drills_from_a_county_bar_to_people(site: tuple[Huhua, str]) -> None:
    huhua, base = site
    huhua.execute(DeployShippedProcesses(str(huhua.settings.processes_dir)))
    deploy_fixtures(huhua, "rollout_city.bpmn", "rollout_county.bpmn", "rollout_school.bpmn")
    huhua.execute(StartInstance("rollout_city", "admin", org_scope="hy", variables={"course": "班主任素养"},
                                origin=ENGINE))
    run_due_jobs(huhua)
    for task in huhua.queries.tasks(limit=500):
        if task["assignee"] not in MISSING:
            huhua.execute(CompleteTask(task["id"], task["assignee"], {"attended": True}))
    run_due_jobs(huhua)
    huhua.execute(StartInstance("monthly_school_check", "scheduler", org_scope="hengshan-s001",
                                variables={"scheduled_for": "2026-03-02T08:30:00+08:00"}, origin=ENGINE))
    huhua.execute(SetPassword("hengshan-zr", PASSWORD, "admin"))
    ARTIFACTS.mkdir(exist_ok=True)
    browser = _browser(1366, 1400)
    wait = WebDriverWait(browser, 30)
    try:
        _log_in(browser, wait, base, "admin")
        wait.until(ready.url_contains("/inbox"))
        browser.get(base + "/admin/dashboard")
        wait.until(_ready)
        drawn = browser.execute_script(
            "return ['coverage', 'monthly', 'bands', 'scores', 'histogram', 'overdue'].filter("
            "id => document.querySelector('#' + id + ' canvas')).length")
        assert drawn == 6
        assert "衡山县教育局" in browser.find_element(By.ID, "coverage-table").text
        browser.save_screenshot(str(ARTIFACTS / "dashboard.png"))

        _click_bar(browser, "coverage", "衡山县教育局")
        wait.until(ready.text_to_be_present_in_element((By.ID, "crumbs"), "衡山县教育局"))
        wait.until(_ready)
        schools = browser.find_element(By.ID, "coverage-table").text
        assert "衡山县第三实验学校" in schools and "衡山县一号教学点" in schools and "珠晖" not in schools
        browser.save_screenshot(str(ARTIFACTS / "dashboard_county.png"))

        browser.find_element(By.LINK_TEXT, "衡山县第三实验学校").click()
        wait.until(ready.text_to_be_present_in_element((By.ID, "crumbs"), "衡山县第三实验学校"))
        wait.until(_ready)
        people = browser.find_element(By.ID, "coverage-table").text
        assert people.count("未完成") == 3 and people.count("已完成") == 2
        assert all(person in people for person in MISSING)
        export = browser.find_element(By.ID, "coverage-export").get_attribute("href")
        assert export.endswith("/export?unit=hengshan-s003")
        browser.save_screenshot(str(ARTIFACTS / "dashboard_people.png"))

        browser.find_element(By.CSS_SELECTOR, "#crumbs a").click()  # back to the whole city
        wait.until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#coverage-table tr")) == 14)
    finally:
        browser.quit()

    browser = _browser(1366, 900)
    try:
        _log_in(browser, wait := WebDriverWait(browser, 30), base, "hengshan-zr")
        wait.until(ready.url_contains("/inbox"))
        browser.get(base + "/admin/dashboard")
        wait.until(_ready)
        rows = browser.find_elements(By.CSS_SELECTOR, "#coverage-table tr")
        assert len(rows) == 2 and "衡山县教育局" in rows[1].text  # their county, no other
        assert browser.find_element(By.ID, "monthly-table").text.count("2026-03") == 1
    finally:
        browser.quit()
