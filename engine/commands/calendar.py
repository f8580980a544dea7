"""Administrators' rulings on the working-day calendar: one date made a working day or a holiday, or cleared.

The official schedule itself is never stored: it comes with ``chinese-calendar``
(:mod:`engine.org.calendar`). The table holds only what an administrator decided, so a newer package
release fills in a year without anyone's earlier rulings being lost.

A ruling may make a working morning come sooner than the one the waiting notification sweep was planned for (a
make-up working day, 调休, entered after Friday's sweep planned Monday's): the sweep is then moved to it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import delete, insert, select, update

from engine.commands.instance_state import require_label
from engine.commands.notification_sweep import SWEEP_JOB, next_morning
from engine.commands.requests import ClearWorkday, SetWorkday
from engine.commands.unit_of_work import UnitOfWork
from engine.errors import InvalidInput, NotFound, Problem
from engine.org.calendar import default_working, official_working, parse_date, statutory_name
from engine.store import tables

_w = tables.workday_override


def set_workday(command: SetWorkday, uow: UnitOfWork) -> dict[str, Any]:
    """Store the ruling, replacing any earlier one for the same date, and say what the official calendar (or, in a
    year it does not carry, the law) says."""
    day = parse_date(command.day, "day")
    if not isinstance(command.working, bool):
        raise InvalidInput("working must be true (a working day) or false (a holiday)",
                           [Problem("expected true or false", field="working")])
    require_label(command.actor, "actor", 100)
    require_label(command.note, "note", 300)
    previous = _remove(uow, day)
    uow.execute(insert(_w).values(day=day, working=command.working, note=command.note, set_by=command.actor,
                                  set_at=uow.now))
    uow.record("workday_set", actor=command.actor, day=day.isoformat(), working=command.working, note=command.note,
               previous=previous)
    _sweep_sooner(uow)
    return {"date": day.isoformat(), "working": command.working, "note": command.note, "set_by": command.actor,
            "set_at": uow.now.isoformat(), "official_working": official_working(day),
            "statutory": statutory_name(day), "previous": previous}


def clear_workday(command: ClearWorkday, uow: UnitOfWork) -> dict[str, Any]:
    """Remove the ruling on one date; a date without one is reported, not silently accepted."""
    day = parse_date(command.day, "day")
    require_label(command.actor, "actor", 100)
    previous = _remove(uow, day)
    if previous is None:
        raise NotFound(f"no working-day override is set for {day.isoformat()}")
    uow.record("workday_cleared", actor=command.actor, day=day.isoformat(), previous=previous)
    _sweep_sooner(uow)
    return {"date": day.isoformat(), "cleared": previous, "official_working": official_working(day),
            "statutory": statutory_name(day), "working": default_working(day)}


def _remove(uow: UnitOfWork, day: date) -> dict[str, Any] | None:
    """Delete the date's ruling under the write lock and return what it was (two concurrent rulings conflict)."""
    row = uow.execute(delete(_w).where(_w.c.day == day).returning(_w.c.working, _w.c.note, _w.c.set_by)).first()
    return None if row is None else {"working": row.working, "note": row.note, "set_by": row.set_by}


def _sweep_sooner(uow: UnitOfWork) -> None:
    """Move the waiting notification sweep to the first working morning the calendar now has, if that is sooner
    (a later one needs nothing: a sweep on a day that became a rest day rests and plans the next)."""
    _j = tables.job
    waiting = uow.read(select(_j.c.id, _j.c.due_at).where(_j.c.kind == SWEEP_JOB, _j.c.state == "pending")).all()
    if not waiting:
        return
    sooner = next_morning(uow, uow.now)
    for job in waiting:
        if sooner < job.due_at:
            uow.execute(update(_j).where(_j.c.id == job.id, _j.c.state == "pending").values(due_at=sooner))
