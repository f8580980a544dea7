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
    return {"county": county, "level": "schools" if county else "counties", "risk_levels": list(RISK_LEVELS),
            "units": [{"unit": unit, **{k: counts[k] for k in ("cases", *RISK_LEVELS, "unassessed", "open", "closed",
                                                              "crisis_escalations")}}
                      for unit, counts in sorted(units.items())],
            "crisis_escalations": escalations}


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
                      "reported_at": row.created_at.isoformat(), "instance_id": row.instance_id if granted else None,
                      "student_alias": alias})
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
