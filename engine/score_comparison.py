"""一月一查's scores compared side by side for one month: the bureau head's "how do the counties compare?".

The city (and a reader of several counties) sees one box per county, over its schools' scores (each school's
mean, ``instance_figure``); a county (chosen, or the only one a county officer reads) sees one box per school,
over its teachers' scores (``teacher_appraisal``). Each box says over how many it is drawn against how many are
expected (the county's schools; the teachers the school's sheets list), so an average of one school in three
never passes for the county's; the units come ranked by their average, those with no score last.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, func, select

from engine.access.policy import DashboardScope
from engine.monthly_oversight import teachers_listed
from engine.store import tables

CHECK = "monthly_school_check"
_i, _u, _f, _a = tables.process_instance, tables.org_unit, tables.instance_figure, tables.teacher_appraisal


def box_of(values: list[float]) -> list[float] | None:
    """[min, lower quartile, median, upper quartile, max] of sorted values, as ECharts' box plot reads it."""
    if not values:
        return None
    if len(values) == 1:
        return [values[0]] * 5
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return [values[0], round(q1, 1), round(median, 1), round(q3, 1), values[-1]]


def compare_scores(connection: Connection, scope: DashboardScope, county: str | None,
                   month: str | None) -> dict[str, Any]:
    """The month's scores per county (or per school of ``county``, which the caller has checked is theirs); the
    month is the newest with a score in the caller's view unless given."""
    counties = connection.execute(select(_u.c.id, _u.c.name).where(_u.c.kind == "county")
                                  .order_by(_u.c.sort_order, _u.c.id)).all()
    visible = [c for c in counties if scope.allows_county(c.id)]
    if county is None and len(visible) == 1 and scope.counties is not None:
        county = visible[0].id  # a county officer compares their own schools
    within = [county] if county is not None else [c.id for c in visible]
    schools = connection.execute(select(_u.c.id, _u.c.name, _u.c.parent_id).where(
        _u.c.kind == "school", _u.c.parent_id.in_(within)).order_by(_u.c.sort_order, _u.c.id)).all() \
        if within else []
    school_ids = [s.id for s in schools]
    month = month or _newest_scored_month(connection, school_ids)
    checks = {row.org_scope: row for row in connection.execute(
        select(_i.c.id, _i.c.org_scope, _f.c.score).join(_f, _f.c.instance_id == _i.c.id)
        .where(_i.c.process_key == CHECK, _f.c.period == month, _i.c.state != "terminated",
               _i.c.org_scope.in_(school_ids)).order_by(_i.c.id))} if school_ids and month else {}
    if county is None:
        scores: dict[str, list[float]] = defaultdict(list)
        for school in schools:
            check = checks.get(school.id)
            if check is not None and check.score is not None:
                scores[school.parent_id].append(float(check.score))
        expected = defaultdict(int)
        for school in schools:
            expected[school.parent_id] += 1
        units = [_unit(c.id, c.name, scores[c.id], expected[c.id]) for c in visible]
    else:
        teachers: dict[int, list[float]] = defaultdict(list)
        newest = [check.id for check in checks.values()]
        for row in connection.execute(select(_a.c.instance_id, _a.c.score).where(
                _a.c.instance_id.in_(newest), _a.c.score.is_not(None))) if newest else []:
            teachers[row.instance_id].append(float(row.score))
        listed = teachers_listed(connection, school_ids)
        units = [_unit(s.id, s.name, teachers[checks[s.id].id] if s.id in checks else [], listed[s.id])
                 for s in schools]
    units.sort(key=lambda u: -u["average"] if u["average"] is not None else float("inf"))
    for rank, unit in enumerate(units, start=1):
        unit["rank"] = rank if unit["average"] is not None else None
    return {"month": month, "level": "schools" if county is not None else "counties", "county": county,
            "scored_is": "teachers" if county is not None else "schools", "units": units}


def _unit(unit_id: str, name: str, values: list[float], expected: int) -> dict[str, Any]:
    values = sorted(values)
    return {"unit": unit_id, "name": name, "scored": len(values), "expected": expected,
            "average": round(statistics.fmean(values), 1) if values else None, "box": box_of(values)}


def _newest_scored_month(connection: Connection, school_ids: list[str]) -> str | None:
    """The newest month in which one of these schools has a score."""
    if not school_ids:
        return None
    return connection.execute(select(func.max(_f.c.period)).join(_i, _i.c.id == _f.c.instance_id).where(
        _i.c.process_key == CHECK, _f.c.score.is_not(None), _i.c.state != "terminated",
        _i.c.org_scope.in_(school_ids))).scalar()
