"""The figures of the dashboard: the monthly checks month by month, and overdue work per county.

Read from the narrow tables (instance data for the checks' scores and bands, open tasks with their due
dates and units), so the page answers at city scale; each table is also the chart's data and the sheet
of the .xlsx export.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select

from engine.clock import BUSINESS_TZ
from engine.store import tables
from engine.store.database import Database

BANDS = ("优秀", "良好", "合格", "不合格")
_i, _t, _u = tables.process_instance, tables.human_task, tables.org_unit


def dashboard(database: Database, now: datetime) -> dict[str, Any]:
    with database.engine.connect() as connection:
        checks = connection.execute(select(_i.c.data, _i.c.state).where(
            _i.c.process_key == "monthly_school_check")).all()
        overdue = connection.execute(select(_t.c.org_scope).where(
            _t.c.state == "open", _t.c.due_at.is_not(None), _t.c.due_at < now)).scalars().all()
        units = {row.id: (row.path, row.name) for row in connection.execute(select(_u.c.id, _u.c.path, _u.c.name))}
    months: dict[str, Counter[str]] = defaultdict(Counter)
    scores: dict[str, list[float]] = defaultdict(list)
    for row in checks:
        data = json.loads(row.data or "{}")
        month = str(data.get("scheduled_for", ""))[:7] or "未排期"
        months[month]["started"] += 1
        if data.get("band") in BANDS:
            months[month]["scored"] += 1
            months[month][data["band"]] += 1
            if isinstance(data.get("total"), int | float):
                scores[month].append(float(data["total"]))
    monthly = [{"month": month, "schools": counts["started"], "scored": counts["scored"],
                "rate": round(counts["scored"] * 100 / counts["started"], 1) if counts["started"] else 0.0,
                "average": round(sum(scores[month]) / len(scores[month]), 1) if scores[month] else None,
                **{band: counts[band] for band in BANDS}} for month, counts in sorted(months.items())]
    per_county: Counter[str] = Counter()
    for scope in overdue:
        per_county[_county_of(scope, units)] += 1
    overdue_rows = [{"unit": unit, "overdue": count} for unit, count in per_county.most_common()]
    return {"as_of": now.astimezone(BUSINESS_TZ).isoformat(), "monthly_checks": monthly,
            "overdue_by_county": overdue_rows}


def _county_of(scope: str | None, units: dict[str, tuple[str, str]]) -> str:
    """The name of the county a unit lies in (the city bureau's own work counts as 市教育局)."""
    if scope is None or scope not in units:
        return "未指定单位"
    path, name = units[scope]
    for step in path.split("/"):
        if step.startswith("county:"):
            return units.get(step.split(":", 1)[1], ("", step))[1]
    return name
