"""Review B2 in a real browser: an administrator types ``>= 九十分`` into the monthly check's grade table (月查等级,
called by monthly_school_check) and deploys; the refusal is Chinese, the cell is marked, and no version is made.
Screenshots go to artifacts/dmn/."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ready

from engine.bootstrap import Huhua
from engine.commands import SetPassword
from tests.helpers import page_wait, served_in_thread
from tests.test_browser import ARTIFACTS, PASSWORD, _browser, _log_in
from tests.test_browser_editors import _ready

CELL = '#canvas [data-element-id="band_excellent_in"]'  # rule 1 (优秀), column 适用范围
FLOOR = '#canvas [data-element-id="band_excellent_floor"]'  # rule 1, column 最低分 (90)


def _type_into(browser: object, selector: str, text: str) -> None:
    """Click a cell of the table and type over what it holds, as a person does."""
    cell = browser.find_element(By.CSS_SELECTOR, selector)  # type: ignore[attr-defined]
    cell.click()
    ActionChains(browser).key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL).send_keys(text).perform()


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_cell_the_engine_cannot_evaluate_is_refused_in_chinese_and_marked(demo: Huhua) -> None:
    demo.execute(SetPassword("admin", PASSWORD, "admin"))
    versions = lambda: [d["version"] for d in demo.queries.definitions(key="monthly_school_check")]  # noqa: E731
    before = versions()
    shots = ARTIFACTS / "dmn"
    shots.mkdir(parents=True, exist_ok=True)
    with served_in_thread(demo) as base:
        browser = _browser(1366, 900)
        wait = page_wait(browser, 30)
        try:
            _log_in(browser, wait, base, "admin")
            wait.until(ready.url_contains("/inbox"))
            browser.get(base + "/admin/")
            wait.until(ready.element_to_be_clickable(
                (By.XPATH, "//*[@data-key='monthly_school_check']//a[@class='decision'][.='月查等级']"))
            ).click()
            _ready(wait)
            assert "月查等级" in browser.find_element(By.ID, "decision").text
            _type_into(browser, CELL, ">= 九十分")
            wait.until(ready.text_to_be_present_in_element((By.CSS_SELECTOR, CELL), ">= 九十分"))
            browser.find_element(By.ID, "deploy").click()

            wait.until(ready.text_to_be_present_in_element((By.ID, "message"), "未部署任何新版本"))
            message = browser.find_element(By.ID, "message").text
            assert ("monthly_check_band.dmn，决策“月查等级（教师得分与学校平均分）”（monthly_check_band），"
                    "第 1 条规则，输入列“适用范围”，单元格「>= 九十分」：“九十分”既不是本表的输入") in message
            wait.until(lambda b: "huhua-error" in b.find_element(By.CSS_SELECTOR, CELL).get_attribute("class"))
            assert "“九十分”既不是本表的输入" in browser.find_element(By.CSS_SELECTOR, CELL).get_attribute("title")
            assert browser.execute_script(  # scrolled to, in view
                "const r = document.querySelector(arguments[0]).getBoundingClientRect();"
                "return r.top >= 0 && r.bottom <= innerHeight;", CELL)
            browser.save_screenshot(str(shots / "refused_cell.png"))
            assert versions() == before

            # fixed (the cell back to "any") and the floor lowered to 85: deployed; the header follows
            _type_into(browser, CELL, "-")
            _type_into(browser, FLOOR, "85")
            wait.until(ready.text_to_be_present_in_element((By.CSS_SELECTOR, FLOOR), "85"))
            browser.find_element(By.ID, "deploy").click()
            wait.until(ready.text_to_be_present_in_element((By.ID, "message"), "已部署新版本"))
            new = f"第 {before[-1] + 1} 版"
            assert new in browser.find_element(By.ID, "version").text
            assert not browser.find_elements(By.CSS_SELECTOR, "#canvas .huhua-error")
            browser.save_screenshot(str(shots / "fixed_and_deployed.png"))
        finally:
            browser.quit()
    assert versions() == [*before, before[-1] + 1]
