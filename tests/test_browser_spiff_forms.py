"""A spiff-arena task in a real browser (headless Chromium): its instructions shown above the form, the fields its
JSON Schema asks for offered as a form (Chinese labels from the titles), a wrong answer refused by the server with
the field named, a right one completing the task with the types the schema asks for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ready

from engine.bootstrap import Huhua
from engine.commands import SetPassword
from tests.helpers import page_wait, served_in_thread
from tests.test_browser import PASSWORD, _browser, _field, _log_in
from tests.test_spiff_task_forms import CLERK, _started

ADD_ROW = ".fjs-repeat-render-add"


def _inputs_of(label: str) -> str:
    """The inputs of the fields a label names, in every row of a list (XPath)."""
    return f"//label[starts-with(normalize-space(.), '{label}')]/following::input[1]"


def _type_into_last(wait: Any, label: str, text: str) -> None:
    """Type into the last field a label names (a list's last row), again until the form has kept it (a row just
    added, or a form just marked wrong, may be drawn anew while the keys arrive, as a person would see their typing
    vanish and type again), then leave the field as a person moves on (form-js takes typing a moment later, or at
    once when the field is left: a click on the next button before then would land on a form being drawn anew)."""

    def typed(browser: Any) -> bool:
        field = browser.find_elements(By.XPATH, _inputs_of(label))[-1]
        if field.get_attribute("value") == text:
            field.send_keys(Keys.TAB)
            return True
        field.clear()
        field.send_keys(text)
        return False

    wait.until(typed)


def _marked_fields(browser: Any) -> list[tuple[str, str | None]]:
    """Each field form-js marks as wrong, with its text and the value its input holds, for a failure to name."""
    marked = []
    for error in browser.find_elements(By.CSS_SELECTOR, ".fjs-form-field-error"):
        field = error.find_element(By.XPATH, "./ancestor::div[contains(@class,'fjs-form-field')][1]")
        inputs = field.find_elements(By.TAG_NAME, "input")
        marked.append((field.text, inputs[0].get_attribute("value") if inputs else None))
    return marked


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.usefixtures("demo_template")
def test_a_schema_form_with_instructions_is_done_in_the_browser(cli: Any, tmp_path: Path, huhua: Huhua) -> None:
    _client, instance, task = _started(cli, tmp_path, huhua)
    huhua.execute(SetPassword(CLERK, PASSWORD, "admin"))
    with served_in_thread(huhua) as base:
        browser = _browser(1366, 900)
        wait = page_wait(browser, 20)
        try:
            _log_in(browser, wait, base, CLERK)
            browser.get(f"{base}/inbox/tasks/{task}")
            wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, ".fjs-form input")))
            instructions = browser.find_element(By.ID, "instructions")
            assert "金额上限：500 元" in instructions.text and "<script>alert(1)</script>" in instructions.text
            assert not browser.find_elements(By.CSS_SELECTOR, "#instructions script, #instructions a")
            _field(browser, "金额").send_keys("0")
            _field(browser, "事由").send_keys("出差")
            browser.find_element(By.ID, "submit").click()  # form-js checks the minimum too; the server does anyway
            wait.until(lambda b: b.find_element(By.ID, "message").text)
            assert "已提交" not in browser.find_element(By.ID, "message").text
            _type_into_last(wait, "金额", "3")
            # the optional list of trips: no row to begin with; two added with the list's own (Chinese) button, the
            # second's optional number left empty
            for count, (city, days) in enumerate((("衡阳", "2"), ("长沙", "")), start=1):
                wait.until(lambda b: b.find_element(By.CSS_SELECTOR, ADD_ROW).text.strip() == "添加一项")
                browser.find_element(By.CSS_SELECTOR, ADD_ROW).click()
                wait.until(lambda b, n=count: len(b.find_elements(By.XPATH, _inputs_of("城市"))) == n)
                _type_into_last(wait, "城市", city)
                if days:
                    _type_into_last(wait, "天数", days)
            assert [b.get_attribute("aria-label") for b in browser.find_elements(
                By.CSS_SELECTOR, "button.fjs-repeat-row-remove")] == ["删除第 1 项", "删除第 2 项"]
            # the form takes a typed value a moment later: its mark on the field goes once it has the 3
            try:
                wait.until(lambda b: not b.find_elements(By.CSS_SELECTOR, ".fjs-form-field-error"))
            except TimeoutException:
                raise AssertionError(f"fields still marked: {_marked_fields(browser)}") from None
            browser.find_element(By.ID, "submit").click()
            try:
                wait.until(ready.text_to_be_present_in_element((By.ID, "message"), "已提交"))
            except TimeoutException:
                said = browser.find_element(By.ID, "message").text
                raise AssertionError(f"not submitted: {said!r} {_marked_fields(browser)}") from None
        finally:
            browser.quit()
    data = huhua.queries.instance(instance)["data"]
    assert (data["amount"], data["reason"]) == (3, "出差") and huhua.queries.instance(instance)["state"] == "completed"
    assert data["trips"] == [{"city": "衡阳", "days": 2}, {"city": "长沙"}]
