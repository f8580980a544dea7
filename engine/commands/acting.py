"""Who a step runs for, as scripts see it through ``get_current_user()`` (see ``engine.runtime.script_environment``)."""

from __future__ import annotations

from sqlalchemy import select

from engine.commands.unit_of_work import UnitOfWork
from engine.runtime.script_environment import ActingPerson
from engine.store import tables

_p = tables.person


def acting_person_of(uow: UnitOfWork, username: str) -> ActingPerson:
    """The person ``username`` with the name and e-mail the directory holds (an account outside it: its name);
    read once per command (a fan-out starts hundreds of instances for the same person)."""
    key = f"acting_person:{username}"
    if key not in uow.memo:
        row = uow.read(select(_p.c.name, _p.c.email).where(_p.c.id == username)).first()
        uow.memo[key] = ActingPerson(username, username) if row is None else ActingPerson(
            username, row.name or username, row.email)
    person: ActingPerson = uow.memo[key]
    return person
