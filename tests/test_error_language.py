"""The server's refusals in the reader's language (issue 13, "Chinese on every path"): Chinese unless English is
chosen, each form problem naming its field; dates outside the form's range refused; a browser that meets a 403,
404 or an expired log-in gets a Chinese page in the site's layout, a program keeps JSON."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from engine.bootstrap import Huhua
from engine.commands import LoadDirectory, SetPassword, StartInstance
from engine.org.profiles import generate
from engine.web import create_app
from tests.conftest import PROJECT
from tests.helpers import deploy_fixtures

#: One database: the wording of refusals, not where they were stored.
DATABASES = ("sqlite",)

TEACHER = "zhuhui-s001-bzr1"
HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def served(huhua: Huhua) -> Iterator[tuple[Huhua, FlaskClient, int]]:
    """A class teacher logged in, with a task of the rectification form open before her."""
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    deploy_fixtures(huhua, "rectify_report.bpmn", "rectify_report.form.json")
    instance = huhua.execute(StartInstance("rectify_report", "admin", org_scope="zhuhui-s001"))["id"]
    huhua.execute(SetPassword(TEACHER, "correct horse", "admin"))
    app = create_app(huhua, {"SECRET_KEY": "errors", "TRUST_USER_HEADER": False, "WTF_CSRF_ENABLED": False})
    with app.test_client() as client:
        client.post("/login", data={"username": TEACHER, "password": "correct horse"})
        task = huhua.queries.instance(instance)["open_tasks"][0]["id"]
        client.post(f"/api/v1/tasks/{task}/claim")
        yield huhua, client, task


def _complete(client: FlaskClient, task: int, data: dict, lang: str = "") -> dict:
    answer = client.post(f"/api/v1/tasks/{task}/complete{lang}", json={"data": data})
    assert answer.status_code == 400, answer.json
    return answer.json


def test_a_refused_form_names_each_field_in_chinese_and_in_english_once_chosen(
        served: tuple[Huhua, FlaskClient, int]) -> None:
    _huhua, client, task = served
    wrong = {"measure": "改" * 51, "score": 120, "phone": "电话0734-8123456转6", "done_on": "2609-12-02"}
    chinese = _complete(client, task, wrong)
    assert chinese["message"] == "表单“整改情况登记”有 4 处需要修改，尚未保存"
    assert {p["field"]: p["message"] for p in chinese["problems"]} == {
        "measure": "整改措施：最多 50 个字符", "score": "自评分：不能大于 100", "phone": "联系电话：格式不正确",
        "done_on": "整改完成日期：日期须在 2000-01-01 至 2031-12-31 之间"}
    assert _complete(client, task, {"score": 5, "done_on": "2026-03-03"})["problems"] == [
        {"field": "measure", "message": "整改措施：必填项"}]

    english = _complete(client, task, wrong, "?lang=en")
    assert english["message"] == "the form 整改情况登记 has 4 problem(s); nothing was saved"
    assert {p["field"]: p["message"] for p in english["problems"]}["done_on"] == (
        "整改完成日期: must be a date from 2000-01-01 to 2031-12-31")
    assert _complete(client, task, {"measure": "x", "score": 5})["problems"][0]["message"] == "整改完成日期: required"
    client.get("/inbox?lang=zh_Hans_CN")  # the choice is kept in a cookie until changed
    assert _complete(client, task, {"measure": "x", "score": 5})["problems"][0]["message"] == "整改完成日期：必填项"

    done = client.post(f"/api/v1/tasks/{task}/complete", json={"data": {
        "measure": "已整改", "score": 90, "phone": "0734-8123456", "done_on": "2026-03-03"}})
    assert done.status_code == 200, done.json
    again = client.post(f"/api/v1/tasks/{task}/complete", json={"data": {}})
    assert again.status_code == 409 and again.json["message"].startswith("该任务已由 ")
    assert again.json["message"].endswith(" 办结")
    english = client.post(f"/api/v1/tasks/{task}/complete?lang=en", json={"data": {}})
    assert re.fullmatch(r"\S+ finished this task at \d{4}-\d\d-\d\d \d\d:\d\d",
                        english.json["message"]), english.json


def test_the_task_form_carries_each_date_fields_range(served: tuple[Huhua, FlaskClient, int]) -> None:
    _huhua, client, task = served
    schema = client.get(f"/api/v1/tasks/{task}/form").json["schema"]
    date = next(c for c in schema["components"] if c["type"] == "datetime")
    assert date["properties"] == {"earliestDate": "2000-01-01", "latestDate": "2031-12-31"}


def test_a_date_time_at_the_ends_of_the_calendar_is_out_of_range_not_an_error(
        served: tuple[Huhua, FlaskClient, int]) -> None:
    """In Beijing time these instants fall before year 1 or after 9999: refused at the field like any far date."""
    _huhua, client, task = served
    for moment in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"):
        refused = _complete(client, task, {"measure": "已整改", "score": 90, "done_on": moment})
        assert refused["problems"] == [
            {"field": "done_on", "message": "整改完成日期：日期须在 2000-01-01 至 2031-12-31 之间"}]


def test_api_refusals_are_chinese_unless_english_is_chosen(served: tuple[Huhua, FlaskClient, int]) -> None:
    _huhua, client, task = served
    unknown = client.post(f"/api/v1/tasks/{task}/delegate", json={"to": "田霞海"})
    assert unknown.status_code == 400 and unknown.json["message"] == "通讯录中没有“田霞海”这个人，请填写工号"
    assert unknown.json["problems"] == [{"field": "to", "message": "查无此人"}]
    english = client.post(f"/api/v1/tasks/{task}/delegate?lang=en", json={"to": "田霞海"})
    assert english.json["message"] == "'田霞海' is not a person of the org directory"
    client.get("/inbox?lang=zh_Hans_CN")
    assert client.get("/api/v1/tasks/987654").json["message"] == "任务 987654 不存在"
    assert client.get("/api/v1/nowhere").json["message"] == "没有这个页面或接口：/api/v1/nowhere"
    inbox = client.get("/inbox?due=someday&sort=name").get_data(as_text=True)
    assert "筛选条件有误：due：须为以下之一：" in inbox and "；sort：须为以下之一：" in inbox

    upload = {"file": (io.BytesIO(b"#!/bin/sh\n"), "run.sh")}
    refused = client.post(f"/api/v1/tasks/{task}/attachments?lang=en", data=upload)
    assert refused.status_code == 400 and refused.json["message"].startswith(
        "This kind of file is not accepted (run.sh); you can upload: PDF")  # worded in Chinese, said in English
    client.get("/inbox?lang=zh_Hans_CN")

    client.post("/logout")
    expired = client.post(f"/api/v1/tasks/{task}/complete", json={"data": {}})
    assert expired.status_code == 401 and expired.json["error"] == "unauthorized"
    assert expired.json["message"].startswith("登录已过期或尚未登录，请重新登录")
    assert expired.json["problems"] == [{"field": "Authorization", "message": "未登录"}]


def test_the_org_import_says_what_is_wrong_in_chinese(huhua: Huhua) -> None:
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    app = create_app(huhua, {"SECRET_KEY": "import", "TESTING": True})
    with app.test_client() as client:
        answer = client.post("/api/v1/org/imports", headers={"X-Huhua-User": "admin"},
                             data={"file": (__import__("io").BytesIO("姓名,单位编码,角色\n张三,zhuhui-s001,班主任\n"
                                                                     .encode()), "people.csv")})
    assert answer.status_code == 400, answer.json
    assert answer.json["message"] == "people.csv：表头缺少 工号"
    assert answer.json["problems"][0]["message"] == "缺少“工号”列"


def test_a_browser_meets_chinese_pages_for_403_404_and_a_program_keeps_json(
        served: tuple[Huhua, FlaskClient, int]) -> None:
    huhua, client, _task = served
    other = huhua.execute(StartInstance("rectify_report", "admin", org_scope="yanfeng-s001"))["id"]
    for path, status, title in ((f"/admin/instances/{other}", 403, "没有权限"), ("/nowhere", 404, "页面不存在")):
        page = client.get(path, headers=HTML)
        text = page.get_data(as_text=True)
        assert page.status_code == status and page.mimetype == "text/html", path
        assert f"<title>{title} · 心育护花</title>" in text and "返回我的待办" in text and "我的待办" in text
        assert client.get(path).is_json  # a program that did not ask for HTML
    english = client.get("/nowhere?lang=en", headers=HTML).get_data(as_text=True)
    assert "Page not found" in english and "Back to My tasks" in english and not CJK.search(
        re.sub(r"<nav\b.*?</nav>|<script.*?</script>|<span id=\"signed-in\">.*?</span>", "", english,
               flags=re.S).replace("中文", ""))  # names in the header are data
    client.get("/inbox?lang=zh_Hans_CN")
    client.post("/logout")
    anonymous = client.get("/nowhere", headers=HTML).get_data(as_text=True)
    assert "页面不存在" in anonymous and 'href="/login?next=' in anonymous and "退出" not in anonymous


def test_every_engine_phrase_is_english_and_has_its_chinese() -> None:
    """The engine words its refusals in English (the CLI's, the logs' and programs' language) and the web says them
    in Chinese from the catalogue: a Phrase worded in Chinese would reach the CLI in Chinese, one without its
    Chinese would reach a Chinese reader in English."""
    from babel.messages.extract import extract_from_dir
    from babel.messages.pofile import read_po

    from engine.web.i18n import CATALOGUES

    with (CATALOGUES / "zh_Hans_CN" / "LC_MESSAGES" / "errors.po").open("rb") as po:
        zh = {m.id: m.string for m in read_po(po) if m.id}

    def chinese(template: str) -> bool:  # worded in Chinese: its first word is
        return bool(CJK.match(re.sub(r"%\(\w+\)s", "", template).lstrip(" '\"“")[:1]))

    phrases = {message for _f, _l, message, *_ in extract_from_dir(PROJECT / "engine", [("**.py", "python")],
                                                                   keywords={"Phrase": None})}
    assert len(phrases) > 100
    assert sorted(p for p in phrases if chinese(p)) == []
    assert sorted(p for p in phrases if not zh.get(p)) == []
    assert not (CATALOGUES / "en" / "LC_MESSAGES" / "errors.po").exists()  # nothing left to put into English


def test_each_translation_keeps_the_values_its_text_names() -> None:
    """A translation that drops a %(name)s hides what the reader needs (msgfmt -c refuses it too)."""
    from babel.messages.pofile import read_po

    from engine.web.i18n import CATALOGUES

    dropped = []
    for po in sorted(CATALOGUES.glob("*/LC_MESSAGES/*.po")):
        with po.open("rb") as source:
            for message in read_po(source):
                if not isinstance(message.id, str) or not message.string:  # plural forms: none here
                    continue
                if set(re.findall(r"%\((\w+)\)s", message.id)) != set(re.findall(r"%\((\w+)\)s", message.string)):
                    dropped.append((po.parent.parent.name, po.name, message.id))
    assert dropped == []


def test_a_value_of_the_wrong_kind_is_named_in_the_readers_language(served: tuple[Huhua, FlaskClient, int]) -> None:
    _huhua, client, task = served
    refused = _complete(client, task, {"measure": "已整改", "score": "九十", "done_on": "2026-03-03"})
    assert refused["problems"] == [{"field": "score", "message": "自评分：须为数字，不能是文字"}]
    english = _complete(client, task, {"measure": ["已整改"], "score": 90, "done_on": "2026-03-03"}, "?lang=en")
    assert english["problems"] == [{"field": "measure", "message": "整改措施: must be text, not a list"}]
    client.get("/inbox?lang=zh_Hans_CN")


def test_a_form_with_a_bad_date_range_is_refused_at_deployment(huhua: Huhua) -> None:
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    definition = deploy_fixtures(huhua, "rectify_report.bpmn", "rectify_report.form.json")["processes"][0][
        "definition_id"]
    app = create_app(huhua, {"SECRET_KEY": "deploy", "TESTING": True})
    schema = json.loads((PROJECT / "tests" / "fixtures" / "rectify_report.form.json").read_text(encoding="utf-8"))
    schema["components"][3]["properties"] = {"earliestDate": "soon", "latestDate": "+1y"}
    with app.test_client() as client:
        refused = client.post(f"/api/v1/process-definitions/{definition}/forms/rectify_report/deploy?lang=en",
                              json={"schema": schema}, headers={"X-Huhua-User": "admin"})
    assert refused.status_code == 422, refused.json
    assert [p["message"] for p in refused.json["problems"]] == [
        "properties.earliestDate must be a date (2024-09-01), today, or like +1y or -30d"]


def test_an_unexpected_failure_is_a_chinese_page_for_a_browser_and_json_for_a_program(
        served: tuple[Huhua, FlaskClient, int], monkeypatch: pytest.MonkeyPatch) -> None:
    huhua, client, _task = served

    def broken(**_: object) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(huhua.queries, "task_page", broken)
    page = client.get("/inbox", headers=HTML)
    assert page.status_code == 500 and "系统出错了" in page.get_data(as_text=True)
    assert "database went away" not in page.get_data(as_text=True)
    called = client.get("/inbox")
    assert called.status_code == 500 and called.json["message"] == "系统出现意外错误，已记录，请稍后重试"
