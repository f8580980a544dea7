"""The school term calendar an administrator sets: holiday months and semester dates (one row, audited).

Until someone sets it, the defaults of :mod:`engine.org.term_calendar` apply (February, July and August off).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update

from engine.commands.administrators import is_administrator
from engine.commands.instance_state import require_json_object
from engine.commands.requests import SetTermCalendar
from engine.commands.unit_of_work import UnitOfWork
from engine.errors import Forbidden
from engine.org.term_calendar import TermCalendar, parse_term_calendar, term_calendar_from
from engine.store import tables

_t = tables.term_calendar
_ROW = 1


def set_term_calendar(command: SetTermCalendar, uow: UnitOfWork) -> dict[str, Any]:
    """Store the term calendar ``values`` describe (fields left out keep their value); refused whole if any is bad."""
    if not is_administrator(uow, command.actor):
        raise Forbidden("only an administrator sets the term calendar")
    values = require_json_object(command.values, "values")
    current = stored_term_calendar(uow)
    term = parse_term_calendar(values, current)
    row = {"holiday_months": ",".join(str(m) for m in sorted(term.holiday_months)),
           "spring_start": str(term.spring_start), "spring_end": str(term.spring_end),
           "autumn_start": str(term.autumn_start), "autumn_end": str(term.autumn_end),
           "set_by": command.actor, "set_at": uow.now}
    if current.set_by is None:
        uow.execute(insert(_t).values(id=_ROW, **row))
    else:
        uow.execute(update(_t).where(_t.c.id == _ROW).values(**row))
    uow.record("term_calendar_set", actor=command.actor, before=current.as_dict(), after=term.as_dict())
    return {**term.as_dict(), "set_by": command.actor, "set_at": uow.now.isoformat()}


def stored_term_calendar(uow: UnitOfWork) -> TermCalendar:
    """The term calendar in force for this command (the defaults when never set)."""
    return term_calendar_from(uow.read(select(_t).where(_t.c.id == _ROW)).first())
