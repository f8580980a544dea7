"""Schedules administrators see and change: the shipped file loaded into the database, and their changes.

``config/schedules.toml`` is the shipped definition. Each entry is loaded into ``schedule_definition`` when it
is new or changed since it was last loaded (its SHA-256), never otherwise, so an administrator's change survives
every restart; a new release of the same entry replaces it, as a changed shipped process becomes the newest
version, and its event keeps what it replaced. An entry gone from the file is paused (``withdrawn``), not
deleted: its fire log stays readable and an administrator may enable it again.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update

from engine.commands.administrators import is_administrator
from engine.commands.instance_state import compiled_definition, require_json_object
from engine.commands.instances import latest_definition_id
from engine.commands.requests import SYSTEM_ACTOR, ChangeSchedule, LoadShippedSchedules
from engine.commands.start_access import check_scheduled_variables
from engine.commands.term_calendar import stored_term_calendar
from engine.commands.unit_of_work import UnitOfWork
from engine.errors import Forbidden, InvalidInput, NotFound, Problem
from engine.schedules import FIELDS, RULES, Schedule, load_schedules, parse_schedule
from engine.store import tables

_d = tables.schedule_definition
#: What an administrator may change; the key and the process are the schedule's identity.
CHANGEABLE = frozenset(FIELDS) - {"key", "process"}
#: How far ahead a changed schedule's next occurrence is looked for (to check its start variables).
_LOOKAHEAD = timedelta(days=400)


def load_shipped_schedules(command: LoadShippedSchedules, uow: UnitOfWork) -> dict[str, Any]:
    """Load the file's new and changed entries and pause the ones gone from it; the rest stays as it is."""
    return load_shipped(uow, load_schedules(Path(command.path)), command.actor)


def load_shipped(uow: UnitOfWork, schedules: list[Schedule], actor: str) -> dict[str, Any]:
    stored = {row.key: row for row in uow.read(select(_d))}
    loaded, withdrawn = [], []
    for schedule in schedules:
        entry = schedule.entry()
        sha256 = _sha256(entry)
        row = stored.get(schedule.key)
        if row is not None and row.shipped_sha256 == sha256:
            continue
        values = {"process_key": schedule.process_key, "entry": json.dumps(entry, ensure_ascii=False),
                  "enabled": schedule.enabled, "origin": "shipped", "shipped_sha256": sha256,
                  "changed_by": actor, "changed_at": uow.now}
        if row is None:
            uow.execute(insert(_d).values(key=schedule.key, **values))
        else:
            uow.execute(update(_d).where(_d.c.key == schedule.key).values(**values))
        uow.record("schedule_loaded", actor=actor, schedule=schedule.key, entry=entry,
                   replaced=json.loads(row.entry) if row is not None else None)
        loaded.append(schedule.key)
    shipped_keys = {s.key for s in schedules}
    for key, row in sorted(stored.items()):
        if row.shipped_sha256 is not None and key not in shipped_keys:
            uow.execute(update(_d).where(_d.c.key == key).values(
                enabled=False, origin="withdrawn", shipped_sha256=None, changed_by=actor, changed_at=uow.now))
            uow.record("schedule_withdrawn", actor=actor, schedule=key)
            withdrawn.append(key)
    return {"loaded": loaded, "withdrawn": withdrawn}


def change_schedule(command: ChangeSchedule, uow: UnitOfWork) -> dict[str, Any]:
    """Apply an administrator's change, checked as a whole (rule, months, time, start variables) before anything
    is stored; the event keeps the schedule before and after."""
    if not is_administrator(uow, command.actor):
        raise Forbidden("only an administrator changes schedules")
    changes = require_json_object(command.changes, "changes")
    problems = [Problem(f"'{name}' cannot be changed (changeable: {', '.join(sorted(CHANGEABLE))})", field=name)
                for name in changes if name not in CHANGEABLE]
    if problems:
        raise InvalidInput(f"schedule {command.schedule_key}: " + "; ".join(p.message for p in problems), problems)
    if not changes:
        raise InvalidInput("say what to change", [Problem("no change given", field="changes")])
    row = _row(uow, command.schedule_key)
    if row is None:  # shipped but never loaded (the scheduler has not started since): load the file first
        shipped = load_schedules(uow.services.settings.schedules_file)
        if command.schedule_key in {s.key for s in shipped}:
            load_shipped(uow, shipped, SYSTEM_ACTOR)
            row = _row(uow, command.schedule_key)
    if row is None:
        raise NotFound(f"there is no schedule '{command.schedule_key}'", [Problem("no such schedule", field="key")])
    before = json.loads(row.entry)
    entry = _changed(before, changes)
    schedule = parse_schedule(entry, "schedule")
    _check_start_variables(uow, schedule)
    uow.execute(update(_d).where(_d.c.key == command.schedule_key).values(
        entry=json.dumps(schedule.entry(), ensure_ascii=False), enabled=schedule.enabled, origin="edited",
        changed_by=command.actor, changed_at=uow.now))
    after = schedule.entry()
    uow.record("schedule_changed", actor=command.actor, schedule=command.schedule_key, before=before, after=after)
    return {"key": command.schedule_key, "entry": after, "enabled": schedule.enabled, "origin": "edited",
            "changed_by": command.actor, "changed_at": uow.now.isoformat()}


def _changed(entry: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """The entry with ``changes`` applied; a new cron drops the rule's fields and a new rule the cron."""
    entry = dict(entry)
    if changes.get("cron") is not None:
        for name in ("rule", "n", "day", "at"):
            entry.pop(name, None)
    if changes.get("rule") is not None:
        entry.pop("cron", None)
        for name in ("n", "day"):
            if name != RULES.get(changes["rule"], name) and name not in changes:
                entry.pop(name, None)
    for name, value in changes.items():
        if value is None:
            entry.pop(name, None)
        else:
            entry[name] = value
    return entry


def _check_start_variables(uow: UnitOfWork, schedule: Schedule) -> None:
    """An enabled schedule's process must be deployed, and the variables of its next occurrence are checked
    against the process's start form (the scheduler refuses nothing at fire time)."""
    definition_id = latest_definition_id(uow, schedule.process_key)
    if definition_id is None:
        if schedule.enabled:
            raise InvalidInput(f"schedule {schedule.key}: no process '{schedule.process_key}' is deployed; deploy "
                               "it first, or pause the schedule", [Problem("not deployed", field="process")])
        return
    if not schedule.variables:
        return
    term = stored_term_calendar(uow)
    upcoming = next(schedule.occurrences(uow.now, uow.now + _LOOKAHEAD, uow.calendar, term), uow.now)
    check_scheduled_variables(uow, compiled_definition(uow, definition_id), definition_id,
                              schedule.start_variables(upcoming, term))


def _row(uow: UnitOfWork, key: str) -> Any:
    return uow.read(select(_d).where(_d.c.key == key)).first()


def _sha256(entry: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(entry, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
