"""The dashboard's figures, driven through commands and read over HTTP: rollout coverage drilled down county →
school → person, the monthly checks' submission and scores, overdue work per unit; each level's .xlsx export;
and who may read which county."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import select

from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ, VirtualClock
from engine.commands import ENGINE, CompleteTask, DeployShippedProcesses, LoadDirectory, SetPassword, StartInstance
from engine.org.profiles import generate
from engine.store import migration, tables
from engine.store.database import Database
from engine.web import create_app
from tests.helpers import deploy_fixtures
from tests.library.monthly_checks import CLASS_ITEMS, MH_ITEMS, marks
from workers.job_worker import run_due_jobs

ADMIN = {"X-Huhua-User": "admin"}
MISSING = {"hengshan-s003-bzr1", "hengshan-s003-bzr2", "hengshan-s003-bzr3"}


def _as(user: str) -> dict[str, str]:
    return {"X-Huhua-User": user}


def _rows(content: bytes, sheet: str) -> list[tuple]:
    return list(load_workbook(io.BytesIO(content), read_only=True)[sheet].iter_rows(values_only=True))


@pytest.fixture
def demo(huhua: Huhua) -> Huhua:
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    return huhua


@pytest.fixture
def client(demo: Huhua) -> FlaskClient:
    return create_app(demo, {"TESTING": True}).test_client()


@pytest.fixture
def rollout(demo: Huhua) -> int:
    """A city training rolled out to every county, school and teacher; all but three hengshan-s003 teachers done."""
    deploy_fixtures(demo, "rollout_city.bpmn", "rollout_county.bpmn", "rollout_school.bpmn")
    started = demo.execute(StartInstance("rollout_city", "admin", org_scope="hy", variables={"course": "班主任素养"},
                                         origin=ENGINE))
    run_due_jobs(demo)
    for task in demo.queries.tasks(limit=500):
        if task["assignee"] not in MISSING:
            demo.execute(CompleteTask(task["id"], task["assignee"], {"attended": True}))
    run_due_jobs(demo)
    return started["id"]


def test_rollout_coverage_drills_from_counties_to_schools_to_people(
        demo: Huhua, client: FlaskClient, rollout: int) -> None:
    listed = client.get("/api/v1/dashboard/rollouts", headers=ADMIN).json
    assert [(r["id"], r["process_key"], r["state"]) for r in listed] == [(rollout, "rollout_city", "running")]
    assert listed[0]["units"] == {"total": 65, "completed": 63} and listed[0]["people"] == {"total": 208,
                                                                                          "completed": 205}
    top = client.get(f"/api/v1/dashboard/rollouts/{rollout}", headers=ADMIN).json
    assert top["level"] == "counties" and top["breadcrumbs"] == [] and len(top["units"]) == 13
    assert top["missing_units"] == ["hengshan"]
    hengshan = next(u for u in top["units"] if u["unit"] == "hengshan")
    assert (hengshan["units"], hengshan["people"]) == ({"total": 4, "completed": 3, "missing": 1},
                                                       {"total": 16, "completed": 13, "missing": 3})
    assert hengshan["percent"] < 100 and hengshan["drillable"]
    assert all(u["percent"] == 100.0 for u in top["units"] if u["unit"] != "hengshan")

    county = client.get(f"/api/v1/dashboard/rollouts/{rollout}?unit=hengshan", headers=ADMIN).json
    assert county["level"] == "units" and [c["unit"] for c in county["breadcrumbs"]] == ["hengshan"]
    assert sorted(u["unit"] for u in county["units"]) == ["hengshan-s001", "hengshan-s001-p01", "hengshan-s002",
                                                          "hengshan-s003"]
    assert county["missing_units"] == ["hengshan-s003"]
    school = next(u for u in county["units"] if u["unit"] == "hengshan-s003")
    assert school["people"] == {"total": 5, "completed": 2, "missing": 3} and school["state"] == "running"

    people = client.get(f"/api/v1/dashboard/rollouts/{rollout}?unit=hengshan-s003", headers=ADMIN).json
    assert people["level"] == "people" and [c["unit"] for c in people["breadcrumbs"]] == ["hengshan",
                                                                                         "hengshan-s003"]
    assert {p["id"] for p in people["missing_people"]} == MISSING
    assert [p["done"] for p in people["people"]] == [False, False, False, True, True]
    names = {p["id"]: p["name"] for p in demo.queries.users(unit="hengshan-s003", limit=50)}
    assert [p["name"] for p in people["missing_people"]] == [names[p] for p in sorted(MISSING)]

    export = client.get(f"/api/v1/dashboard/rollouts/{rollout}/export?unit=hengshan-s003", headers=ADMIN)
    assert export.status_code == 200 and export.mimetype.endswith("spreadsheetml.sheet")
    rows = _rows(export.data, "人员名单")
    assert rows[0][:5] == ("姓名", "工号", "电话", "任务", "是否完成")
    assert sorted(r[1] for r in rows[1:] if r[4] == "未完成") == sorted(MISSING)
    counties = _rows(client.get(f"/api/v1/dashboard/rollouts/{rollout}/export", headers=ADMIN).data, "单位覆盖")
    hengshan_row = counties[[r[1] for r in counties].index("hengshan")]
    assert len(counties) == 14 and hengshan_row[:9] == ("衡山县教育局", "hengshan", "进行中", 4, 3, 1, 16, 13, 3)


def test_rollout_levels_refuse_bad_and_foreign_units(client: FlaskClient, rollout: int) -> None:
    assert client.get(f"/api/v1/dashboard/rollouts/{rollout}?unit=nowhere", headers=ADMIN).status_code == 404
    assert client.get("/api/v1/dashboard/rollouts/999999", headers=ADMIN).status_code == 404
    school_instance = client.get(f"/api/v1/dashboard/rollouts/{rollout}?unit=hengshan", headers=ADMIN).json
    leaf = school_instance["units"][0]["instance_id"]
    answer = client.get(f"/api/v1/dashboard/rollouts/{leaf}", headers=ADMIN)  # a leaf fanned out to nobody
    assert answer.status_code == 404 and answer.json["message"] == f"流程实例 {leaf} 不存在"
    too_long = client.get(f"/api/v1/dashboard/rollouts/{rollout}?unit={'x' * 300}", headers=ADMIN)
    assert too_long.status_code == 400 and too_long.json["problems"][0]["field"] == "unit"


def test_a_county_officer_sees_their_county_only(client: FlaskClient, rollout: int) -> None:
    officer = _as("hengshan-zr")
    listed = client.get("/api/v1/dashboard/rollouts", headers=officer).json
    assert listed[0]["units"] == {"total": 5, "completed": 3} and listed[0]["people"] == {"total": 16,
                                                                                         "completed": 13}
    top = client.get(f"/api/v1/dashboard/rollouts/{rollout}", headers=officer).json
    assert [u["unit"] for u in top["units"]] == ["hengshan"] and top["people"] == []
    assert client.get(f"/api/v1/dashboard/rollouts/{rollout}?unit=hengshan-s003", headers=officer).status_code == 200
    for path in (f"/dashboard/rollouts/{rollout}?unit=leiyang", f"/dashboard/rollouts/{rollout}?unit=leiyang-s001",
                 f"/dashboard/rollouts/{rollout}/export?unit=leiyang", "/dashboard/monthly-checks?county=leiyang",
                 "/dashboard/overdue?county=leiyang", "/dashboard/overdue/export?county=leiyang"):
        answer = client.get("/api/v1" + path, headers=officer)
        assert answer.status_code == 404, path  # another county answers as a missing one
    city = _as("hy-zr")  # the city's officer sees every county
    assert len(client.get(f"/api/v1/dashboard/rollouts/{rollout}", headers=city).json["units"]) == 13
    for outsider in ("hengshan-s003-zr", "hengshan-s003-bzr1", "hy-jjk-kz"):  # a school's officer, a teacher
        assert client.get("/api/v1/dashboard/rollouts", headers=_as(outsider)).status_code == 403, outsider
        assert client.get("/api/v1/dashboard/overdue", headers=_as(outsider)).status_code == 403, outsider
    assert client.get("/api/v1/dashboard/monthly-checks").status_code == 401


def _check(demo: Huhua, school: str, month: str) -> int:
    started = demo.execute(StartInstance("monthly_school_check", "scheduler", org_scope=school,
                                         variables={"scheduled_for": f"{month}-02T08:30:00+08:00"}, origin=ENGINE))
    run_due_jobs(demo)  # the roster is read: the checking sheets open
    return int(started["id"])


def _task(demo: Huhua, instance_id: int, element_id: str) -> dict:
    return next(t for t in demo.queries.tasks(instance_id=instance_id, limit=50) if t["element_id"] == element_id)


def _submit_and_score(demo: Huhua, instance_id: int, school: str, total: int) -> None:
    """The school's 德育处 fills both checking sheets, every teacher at ``total``: the class teachers' sheet is the
    school's submission; with the mental-health sheet the check is tallied and the school's mean is ``total``."""
    data = demo.queries.instance(instance_id)["data"]
    demo.execute(CompleteTask(_task(demo, instance_id, "check_class_teachers")["id"], f"{school}-dy", {
        "class_teacher_scores": [{**row, **marks(CLASS_ITEMS, 100 - total)} for row in data["class_teacher_scores"]],
        "class_problems": "无", "class_requirements": "无"}))
    demo.execute(CompleteTask(_task(demo, instance_id, "check_mh_work")["id"], f"{school}-dy", {
        "mh_teacher_scores": [{**row, **marks(MH_ITEMS, 100 - total)} for row in data["mh_teacher_scores"]],
        "mh_problems": "无", "mh_requirements": "无"}))
    run_due_jobs(demo)


@pytest.fixture
def checks(demo: Huhua, clock: VirtualClock) -> Huhua:
    """March: zhuhui's three schools on time (95, 80, 50), qidong-s001 late (70), qidong-s002 never submits.
    April: zhuhui-s001 on time (88), zhuhui-s002 not yet due. A school's score is its teachers' mean."""
    demo.execute(DeployShippedProcesses(str(demo.settings.processes_dir)))
    clock.set(datetime(2026, 3, 2, 8, 30, tzinfo=BUSINESS_TZ))
    march = {school: _check(demo, school, "2026-03") for school in
             ("zhuhui-s001", "zhuhui-s002", "zhuhui-s003", "qidong-s001", "qidong-s002")}
    for school, total in (("zhuhui-s001", 95), ("zhuhui-s002", 80), ("zhuhui-s003", 50)):
        _submit_and_score(demo, march[school], school, total)
    clock.set(datetime(2026, 3, 20, 10, tzinfo=BUSINESS_TZ))  # past the sheets' eight working days
    run_due_jobs(demo)
    _submit_and_score(demo, march["qidong-s001"], "qidong-s001", 70)
    clock.set(datetime(2026, 4, 1, 8, 30, tzinfo=BUSINESS_TZ))
    april = {school: _check(demo, school, "2026-04") for school in ("zhuhui-s001", "zhuhui-s002")}
    _submit_and_score(demo, april["zhuhui-s001"], "zhuhui-s001", 88)
    return demo


def test_monthly_checks_count_submissions_and_scores_per_month_and_compare_the_counties(
        checks: Huhua, client: FlaskClient) -> None:
    figures = client.get("/api/v1/dashboard/monthly-checks", headers=ADMIN).json
    march, april = figures["months"]
    assert march["month"] == "2026-03"
    assert (march["schools"], march["on_time"], march["late"], march["missing"], march["pending"]) == (5, 3, 1, 1, 0)
    assert (march["submitted_rate"], march["on_time_rate"]) == (80.0, 60.0)
    assert march["bands"] == {"优秀": 1, "良好": 1, "合格": 1, "不合格": 1}
    assert march["scored"] == 4 and march["average"] == 73.8
    assert march["box"] == [50.0, 65.0, 75.0, 83.8, 95.0]
    bins = figures["histogram_bins"]
    assert bins[5] == "50–60" and sum(march["histogram"]) == 4 and march["histogram"][5] == 1
    assert march["histogram"][9] == 1  # 95 falls in 90–100
    assert (april["month"], april["schools"], april["on_time"], april["pending"], april["missing"]) == (
        "2026-04", 2, 1, 1, 0)
    assert april["bands"]["良好"] == 1 and april["box"] == [88.0] * 5

    qidong = client.get("/api/v1/dashboard/monthly-checks?county=qidong", headers=ADMIN).json
    assert [(m["month"], m["schools"], m["late"], m["missing"]) for m in qidong["months"]] == [("2026-03", 2, 1, 1)]
    assert client.get("/api/v1/dashboard/monthly-checks?county=qidong", headers=_as("qidong-zr")).status_code == 200
    assert client.get("/api/v1/dashboard/monthly-checks?county=zhuhui",
                      headers=_as("qidong-zr")).status_code == 404
    own = client.get("/api/v1/dashboard/monthly-checks", headers=_as("qidong-zr")).json  # no county: their own
    assert [m["schools"] for m in own["months"]] == [2]
    unknown = client.get("/api/v1/dashboard/monthly-checks?county=zhuhui-s001", headers=ADMIN)
    assert unknown.status_code == 404 and unknown.json["problems"][0]["field"] == "county"

    export = client.get("/api/v1/dashboard/monthly-checks/export", headers=ADMIN)
    rows = _rows(export.data, "一月一查")
    assert rows[0][:6] == ("月份", "应查学校", "按时提交", "逾期提交", "未到期", "逾期未交")
    assert rows[1][:10] == ("2026-03", 5, 3, 1, 0, 1, 80, 60, 4, 73.8)
    assert _rows(export.data, "分数分布")[1][0] == "2026-03"

    # one month's scores compared side by side: per county over its schools, saying over how many of how many
    newest = figures["comparison"]
    assert (newest["month"], newest["level"]) == ("2026-04", "counties")  # the newest month with a score
    assert newest["units"][0]["name"] == "珠晖区教育局" and newest["units"][0]["scored"] == 1
    compared = client.get("/api/v1/dashboard/monthly-checks?month=2026-03", headers=ADMIN).json["comparison"]
    by_county = {u["unit"]: u for u in compared["units"]}
    assert len(compared["units"]) == 13
    assert {k: by_county["zhuhui"][k] for k in ("scored", "expected", "average", "box", "rank")} == {
        "scored": 3, "expected": 3, "average": 75.0, "box": [50.0, 65.0, 80.0, 87.5, 95.0], "rank": 1}
    assert {k: by_county["qidong"][k] for k in ("scored", "expected", "average", "rank")} == {
        "scored": 1, "expected": 3, "average": 70.0, "rank": 2}  # one school of three: said beside the average
    assert [u["unit"] for u in compared["units"][:2]] == ["zhuhui", "qidong"]  # ranked by average, unscored last
    assert by_county["leiyang"] == {"unit": "leiyang", "name": "耒阳市教育局", "scored": 0, "expected": 3,
                                    "average": None, "box": None, "rank": None}
    schools = client.get("/api/v1/dashboard/monthly-checks?month=2026-03&county=zhuhui",
                         headers=ADMIN).json["comparison"]
    assert schools["level"] == "schools"  # per school over its teachers' scores, against the teachers listed
    assert [(u["unit"], u["scored"], u["expected"], u["average"], u["rank"]) for u in schools["units"]] == [
        ("zhuhui-s001", 7, 7, 95.0, 1), ("zhuhui-s002", 6, 6, 80.0, 2), ("zhuhui-s003", 6, 6, 50.0, 3)]
    # a county officer compares their own schools, never another county's
    own = client.get("/api/v1/dashboard/monthly-checks?month=2026-03", headers=_as("qidong-zr")).json["comparison"]
    assert own["level"] == "schools" and {u["unit"] for u in own["units"]} == {"qidong-s001", "qidong-s002",
                                                                                "qidong-s003"}
    sheet = _rows(client.get("/api/v1/dashboard/monthly-checks/export?month=2026-03", headers=ADMIN).data, "得分对比")
    assert sheet[0][:6] == ("月份", "排名", "县市区", "单位代码", "已评分学校", "应评分")
    assert sheet[1][:7] == ("2026-03", 1, "珠晖区教育局", "zhuhui", 3, 3, 75)
    bad = client.get("/api/v1/dashboard/monthly-checks?month=2026-13", headers=ADMIN)
    assert bad.status_code == 400 and bad.json["problems"] == [{"field": "month", "message": "月份格式不对"}]
    assert bad.json["message"] == "月份须形如 2026-10，不能是“2026-13”"  # in the reader's language


def test_overdue_work_per_county_then_per_school_by_process(checks: Huhua, client: FlaskClient) -> None:
    figures = client.get("/api/v1/dashboard/overdue", headers=ADMIN).json
    by_unit = {u["unit"]: u for u in figures["units"]}
    assert figures["level"] == "counties" and figures["total"] == sum(u["overdue"] for u in figures["units"])
    assert by_unit["qidong"]["name"] == "祁东县教育局" and by_unit["qidong"]["drillable"]
    assert by_unit["qidong"]["by_process"]["monthly_school_check"] >= 2  # qidong-s002's two sheets, and more
    assert "monthly_school_check" in [p["key"] for p in figures["processes"]]
    schools = client.get("/api/v1/dashboard/overdue?county=qidong", headers=ADMIN).json
    assert schools["level"] == "schools"
    assert "qidong-s002" in {u["unit"] for u in schools["units"]}
    assert sum(u["overdue"] for u in schools["units"]) == by_unit["qidong"]["overdue"]
    only = client.get("/api/v1/dashboard/overdue?county=qidong&process=nothing_like_it", headers=ADMIN).json
    assert only["units"] == [] and only["total"] == 0
    own = client.get("/api/v1/dashboard/overdue", headers=_as("qidong-zr")).json
    assert [u["unit"] for u in own["units"]] == ["qidong"]
    rows = _rows(client.get("/api/v1/dashboard/overdue/export?county=qidong", headers=ADMIN).data, "逾期待办")
    assert rows[0][:3] == ("学校/教学点", "单位代码", "逾期待办数")
    assert {r[1]: r[2] for r in rows[1:]} == {u["unit"]: u["overdue"] for u in schools["units"]}


def test_the_dashboard_page_and_its_workbook_are_for_officers_in_their_scope(demo: Huhua, rollout: int) -> None:
    for person in ("hengshan-zr", "hengshan-s003-zr"):
        demo.execute(SetPassword(person, "correct horse", "admin"))
    app = create_app(demo, {"SECRET_KEY": "pages", "TRUST_USER_HEADER": False, "WTF_CSRF_ENABLED": False})
    with app.test_client() as officer:
        officer.post("/login", data={"username": "hengshan-zr", "password": "correct horse"})
        page = officer.get("/admin/dashboard").get_data(as_text=True)
        assert 'value="hengshan"' in page and 'value="leiyang"' not in page and "全市</option>" not in page
        assert ">看板</a>" in officer.get("/inbox").get_data(as_text=True)  # the header leads there
        assert officer.get("/api/v1/dashboard/rollouts").status_code == 200  # the page's calls, by session
        assert officer.get("/admin/dashboard.xlsx").status_code == 200
        assert officer.get("/admin/").status_code == 403  # the rest of administration stays the administrator's
    with app.test_client() as school:
        school.post("/login", data={"username": "hengshan-s003-zr", "password": "correct horse"})
        assert school.get("/admin/dashboard").status_code == 403
        assert school.get("/admin/dashboard.xlsx").status_code == 403
        assert ">看板</a>" not in school.get("/inbox").get_data(as_text=True)


def test_the_migration_keeps_the_figures_of_checks_already_running(tmp_path: Path) -> None:
    """Upgrading a database that already holds monthly checks fills their months, scores and bands."""
    database = Database(f"sqlite:///{tmp_path / 'old.db'}")
    migration.upgrade(database, "0010")
    with database.engine.begin() as connection:
        connection.exec_driver_sql("INSERT INTO deployment (id, name, source, deployed_by, deployed_at) "
                                   "VALUES (1, 'old', 'shipped', 'admin', '2026-03-01 00:00:00')")
        connection.exec_driver_sql(
            "INSERT INTO process_definition (id, key, version, name, content_hash, deployment_id, resource_name, "
            "deployed_at) VALUES (1, 'monthly_school_check', 1, '一月一查', 'x', 1, 'm.bpmn', '2026-03-01 00:00:00')")
        connection.exec_driver_sql(
            "INSERT INTO process_instance (id, definition_id, process_key, org_scope, state, version, started_by, "
            "started_at, updated_at, data) VALUES "
            "(1, 1, 'monthly_school_check', 'zhuhui-s001', 'completed', 3, 'scheduler', '2026-03-02 00:30:00', "
            "'2026-03-02 00:30:00', '{\"scheduled_for\": \"2026-03-02T08:30:00+08:00\", \"total\": 91, "
            "\"band\": \"优秀\"}'), "
            "(2, 1, 'monthly_school_check', 'zhuhui-s002', 'running', 1, 'scheduler', '2026-03-02 00:30:00', "
            "'2026-03-02 00:30:00', '{\"total\": true}'), "
            "(3, 1, 'teacher_report', 'zhuhui-s002', 'running', 1, 'x', '2026-03-02 00:30:00', "
            "'2026-03-02 00:30:00', '{\"total\": 5}')")
    migration.upgrade(database)
    with database.engine.connect() as connection:
        f = tables.instance_figure
        kept = connection.execute(select(f.c.instance_id, f.c.process_key, f.c.period, f.c.score, f.c.band)
                                  .order_by(f.c.instance_id)).all()
    database.dispose()
    assert [tuple(row) for row in kept] == [(1, "monthly_school_check", "2026-03", 91.0, "优秀"),
                                            (2, "monthly_school_check", None, None, None)]


def test_a_score_no_float_can_hold_is_kept_as_no_score(demo: Huhua, client: FlaskClient) -> None:
    """Instance data is the model's: a total too large for a float, or infinite, must not stop the instance."""
    demo.execute(DeployShippedProcesses(str(demo.settings.processes_dir)))
    for total in (10**400, float("inf")):
        started = demo.execute(StartInstance("monthly_school_check", "scheduler", org_scope="zhuhui-s001",
                                             variables={"scheduled_for": "2026-03-02T08:30:00+08:00", "total": total},
                                             origin=ENGINE))
        assert started["state"] == "running"
    answer = client.get("/api/v1/dashboard/monthly-checks", headers=_as("admin"))
    assert answer.status_code == 200 and "Infinity" not in answer.get_data(as_text=True)

