"""The administrators' operations API over HTTP on SQLite and PostgreSQL: instance filters and paging, jobs and
incidents with a retry, schedules with their fire log, calendar overrides, the org tree and directory imports."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from openpyxl import Workbook, load_workbook

from engine.bootstrap import Huhua, bootstrap
from engine.clock import BUSINESS_TZ, VirtualClock
from engine.commands import LoadDirectory, StartInstance
from engine.config import Settings
from engine.org.profiles import generate
from engine.schedules import load_schedules
from engine.web import create_app
from tests.helpers import deploy_fixtures
from workers.job_worker import run_due_jobs
from workers.scheduler import ScheduleRunner

AS_ADMIN = {"X-Huhua-User": "admin"}
AS_TEACHER = {"X-Huhua-User": "zhuhui-s001-bzr1"}


@pytest.fixture
def client(huhua: Huhua) -> Iterator[FlaskClient]:
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    app = create_app(huhua, {"TESTING": True})
    with app.test_client() as client:
        yield client


def _ids(answer: list[dict]) -> list[int]:
    return [row["id"] for row in answer]


def test_instances_filter_by_process_state_unit_county_key_and_dates_and_page_in_order(
        huhua: Huhua, client: FlaskClient, clock: VirtualClock) -> None:
    deploy_fixtures(huhua, "teacher_report.bpmn", "teacher_home_visit.form.json", "failing_script.bpmn")
    a = huhua.execute(StartInstance("teacher_report", "admin", org_scope="zhuhui-s001", business_key="周报-1"))
    b = huhua.execute(StartInstance("teacher_report", "admin", org_scope="zhuhui-s002"))
    clock.advance(timedelta(days=3))  # Thursday 5 March
    c = huhua.execute(StartInstance("teacher_report", "admin", org_scope="hengdong-s002"))
    failed = huhua.execute(StartInstance("failing_script", "admin", org_scope="zhuhui"))
    client.post(f"/api/v1/process-instances/{b['id']}/suspend", headers=AS_ADMIN, json={"reason": "暂停"})

    def listed(**args: str) -> list[int]:
        answer = client.get("/api/v1/process-instances", query_string=args, headers=AS_ADMIN)
        assert answer.status_code == 200, answer.json
        return _ids(answer.json)

    assert listed() == [failed["id"], c["id"], b["id"], a["id"]]
    assert listed(process_key="teacher_report", under="zhuhui") == [b["id"], a["id"]]
    assert listed(under="zhuhui") == [failed["id"], b["id"], a["id"]]  # the county's own instance too
    assert listed(org_unit="hengdong-s002") == [c["id"]]
    assert listed(state="suspended") == [b["id"]]
    assert listed(state="incident") == [failed["id"]]
    assert listed(business_key="周报-1") == [a["id"]]
    assert listed(started_from="2026-03-05") == [failed["id"], c["id"]]
    assert listed(started_to="2026-03-04") == [b["id"], a["id"]]
    assert listed(started_from="2026-03-02", started_to="2026-03-02") == [b["id"], a["id"]]
    assert listed(limit="2") + listed(limit="2", offset="2") == listed()

    counts = client.get("/api/v1/process-instances/summary", query_string={"under": "zhuhui", "state": "running"},
                        headers=AS_ADMIN).json
    assert counts["total"] == 1
    assert counts["by_state"] == {"running": 1, "suspended": 1, "incident": 1, "completed": 0, "terminated": 0}

    for bad, field in ((("state", "asleep")), ("state")), ((("started_from", "2026-02-30")), ("started_from")):
        refused = client.get("/api/v1/process-instances", query_string=dict([bad]), headers=AS_ADMIN)
        assert refused.status_code == 400 and refused.json["problems"][0]["field"] == field
    backwards = client.get("/api/v1/process-instances", headers=AS_ADMIN,
                           query_string={"started_from": "2026-03-05", "started_to": "2026-03-01"})
    assert backwards.status_code == 400
    assert client.get("/api/v1/process-instances", query_string={"under": "nowhere"},
                      headers=AS_ADMIN).status_code == 404


@pytest.mark.parametrize("path", [
    "/api/v1/process-instances", "/api/v1/process-instances/summary", "/api/v1/jobs", "/api/v1/jobs/summary",
    "/api/v1/incidents", "/api/v1/schedules", "/api/v1/calendar/2026", "/api/v1/org/units",
    "/api/v1/org/units/zhuhui", "/api/v1/org/people", "/api/v1/org/export.xlsx"])
def test_only_the_administrator_may_read_the_operations_api(client: FlaskClient, path: str) -> None:
    assert client.get(path, headers=AS_TEACHER).status_code == 403
    assert client.get(path).status_code == 401
    assert client.get(path, headers=AS_ADMIN).status_code == 200


def test_changes_through_the_operations_api_are_the_administrators(client: FlaskClient) -> None:
    assert client.put("/api/v1/calendar/overrides/2026-03-07", headers=AS_TEACHER,
                      json={"working": True, "note": "x"}).status_code == 403
    assert client.delete("/api/v1/calendar/overrides/2026-03-07", headers=AS_TEACHER).status_code == 403
    upload = {"file": [(io.BytesIO(b"x"), "org.csv")]}
    assert client.post("/api/v1/org/imports", data=upload, headers=AS_TEACHER,
                       content_type="multipart/form-data").status_code == 403


def test_an_incident_is_listed_with_its_job_view_and_a_retry_resolves_it(huhua: Huhua, client: FlaskClient) -> None:
    deploy_fixtures(huhua, "failing_script.bpmn", "deadline.bpmn")
    failed = huhua.execute(StartInstance("failing_script", "admin"))
    waiting = huhua.execute(StartInstance("deadline", "admin"))  # a boundary timer: one pending job
    run_due_jobs(huhua)  # the people the new tasks concern are told (engine.notifications)

    incidents = client.get("/api/v1/incidents", headers=AS_ADMIN).json
    assert [(i["instance_id"], i["process_key"], i["element_id"]) for i in incidents] == \
        [(failed["id"], "failing_script", "divide")]
    assert "total" in incidents[0]["message"] or "done" in incidents[0]["message"]
    jobs = client.get("/api/v1/jobs", query_string={"state": "pending", "kind": "timer"}, headers=AS_ADMIN).json
    assert [(j["instance_id"], j["attempts"]) for j in jobs] == [(waiting["id"], 0)]
    assert client.get("/api/v1/jobs", query_string={"due": "true", "state": "pending"},
                      headers=AS_ADMIN).json == []  # due on 4 March
    summary = client.get("/api/v1/jobs/summary", headers=AS_ADMIN).json
    assert summary["by_state"]["pending"] == 1 and summary["open_incidents"] == 1 and summary["due_now"] == 0
    assert client.get("/api/v1/jobs", query_string={"state": "stuck"}, headers=AS_ADMIN).status_code == 400

    retried = client.post(f"/api/v1/process-instances/{failed['id']}/retry", headers=AS_ADMIN,
                          json={"variables": {"done": 3, "total": 4}})
    assert retried.status_code == 200 and retried.json["instance"]["state"] == "completed"
    assert client.get("/api/v1/incidents", headers=AS_ADMIN).json == []
    resolved = client.get("/api/v1/incidents", query_string={"state": "resolved"}, headers=AS_ADMIN).json
    assert [i["instance_id"] for i in resolved] == [failed["id"]] and resolved[0]["resolved_at"]
    assert client.get("/api/v1/jobs/summary", headers=AS_ADMIN).json["open_incidents"] == 0


def test_the_calendar_shows_named_holidays_and_an_override_round_trips(client: FlaskClient) -> None:
    year = client.get("/api/v1/calendar/2026", headers=AS_ADMIN).json
    assert year["basis"] == "official"
    days = {d["date"]: d for d in year["days"]}
    assert days["2026-10-01"]["working"] is False and days["2026-10-01"]["name"]
    set_ = client.put("/api/v1/calendar/overrides/2026-03-07", headers=AS_ADMIN,
                      json={"working": True, "note": "期中考试补课"})
    assert set_.status_code == 200 and set_.json["official_working"] is False
    day = {d["date"]: d for d in client.get("/api/v1/calendar/2026", headers=AS_ADMIN).json["days"]}["2026-03-07"]
    assert day["working"] is True and day["override"]["note"] == "期中考试补课" and day["override"]["set_by"] == "admin"
    assert client.delete("/api/v1/calendar/overrides/2026-03-07", headers=AS_ADMIN).status_code == 200
    assert "2026-03-07" not in {d["date"] for d in client.get("/api/v1/calendar/2026", headers=AS_ADMIN).json["days"]}
    assert client.delete("/api/v1/calendar/overrides/2026-03-07", headers=AS_ADMIN).status_code == 404

    for day_, body, field in (("2026-02-30", {"working": True, "note": "x"}, "day"),
                              ("明天", {"working": True, "note": "x"}, "day"),
                              ("2026-03-09", {"working": "yes", "note": "x"}, "working"),
                              ("2026-03-09", {"working": False}, "note"),
                              ("2026-03-09", {"working": False, "note": "  "}, "note")):
        refused = client.put(f"/api/v1/calendar/overrides/{day_}", headers=AS_ADMIN, json=body)
        assert refused.status_code == 400 and refused.json["problems"][0]["field"] == field, refused.json
    assert client.get("/api/v1/calendar/1800", headers=AS_ADMIN).json["problems"][0]["field"] == "year"
    estimated = client.get("/api/v1/calendar/2150", headers=AS_ADMIN).json  # not published: the law's days off
    assert estimated["basis"] == "statutory" and "调休" in estimated["warnings"][0]
    assert {d["date"]: (d["working"], d["statutory"]) for d in estimated["days"]}["2150-10-01"] == (False, True)
    guessed = client.get("/api/v1/calendar/2003", headers=AS_ADMIN).json  # before the data and the law
    assert guessed["basis"] == "weekdays" and guessed["warnings"] and guessed["days"] == []


def test_the_org_tree_counts_below_each_unit_and_a_unit_shows_its_people(client: FlaskClient) -> None:
    top = client.get("/api/v1/org/units", headers=AS_ADMIN).json
    assert [u["kind"] for u in top["units"]] == ["city"]
    assert top["totals"]["units"]["county"] == 13 and top["totals"]["people"] == 445
    city = top["units"][0]
    assert city["units_below"]["county"] == 13 and city["people"] == 445
    counties = client.get("/api/v1/org/units", query_string={"parent": city["id"]}, headers=AS_ADMIN).json
    zhuhui = next(u for u in counties["units"] if u["id"] == "zhuhui")
    assert zhuhui["name"] == "珠晖区教育局" or zhuhui["name"].startswith("珠晖")
    schools = client.get("/api/v1/org/units", query_string={"parent": "zhuhui"}, headers=AS_ADMIN).json["units"]
    assert zhuhui["units_below"]["school"] == sum(1 for s in schools if s["kind"] == "school")
    assert zhuhui["people"] == sum(s["people"] for s in schools) + len(
        client.get("/api/v1/org/units/zhuhui", headers=AS_ADMIN).json["people"])
    school = client.get("/api/v1/org/units/zhuhui-s001", headers=AS_ADMIN).json
    assert [a["id"] for a in school["ancestors"]] == [city["id"], "zhuhui"]
    assert "zhuhui-s001-bzr1" in [p["id"] for p in school["people"]]
    assert any(r["role_name"] == "班主任" for p in school["people"] for r in p["roles"])
    found = client.get("/api/v1/org/people", query_string={"q": "ZHUHUI-S001-BZR"}, headers=AS_ADMIN).json
    assert found and all(p["id"].startswith("zhuhui-s001-bzr") for p in found)
    by_name = client.get("/api/v1/org/people", query_string={"q": found[0]["name"]}, headers=AS_ADMIN).json
    assert found[0]["id"] in [p["id"] for p in by_name]
    assert client.get("/api/v1/org/units/nowhere", headers=AS_ADMIN).status_code == 404
    assert client.get("/api/v1/org/units", query_string={"parent": "nowhere"}, headers=AS_ADMIN).status_code == 404


def _workbook(people: list[list[str]]) -> io.BytesIO:
    book = Workbook()
    units = book.active
    units.title = "单位"
    for row in (["单位编码", "单位名称", "单位类型", "上级单位编码"], ["hy", "衡阳市教育局", "市教育局", ""],
                ["qd", "祁东县教育局", "县市区教育局", "hy"], ["qd-1", "祁东一中", "学校", "qd"]):
        units.append(row)
    sheet = book.create_sheet("人员")
    sheet.append(["工号", "姓名", "单位编码", "角色", "手机"])
    for row in people:
        sheet.append(row)
    content = io.BytesIO()
    book.save(content)
    content.seek(0)
    return content


def test_an_import_with_a_bad_row_names_it_and_loads_nothing_and_a_good_one_loads(client: FlaskClient) -> None:
    bad = _workbook([["qd-1-xz", "王校长", "qd-1", "校长", ""], ["qd-1-t1", "李老师", "qd-1", "心理老师", ""]])
    refused = client.post("/api/v1/org/imports", data={"file": [(bad, "祁东.xlsx")]}, headers=AS_ADMIN,
                          content_type="multipart/form-data")
    assert refused.status_code == 400
    assert [(p["file"], p["line"], p["field"]) for p in refused.json["problems"]] == [("祁东.xlsx 人员", 3, "角色")]
    assert "未导入任何数据" in refused.json["message"]
    assert client.get("/api/v1/org/units", headers=AS_ADMIN).json["totals"]["people"] == 445  # the demo stands

    good = _workbook([["qd-1-xz", "王校长", "qd-1", "校长", ""], ["qd-1-t1", "李老师", "qd-1", "班主任", ""]])
    loaded = client.post("/api/v1/org/imports", data={"file": [(good, "祁东.xlsx")]}, headers=AS_ADMIN,
                         content_type="multipart/form-data")
    assert loaded.status_code == 201 and (loaded.json["units"], loaded.json["people"]) == (3, 2)
    assert [p["id"] for p in client.get("/api/v1/org/units/qd-1", headers=AS_ADMIN).json["people"]] == \
        ["qd-1-t1", "qd-1-xz"]

    exported = client.get("/api/v1/org/export.xlsx", headers=AS_ADMIN)
    assert exported.status_code == 200 and "attachment" in exported.headers["Content-Disposition"]
    assert [row[0] for row in load_workbook(io.BytesIO(exported.data))["单位"].iter_rows(values_only=True)] == \
        ["单位编码", "hy", "qd", "qd-1"]

    for files, message in (({}, "multipart 字段 file"), ({"file": [(io.BytesIO(b"x"), "org.txt")]}, "org.txt"),
                           ({"file": [(io.BytesIO(b"PK not a zip"), "org.xlsx")]}, "不是 Excel 工作簿")):
        answer = client.post("/api/v1/org/imports", data=files, headers=AS_ADMIN, content_type="multipart/form-data")
        assert answer.status_code == 400 and message in answer.json["message"], answer.json


@pytest.fixture
def scheduled(settings: Settings, clock: VirtualClock, tmp_path: Path) -> Iterator[tuple[Huhua, FlaskClient]]:
    schedules = tmp_path / "schedules.toml"
    schedules.write_text('[[schedule]]\nkey = "monthly"\nprocess = "straight"\nrule = "first_working_day"\n'
                         'at = "08:30"\n', encoding="utf-8")
    engine = bootstrap(dataclasses.replace(settings, schedules_file=schedules), clock=clock, upgrade=False)
    app = create_app(engine, {"TESTING": True})
    try:
        with app.test_client() as client:
            yield engine, client
    finally:
        engine.close()


def test_schedules_show_their_rule_next_and_last_fire_and_their_fire_log(
        scheduled: tuple[Huhua, FlaskClient], clock: VirtualClock) -> None:
    huhua, client = scheduled
    deploy_fixtures(huhua, "straight.bpmn", "timer_start.bpmn")
    runner = ScheduleRunner(huhua, load_schedules(huhua.settings.schedules_file))
    clock.set(datetime(2026, 9, 1, 8, 31, tzinfo=BUSINESS_TZ))
    runner.tick()
    clock.set(datetime(2026, 11, 20, 10, tzinfo=BUSINESS_TZ))  # down through October and November's first days
    runner.tick()

    rows = {r["key"]: r for r in client.get("/api/v1/schedules", headers=AS_ADMIN).json}
    monthly = rows["monthly"]
    assert monthly["source"] == "schedules.toml" and monthly["description"].startswith("每月第一个工作日 08:30")
    assert monthly["next_fire"] == "2026-12-01T08:30:00+08:00"
    assert monthly["last_fire"]["fire_time"] == "2026-11-02T08:30:00+08:00" and monthly["last_fire"]["late"] is True
    assert monthly["fires"] == 2
    timer = next(r for r in rows.values() if r["source"] == "timer_start_event")
    assert "R3/2026-03-02T09:00:00/P1D" in timer["description"] and timer["next_fire"] is None  # its 3 are past

    log = client.get("/api/v1/schedules/monthly/fires", headers=AS_ADMIN).json
    assert [(f["fire_time"], f["late"]) for f in log] == [("2026-11-02T08:30:00+08:00", True),
                                                          ("2026-09-01T08:30:00+08:00", False)]
    assert all(f["instance_id"] for f in log)
    assert client.get("/api/v1/schedules/monthly/fires", query_string={"limit": "1", "offset": "1"},
                      headers=AS_ADMIN).json == log[1:]
    assert client.get("/api/v1/schedules/nothing/fires", headers=AS_ADMIN).status_code == 404
