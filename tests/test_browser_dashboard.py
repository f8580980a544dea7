"""The dashboard in a real browser: its charts are drawn, the month's scores are compared per county (box plots side
by side, ranked, sortable), the coverage opens on a rollout with data, a click on a county's bar drills to its
schools, a school to its people; a county officer sees only their county; on a phone (390×844) nothing runs off
the screen and names are not broken one character per line. Screenshots are saved under artifacts/."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import Select
from sqlalchemy import update

from engine.bootstrap import Huhua
from engine.commands import ENGINE, CompleteTask, DeployShippedProcesses, SetPassword, StartInstance
from engine.store import tables
from tests import test_browser
from tests.helpers import deploy_fixtures, page_wait
from tests.library.conftest import complete
from tests.test_browser import ARTIFACTS, PASSWORD, _browser, _log_in
from tests.test_dashboard import _check, _submit_and_score
from tests.test_dashboard_coverage import NOTICE
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


def _open_crisis_case(huhua: Huhua, school: str) -> None:
    """A counselling case at ``school`` whose first session finds signs of self-harm: a crisis for the county."""
    counsellor = f"{school}-xl1"
    huhua.execute(StartInstance("counselling_appointment", counsellor, org_scope=school))
    for element, data in (("register", {"student_alias": "初二学生A", "requester": "parent", "channel": "phone",
                                        "appointment_date": "2026-03-03", "reason": "情绪低落"}),
                          ("session", {"session_date": "2026-03-03", "session_record": "倾听与情绪疏导",
                                       "risk_level": "high", "risk_signs": ["self_harm"]})):
        run_due_jobs(huhua)
        [task] = [t for t in huhua.queries.tasks(user=counsellor, limit=50) if t["element_id"] == element]
        huhua.execute(CompleteTask(task["id"], counsellor, data))
    run_due_jobs(huhua)


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_dashboard_draws_its_charts_and_drills_from_a_county_bar_to_people(site: tuple[Huhua, str]) -> None:
    huhua, base = site
    huhua.execute(DeployShippedProcesses(str(huhua.settings.processes_dir)))
    deploy_fixtures(huhua, "rollout_city.bpmn", "rollout_county.bpmn", "rollout_school.bpmn")
    city = huhua.execute(StartInstance("rollout_city", "admin", org_scope="hy", variables={"course": "班主任素养"},
                                       origin=ENGINE))["id"]
    run_due_jobs(huhua)
    for task in huhua.queries.tasks(limit=500):
        if task["assignee"] not in MISSING:
            huhua.execute(CompleteTask(task["id"], task["assignee"], {"attended": True}))
    run_due_jobs(huhua)
    huhua.execute(StartInstance("monthly_school_check", "scheduler", org_scope="hengshan-s001",
                                variables={"scheduled_for": "2026-03-02T08:30:00+08:00"}, origin=ENGINE))
    _open_crisis_case(huhua, "hengshan-s003")
    for school, total in (("zhuhui-s001", 95), ("zhuhui-s002", 80), ("zhuhui-s003", 50), ("qidong-s001", 70)):
        _submit_and_score(huhua, _check(huhua, school, "2026-03"), school, total)
    # the launch reaches every county last: the newest activity, yet nothing submitted anywhere (not the default)
    launch = huhua.execute(StartInstance("launch_programme", "scheduler", origin=ENGINE))["id"]
    complete(huhua, "hy-zr", "launch_draft_notice", NOTICE)
    complete(huhua, "hy-jz", "od_sign", {"od_decision": "signed"})
    huhua.execute(SetPassword("hengshan-zr", PASSWORD, "admin"))
    marked = next(u for u in huhua.queries.units(kind="county") if u["id"] not in ("zhuhui", "qidong", "hengshan"))
    with huhua.services.database.engine.begin() as connection:  # a name that reads as markup, shown as the text it is
        connection.execute(update(tables.org_unit).where(tables.org_unit.c.id == marked["id"])
                           .values(name=marked["name"] + "<img>"))
    (ARTIFACTS / "dashboard").mkdir(parents=True, exist_ok=True)
    browser = _browser(1366, 1400)
    wait = page_wait(browser, 30)
    try:
        _log_in(browser, wait, base, "admin")
        wait.until(ready.url_contains("/inbox"))
        browser.get(base + "/admin/dashboard")
        wait.until(_ready)
        drawn = browser.execute_script(
            "return ['coverage', 'monthly', 'bands', 'scores', 'histogram', 'overdue', 'counselling'].filter("
            "id => document.querySelector('#' + id + ' canvas')).length")
        assert drawn == 7
        rollout = Select(browser.find_element(By.ID, "rollout"))
        assert rollout.options[0].get_attribute("value") == str(launch) and "未开始" in rollout.options[0].text
        assert rollout.first_selected_option.get_attribute("value") == str(city)  # the default view has data
        ranked = [r.text.split() for r in browser.find_elements(By.CSS_SELECTOR, "#comparison-table tr")[1:]]
        assert len(ranked) == 13 and ranked[:2] == [["1", "珠晖区教育局", "3/3", "75", "50", "80", "95"],
                                                    ["2", "祁东县教育局", "1/3", "70", "70", "70", "70"]]
        assert ranked[2][0] == "—" and ranked[2][2] == "0/3"  # no score: no rank, and said over how many
        boxes = browser.execute_script(
            "const option = echarts.getInstanceByDom(document.getElementById('comparison')).getOption();"
            "return [option.yAxis[0].data, option.series[0].data.filter(box => box[0] !== '-').length]")
        assert len(boxes[0]) == 13 and boxes[0][0] == "珠晖区教育局\n已评分 3/3" and boxes[1] == 2
        tooltip = browser.execute_script(
            "const option = echarts.getInstanceByDom(document.getElementById('comparison')).getOption();"
            "const index = option.yAxis[0].data.findIndex(name => name.includes('<img>'));"
            "return option.tooltip[0].formatter({dataIndex: index})")
        assert tooltip.startswith(marked["name"] + "&lt;img&gt;<br>")  # the tooltip is HTML: the name escaped
        browser.find_element(By.CSS_SELECTOR, "#comparison-table th").click()  # rank, the other way round
        wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#comparison-table tr")[1].text.startswith("2 祁东"))
        browser.save_screenshot(str(ARTIFACTS / "dashboard" / "desktop.png"))
        assert "衡山县教育局" in browser.find_element(By.ID, "coverage-table").text
        counselling = browser.find_element(By.ID, "counselling-table").find_elements(By.TAG_NAME, "tr")
        assert [r.text.split() for r in counselling[1:]] == [["衡山县教育局", "1", "0", "0", "1", "0", "1", "0", "1"]]
        assert "衡山县第三实验学校" in browser.find_element(By.ID, "escalations-table").text
        browser.execute_script("document.getElementById('counselling-card').scrollIntoView()")
        _click_bar(browser, "counselling", "衡山县教育局")  # drills to the county's schools
        wait.until(ready.text_to_be_present_in_element((By.ID, "counselling-table"), "衡山县第三实验学校"))
        browser.save_screenshot(str(ARTIFACTS / "dashboard_counselling.png"))
        browser.execute_script("window.scrollTo(0, 0)")

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
        _log_in(browser, wait := page_wait(browser, 30), base, "hengshan-zr")
        wait.until(ready.url_contains("/inbox"))
        browser.get(base + "/admin/dashboard")
        wait.until(_ready)
        rows = browser.find_elements(By.CSS_SELECTOR, "#coverage-table tr")
        assert len(rows) == 2 and "衡山县教育局" in rows[1].text  # their county, no other
        assert browser.find_element(By.ID, "monthly-table").text.count("2026-03") == 1
        assert browser.find_element(By.ID, "comparison-title").text == "一月一查：各校得分对比"  # their own schools
        schools = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "#comparison-table tr")[1:]]
        assert len(schools) == 3 and all("衡山" in school for school in schools)
    finally:
        browser.quit()

    browser = _browser(390, 844)  # a phone
    try:
        _log_in(browser, wait := page_wait(browser, 30), base, "admin")
        wait.until(ready.url_contains("/inbox"))
        browser.get(base + "/admin/dashboard")
        wait.until(_ready)
        layout = browser.execute_script("""
            const width = document.documentElement.clientWidth;
            const chart = id => echarts.getInstanceByDom(document.getElementById(id));
            const charts = ['comparison', 'coverage', 'monthly', 'bands', 'scores', 'histogram', 'overdue'];
            const names = '#coverage-table td:first-child:not(.empty), #overdue-table td:first-child:not(.empty)';
            return {page: document.documentElement.scrollWidth - width,
                    selects: [...document.querySelectorAll('select')]
                      .filter(s => s.getBoundingClientRect().right > width).length,
                    broken: [...document.querySelectorAll(names)]  // a name on one line, never one character each
                      .filter(td => td.getBoundingClientRect().height > 40).map(td => td.textContent),
                    pagers: charts.filter(id => chart(id).getOption().legend?.some(l => l.type === 'scroll')).length,
                    categories: chart('comparison').getOption().yAxis[0].data.length};""")
        browser.save_screenshot(str(ARTIFACTS / "dashboard" / "phone-top.png"))
        for card in ("comparison-card", "coverage-card", "monthly", "overdue"):
            browser.execute_script("document.getElementById(arguments[0]).scrollIntoView()", card)
            browser.save_screenshot(str(ARTIFACTS / "dashboard" / f"phone-{card.removesuffix('-card')}.png"))
        assert layout == {"page": 0, "selects": 0, "broken": [], "pagers": 0, "categories": 13}, layout
        assert "outside" not in browser.find_element(By.TAG_NAME, "main").text
    finally:
        browser.quit()
