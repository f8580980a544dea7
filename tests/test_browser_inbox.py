"""The inbox's filters, attachments and history in a real browser (headless Chromium), on a desktop and on a
phone-sized screen: a class teacher saves a filter and applies it from its chip, attaches a file to a task and
sees it in the history beside the task, and nothing scrolls sideways. Screenshots go to artifacts/."""

from __future__ import annotations

from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import Select

from engine.bootstrap import Huhua
from engine.commands import ENGINE, ClaimTask, DeployModels, StartInstance
from tests.helpers import page_wait
from tests.test_browser import ARTIFACTS, _browser, _log_in, site  # noqa: F401  (site is a fixture)
from tests.test_inbox import COLLEAGUE, ME, NOTICE, PDF

NO_SIDEWAYS_SCROLL = "return document.documentElement.scrollWidth <= window.innerWidth + 1"


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("screen", "width", "height"), [("desktop", 1366, 900), ("phone", 390, 844)])
def test_a_teacher_saves_and_applies_a_filter_attaches_a_file_and_sees_the_history(
        site: tuple[Huhua, str], tmp_path: Path, screen: str, width: int, height: int) -> None:  # noqa: F811
    huhua, base = site
    huhua.execute(DeployModels((("notice.bpmn", NOTICE),), "admin"))
    huhua.execute(StartInstance("teacher_report", "admin", org_scope="zhuhui-s001", origin=ENGINE))
    huhua.execute(StartInstance("notice", "admin", org_scope="zhuhui-s001", variables={"readers": [ME]}, origin=ENGINE))
    scan = tmp_path / "家访记录.pdf"
    scan.write_bytes(PDF)
    browser = _browser(width, height)
    wait = page_wait(browser, 20)
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        _log_in(browser, wait, base, ME)
        wait.until(ready.presence_of_element_located((By.ID, "filter-form")))
        assert len(browser.find_elements(By.CSS_SELECTOR, ".card.task")) == 2
        assert "尚未保存筛选" in browser.page_source
        Select(browser.find_element(By.NAME, "due")).select_by_value("none")
        browser.find_element(By.CSS_SELECTOR, "#filter-form button[type=submit]").click()
        wait.until(ready.url_contains("due=none"))
        browser.find_element(By.ID, "filter-name").send_keys("无截止日期")
        browser.find_element(By.ID, "save-filter").click()
        chip = wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, ".chip a")))
        assert chip.text == "无截止日期"
        browser.get(base + "/inbox")  # everything again, then the chip narrows it
        wait.until(ready.element_to_be_clickable((By.CSS_SELECTOR, ".chip a"))).click()
        wait.until(ready.url_contains("due=none"))
        names = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".task a.name")]
        assert names == ["阅读100%通知 · 珠晖区第一中学"]  # the task with its unit
        assert browser.execute_script(NO_SIDEWAYS_SCROLL)
        browser.save_screenshot(str(ARTIFACTS / f"inbox-saved-filter-{screen}.png"))

        browser.get(base + "/inbox?q=家访")
        wait.until(ready.element_to_be_clickable((By.CSS_SELECTOR, "button.claim"))).click()
        wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, ".fjs-form input")))
        browser.find_element(By.ID, "attachment-file").send_keys(str(scan))
        browser.find_element(By.ID, "upload").click()
        wait.until(ready.text_to_be_present_in_element((By.ID, "message"), "已上传：家访记录.pdf"))
        wait.until(ready.text_to_be_present_in_element((By.ID, "attachments"), "家访记录.pdf"))
        wait.until(ready.text_to_be_present_in_element((By.ID, "history"), "上传附件：家访记录.pdf"))
        history = browser.find_element(By.ID, "history").text
        assert "认领任务" in history and "生成任务" in history
        link = browser.find_element(By.CSS_SELECTOR, "#attachments a.attachment")
        assert link.get_attribute("href").startswith(base + "/api/v1/attachments/")
        assert browser.execute_script(NO_SIDEWAYS_SCROLL)
        browser.save_screenshot(str(ARTIFACTS / f"task-attachment-history-{screen}.png"))
    finally:
        browser.quit()
    task = huhua.queries.tasks(user=ME)
    assert [a["name"] for t in task for a in huhua.queries.attachments(t["id"])] == ["家访记录.pdf"]


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_task_a_colleague_claimed_meanwhile_is_explained_on_the_page(site: tuple[Huhua, str]) -> None:  # noqa: F811
    huhua, base = site
    started = huhua.execute(StartInstance("teacher_report", "admin", org_scope="zhuhui-s001", origin=ENGINE))
    task = huhua.queries.instance(started["id"])["open_tasks"][0]["id"]
    browser = _browser(390, 844)
    wait = page_wait(browser, 20)
    try:
        _log_in(browser, wait, base, ME)
        claim = wait.until(ready.element_to_be_clickable((By.CSS_SELECTOR, "button.claim")))
        huhua.execute(ClaimTask(task, COLLEAGUE))  # while the page is open
        claim.click()
        colleague = huhua.queries.person_names([COLLEAGUE])[COLLEAGUE]
        wait.until(ready.text_to_be_present_in_element((By.ID, "message"),
                                                       f"该任务已由 {colleague} 于 2026-03-02 08:30 认领"))
        assert browser.find_elements(By.CSS_SELECTOR, "button.claim") == []
        assert browser.execute_script(NO_SIDEWAYS_SCROLL)
    finally:
        browser.quit()


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_teacher_hands_her_task_to_a_colleague_picked_by_name(site: tuple[Huhua, str]) -> None:  # noqa: F811
    huhua, base = site
    started = huhua.execute(StartInstance("teacher_report", "admin", org_scope="zhuhui-s001", origin=ENGINE))
    task = huhua.queries.instance(started["id"])["open_tasks"][0]["id"]
    huhua.execute(ClaimTask(task, ME))
    colleague = huhua.queries.person_names([COLLEAGUE])[COLLEAGUE]
    browser = _browser(390, 844)
    wait = page_wait(browser, 20)
    try:
        _log_in(browser, wait, base, ME)
        browser.get(f"{base}/inbox/tasks/{task}")
        option = wait.until(ready.presence_of_element_located(
            (By.XPATH, f"//select[@id='delegate-to']/option[starts-with(., '{colleague}（')]")))
        assert "班主任 · " in option.text and COLLEAGUE not in option.text  # a name and a role line, not a 工号
        browser.find_element(By.ID, "comment-body").send_keys("家访时间已约好，请代为登记")
        browser.find_element(By.ID, "comment").click()
        me = huhua.queries.person_names([ME])[ME]  # the author by name, the time in Beijing time
        wait.until(ready.text_to_be_present_in_element((By.ID, "comments"), f"{me}（2026/03/02 08:30）"))
        Select(browser.find_element(By.ID, "delegate-to")).select_by_visible_text(option.text)
        browser.find_element(By.ID, "delegate").click()
        wait.until(ready.text_to_be_present_in_element((By.ID, "message"), f"已转交给 {colleague}"))
    finally:
        browser.quit()
    assert huhua.queries.task(task)["assignee"] == COLLEAGUE
