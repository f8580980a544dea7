"""Oversight of 一月一查 above the school: the bureaus watch, spot-check and chase; they do not score.

For one month, per school of a county: how far its own check has come (teachers scored or excused against the
teachers the directory lists, circular issued, summary written), the distribution of its teachers' scores
(bands, mean), which of its steps are overdue, whether it was drawn for the county's spot-check and what the
spot-check found, and how often it was chased. The city sees the same per county. Every figure comes from the
narrow tables (``instance_figure``, ``teacher_appraisal``, ``human_task``, ``role_assignment``), never from
instance data. Scope as on the dashboard (:class:`engine.access.policy.DashboardScope`): a county's officers and
heads their county; the city's and the administrator all; another county answers as a missing one (404).
"""

from __future__ import annotations

import json
import statistics
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from engine.access.policy import DashboardScope, not_on_dashboard
from engine.clock import BUSINESS_TZ
from engine.errors import InvalidInput, Problem
from engine.grades import BANDS
from engine.phrases import Phrase
from engine.store import tables
from engine.store.database import Database

CHECK, SPOT_CHECK, CHASE = "monthly_school_check", "monthly_spot_check", "monthly_check_chase"
TEACHER_ROLES = ("class_teacher", "mh_teacher_full", "mh_teacher_part")
#: The steps of the school's check, in order, as the page names them when they are overdue.
STEPS = {"check_class_teachers": "班主任工作检查", "check_mh_work": "心理健康教育检查", "od_sign": "校长签发通报",
         "od_revise": "修改通报", "write_summary": "月度总结"}
_i, _t, _u, _r, _f, _a = (tables.process_instance, tables.human_task, tables.org_unit, tables.role_assignment,
                          tables.instance_figure, tables.teacher_appraisal)


def parse_month(value: str | None, now: datetime) -> str:
    """``YYYY-MM``; the current month in Beijing when not given."""
    if not value:
        return now.astimezone(BUSINESS_TZ).strftime("%Y-%m")
    if len(value) != 7 or value[4] != "-" or not (value[:4].isdigit() and value[5:].isdigit()) \
            or not 1 <= int(value[5:]) <= 12:
        raise InvalidInput(Phrase("month must look like 2026-10, not '%(value)s'", value=value[:20]),
                           [Problem(Phrase("bad month"), field="month")])
    return value


def counties(database: Database, scope: DashboardScope, now: datetime, month: str) -> dict[str, Any]:
    """Per county in scope: schools, checks completed, teachers scored of the directory's, circulars, summaries,
    schools late, the mean and the bands of the teachers' scores."""
    with database.engine.connect() as connection:
        units = connection.execute(select(_u.c.id, _u.c.name).where(_u.c.kind == "county")
                                   .order_by(_u.c.sort_order, _u.c.id)).all()
        wanted = [u for u in units if scope.allows_county(u.id)]
        schools = _schools(connection, [u.id for u in wanted], month, now)
    rows = []
    for unit in wanted:
        own = [s for s in schools if s["county"] == unit.id]
        rows.append({"county": unit.id, "name": unit.name, **_sum_up(own)})
    return {"month": month, "as_of": now.astimezone(BUSINESS_TZ).isoformat(), "bands": list(BANDS),
            "counties": rows, "totals": _sum_up(schools)}


def county(database: Database, scope: DashboardScope, now: datetime, county_id: str, month: str) -> dict[str, Any]:
    """One county's schools for the month, with its spot-check sample."""
    with database.engine.connect() as connection:
        unit = connection.execute(select(_u.c.id, _u.c.name, _u.c.kind).where(_u.c.id == county_id)).first()
        if unit is None or unit.kind != "county" or not scope.allows_county(county_id):
            raise not_on_dashboard(f"county '{county_id}'", "county")
        schools = _schools(connection, [county_id], month, now)
        spot = _spot_check(connection, county_id, month)
    for school in schools:
        school["spot_check"] = spot["by_school"].get(school["school"])
    return {"month": month, "as_of": now.astimezone(BUSINESS_TZ).isoformat(), "bands": list(BANDS),
            "county": {"id": unit.id, "name": unit.name}, "schools": schools, "totals": _sum_up(schools),
            "spot_check": {"instance_id": spot["instance_id"], "state": spot["state"],
                           "sampled": len(spot["by_school"]),
                           "done": sum(1 for s in spot["by_school"].values() if s["done"])}}


def _schools(connection: Connection, county_ids: list[str], month: str, now: datetime) -> list[dict[str, Any]]:
    """The month's figures of every school under those counties (one grouped query per table)."""
    if not county_ids:
        return []
    schools = connection.execute(select(_u.c.id, _u.c.name, _u.c.parent_id).where(
        _u.c.kind == "school", _u.c.parent_id.in_(county_ids)).order_by(_u.c.parent_id, _u.c.sort_order,
                                                                          _u.c.id)).all()
    ids = [s.id for s in schools]
    directory = teachers_listed(connection, ids)
    checks = {row.org_scope: row for row in connection.execute(
        select(_i.c.id, _i.c.org_scope, _i.c.state, _f.c.score, _f.c.band).join(_f, _f.c.instance_id == _i.c.id)
        .where(_i.c.process_key == CHECK, _f.c.period == month, _i.c.org_scope.in_(ids),
               _i.c.state != "terminated").order_by(_i.c.id)).all()} if ids else {}
    instance_ids = [row.id for row in checks.values()]
    tasks: dict[int, list[Any]] = defaultdict(list)
    for row in connection.execute(select(_t.c.instance_id, _t.c.element_id, _t.c.state, _t.c.due_at).where(
            _t.c.instance_id.in_(instance_ids), _t.c.state != "cancelled")).all() if instance_ids else []:
        tasks[row.instance_id].append(row)
    scored: dict[int, list[Any]] = defaultdict(list)
    for row in connection.execute(select(_a.c.instance_id, _a.c.score, _a.c.band, _a.c.reason).where(
            _a.c.instance_id.in_(instance_ids))).all() if instance_ids else []:
        scored[row.instance_id].append(row)
    start = datetime(int(month[:4]), int(month[5:]), 1, tzinfo=BUSINESS_TZ)
    end = (start + timedelta(days=32)).replace(day=1)
    chases = dict(connection.execute(select(_i.c.org_scope, func.count()).where(
        _i.c.process_key == CHASE, _i.c.org_scope.in_(ids), _i.c.started_at >= start, _i.c.started_at < end)
        .group_by(_i.c.org_scope)).all()) if ids else {}
    found = []
    for school in schools:
        check = checks.get(school.id)
        own_tasks = tasks.get(check.id, []) if check else []
        ledger = scored.get(check.id, []) if check else []
        values = [row.score for row in ledger if row.score is not None]
        elements = {row.element_id for row in own_tasks}
        summary = any(r.element_id == "write_summary" and r.state == "completed" for r in own_tasks)
        late = sorted({STEPS.get(r.element_id, r.element_id) for r in own_tasks
                       if r.state == "open" and r.due_at is not None and r.due_at < now})
        found.append({
            "school": school.id, "name": school.name, "county": school.parent_id,
            "instance_id": check.id if check else None, "state": check.state if check else "not_started",
            "teachers": {"directory": directory[school.id], "scored": len(values),
                         "excused": sum(1 for row in ledger if row.score is None and row.reason),
                         "missing": max(directory[school.id] - len(ledger), 0)},
            "circular_issued": "write_summary" in elements, "summary_written": summary,
            "complete": bool(check) and check.state == "completed",
            "late": late, "mean": round(statistics.fmean(values), 1) if values else None,
            "school_band": check.band if check else None,
            "bands": {band: sum(1 for row in ledger if row.band == band) for band in BANDS},
            "chases": int(chases.get(school.id, 0))})
    return found


def teachers_listed(connection: Connection, school_ids: list[str]) -> Counter[str]:
    """Per school, the teachers its checking sheets list: its own and its teaching points' holders of a teacher
    role, counted per role held (as the sheets list them)."""
    if not school_ids:
        return Counter()
    points = dict(connection.execute(select(_u.c.id, _u.c.parent_id).where(
        _u.c.kind == "teaching_point", _u.c.parent_id.in_(school_ids))).all())
    directory: Counter[str] = Counter()
    for (unit,) in connection.execute(select(_r.c.unit_id).where(
            _r.c.role.in_(TEACHER_ROLES), _r.c.unit_id.in_(school_ids + list(points)))).all():
        directory[points.get(unit, unit)] += 1
    return directory


def _sum_up(schools: list[dict[str, Any]]) -> dict[str, Any]:
    bands = {band: sum(s["bands"][band] for s in schools) for band in BANDS}
    scored = sum(s["teachers"]["scored"] for s in schools)
    means = [(s["mean"], s["teachers"]["scored"]) for s in schools if s["mean"] is not None]
    return {"schools": len(schools), "started": sum(1 for s in schools if s["instance_id"] is not None),
            "complete": sum(1 for s in schools if s["complete"]),
            "teachers_directory": sum(s["teachers"]["directory"] for s in schools), "teachers_scored": scored,
            "teachers_excused": sum(s["teachers"]["excused"] for s in schools),
            "circulars": sum(1 for s in schools if s["circular_issued"]),
            "summaries": sum(1 for s in schools if s["summary_written"]),
            "late_schools": [s["school"] for s in schools if s["late"]],
            "mean": round(sum(m * n for m, n in means) / scored, 1) if scored else None, "bands": bands}


def _spot_check(connection: Connection, county_id: str, month: str) -> dict[str, Any]:
    """The county's spot-check of the month: which schools were drawn, and what was found at each."""
    instance = connection.execute(select(_i.c.id, _i.c.state).where(
        _i.c.process_key == SPOT_CHECK, _i.c.org_scope == county_id,
        _i.c.business_key.like(f"%@{month}-%")).order_by(_i.c.id.desc()).limit(1)).first()
    if instance is None:
        return {"instance_id": None, "state": None, "by_school": {}}
    by_school = {}
    for row in connection.execute(select(_t.c.item_input, _t.c.item_output, _t.c.state).where(
            _t.c.instance_id == instance.id, _t.c.element_id == "spot_check", _t.c.state != "cancelled")).all():
        item = json.loads(row.item_input or "{}")
        school = item.get("sampled_school") if isinstance(item.get("sampled_school"), dict) else item
        output = json.loads(row.item_output or "{}") if row.state == "completed" else {}
        if isinstance(school, dict) and school.get("id"):
            by_school[school["id"]] = {"done": row.state == "completed",
                                       "scores_confirmed": output.get("scores_confirmed"),
                                       "findings": output.get("findings")}
    return {"instance_id": instance.id, "state": instance.state, "by_school": by_school}
