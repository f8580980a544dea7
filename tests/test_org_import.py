"""The org directory in and out of the spreadsheets bureaus keep: every bad row named, nothing half-loaded."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from openpyxl import load_workbook

from tests.helpers import cli_json


def _csv(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def test_an_exported_workbook_loads_back_and_an_edit_to_it_takes_effect(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli_json(cli("org", "load", "demo", "--json"))
    target = tmp_path / "org.xlsx"
    exported = cli_json(cli("org", "export", str(target), "--json"))
    assert (exported["units"], exported["people"], exported["files"]) == (72, 445, [str(target)])
    book = load_workbook(target)
    assert [c.value for c in book["单位"][1]] == ["单位编码", "单位名称", "单位类型", "上级单位编码"]
    assert [c.value for c in book["人员"][1]] == ["工号", "姓名", "单位编码", "角色", "手机", "邮箱"]
    book["人员"].append(["zhuhui-s001-bzr6", "欧阳春", "zhuhui-s001", "班主任、任课教师", "13800000000"])
    book.save(target)
    loaded = cli_json(cli("org", "load", str(target), "--json"))
    assert (loaded["people"], loaded["roles"]) == (446, 501)
    newcomer = cli_json(cli("users", "--unit", "zhuhui-s001", "--role", "班主任", "--json"))
    assert "zhuhui-s001-bzr6" in [p["id"] for p in newcomer]
    again = tmp_path / "again.xlsx"
    cli_json(cli("org", "export", str(again), "--json"))
    rows = [[c for c in row] for row in load_workbook(again)["人员"].iter_rows(values_only=True)]
    assert ["zhuhui-s001-bzr6", "欧阳春", "zhuhui-s001", "班主任、任课教师", "13800000000", None] in rows


def test_every_bad_row_is_named_and_nothing_is_loaded(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli_json(cli("org", "load", "demo", "--json"))
    units = _csv(tmp_path / "units.csv", [
        ["单位编码", "单位名称", "单位类型", "上级单位编码"], ["hy", "衡阳市教育局", "市教育局", ""],
        ["qd", "祁东县教育局", "县市区教育局", "hy"], ["qd-1", "祁东一中", "学校", "qd"],
        ["qd-2", "祁东二中", "大学", "qd"], ["qd-3", "祁东三中", "学校", "nowhere"], ["qd-1", "重复", "学校", "qd"]],
        encoding="gb18030")  # as Excel saves CSV on a Chinese PC
    people = _csv(tmp_path / "people.csv", [
        ["工号", "姓名", "单位编码", "角色", "手机"], ["qd-1-xz", "王校长", "qd-1", "校长", ""],
        ["qd-1-t1", "", "qd-1", "班主任", ""], ["qd-1-t2", "李老师", "qd-1", "心理老师", ""],
        ["qd-9-t1", "赵老师", "qd-9", "班主任", ""]])
    refused = cli("org", "load", str(units), str(people), "--json")
    assert refused.exit_code == 2
    problems = {(p["file"], p["line"], p["field"]) for p in json.loads(refused.stderr)["problems"]}
    assert problems == {("units.csv", 5, "单位类型"), ("units.csv", 6, "上级单位编码"), ("units.csv", 7, "单位编码"),
                        ("people.csv", 3, "姓名"), ("people.csv", 4, "角色"), ("people.csv", 5, "单位编码")}
    assert len(cli_json(cli("users", "--role", "principal", "--limit", "500", "--json"))) == 39  # the demo stands


def test_a_people_list_alone_replaces_the_people_and_keeps_the_units(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli_json(cli("org", "load", "demo", "--json"))
    people = _csv(tmp_path / "people.csv", [["工号", "姓名", "单位编码", "角色", "手机"],
                                            ["a1", "甲", "hengdong-s002", "校长", ""],
                                            ["a2", "乙", "hengdong-s002", "班主任, 值班辅导教师", ""]])
    loaded = cli_json(cli("org", "load", str(people), "--json"))
    assert (loaded["units"], loaded["people"], loaded["roles"]) == (72, 2, 3)
    assert [p["id"] for p in cli_json(cli("users", "--under", "hengdong", "--json"))] == ["a1", "a2"]


def test_a_file_that_is_not_a_directory_is_refused(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    fake = tmp_path / "org.xlsx"
    fake.write_bytes(b"PK\x03\x04 not really a workbook")
    assert "not an Excel workbook" in cli("org", "load", str(fake)).output
    other = _csv(tmp_path / "other.csv", [["学号", "成绩"], ["1", "90"]])
    assert "neither a units list" in cli("org", "load", str(other)).output
    assert cli("org", "export", str(tmp_path / "org.txt")).exit_code == 2


def test_the_directory_goes_out_as_csv_and_comes_back(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli_json(cli("org", "load", "demo", "--json"))
    written = cli_json(cli("org", "export", str(tmp_path / "通讯录.csv"), "--json"))
    units, people = (Path(f) for f in written["files"])
    assert units.name == "通讯录-单位.csv" and units.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8
    loaded = cli_json(cli("org", "load", str(units), str(people), "--json"))
    assert (loaded["units"], loaded["people"], loaded["roles"]) == (72, 445, 499)

