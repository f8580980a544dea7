"""The language switch in a real browser: a class teacher picks English on the log-in page, works in English
(texts written by the pages' scripts included), and switches back to Chinese in the header."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready

from engine.bootstrap import Huhua
from engine.commands import ENGINE, StartInstance
from tests.helpers import page_wait
from tests.test_browser import ARTIFACTS, PASSWORD, _browser, site  # noqa: F401  (site is a fixture)


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_teacher_switches_to_english_and_back_to_chinese(site: tuple[Huhua, str]) -> None:  # noqa: F811
    huhua, base = site
    huhua.execute(StartInstance("teacher_report", "admin", org_scope="zhuhui-s001", origin=ENGINE))
    browser = _browser(1280, 900)
    wait = page_wait(browser, 20)
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        browser.get(base + "/login")
        wait.until(ready.element_to_be_clickable((By.CSS_SELECTOR, ".languages a[data-lang=en]"))).click()
        wait.until(ready.text_to_be_present_in_element((By.CSS_SELECTOR, "label[for=username]"), "User name"))
        browser.find_element(By.NAME, "username").send_keys("zhuhui-s001-bzr1")
        browser.find_element(By.NAME, "password").send_keys(PASSWORD)
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

        claim = wait.until(ready.element_to_be_clickable((By.CSS_SELECTOR, "button.claim")))
        assert claim.text == "Claim" and browser.title == "My tasks · Huhua"
        assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
        assert "3 working days left" in browser.find_element(By.CSS_SELECTOR, ".badge").text
        assert browser.find_element(By.ID, "save-filter").text == "Save current filter"
        current = browser.find_element(By.CSS_SELECTOR, "header .languages a.current")
        assert current.text == "English" and current.get_attribute("aria-current") == "true"
        browser.save_screenshot(str(ARTIFACTS / "inbox-english.png"))

        claim.click()  # the task page, its scripts' texts in English too
        wait.until(ready.text_to_be_present_in_element((By.ID, "attachments"), "No attachments"))
        wait.until(ready.text_to_be_present_in_element((By.ID, "history"), "Task claimed"))
        assert browser.find_element(By.ID, "submit").text == "Complete"
        browser.save_screenshot(str(ARTIFACTS / "task-english.png"))

        browser.find_element(By.CSS_SELECTOR, "header .languages a[data-lang=zh_Hans_CN]").click()
        wait.until(ready.text_to_be_present_in_element((By.ID, "attachments"), "暂无附件"))
        wait.until(ready.text_to_be_present_in_element((By.ID, "history"), "认领任务"))
        assert browser.find_element(By.ID, "submit").text == "提交"
        browser.get(base + "/inbox")  # the choice is kept
        wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, "#save-filter")))
        assert browser.title == "我的待办 · 心育护花"
        assert browser.find_element(By.ID, "save-filter").text == "保存当前筛选"
        assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-CN"
    finally:
        browser.quit()
