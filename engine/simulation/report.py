"""What a simulated year came to, read from the database the way the dashboard reads it.

The report has two parts. ``outcome`` is what the year *did* (instances and tasks per process, completion and
overdue rates, the coverage of every rollout, the monthly scores per county, what the people did): the same seed
gives the same outcome on SQLite and PostgreSQL, in one process or several, and a test holds that. ``cost`` is
what it took (wall time, the slowest commands, the database's size, the largest instance), which differs with the
machine and the database.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select, text

from engine import dashboard, monthly_oversight
from engine.access.policy import DashboardScope
from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ
from engine.simulation.stopwatch import Stopwatch
from engine.simulation.year import Tally
from engine.store import tables

_i, _t, _d = tables.process_instance, tables.human_task, tables.process_definition
CITY = DashboardScope(None)


def year_report(huhua: Huhua, year: int, profile: str, seed: int, tally: Tally, stopwatch: Stopwatch,
                wall_seconds: float) -> dict[str, Any]:
    """The report of a finished year (the clock at its end)."""
    now = huhua.clock.now()
    database = huhua.services.database
    return {
        "year": year, "profile": profile, "seed": seed,
        "outcome": {
            "processes": _processes(huhua, now),
            "rollouts": [_rollout(r) for r in sorted(dashboard.rollouts(database, CITY),
                                                     key=lambda r: (r["started_at"] or "", r["process_key"]))],
            "monthly_scores": _monthly_scores(huhua, now, year),
            "people": {"acted": _sorted(tally.acted), "returned_work": _sorted(tally.returned),
                       "left_undone": _sorted(tally.left_undone), "answers_refused": dict(sorted(
                           tally.refused_answers.items())), "claims_lost": tally.claims_lost},
        },
        "cost": {
            "database": "postgresql" if not database.is_sqlite else "sqlite",
            "wall_seconds": round(wall_seconds, 1),
            "commands": stopwatch.count,
            "commands_per_second": round(stopwatch.count / wall_seconds, 1) if wall_seconds else None,
            "slowest_commands": stopwatch.slowest(),
            "database_bytes": database_bytes(huhua),
            "largest_instance": _largest_instance(huhua),
        },
    }


def _sorted(counts: dict[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items()))


def _processes(huhua: Huhua, now: datetime) -> list[dict[str, Any]]:
    """Per process: instances by state, tasks by state, the share of tasks done, and the share of tasks with a due
    date that were done late or are still open past it."""
    instances: dict[str, dict[str, int]] = defaultdict(dict)
    tasks: dict[str, dict[str, int]] = defaultdict(dict)
    overdue: dict[str, tuple[int, int]] = {}
    late = case(((_t.c.completed_at.is_not(None)) & (_t.c.completed_at > _t.c.due_at), 1),
                ((_t.c.state == "open") & (_t.c.due_at < now), 1), else_=0)
    with huhua.services.database.engine.connect() as connection:
        for key, state, count in connection.execute(select(_i.c.process_key, _i.c.state, func.count())
                                                    .group_by(_i.c.process_key, _i.c.state)):
            instances[key][state] = count
        for key, state, count in connection.execute(select(_t.c.process_key, _t.c.state, func.count())
                                                    .group_by(_t.c.process_key, _t.c.state)):
            tasks[key][state] = count
        for key, with_due, lateness in connection.execute(
                select(_t.c.process_key, func.count(), func.sum(late)).where(_t.c.due_at.is_not(None),
                                                                             _t.c.state != "cancelled")
                .group_by(_t.c.process_key)):
            overdue[key] = (int(with_due), int(lateness or 0))
    with huhua.services.database.engine.connect() as connection:
        names = dict(connection.execute(select(_d.c.key, _d.c.name).order_by(_d.c.version)).all())
    rows = []
    for key in sorted(set(instances) | set(tasks)):
        own = tasks.get(key, {})
        counted = own.get("completed", 0) + own.get("open", 0)
        with_due, lateness = overdue.get(key, (0, 0))
        rows.append({"process": key, "name": names.get(key) or key,
                     "instances": dict(sorted(instances.get(key, {}).items())),
                     "tasks": dict(sorted(own.items())),
                     "completion_rate": _share(own.get("completed", 0), counted),
                     "overdue_rate": _share(lateness, with_due)})
    return rows


def _share(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _rollout(found: dict[str, Any]) -> dict[str, Any]:
    return {"process": found["process_key"], "name": found["name"], "business_key": found["business_key"],
            "started_at": found["started_at"], "state": found["state"], "measure": found["measure"],
            "units": found["units"], "people": found["people"], "percent": found["percent"]}


def _monthly_scores(huhua: Huhua, now: datetime, year: int) -> list[dict[str, Any]]:
    """Per month with a check: per county, the schools checked of all and the mean of the teachers' scores."""
    months = []
    for month in range(1, 13):
        period = f"{year}-{month:02d}"
        found = monthly_oversight.counties(huhua.services.database, CITY, now, period)
        if not found["totals"]["started"]:
            continue
        months.append({"month": period, "totals": _county_figures(found["totals"]),
                       "counties": [{"county": c["county"], "name": c["name"], **_county_figures(c)}
                                    for c in found["counties"]]})
    return months


def _county_figures(figures: dict[str, Any]) -> dict[str, Any]:
    return {"schools": figures["schools"], "checks_started": figures["started"], "checks_completed":
            figures["complete"], "teachers_scored": figures["teachers_scored"],
            "teachers_excused": figures["teachers_excused"], "late_schools": len(figures["late_schools"]),
            "mean_score": figures["mean"]}


def database_bytes(huhua: Huhua) -> int:
    """The database's size: SQLite's pages in use (a file keeps freed pages for reuse), PostgreSQL's own count."""
    database = huhua.services.database
    with database.engine.connect() as connection:
        if database.is_sqlite:
            pages = int(connection.scalar(text("PRAGMA page_count")) or 0)
            free = int(connection.scalar(text("PRAGMA freelist_count")) or 0)
            return (pages - free) * int(connection.scalar(text("PRAGMA page_size")) or 0)
        return int(connection.scalar(text("SELECT pg_database_size(current_database())")) or 0)


def _largest_instance(huhua: Huhua) -> dict[str, Any] | None:
    """The instance with the largest stored state: what it is and how big, with its tasks."""
    size = func.coalesce(func.length(_i.c.workflow_state), 0) + func.coalesce(func.length(_i.c.data), 0)
    with huhua.services.database.engine.connect() as connection:
        row = connection.execute(select(_i.c.id, _i.c.process_key, _i.c.org_scope, _i.c.state, size.label("size"))
                                 .order_by(size.desc(), _i.c.id).limit(1)).first()
        if row is None:
            return None
        tasks = connection.scalar(select(func.count()).select_from(_t).where(_t.c.instance_id == row.id))
    return {"instance_id": row.id, "process": row.process_key, "unit": row.org_scope, "state": row.state,
            "stored_bytes": int(row.size or 0), "tasks": int(tasks or 0)}


def local(instant: datetime) -> str:
    return instant.astimezone(BUSINESS_TZ).isoformat(timespec="minutes")
