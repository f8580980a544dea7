"""The administrators' operations pages in a real browser (headless Chromium): filtering instances, retrying an
incident, ruling on a calendar day and importing the directory. Screenshots are saved under artifacts/."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

from engine.bootstrap import Huhua
from engine.commands import ENGINE, StartInstance
from tests.helpers import deploy_fixtures, page_wait
from tests.test_browser import ARTIFACTS, _browser, _log_in, site  # noqa: F401  (site is a fixture)
from tests.test_process_model_folders import _bpmn, _group, _model, _script, _zipped


def _ready(browser, wait: WebDriverWait, url: str) -> None:  # type: ignore[no-untyped-def]
    browser.get(url)
    wait.until(lambda b: b.execute_script("return document.body.dataset.ready") == "yes")
    shown = browser.find_elements(By.CSS_SELECTOR, "#message .message.error")
    assert not shown, shown[0].text  # a page that could not load its data says why


def _rows(browser, table: str) -> list[str]:  # type: ignore[no-untyped-def]
    """The rows' text, read at one moment (a page redrawing its table leaves no stale element behind)."""
    return browser.execute_script(f"return [...document.querySelectorAll('#{table} tbody tr')].map(r => r.innerText)")


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_administrator_finds_the_failed_instance_and_retries_its_incident(site: tuple[Huhua, str]) -> None:  # noqa: F811
    huhua, base = site
    deploy_fixtures(huhua, "failing_script.bpmn")
    for school in ("zhuhui-s001", "hengdong-s002"):
        huhua.execute(StartInstance("teacher_report", "admin", org_scope=school, origin=ENGINE))
    failed = huhua.execute(StartInstance("failing_script", "admin", org_scope="zhuhui-s002", origin=ENGINE))
    browser = _browser(1366, 900)
    wait = page_wait(browser, 30)
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        _log_in(browser, wait, base, "admin")
        _ready(browser, wait, base + "/admin/instances")
        assert len(_rows(browser, "instances")) == 3 and "共 3 条" in browser.page_source
        browser.find_element(By.CSS_SELECTOR, "#states button[data-state=incident]").click()
        wait.until(lambda b: len(_rows(b, "instances")) == 1)
        assert f"#{failed['id']}" in _rows(browser, "instances")[0] and "有故障" in _rows(browser, "instances")[0]
        browser.save_screenshot(str(ARTIFACTS / "admin-instances.png"))
        browser.find_element(By.ID, "clear").click()
        browser.find_element(By.CSS_SELECTOR, "select[name=under] option[value=zhuhui]").click()
        browser.find_element(By.CSS_SELECTOR, "#filters button[type=submit]").click()
        wait.until(lambda b: len(_rows(b, "instances")) == 2)  # zhuhui-s001 and zhuhui-s002, not hengdong's

        _ready(browser, wait, base + "/admin/jobs")
        row = browser.find_element(By.CSS_SELECTOR, "#incidents tbody tr")
        assert "divide" in row.text and "脚本出错" in row.text  # the process by its name
        row.find_element(By.CSS_SELECTOR, "input.variables").send_keys('{"done": 3, "total": 4}')
        browser.save_screenshot(str(ARTIFACTS / "admin-incidents.png"))
        row.find_element(By.CSS_SELECTOR, "button.retry").click()
        wait.until(ready.text_to_be_present_in_element((By.ID, "incident-message"), "故障已处理"))
        wait.until(ready.text_to_be_present_in_element((By.CSS_SELECTOR, "#incidents tbody"), "没有未处理的故障"))
    finally:
        browser.quit()
    assert huhua.queries.instance(failed["id"])["state"] == "completed"


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_administrator_rules_on_a_calendar_day_and_reads_the_schedules(site: tuple[Huhua, str]) -> None:  # noqa: F811
    huhua, base = site
    browser = _browser(1366, 900)
    wait = page_wait(browser, 30)
    try:
        _log_in(browser, wait, base, "admin")
        _ready(browser, wait, base + "/admin/calendar?year=2026")
        national_day = browser.find_element(By.CSS_SELECTOR, "td[data-date='2026-10-01']")
        assert "holiday" in national_day.get_attribute("class") and "国庆节" in national_day.get_attribute("title")
        browser.find_element(By.CSS_SELECTOR, "td[data-date='2026-03-07']").click()  # a Saturday
        browser.find_element(By.CSS_SELECTOR, "#override-form button[type=submit]").click()  # no reason given
        wait.until(ready.text_to_be_present_in_element((By.ID, "override-message"), "note"))
        browser.find_element(By.NAME, "note").send_keys("期中考试补课")
        browser.find_element(By.CSS_SELECTOR, "#override-form button[type=submit]").click()
        wait.until(ready.text_to_be_present_in_element((By.ID, "override-message"), "已设为工作日"))
        wait.until(lambda b: "override" in b.find_element(
            By.CSS_SELECTOR, "td[data-date='2026-03-07']").get_attribute("class"))
        assert "期中考试补课" in browser.find_element(By.ID, "overrides").text
        browser.save_screenshot(str(ARTIFACTS / "admin-calendar.png"))
        assert huhua.queries.is_working_day("2026-03-07")["working"] is True
        browser.find_element(By.CSS_SELECTOR, "#overrides button.remove").click()
        wait.until(ready.text_to_be_present_in_element((By.ID, "override-message"), "已删除"))
        wait.until(ready.text_to_be_present_in_element((By.ID, "overrides"), "本年没有本地调整"))
        year = browser.find_element(By.ID, "year")
        year.clear()
        year.send_keys("2027\n")  # not published yet: the law's days off, marked as computed, and a warning
        wait.until(ready.text_to_be_present_in_element((By.ID, "message"), "2027 年尚无国务院放假安排"))
        basis = browser.find_element(By.ID, "basis").text
        assert "法定节假日（按《全国年节及纪念日放假办法》推算，调休待国务院公布）" in basis
        national_day = browser.find_element(By.CSS_SELECTOR, "td[data-date='2027-10-01']")
        assert {"holiday", "computed"} <= set(national_day.get_attribute("class").split())
        assert "国庆节（法定，推算）" in national_day.get_attribute("title")
        make_up = browser.find_element(By.CSS_SELECTOR, "td[data-date='2027-10-04']")
        assert "补假（国庆节）" in make_up.get_attribute("title")
        year.clear()
        year.send_keys("1800\n")
        wait.until(ready.text_to_be_present_in_element((By.ID, "message"), "年份须为 1900 至 2199 之间的整数"))

        _ready(browser, wait, base + "/admin/schedules")  # config/schedules.toml's, in Beijing time
        monthly = browser.find_element(By.CSS_SELECTOR, "#schedules tr[data-key=monthly_check]")
        assert "每月第一个工作日 08:30" in monthly.text and "尚未触发" in monthly.text
        assert "2026-04-01 08:30" in monthly.text  # the clock stands at 2 March 2026, after March's 08:30
        monthly.find_element(By.CSS_SELECTOR, "button.show-log").click()
        wait.until(ready.text_to_be_present_in_element((By.ID, "fires"), "尚无触发记录"))
        assert "ct_training" in browser.find_element(By.ID, "year-months").text  # March's city training
        browser.find_element(By.CSS_SELECTOR, "#schedules tr[data-key=ct_training] button.edit").click()
        browser.find_element(By.ID, "edit-enabled").click()  # the administrator pauses it
        browser.find_element(By.CSS_SELECTOR, "#edit-form button[type=submit]").click()
        wait.until(ready.text_to_be_present_in_element((By.ID, "edit-message"), "已保存"))
        wait.until(ready.text_to_be_present_in_element(
            (By.CSS_SELECTOR, "#schedules tr[data-key=ct_training]"), "已暂停"))
        wait.until(lambda b: "ct_training" not in b.find_element(By.ID, "year-months").text)
        browser.save_screenshot(str(ARTIFACTS / "admin-schedules.png"))
    finally:
        browser.quit()
    assert huhua.queries.is_working_day("2026-03-07")["working"] is False
    assert huhua.queries.schedule_records()["ct_training"]["schedule"].enabled is False


def _workbook(path: Path, role: str) -> Path:
    book = Workbook()
    units = book.active
    units.title = "单位"
    for row in (["单位编码", "单位名称", "单位类型", "上级单位编码"], ["hy", "衡阳市教育局", "市教育局", ""],
                ["qd", "祁东县教育局", "县市区教育局", "hy"], ["qd-1", "祁东一中", "学校", "qd"]):
        units.append(row)
    people = book.create_sheet("人员")
    for row in (["工号", "姓名", "单位编码", "角色", "手机"], ["qd-1-xz", "王校长", "qd-1", "校长", ""],
                ["qd-1-t1", "李老师", "qd-1", role, ""]):
        people.append(row)
    book.save(path)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_administrator_imports_the_directory_and_sees_each_bad_row(
        site: tuple[Huhua, str], tmp_path: Path) -> None:  # noqa: F811
    huhua, base = site
    browser = _browser(1366, 900)
    wait = page_wait(browser, 30)
    try:
        _log_in(browser, wait, base, "admin")
        _ready(browser, wait, base + "/admin/org")
        assert "13 个县市区" in browser.find_element(By.ID, "totals").text
        browser.find_element(By.CSS_SELECTOR, "#tree button.toggle").click()
        wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, "a.unit-link[data-unit=zhuhui]"))).click()
        wait.until(ready.text_to_be_present_in_element((By.ID, "unit-name"), "zhuhui"))
        browser.find_element(By.NAME, "q").send_keys("zhuhui-s001-bzr1\n")
        wait.until(ready.text_to_be_present_in_element((By.ID, "search-results"), "班主任"))

        upload = browser.find_element(By.CSS_SELECTOR, "#import-form input[type=file]")
        upload.send_keys(str(_workbook(tmp_path / "祁东.xlsx", "心理老师")))
        browser.find_element(By.CSS_SELECTOR, "#import-form button[type=submit]").click()
        wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, "#import-message table.problems")))
        problem = browser.find_element(By.CSS_SELECTOR, "#import-message table.problems tr:nth-child(2)").text
        assert "祁东.xlsx 人员" in problem and "3" in problem and "角色" in problem
        assert "未导入任何数据" in browser.find_element(By.ID, "import-message").text
        browser.save_screenshot(str(ARTIFACTS / "admin-org-import-refused.png"))
        assert len(huhua.queries.users(limit=500)) == 445

        upload = browser.find_element(By.CSS_SELECTOR, "#import-form input[type=file]")
        upload.clear()
        upload.send_keys(str(_workbook(tmp_path / "祁东.xlsx", "班主任")))
        browser.find_element(By.CSS_SELECTOR, "#import-form button[type=submit]").click()
        wait.until(ready.text_to_be_present_in_element((By.ID, "import-message"), "已导入"))
        wait.until(ready.text_to_be_present_in_element((By.ID, "tree"), "衡阳市教育局"))
        assert "1 个县市区" in browser.find_element(By.ID, "totals").text
        browser.save_screenshot(str(ARTIFACTS / "admin-org.png"))
    finally:
        browser.quit()
    assert [p["id"] for p in huhua.queries.users(limit=500)] == ["qd-1-t1", "qd-1-xz"]


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_administrator_corrects_a_teachers_mobile_and_e_mail_on_the_directory_page(
        site: tuple[Huhua, str]) -> None:  # noqa: F811
    huhua, base = site
    teacher = "zhuhui-s001-bzr1"
    browser = _browser(1366, 900)
    wait = page_wait(browser, 30)
    try:
        _log_in(browser, wait, base, "admin")
        _ready(browser, wait, base + "/admin/org")
        browser.find_element(By.NAME, "q").send_keys(teacher + "\n")
        wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, "#found a.unit-link"))).click()
        row = f"#people tr[data-person='{teacher}']"
        wait.until(ready.text_to_be_present_in_element((By.CSS_SELECTOR, row), f"{teacher}@school.example"))
        browser.find_element(By.CSS_SELECTOR, f"{row} button.edit-contact").click()
        email = browser.find_element(By.CSS_SELECTOR, f"{row} input[name=email]")
        email.clear()
        email.send_keys("陈老师")
        browser.find_element(By.CSS_SELECTOR, f"{row} button.save-contact").click()
        wait.until(ready.text_to_be_present_in_element((By.ID, "contact-message"), "不是电子邮箱地址"))
        assert "未能更新" in browser.find_element(By.ID, "contact-message").text
        browser.save_screenshot(str(ARTIFACTS / "admin-org-contact-refused.png"))

        email = browser.find_element(By.CSS_SELECTOR, f"{row} input[name=email]")
        email.clear()
        email.send_keys("chen.laoshi@zhuhui-s001.school.example")
        phone = browser.find_element(By.CSS_SELECTOR, f"{row} input[name=phone]")
        phone.clear()
        phone.send_keys("139 0073 4567")
        browser.find_element(By.CSS_SELECTOR, f"{row} button.save-contact").click()
        wait.until(ready.text_to_be_present_in_element((By.ID, "contact-message"), "已更新"))
        wait.until(ready.text_to_be_present_in_element((By.CSS_SELECTOR, f"{row} td.phone"), "13900734567"))
        assert browser.find_element(By.CSS_SELECTOR, f"{row} td.email").text == "chen.laoshi@zhuhui-s001.school.example"
        browser.save_screenshot(str(ARTIFACTS / "admin-org-contact.png"))
    finally:
        browser.quit()
    (person,) = huhua.queries.users(ids=[teacher])
    assert (person["email"], person["phone"]) == ("chen.laoshi@zhuhui-s001.school.example", "13900734567")


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_administrator_uploads_a_zip_of_spiff_arena_models_and_reads_what_was_deployed(
        site: tuple[Huhua, str], tmp_path: Path) -> None:  # noqa: F811
    huhua, base = site
    _group(tmp_path / "hr", "人事")
    _model(tmp_path / "hr" / "greet", "问候", "greet.bpmn", "greet_process",
           {"greet.bpmn": _bpmn("greet_process", "greet", _script('greeting = "你好"'))})
    _model(tmp_path / "hr" / "broken", "坏模型", "broken.bpmn", "missing_process",
           {"broken.bpmn": _bpmn("other_process", "other", _script("x = 1"))})
    archive = tmp_path / "hr.zip"
    archive.write_bytes(_zipped(tmp_path / "hr", "hr/"))
    browser = _browser(1366, 900)
    wait = page_wait(browser, 30)
    try:
        _log_in(browser, wait, base, "admin")
        browser.get(base + "/admin/")
        upload = wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, "#models-form input[type=file]")))
        upload.send_keys(str(archive))
        browser.find_element(By.CSS_SELECTOR, "#models-form button[type=submit]").click()
        wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, "#models-message li.refused")))
        said = browser.find_element(By.ID, "models-message").text
        assert "已部署 hr/greet「问候」：greet_process 第 1 版" in said
        assert "未部署 hr/broken：" in said and "missing_process" in said
        browser.save_screenshot(str(ARTIFACTS / "admin-models-upload.png"))
        browser.find_element(By.ID, "models-reload").click()
        wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, ".process[data-key=greet_process]")))
    finally:
        browser.quit()
    assert huhua.queries.definitions(key="greet_process")[0]["model"] == "hr/greet"
