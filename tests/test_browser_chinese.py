"""Chinese on every path of the task page, in a real browser (issue 13), desktop and phone: form-js' field errors
(required, maximum, length, pattern) in Chinese and in English once chosen, a date field with its label that
refuses 2609, the server's refusal at its field, an expired log-in at submit that keeps the draft and comes back
to it, and Chinese 403/404 pages.

The browser runs with an en-US locale, as the review's did, so nothing Chinese comes from the browser itself.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ
from engine.commands import ClaimTask, DelegateTask, LoadDirectory, SetPassword, StartInstance
from engine.org.profiles import generate
from tests.conftest import PROJECT
from tests.helpers import deploy_fixtures, page_wait, served_in_thread
from tests.test_browser import _browser as browser_at

ARTIFACTS = PROJECT / "artifacts"
PASSWORD = "correct horse"
TEACHER, COLLEAGUE = "zhuhui-s001-bzr1", "zhuhui-s001-bzr2"


@pytest.fixture
def site(huhua: Huhua) -> Iterator[tuple[Huhua, str, int]]:
    """The teacher's claimed rectification task, served."""
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    deploy_fixtures(huhua, "rectify_report.bpmn", "rectify_report.form.json")
    instance = huhua.execute(StartInstance("rectify_report", "admin", org_scope="zhuhui-s001"))["id"]
    task = huhua.queries.instance(instance)["open_tasks"][0]["id"]
    huhua.execute(ClaimTask(task, TEACHER))
    for person in (TEACHER, COLLEAGUE):
        huhua.execute(SetPassword(person, PASSWORD, "admin"))
    with served_in_thread(huhua) as base:
        yield huhua, base, task


def _browser(width: int, height: int) -> webdriver.Chrome:
    """An en-US browser: what the page shows must not depend on the browser's own locale."""
    return browser_at(width, height, lang="en-US")


def _log_in(browser: webdriver.Chrome, wait: WebDriverWait, person: str = TEACHER) -> None:
    """Fill in the log-in form on the page shown and wait until it has gone."""
    wait.until(ready.presence_of_element_located((By.NAME, "username"))).send_keys(person)
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(lambda b: "/login" not in b.current_url)


def _form_shown(wait: WebDriverWait) -> None:
    """Wait for the form: the page's own buttons come first, form-js renders after fetching the schema."""
    wait.until(ready.presence_of_element_located((By.XPATH, "//form[contains(@class, 'fjs-form')]//label[starts-with("
                                                            "normalize-space(.), '整改完成日期')]")))


def _input(browser: webdriver.Chrome, label: str) -> object:
    """The input a label names, as a person finds it (re-found each time: the form re-renders)."""
    found = browser.find_element(By.XPATH, f"//label[starts-with(normalize-space(.), '{label}')]")
    return browser.find_element(By.ID, found.get_attribute("for"))


def _errors(browser: webdriver.Chrome) -> dict[str, str]:
    """Each field's label and the error shown under it."""
    return browser.execute_script("""
        const shown = {};
        document.querySelectorAll('.fjs-form-field').forEach(field => {
          const label = field.querySelector('label'), error = field.querySelector('.fjs-form-field-error');
          if (label && error && error.textContent.trim())
            shown[label.textContent.replace('*', '').trim()] = error.textContent.trim();
        });
        return shown;""")


def _wait_for_errors(wait: WebDriverWait, expected: dict[str, str]) -> None:
    """Wait until exactly these errors are shown; on a timeout, say which are."""
    try:
        wait.until(lambda browser: _errors(browser) == expected)
    except TimeoutException:
        assert _errors(wait._driver) == expected  # type: ignore[attr-defined]


def _type(wait: WebDriverWait, label: str, text: str) -> None:
    """Replace a field's text, again until the form has kept it (a form just marked wrong may be drawn anew while
    the keys arrive, as a person would see their typing vanish and type again), then leave the field."""

    def typed(browser: webdriver.Chrome) -> bool:
        field = _input(browser, label)
        if field.get_attribute("value") == text:
            field.send_keys(Keys.TAB)
            return True
        field.send_keys(Keys.CONTROL, "a")
        field.send_keys(Keys.BACKSPACE)
        field.send_keys(text)
        return False

    wait.until(typed)


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("screen", "width", "height"), [("desktop", 1366, 900), ("phone", 390, 844)])
def test_field_errors_dates_and_an_expired_log_in_are_chinese_on_the_task_page(
        site: tuple[Huhua, str, int], screen: str, width: int, height: int) -> None:
    huhua, base, task = site
    last = f"{huhua.clock.now().astimezone(BUSINESS_TZ).year + 5}-12-31"
    browser = _browser(width, height)
    wait = page_wait(browser, 20)
    ARTIFACTS.mkdir(exist_ok=True)
    page = f"{base}/inbox/tasks/{task}"
    try:
        browser.get(f"{page}?lang=en")
        _log_in(browser, wait)  # back on the task page, in English (asked for before logging in)
        _form_shown(wait)
        browser.find_element(By.ID, "submit").click()
        _wait_for_errors(wait, {"整改措施": "Required.", "自评分": "Required.", "整改完成日期": "Required."})

        browser.get(f"{page}?lang=zh_Hans_CN")
        _form_shown(wait)
        date = _input(browser, "整改完成日期")  # the date field has its label
        assert date.is_displayed() and date.get_attribute("placeholder") == "年-月-日"
        date.click()
        wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, ".flatpickr-calendar.open .flatpickr-weekday"))
        weekdays = [w.get_attribute("textContent").strip() for w in browser.find_elements(
            By.CSS_SELECTOR, ".flatpickr-calendar.open .flatpickr-weekday")]
        assert weekdays[:2] == ["周一", "周二"], weekdays  # a Chinese calendar that starts on Monday
        browser.save_screenshot(str(ARTIFACTS / f"task-datepicker-chinese-{screen}.png"))
        date.send_keys(Keys.ESCAPE)
        browser.find_element(By.ID, "submit").click()
        _wait_for_errors(wait, {"整改措施": "必填项", "自评分": "必填项", "整改完成日期": "必填项"})
        assert "请检查表单中标红的内容" in browser.find_element(By.ID, "message").text

        _type(wait, "整改措施", "改" * 51)
        _type(wait, "自评分", "120")
        _type(wait, "联系电话", "电话0734-8123456转6")  # holds a phone number, but is not one
        _type(wait, "整改完成日期", "2609-12-02")
        browser.find_element(By.ID, "submit").click()
        _wait_for_errors(wait, {"整改措施": "最多 50 个字符", "自评分": "不能大于 100", "联系电话": "格式不正确",
                            "整改完成日期": f"日期须在 2000-01-01 至 {last} 之间"})
        browser.save_screenshot(str(ARTIFACTS / f"task-field-errors-chinese-{screen}.png"))

        _type(wait, "整改措施", "改" * 50 + "  ")  # form-js trims before counting, the server does not
        _type(wait, "自评分", "95")
        _type(wait, "联系电话", "0734-8123456")
        _type(wait, "整改完成日期", "2026-03-03")
        _wait_for_errors(wait, {})
        browser.find_element(By.ID, "submit").click()  # the server's refusal, at its field and in the banner
        _wait_for_errors(wait, {"整改措施": "整改措施：最多 50 个字符"})
        assert browser.find_element(By.ID, "message").text == (
            "表单“整改情况登记”有 1 处需要修改，尚未保存：整改措施：最多 50 个字符")
        _type(wait, "整改措施", "已更换教室灯管")
        _wait_for_errors(wait, {})

        browser.switch_to.new_window("tab")  # the person logs out in another tab
        browser.get(f"{base}/inbox")
        wait.until(ready.element_to_be_clickable((By.XPATH, "//header//button[@type='submit']"))).click()
        wait.until(ready.url_contains("/login"))
        browser.close()
        browser.switch_to.window(browser.window_handles[0])

        browser.find_element(By.ID, "submit").click()
        wait.until(ready.text_to_be_present_in_element((By.ID, "message"), "登录已过期"))
        browser.save_screenshot(str(ARTIFACTS / f"task-session-expired-{screen}.png"))
        wait.until(ready.element_to_be_clickable((By.ID, "log-in-again"))).click()
        huhua.execute(DelegateTask(task, TEACHER, COLLEAGUE))  # meanwhile hers: she logs in next in this tab
        _log_in(browser, wait, COLLEAGUE)
        _form_shown(wait)  # the draft is the teacher's: her colleague opens the form as the server has it
        wait.until(lambda b: _input(b, "整改措施").get_attribute("value") == "")
        assert "已恢复" not in browser.find_element(By.ID, "message").text
        huhua.execute(DelegateTask(task, COLLEAGUE, TEACHER))
        wait.until(ready.element_to_be_clickable((By.XPATH, "//header//button[@type='submit']"))).click()
        wait.until(ready.url_contains("/login"))
        browser.get(page)
        _log_in(browser, wait)
        wait.until(ready.text_to_be_present_in_element((By.ID, "message"), "已恢复您上次未提交的内容"))
        assert browser.current_url.split("?")[0] == page
        assert _input(browser, "整改措施").get_attribute("value") == "已更换教室灯管"
        assert _input(browser, "整改完成日期").get_attribute("value") == "2026-03-03"
        browser.find_element(By.ID, "submit").click()
        wait.until(ready.text_to_be_present_in_element((By.ID, "message"), "已提交"))

        browser.get(f"{base}/admin/instances/1")  # not the teacher's to see
        wait.until(ready.text_to_be_present_in_element((By.TAG_NAME, "h2"), "没有权限"))
        assert browser.find_element(By.CSS_SELECTOR, "a.back").text == "返回我的待办"
        browser.get(f"{base}/inbox/nowhere")
        wait.until(ready.text_to_be_present_in_element((By.TAG_NAME, "h2"), "页面不存在"))
        browser.save_screenshot(str(ARTIFACTS / f"page-not-found-chinese-{screen}.png"))
    finally:
        browser.quit()
    data = huhua.queries.instance(1)["data"]
    assert (data["measure"], data["score"], data["phone"], data["done_on"]) == (
        "已更换教室灯管", 95, "0734-8123456", "2026-03-03")
