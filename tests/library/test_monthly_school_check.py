"""一月一查一通报一总结 where §四.9 puts it: over September–December 2026 on the virtual clock the scheduler starts
the check at every school; each school's 德育处 scores every class teacher and mental-health teacher of the
directory (or gives the reason they are not scored), the principal signs the generated circular, the programme
officer writes the summary. The scores go into the teacher appraisal ledger (``huhua appraisal export``); the
counties and the city oversee (completion and score distribution per school, late schools chased, a
spot-check sample) and do not score."""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ, VirtualClock
from engine.commands import CompleteTask, SetPassword
from engine.errors import InvalidInput
from engine.schedules import load_schedules
from engine.store import tables
from engine.web import create_app
from tests.library.conftest import inbox
from tests.library.monthly_checks import CLASS_ITEMS, MH_ITEMS, marks
from workers.job_worker import run_due_jobs
from workers.scheduler import ScheduleRunner, advance_clock

#: The first working day of each term month of the autumn semester 2026 (October begins after National Day).
TERM = {month: datetime(2026, int(month[5:]), day, 10, tzinfo=BUSINESS_TZ)
        for month, day in (("2026-09", 1), ("2026-10", 8), ("2026-11", 2), ("2026-12", 1))}
LATE_SCHOOL = "hengnan-s002"  # does nothing in December until its county chases it


def _as(user: str) -> dict[str, str]:
    return {"X-Huhua-User": user}


def _open(huhua: Huhua, user: str, element: str) -> dict[str, dict[str, Any]]:
    """The open tasks ``element`` offered to ``user``, by school."""
    return {t["org_scope"]: t for t in huhua.queries.tasks(user=user, limit=500) if t["element_id"] == element}


def _all_open(huhua: Huhua, element: str) -> dict[str, tuple[int, int]]:
    """Every open task ``element``, by school: (task, instance) — one read for the whole city, to keep the test
    fast; each is then completed by the person it is offered to, as in their inbox."""
    t = tables.human_task
    with huhua.services.database.engine.connect() as connection:
        rows = connection.execute(select(t.c.org_scope, t.c.id, t.c.instance_id).where(
            t.c.element_id == element, t.c.state == "open")).all()
    return {row.org_scope: (row.id, row.instance_id) for row in rows}


def _rows(huhua: Huhua, instance_id: int, name: str) -> list[dict[str, Any]]:
    """The rows the check set for a sheet: one per teacher of the directory."""
    with huhua.services.database.engine.connect() as connection:
        data = connection.execute(select(tables.process_instance.c.data)
                                  .where(tables.process_instance.c.id == instance_id)).scalar_one()
    return json.loads(data)[name]


def _check_school(huhua: Huhua, school: str, month: str, sheets: dict[str, dict[str, tuple[int, int]]]) -> None:
    """The 德育处主任 fills both checking sheets: a spread of scores; in November bzr2 is on sick leave."""
    user = f"{school}-dy"
    task, instance = sheets["check_class_teachers"][school]
    rows = []
    for index, row in enumerate(_rows(huhua, instance, "class_teacher_scores")):
        if month == "2026-11" and row["teacher"].endswith("-bzr2"):
            rows.append({**row, "absence": "病假"})
        else:
            rows.append({**row, **marks(CLASS_ITEMS, [2, 15, 30, 45, 0][index % 5]), "note": "家访记录不全"})
    huhua.execute(CompleteTask(task, user, {
        "class_teacher_scores": rows, "class_problems": "个别班主任家访记录不全",
        "class_requirements": "本月内补齐家访记录"}))
    mh = [{**row, **marks(MH_ITEMS, 12)} for row in _rows(huhua, instance, "mh_teacher_scores")]
    huhua.execute(CompleteTask(sheets["check_mh_work"][school][0], user, {
        "mh_teacher_scores": mh, "mh_problems": "家长参与不足", "mh_requirements": "每月开放一次家长接待日"}))


def _sign_circulars(huhua: Huhua) -> None:
    """Each principal signs the school's circular off (签发); it is numbered and issued."""
    for school, (task, _) in _all_open(huhua, "od_sign").items():
        huhua.execute(CompleteTask(task, f"{school}-xz", {"od_decision": "signed"}))
    run_due_jobs(huhua)


def _write_summaries(huhua: Huhua) -> None:
    """Each programme officer writes the school's summary."""
    for school, (task, _) in _all_open(huhua, "write_summary").items():
        huhua.execute(CompleteTask(task, f"{school}-zr", {"summary_text": "本月班主任工作和心理健康教育工作总体良好。",
                                                          "measures": "补齐家访记录"}))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_term_of_monthly_checks_at_every_school(demo: Huhua, clock: VirtualClock, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    schools = sorted(u["id"] for u in demo.queries.units(kind="school", limit=500))
    client = create_app(demo, {"TESTING": True}).test_client()
    clock.set(datetime(2026, 8, 31, 12, tzinfo=BUSINESS_TZ))
    runner = ScheduleRunner(demo, [s for s in load_schedules(demo.settings.schedules_file)
                                   if s.key in ("monthly_check", "monthly_spot_check")])
    runner.tick()
    for month, first_day in TERM.items():
        advance_clock(demo, clock, first_day, runner)
        assert len(_open(demo, "zhuhui-s001-dy", "check_class_teachers")) == 1  # this month's, at its own school
        if month == "2026-10":  # a sheet that leaves out a teacher of the directory is refused, naming them
            task = _open(demo, "zhuhui-s001-dy", "check_class_teachers")["zhuhui-s001"]
            rows = demo.queries.instance(task["instance_id"])["data"]["class_teacher_scores"]
            with pytest.raises(InvalidInput) as refused:
                demo.execute(CompleteTask(task["id"], "zhuhui-s001-dy", {
                    "class_teacher_scores": [{**r, **CLASS_ITEMS} for r in rows[1:]], "class_problems": "无",
                    "class_requirements": "无"}))
            assert rows[0]["teacher"] in str(refused.value.problems)
        late = month == "2026-12"
        sheets = {element: _all_open(demo, element) for element in ("check_class_teachers", "check_mh_work")}
        for school in schools:
            if not (late and school == LATE_SCHOOL):
                _check_school(demo, school, month, sheets)
        run_due_jobs(demo)  # each school's circular is generated
        if month == "2026-10":  # a principal returns the draft once; the 德育处 adds what was asked
            demo.execute(CompleteTask(_open(demo, "shigu-s001-xz", "od_sign")["shigu-s001"]["id"],
                                      "shigu-s001-xz", {"od_decision": "returned", "od_comment": "问题写具体"}))
            run_due_jobs(demo)
            demo.execute(CompleteTask(_open(demo, "shigu-s001-dy", "od_revise")["shigu-s001"]["id"],
                                      "shigu-s001-dy", {"od_note": "三位班主任家访记录不全，10月底前补齐。"}))
            run_due_jobs(demo)
        _sign_circulars(demo)
        _write_summaries(demo)
        if late:  # past its sheets' due date the county sees it late, chases it, and it catches up
            advance_clock(demo, clock, datetime(2026, 12, 14, 10, tzinfo=BUSINESS_TZ), runner)
            hengnan = client.get("/api/v1/oversight/monthly/hengnan?month=2026-12", headers=_as("hengnan-zr")).json
            by_school = {s["school"]: s for s in hengnan["schools"]}
            assert by_school[LATE_SCHOOL]["late"] == ["心理健康教育检查", "班主任工作检查"]
            assert hengnan["totals"]["late_schools"] == [LATE_SCHOOL]
            chase = client.post("/api/v1/process-instances", headers=_as("hengnan-zr"), json={
                "process_key": "monthly_check_chase", "org_scope": LATE_SCHOOL,
                "variables": {"chase_month": "2026-12", "chase_note": "请于两日内完成本月检查"}})
            assert chase.status_code == 201, chase.json
            assert client.post("/api/v1/process-instances", headers=_as("zhuhui-zr"), json={
                "process_key": "monthly_check_chase", "org_scope": LATE_SCHOOL,
                "variables": {"chase_month": "2026-12", "chase_note": "x"}}).status_code == 403  # not their county
            assert inbox(demo, f"{LATE_SCHOOL}-zr") == [("answer_chase", LATE_SCHOOL)]
            demo.execute(CompleteTask(_open(demo, f"{LATE_SCHOOL}-zr", "answer_chase")[LATE_SCHOOL]["id"],
                                      f"{LATE_SCHOOL}-zr", {"delay_reason": "德育处主任外出培训",
                                                           "complete_by": "2026-12-16"}))
            _check_school(demo, LATE_SCHOOL, month, {e: _all_open(demo, e) for e in sheets})
            run_due_jobs(demo)
            _sign_circulars(demo)
            _write_summaries(demo)
        spot = _open(demo, "zhuhui-zr", "spot_check")  # the county spot-checks the school drawn this month
        assert len(spot) == 1
        demo.execute(CompleteTask(next(iter(spot.values()))["id"], "zhuhui-zr", {
            "visited_on": first_day.date().isoformat(), "scores_confirmed": "yes", "findings": "计分有据"}))

    # every school: one completed check per month, one circular issued and one summary written; no holiday month
    instance = tables.process_instance
    with demo.services.database.engine.connect() as connection:
        checks = connection.execute(select(instance.c.id, instance.c.org_scope, instance.c.state,
                                           tables.instance_figure.c.period, tables.instance_figure.c.score)
                                    .join(tables.instance_figure, tables.instance_figure.c.instance_id == instance.c.id)
                                    .where(instance.c.process_key == "monthly_school_check")).all()
        ledger = connection.execute(select(tables.teacher_appraisal)).all()
        roles = connection.execute(select(tables.role_assignment.c.person_id, tables.role_assignment.c.unit_id)
                                   .where(tables.role_assignment.c.role == "class_teacher")).all()
    assert sorted((c.org_scope, c.period) for c in checks) == sorted((s, m) for s in schools for m in TERM)
    assert {c.state for c in checks} == {"completed"}
    assert all(c.score is not None and 50 <= c.score <= 100 for c in checks)  # the school's figure: its mean
    register = tables.official_document
    with demo.services.database.engine.connect() as connection:
        issued = connection.execute(select(register.c.instance_id, register.c.unit_id, register.c.number,
                                           register.c.title).where(register.c.state == "issued")).all()
    assert sorted(row.instance_id for row in issued) == sorted(c.id for c in checks)  # one circular each, issued
    numbers = sorted(row.number for row in issued if row.unit_id == "zhuhui-s001")
    assert len(numbers) == 4 and all("〔2026〕" in number for number in numbers)
    assert all("班主任工作和心理健康教育及辅导工作检查情况的通报" in row.title for row in issued)
    # every class teacher of the directory (teaching points included): one row per month, a score or a reason
    teachers = {person: unit.split("-p")[0] for person, unit in roles}
    class_rows = [(r.person_id, r.month) for r in ledger if r.role == "class_teacher"]
    assert sorted(class_rows) == sorted((person, month) for person in teachers for month in TERM)
    assert all(r.school_id == teachers[r.person_id] for r in ledger if r.role == "class_teacher")
    sick = [r for r in ledger if r.score is None]
    assert {(r.month, r.reason) for r in sick} == {("2026-11", "病假")} and len(sick) == len(schools)
    assert {r.band for r in ledger if r.score is not None} == {"优秀", "良好", "合格", "不合格"}

    # the ledger, exported: a row per teacher and month, and the year per teacher
    out = tmp_path / "台账.xlsx"
    result = cli("appraisal", "export", "--school", "zhuhui-s001", "--year", "2026", "--out", str(out))
    assert result.exit_code == 0, result.output
    book = load_workbook(out, read_only=True)
    monthly = list(book["月度台账"].iter_rows(values_only=True))
    people = {r.person_id for r in ledger if r.school_id == "zhuhui-s001"}
    assert monthly[0][:5] == ("月份", "工号", "姓名", "类别", "得分") and len(monthly) == 1 + 4 * len(people) == 29
    assert {(row[0], row[1]) for row in monthly[1:]} == {(m, p) for m in TERM for p in people}
    yearly = {row[0]: row for row in list(book["年度汇总"].iter_rows(values_only=True))[1:]}
    assert yearly["zhuhui-s001-bzr2"][3:5] == (4, 3) and yearly["zhuhui-s001-bzr1"][3:7] == (4, 4, 392, 98)
    one_month = tmp_path / "十月.xlsx"
    assert cli("appraisal", "export", "--school", "zhuhui-s001", "--year", "2026", "--month", "10",
               "--out", str(one_month)).exit_code == 0
    assert len(list(load_workbook(one_month, read_only=True)["月度台账"].iter_rows(values_only=True))) == 1 + 7
    refused = cli("appraisal", "export", "--school", "zhuhui-s001", "--year", "2026", "--as", "zhuhui-s001-bzr1",
                  "--out", str(tmp_path / "x.xlsx"))
    assert refused.exit_code == 2 and "does not exist" in refused.output

    # on the web: the school's leaders and the bureaus above it download it; teachers and other counties do not
    for user, status in (("zhuhui-s001-xz", 200), ("zhuhui-s001-zr", 200), ("zhuhui-zr", 200), ("hy-zr", 200),
                         ("zhuhui-s001-bzr1", 404), ("yanfeng-zr", 404), ("yanfeng-s001-xz", 404)):
        assert client.get("/api/v1/appraisal/zhuhui-s001/export?year=2026", headers=_as(user)).status_code == status
    sheet = load_workbook(io.BytesIO(client.get("/api/v1/appraisal/zhuhui-s001/export?year=2026&month=12",
                                                headers=_as("zhuhui-s001-xz")).data), read_only=True)["月度台账"]
    assert len(list(sheet.iter_rows(values_only=True))) == 1 + 7

    # the county officer's oversight page: completion and score distribution per school; another county: 404
    demo.execute(SetPassword("zhuhui-zr", "county-officer-pw", "admin"))
    demo.execute(SetPassword("yanfeng-zr", "county-officer-pw", "admin"))
    pages = {user: create_app(demo, {"TESTING": True, "TRUST_USER_HEADER": False, "WTF_CSRF_ENABLED": False})
             .test_client() for user in ("zhuhui-zr", "yanfeng-zr")}
    for user, browser in pages.items():
        assert browser.post("/login", data={"username": user, "password": "county-officer-pw"}).status_code == 302
    page = pages["zhuhui-zr"].get("/oversight/monthly?month=2026-10")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for name in ("珠晖区第一中学", "珠晖区第二小学", "珠晖区第三实验学校"):
        assert name in html
    assert 'data-school="zhuhui-s001"' in html and "7/7" in html and "6/6" in html and "已印发" in html
    figures = client.get("/api/v1/oversight/monthly/zhuhui?month=2026-11", headers=_as("zhuhui-zr")).json
    first = next(s for s in figures["schools"] if s["school"] == "zhuhui-s001")
    assert first["teachers"] == {"directory": 7, "scored": 6, "excused": 1, "missing": 0}
    assert first["circular_issued"] and first["summary_written"] and first["complete"] and first["late"] == []
    assert sum(first["bands"].values()) == 6 and first["mean"] is not None
    assert figures["spot_check"]["sampled"] == 1 and figures["spot_check"]["done"] == 1
    assert client.get("/api/v1/oversight/monthly/zhuhui?month=2026-10", headers=_as("yanfeng-zr")).status_code == 404
    assert pages["yanfeng-zr"].get("/oversight/monthly/zhuhui?month=2026-10").status_code == 404
    assert 'data-school="zhuhui-s002"' in pages["zhuhui-zr"].get("/oversight/monthly/zhuhui").get_data(as_text=True)
    city = client.get("/api/v1/oversight/monthly?month=2026-12", headers=_as("hy-zr")).json
    assert len(city["counties"]) == 13 and city["totals"]["complete"] == len(schools)
    assert city["totals"]["circulars"] == city["totals"]["summaries"] == len(schools)
    hengnan = next(c for c in city["counties"] if c["county"] == "hengnan")
    assert hengnan["late_schools"] == []  # it caught up
