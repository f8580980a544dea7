"""People's e-mail addresses and mobiles in the org directory: in and out of the spreadsheets, checked on the way
in with the row and column named in the reader's language, and corrected one person at a time by the administrator."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from openpyxl import Workbook, load_workbook

from engine.bootstrap import Huhua
from engine.commands import LoadDirectory, SetPersonContact
from engine.errors import Forbidden, InvalidInput, NotFound
from engine.org.profiles import generate
from engine.web import create_app
from tests.helpers import cli_json

AS_ADMIN = {"X-Huhua-User": "admin"}
TEACHER = "zhuhui-s001-bzr1"


@pytest.fixture
def client(huhua: Huhua) -> Iterator[FlaskClient]:
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    with create_app(huhua, {"TESTING": True}).test_client() as client:
        yield client


def _person(client: FlaskClient, person_id: str) -> dict:
    (found,) = [p for p in client.get("/api/v1/org/people", query_string={"q": person_id}, headers=AS_ADMIN).json
                if p["id"] == person_id]
    return found


def test_the_demo_directory_has_fictitious_addresses_and_test_range_mobiles() -> None:
    people = generate("demo").people
    assert all(re.fullmatch(r"1380013\d{4}", p.phone or "") for p in people)
    assert all(re.fullmatch(rf"{re.escape(p.id)}@(school|bureau)\.example", p.email or "") for p in people)
    assert len({p.phone for p in people}) == len({p.email for p in people}) == len(people)
    teacher = next(p for p in people if p.id == TEACHER)
    assert teacher.email == f"{TEACHER}@school.example"
    assert next(p for p in people if p.id == "hy-zr").email == "hy-zr@bureau.example"


def test_contacts_go_out_in_the_workbook_and_an_edit_comes_back_normalised(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli_json(cli("org", "load", "demo", "--json"))
    target = tmp_path / "org.xlsx"
    cli_json(cli("org", "export", str(target), "--json"))
    book = load_workbook(target)
    people = book["人员"]
    assert [c.value for c in people[1]] == ["工号", "姓名", "单位编码", "角色", "手机", "邮箱"]
    row = next(r for r in people.iter_rows(min_row=2) if r[0].value == TEACHER)
    assert (row[4].value, row[5].value) == (_demo(TEACHER).phone, f"{TEACHER}@school.example")
    row[4].value, row[5].value = "139 0073 4567", " li.laoshi@zhuhui-s001.school.example "
    people.append(["zhuhui-s001-bzr9", "欧阳春", "zhuhui-s001", "班主任", "+85291234567", ""])  # a Hong Kong mobile
    book.save(target)
    cli_json(cli("org", "load", str(target), "--json"))
    listed = {p["id"]: p for p in cli_json(cli("users", "--unit", "zhuhui-s001", "--json"))}
    assert (listed[TEACHER]["phone"], listed[TEACHER]["email"]) == (
        "13900734567", "li.laoshi@zhuhui-s001.school.example")
    assert (listed["zhuhui-s001-bzr9"]["phone"], listed["zhuhui-s001-bzr9"]["email"]) == ("+85291234567", None)

    written = cli_json(cli("org", "export", str(tmp_path / "org.csv"), "--json"))
    cli_json(cli("org", "load", "demo", "--json"))
    cli_json(cli("org", "load", *written["files"], "--json"))  # the CSV files carry the same
    again = {p["id"]: p for p in cli_json(cli("users", "--unit", "zhuhui-s001", "--json"))}
    assert again[TEACHER]["email"] == "li.laoshi@zhuhui-s001.school.example"
    assert again["zhuhui-s001-bzr9"]["phone"] == "+85291234567"


def test_a_people_list_without_the_contact_columns_keeps_each_persons_contacts(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli_json(cli("org", "load", "demo", "--json"))
    people = tmp_path / "people.csv"
    people.write_text(f"工号,姓名,单位编码,角色\n{TEACHER},{_demo(TEACHER).name},zhuhui-s001,班主任\n"
                      "zhuhui-s001-new,新老师,zhuhui-s001,班主任\n", encoding="utf-8")
    cli_json(cli("org", "load", str(people), "--json"))
    listed = {p["id"]: p for p in cli_json(cli("users", "--unit", "zhuhui-s001", "--json"))}
    assert (listed[TEACHER]["phone"], listed[TEACHER]["email"]) == (_demo(TEACHER).phone, _demo(TEACHER).email)
    assert (listed["zhuhui-s001-new"]["phone"], listed["zhuhui-s001-new"]["email"]) == (None, None)


def _workbook(people: list[list[str]]) -> io.BytesIO:
    book = Workbook()
    units = book.active
    units.title = "单位"
    for row in (["单位编码", "单位名称", "单位类型", "上级单位编码"], ["hy", "衡阳市教育局", "市教育局", ""],
                ["qd", "祁东县教育局", "县市区教育局", "hy"], ["qd-1", "祁东一中", "学校", "qd"]):
        units.append(row)
    sheet = book.create_sheet("人员")
    sheet.append(["工号", "姓名", "单位编码", "角色", "手机", "邮箱"])
    for row in people:
        sheet.append(row)
    content = io.BytesIO()
    book.save(content)
    content.seek(0)
    return content


def test_a_bad_phone_number_or_address_is_named_by_row_and_column_in_chinese_and_nothing_loads(
        client: FlaskClient) -> None:
    rows = [["qd-1-xz", "王校长", "qd-1", "校长", "13800138000", "wang@qd-1.school.example"],
            ["qd-1-t1", "李老师", "qd-1", "班主任", "0734-8123456", "li@qd-1.school.example"],
            ["qd-1-t2", "赵老师", "qd-1", "班主任", "1380013800", "zhao.school.example"],
            ["qd-1-t3", "钱老师", "qd-1", "班主任", "+86 138 0013 8003", "qian@@school.example"]]

    def imported(lang: str = "") -> dict:
        answer = client.post(f"/api/v1/org/imports{lang}", data={"file": [(_workbook(rows), "祁东.xlsx")]},
                             headers=AS_ADMIN, content_type="multipart/form-data")
        assert answer.status_code == 400
        return answer.json

    problems = {(p["line"], p["field"]): p["message"] for p in imported()["problems"]}
    assert problems == {  # an office landline with its area code is a phone number (row 3)
        (4, "手机"): "“1380013800”不是电话号码：应为手机号码（以 1 开头的 11 位数字，或“+”加国家码的号码）"
                     "或带区号的固定电话（如 0734-8123456）",
        (4, "邮箱"): "“zhao.school.example”不是电子邮箱地址（格式应为 名称@域名）",
        (5, "邮箱"): "“qian@@school.example”不是电子邮箱地址（格式应为 名称@域名）"}
    english = {(p["line"], p["field"]): p["message"] for p in imported("?lang=en")["problems"]}
    assert english[(4, "邮箱")] == "'zhao.school.example' is not an e-mail address (name@domain)"
    assert client.get("/api/v1/org/units", headers=AS_ADMIN).json["totals"]["people"] == 445  # the demo stands

    rows[2:] = [["qd-1-t3", "钱老师", "qd-1", "班主任", "+86 138 0013 8003", ""]]
    loaded = client.post("/api/v1/org/imports", data={"file": [(_workbook(rows), "祁东.xlsx")]}, headers=AS_ADMIN,
                         content_type="multipart/form-data")
    assert loaded.status_code == 201
    assert _person(client, "qd-1-t3")["phone"] == "+8613800138003"
    assert _person(client, "qd-1-t1")["phone"] == "0734-8123456"  # re-importing a list with landlines works
    exported = load_workbook(io.BytesIO(client.get("/api/v1/org/export.xlsx", headers=AS_ADMIN).data))["人员"]
    assert ["qd-1-xz", "王校长", "qd-1", "校长", "13800138000", "wang@qd-1.school.example"] in [
        list(r) for r in exported.iter_rows(values_only=True)]


def test_the_administrator_corrects_one_persons_contacts(huhua: Huhua, client: FlaskClient) -> None:
    url = f"/api/v1/org/people/{TEACHER}"
    changed = client.patch(url, json={"email": "chen.laoshi@zhuhui-s001.school.example", "phone": "139-0073-4567"},
                           headers=AS_ADMIN)
    assert changed.status_code == 200 and changed.json["changed"] == ["email", "phone"]
    assert changed.json["phone"] == "13900734567"
    person = _person(client, TEACHER)
    assert (person["email"], person["phone"]) == ("chen.laoshi@zhuhui-s001.school.example", "13900734567")

    only_phone = client.patch(url, json={"phone": ""}, headers=AS_ADMIN)  # the address is left as it is
    assert only_phone.status_code == 200 and only_phone.json["changed"] == ["phone"]
    assert (_person(client, TEACHER)["email"], _person(client, TEACHER)["phone"]) == (
        "chen.laoshi@zhuhui-s001.school.example", None)

    refused = client.patch(url, json={"email": "陈老师", "phone": "13900734567"}, headers=AS_ADMIN)
    assert refused.status_code == 400
    assert refused.json["problems"] == [{"field": "email", "message": "“陈老师”不是电子邮箱地址（格式应为 名称@域名）"}]
    assert _person(client, TEACHER)["phone"] is None  # nothing half-applied
    wrong_mobile = client.patch(url, json={"phone": "12345"}, headers=AS_ADMIN)
    assert wrong_mobile.status_code == 400 and wrong_mobile.json["problems"][0]["field"] == "phone"
    assert client.patch(url, json={"email": 7}, headers=AS_ADMIN).json["problems"][0]["field"] == "email"
    assert client.patch("/api/v1/org/people/nobody", json={"email": ""}, headers=AS_ADMIN).status_code == 404
    assert client.patch(url, json={"email": ""}, headers={"X-Huhua-User": TEACHER}).status_code == 403

    logged = huhua.queries.audit.entries(action="SetPersonContact", kind="command")["entries"]
    assert [e["resource"] for e in logged] == [f"person:{TEACHER}"] * 2  # the two changes made
    refusals = huhua.queries.audit.entries(action="SetPersonContact", kind="refused")["entries"]
    assert refusals  # the refused correction is logged too
    for entry in logged + refusals:  # which person, never the address or the number (the log keeps them for good)
        assert "person_id" in entry["detail"] and not {"email", "phone"} & set(entry["detail"])
        assert not re.search(r"chen\.laoshi|13900734567", str(entry["detail"]))
    with pytest.raises(Forbidden):
        huhua.execute(SetPersonContact(TEACHER, "zhuhui-zr", email="x@school.example"))
    with pytest.raises(NotFound):
        huhua.execute(SetPersonContact("nobody", "admin", email="x@school.example"))
    with pytest.raises(InvalidInput):
        huhua.execute(SetPersonContact(TEACHER, "admin", phone="+0123456789"))


def _demo(person_id: str):  # type: ignore[no-untyped-def]
    return next(p for p in generate("demo").people if p.id == person_id)
