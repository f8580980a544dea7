"""What the bureaus see of counselling: counts of cases by risk level, and crisis escalations.

Counties and the city do not read counselling cases (engine.access.confidential); they follow the service
through counts — per county, or per school within a county — and the crisis escalations, which name the
student only to a reader the escalation itself lets in (its county officer or bureau head). The counts come
from the narrow ``instance_figure`` rows the commands keep for counselling cases (band = risk level).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import func, select

from engine.access.confidential import CASE_AND_RISK, at_least, case_access
from engine.clock import BUSINESS_TZ
from engine.dashboard import Scope, require_county, within_counties
from engine.store import tables
from engine.store.database import Database

CASE_PROCESS = "counselling_case"
RISK_LEVELS = ("low", "medium", "high")
_i, _t, _c, _u, _f = (tables.process_instance, tables.human_task, tables.task_candidate, tables.org_unit,
                      tables.instance_figure)


def counselling_counts(database: Database, scope: Scope, viewer: str, county: str | None = None) -> dict[str, Any]:
    """Cases per county (or per school of ``county``) by risk level and state, and the crisis escalations."""
    if county is not None:
        require_county(database, scope, county)  # another county answers as a missing one
    query = (select(_u.c.path, _f.c.band, _i.c.state, func.count().label("cases"))
             .select_from(_i).join(_u, _u.c.id == _i.c.org_scope).join(_f, _f.c.instance_id == _i.c.id, isouter=True)
             .where(_i.c.process_key == CASE_PROCESS).group_by(_u.c.path, _f.c.band, _i.c.state))
    units: dict[str, Counter[str]] = defaultdict(Counter)
    with database.engine.connect() as connection:
        for row in connection.execute(within_counties(query, county, scope)):
            key = _level_unit(row.path, county)
            units[key]["cases"] += row.cases
            units[key][row.band if row.band in RISK_LEVELS else "unassessed"] += row.cases
            units[key]["open" if row.state in ("running", "suspended", "incident") else "closed"] += row.cases
        escalations = _escalations(connection, scope, viewer, county)
        for entry in escalations:
            units[_level_unit(entry.pop("path"), county)]["crisis_escalations"] += 1
        named = set(units) | {entry["school"] for entry in escalations}
        names = dict(connection.execute(select(_u.c.id, _u.c.name).where(_u.c.id.in_(named))).all()) if named else {}
    for entry in escalations:
        entry["school_name"] = names.get(entry["school"], entry["school"])
    return {"county": county, "level": "schools" if county else "counties", "risk_levels": list(RISK_LEVELS),
            "units": [{"unit": unit, "name": names.get(unit, unit), "drillable": county is None and bool(unit),
                       **{k: counts[k] for k in ("cases", *RISK_LEVELS, "unassessed", "open", "closed",
                                                 "crisis_escalations")}}
                      for unit, counts in sorted(units.items())],
            "crisis_escalations": escalations}


Sheet = tuple[str, list[str], list[list[Any]]]
_RISK_NAMES = {"low": "低风险", "medium": "中风险", "high": "高风险"}
_TASK_STATES = {"open": "待办", "completed": "已完成", "cancelled": "已取消"}


def counselling_sheets(figures: dict[str, Any]) -> list[Sheet]:
    """The counts by risk level per unit and the crisis escalations, as the .xlsx export's sheets (text from
    the directory and the cases is made inert by engine.documents.layout.workbook)."""
    level = "县市区" if figures["level"] == "counties" else "学校/教学点"
    return [("心理辅导个案", [level, "单位代码", "个案数", *(_RISK_NAMES[r] for r in RISK_LEVELS), "未评估",
                        "进行中", "已结案", "危机上报"],
             [[u["name"], u["unit"], u["cases"], *(u[r] for r in RISK_LEVELS), u["unassessed"], u["open"],
               u["closed"], u["crisis_escalations"]] for u in figures["units"]]),
            ("危机上报", ["学校", "单位代码", "步骤", "状态", "上报时间", "个案编号", "学生化名"],
             [[e["school_name"], e["school"], e["step"], _TASK_STATES.get(e["state"], e["state"]),
               e["reported_at"], e["instance_id"] if e["instance_id"] is not None else "",
               e["student_alias"] or ""] for e in figures["crisis_escalations"]])]


def _escalations(connection: Any, scope: Scope, viewer: str, county: str | None) -> list[dict[str, Any]]:
    """Tasks of counselling cases offered to a role above the case's school: the crisis reports and urgings."""
    query = (select(_t.c.id, _t.c.instance_id, _t.c.element_id, _t.c.name, _t.c.state, _t.c.created_at,
                    _t.c.org_scope, _c.c.value, _u.c.path)
             .join(_c, (_c.c.task_id == _t.c.id) & (_c.c.kind == "role")).join(_u, _u.c.id == _t.c.org_scope)
             .where(_t.c.process_key == CASE_PROCESS).order_by(_t.c.id))
    found = []
    for row in connection.execute(within_counties(query, county, scope)):
        if row.value.split("@", 1)[1] == row.org_scope:
            continue
        granted = at_least(case_access(connection, viewer, row.instance_id), CASE_AND_RISK)
        alias = None
        if granted:
            data = connection.execute(select(_i.c.data).where(_i.c.id == row.instance_id)).scalar()
            alias = _alias(data)
        found.append({"school": row.org_scope, "path": row.path, "step": row.name, "state": row.state,
                      "reported_at": row.created_at.astimezone(BUSINESS_TZ).isoformat(),  # Beijing time
                      "instance_id": row.instance_id if granted else None, "student_alias": alias})
    return found


def _level_unit(path: str, county: str | None) -> str:
    """The county (city level) or the school (county level) a unit path belongs to."""
    steps = dict(step.split(":", 1) for step in path.split("/") if ":" in step)
    return steps.get("school", steps.get("teaching_point", "")) if county else steps.get("county", "")


def _alias(data: str | None) -> str | None:
    try:
        value = json.loads(data or "{}").get("student_alias")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None
