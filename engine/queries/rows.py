"""What every family of queries shares: page limits, allowed values, and rows turned into plain dicts."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from engine.errors import InvalidInput, Problem
from engine.store import tables
from engine.store.models import (
    Event,
    HumanTask,
    ProcessInstance,
)

MAX_PAGE = 500

# The names beside a page of tasks, asked by every task list: built once (building a statement costs more than
# SQLite running it), with the ids bound as an expanding IN.
_u, _p, _d, _c = tables.org_unit, tables.person, tables.process_definition, tables.task_candidate
_UNIT_NAMES = select(_u.c.id, _u.c.name).where(_u.c.id.in_(bindparam("ids", expanding=True)))
_PERSON_NAMES = select(_p.c.id, _p.c.name).where(_p.c.id.in_(bindparam("ids", expanding=True)))
_PROCESS_NAMES = select(_d.c.key, _d.c.name).where(_d.c.key.in_(bindparam("keys", expanding=True))).order_by(
    _d.c.key, _d.c.version)
_CANDIDATES = select(_c.c.task_id, _c.c.kind, _c.c.value).where(_c.c.task_id.in_(bindparam("ids", expanding=True)))


def one_of(value: str, allowed: tuple[str, ...], field: str) -> str:
    if value not in allowed:
        raise InvalidInput(f"{field} must be one of {', '.join(allowed)}, not {value!r}",
                           [Problem("not one of the allowed values", field=field)])
    return value


def page_limit(limit: int, most: int = MAX_PAGE) -> int:
    if limit < 1 or limit > most:
        raise InvalidInput(f"limit must be between 1 and {most}")
    return limit


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def instance_row(row: ProcessInstance) -> dict[str, Any]:
    return {"id": row.id, "process_key": row.process_key, "definition_id": row.definition_id, "state": row.state,
            "version": row.version, "business_key": row.business_key, "org_scope": row.org_scope,
            "started_by": row.started_by, "started_at": iso(row.started_at), "ended_at": iso(row.ended_at)}


def event_row(event: Event) -> dict[str, Any]:
    return {"id": event.id, "at": iso(event.at), "kind": event.kind, "element_id": event.element_id,
            "task_id": event.task_id, "actor": event.actor,
            "detail": json.loads(event.detail) if event.detail else {}}


def tasks_with_candidates(session: Session, tasks: list[HumanTask] | Any) -> list[dict[str, Any]]:
    """Tasks as the API and the pages show them: with who is offered each, its title, and the names of its unit
    and process beside the ids."""
    tasks = list(tasks)
    candidates: dict[int, dict[str, list[str]]] = {}
    units = unit_names(session, {t.org_scope for t in tasks if t.org_scope})
    assignees = {t.assignee for t in tasks if t.assignee}
    people = dict(session.execute(_PERSON_NAMES, {"ids": sorted(assignees)}).all()) if assignees else {}
    processes = process_names(session, {t.process_key for t in tasks})
    if tasks:
        rows = session.execute(_CANDIDATES, {"ids": [t.id for t in tasks]})  # plain rows: a page's worth
        for task_id, kind, value in rows:
            candidates.setdefault(task_id, {"user": [], "group": [], "role": []})[kind].append(value)
    return [{
        "id": t.id, "instance_id": t.instance_id, "process_key": t.process_key, "element_id": t.element_id,
        "name": t.name, "title": t.title or t.name, "state": t.state, "assignee": t.assignee,
        "assignee_name": people.get(t.assignee or ""),
        "org_scope": t.org_scope, "unit_name": units.get(t.org_scope or ""),
        "process_name": processes.get(t.process_key),
        "candidate_users": candidates.get(t.id, {}).get("user", []),
        "candidate_groups": candidates.get(t.id, {}).get("group", []),
        "candidate_roles": candidates.get(t.id, {}).get("role", []),
        "form_key": t.form_key, "due_at": iso(t.due_at), "created_at": iso(t.created_at),
        "completed_at": iso(t.completed_at), "completed_by": t.completed_by,
        "item": json.loads(t.item_input) if t.item_input else None,
    } for t in tasks]



def with_names(session: Session, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with a ``process_key`` and ``org_scope`` get the process's and the unit's names beside them."""
    units = unit_names(session, {row["org_scope"] for row in rows if row.get("org_scope")})
    processes = process_names(session, {row["process_key"] for row in rows if row.get("process_key")})
    for row in rows:
        row["process_name"] = processes.get(row.get("process_key") or "")
        row["unit_name"] = units.get(row.get("org_scope") or "")
    return rows


def unit_names(session: Session, unit_ids: set[str] | list[str]) -> dict[str, str]:
    """The names of the given org units (ids the directory no longer knows are left out)."""
    ids = sorted({u for u in unit_ids if u})
    if not ids:
        return {}
    return dict(session.execute(_UNIT_NAMES, {"ids": ids}).all())


def process_names(session: Session, keys: set[str] | list[str]) -> dict[str, str]:
    """The Chinese name of each process key's newest version."""
    wanted = sorted({k for k in keys if k})
    if not wanted:
        return {}
    rows = session.execute(_PROCESS_NAMES, {"keys": wanted}).all()
    return {key: name for key, name in rows if name}  # the newest version comes last and wins
