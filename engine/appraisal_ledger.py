"""Reading the teacher appraisal ledger (教师考评台账): one school's teachers, month by month and for the year.

The ledger (table ``teacher_appraisal``, written with the monthly check: :mod:`engine.commands.appraisal`) is
what a school hands to 职称评定、绩效考核、评优评先. Who may read a school's ledger: the administrator; the
school's principal, programme officer and 德育处主任; the officers and heads of its county and of the city.
Teachers read nothing here: their monthly scores reach them in the school's circular, and the ledger of
their colleagues is not theirs to see. Anyone else is answered as if the school did not exist (404).
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, or_, select

from engine.access.identity import is_administrator
from engine.access.policy import DASHBOARD_ROLES
from engine.errors import InvalidInput, NotFound, Problem
from engine.phrases import Phrase
from engine.store import tables
from engine.store.database import Database

SCHOOL_READERS = ("principal", "programme_officer", "moral_education_head")
ROLE_NAMES = {"class_teacher": "班主任", "mh_teacher": "心理健康教育教师"}
MONTHLY_HEADER = ["月份", "工号", "姓名", "类别", "得分", "等级", "不评分原因", "扣分说明", "分项得分"]
YEARLY_HEADER = ["工号", "姓名", "类别", "检查月数", "计分月数", "全年总分", "月平均分", "等级分布", "不评分月份"]
PURPOSE = "教师考评台账：纳入学校对教师的考评，与职称评定、绩效考核、评优评先挂钩"
_a, _u, _r = tables.teacher_appraisal, tables.org_unit, tables.role_assignment


def ledger(database: Database, user: str | None, school: str, year: int, month: int | None = None) -> dict[str, Any]:
    """A school's ledger for ``year`` (or one ``month`` of it): a row per teacher and month, and per teacher the
    year's months scored, total and average; 404 for a school the caller may not read."""
    if not 2000 <= year <= 2100:
        raise InvalidInput(Phrase("year must be a year like 2026, not '%(year)s'", year=year),
                           [Problem("out of range", field="year")])
    if month is not None and not 1 <= month <= 12:
        raise InvalidInput(Phrase("month must be 1 to 12, not %(month)s", month=month),
                           [Problem("out of range", field="month")])
    with database.engine.connect() as connection:
        unit = connection.execute(select(_u.c.id, _u.c.name, _u.c.kind, _u.c.path).where(_u.c.id == school)).first()
        if unit is None or unit.kind != "school" or not _may_read(connection, user, unit.path):
            raise NotFound(f"school '{school}' does not exist", [Problem("not found", field="school")])
        months = [f"{year}-{month:02d}"] if month is not None else [f"{year}-{m:02d}" for m in range(1, 13)]
        rows = connection.execute(
            select(_a.c.instance_id, _a.c.month, _a.c.person_id, _a.c.person_name, _a.c.role, _a.c.score,
                   _a.c.band, _a.c.reason, _a.c.item_scores, _a.c.note)
            .where(_a.c.school_id == school, _a.c.month.in_(months))
            .order_by(_a.c.month, _a.c.role, _a.c.person_id, _a.c.instance_id)).all()
    latest: dict[tuple[str, str, str], Any] = {}
    for row in rows:  # a month checked twice counts once, as last checked
        latest[(row.month, row.person_id, row.role)] = row
    entries = [{"month": r.month, "teacher": r.person_id, "name": r.person_name, "role": r.role,
                "score": r.score, "band": r.band, "reason": r.reason, "note": r.note,
                "items": json.loads(r.item_scores) if r.item_scores else {}} for r in latest.values()]
    by_teacher: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for entry in entries:
        by_teacher[(entry["teacher"], entry["role"])].append(entry)
    yearly = []
    for (teacher, _role), own in by_teacher.items():
        scores = [e["score"] for e in own if e["score"] is not None]
        yearly.append({"teacher": teacher, "name": own[-1]["name"], "role": own[-1]["role"],
                       "months_checked": len(own), "months_scored": len(scores),
                       "total": round(sum(scores), 1) if scores else None,
                       "average": round(statistics.fmean(scores), 1) if scores else None,
                       "bands": {band: sum(e["band"] == band for e in own) for band in
                                 sorted({e["band"] for e in own if e["band"]})},
                       "excused": [f"{e['month']} {e['reason']}" for e in own if e["reason"]]})
    yearly.sort(key=lambda y: (y["role"], y["teacher"]))
    return {"school": {"id": unit.id, "name": unit.name}, "year": year, "month": month,
            "rows": entries, "yearly": yearly}


def ledger_sheets(found: dict[str, Any]) -> list[tuple[str, list[str], list[list[Any]]]]:
    """The ledger as workbook sheets: 月度台账 (a row per teacher and month) and 年度汇总 (a row per teacher)."""
    monthly = [[e["month"], e["teacher"], e["name"], ROLE_NAMES.get(e["role"], e["role"]),
                e["score"] if e["score"] is not None else "", e["band"] or "", e["reason"] or "", e["note"] or "",
                json.dumps(e["items"], ensure_ascii=False) if e["items"] else ""] for e in found["rows"]]
    yearly = [[y["teacher"], y["name"], ROLE_NAMES.get(y["role"], y["role"]), y["months_checked"],
               y["months_scored"], y["total"] if y["total"] is not None else "",
               y["average"] if y["average"] is not None else "",
               "、".join(f"{band}{n}次" for band, n in y["bands"].items()), "；".join(y["excused"])]
              for y in found["yearly"]]
    return [("月度台账", MONTHLY_HEADER, monthly), ("年度汇总", YEARLY_HEADER, yearly),
            ("说明", ["项目", "内容"], [["学校", found["school"]["name"]], ["年度", found["year"]],
                                     ["月份", found["month"] or "全年"], ["用途", PURPOSE]])]


def may_read(database: Database, user: str | None, school: str) -> bool:
    """Whether ``user`` may read the ledger of ``school`` (False also when it is no school)."""
    with database.engine.connect() as connection:
        unit = connection.execute(select(_u.c.kind, _u.c.path).where(_u.c.id == school)).first()
        return unit is not None and unit.kind == "school" and _may_read(connection, user, unit.path)


def readable_schools(database: Database, user: str | None, limit: int = 5_000) -> list[dict[str, str]]:
    """The schools whose ledger ``user`` may read, in the directory's order (for the page's choice)."""
    with database.engine.connect() as connection:
        schools = connection.execute(select(_u.c.id, _u.c.name, _u.c.path).where(_u.c.kind == "school")
                                     .order_by(_u.c.path)).all()
        if is_administrator(connection, user):
            return [{"id": s.id, "name": s.name} for s in schools[:limit]]
        held = connection.execute(select(_r.c.unit_id, _r.c.role).where(_r.c.person_id == user)).all()
    own = {unit for unit, role in held if role in SCHOOL_READERS}
    above = {unit for unit, role in held if role in DASHBOARD_ROLES}
    found = [s for s in schools if s.id in own
             or any(f":{unit}/" in s.path for unit in above)]
    return [{"id": s.id, "name": s.name} for s in found[:limit]]


def _may_read(connection: Connection, user: str | None, path: str) -> bool:
    """The administrator; the school's own leaders; the officers and heads of a county or city above it."""
    if is_administrator(connection, user):
        return True
    steps = [step.split(":", 1)[1] for step in path.strip("/").split("/") if ":" in step]
    school, above = steps[-1], steps[:-1]
    return connection.execute(select(_r.c.id).where(_r.c.person_id == user, or_(
        (_r.c.unit_id == school) & _r.c.role.in_(SCHOOL_READERS),
        _r.c.unit_id.in_(above) & _r.c.role.in_(DASHBOARD_ROLES))).limit(1)).first() is not None
