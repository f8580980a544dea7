"""Loading the org directory: the whole of it checked first, then stored in one transaction.

A directory that has any bad row is refused with every problem listed and nothing changed, the way
bureaus expect a spreadsheet import to behave. Loading replaces the directory: people who left
are gone from it, and tasks already offered to a role find the role's new holders (a task assigned to a role's
sole holder follows the role: :mod:`engine.commands.sole_holders`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select, update

from engine.commands.administrators import is_administrator
from engine.commands.instance_state import require_label
from engine.commands.requests import LoadDirectory, SetPersonContact
from engine.commands.sole_holders import follow_sole_holders
from engine.commands.unit_of_work import UnitOfWork
from engine.errors import Forbidden, InvalidInput, NotFound, Problem
from engine.org.contacts import BadContact, email, phone_number
from engine.org.directory import check
from engine.phrases import Phrase
from engine.store import tables

#: Problems listed in a refusal; a file that is wrong everywhere need not be reported line by line.
MAX_PROBLEMS = 500
_CHUNK = 5000


def load_directory(command: LoadDirectory, uow: UnitOfWork) -> dict[str, Any]:
    require_label(command.actor, "actor", 100)
    directory = command.directory
    problems = check(directory)
    if problems:
        shown = problems[:MAX_PROBLEMS]
        more = f" (the first {MAX_PROBLEMS} are listed)" if len(problems) > MAX_PROBLEMS else ""
        raise InvalidInput(f"{command.source}: {len(problems)} bad row(s){more}; nothing was loaded", shown)
    paths = directory.paths()
    for table in (tables.role_assignment, tables.person, tables.org_unit):
        uow.execute(delete(table))
    _insert(uow, tables.org_unit, [{"id": u.id, "name": u.name, "kind": u.kind, "parent_id": u.parent_id,
                                    "path": paths[u.id], "sort_order": u.sort_order} for u in directory.units])
    _insert(uow, tables.person, [{"id": p.id, "name": p.name, "unit_id": p.unit_id, "phone": phone_number(p.phone),
                                  "email": email(p.email), "active": True} for p in directory.people])
    _insert(uow, tables.role_assignment, [{"person_id": r.person_id, "unit_id": r.unit_id, "role": r.role}
                                          for r in directory.roles])
    counts = {"units": len(directory.units), "people": len(directory.people), "roles": len(directory.roles)}
    uow.record("directory_loaded", actor=command.actor, source=command.source, **counts,
               tasks_moved=follow_sole_holders(uow))
    return {"source": command.source, **counts}


def set_person_contact(command: SetPersonContact, uow: UnitOfWork) -> dict[str, Any]:
    """Correct one person's e-mail address and phone number (None: left as it is; empty: removed) until the next import.

    The audit log and webhook subscribers learn which of them changed, never the address or number itself."""
    if not is_administrator(uow, command.actor):
        raise Forbidden(Phrase("only the administrator may do this"))
    person = uow.read(select(tables.person.c.phone, tables.person.c.email)
                      .where(tables.person.c.id == command.person_id)).first()
    if person is None:
        raise NotFound(Phrase("person '%(id)s' is not a person", id=command.person_id))
    changes: dict[str, str | None] = {}
    for name, normal, value in (("email", email, command.email), ("phone", phone_number, command.phone)):
        if value is None:
            continue
        try:
            changes[name] = normal(value)
        except BadContact as bad:
            raise InvalidInput(bad.phrase, [Problem(bad.phrase, field=name)]) from None
    changed = sorted(name for name, value in changes.items() if getattr(person, name) != value)
    if changed:
        uow.execute(update(tables.person).where(tables.person.c.id == command.person_id)
                    .values({name: changes[name] for name in changed}))
        uow.record("person_contact_changed", actor=command.actor, person=command.person_id, changed=changed)
    after = {"email": person.email, "phone": person.phone, **changes}
    return {"id": command.person_id, **after, "changed": changed}


def _insert(uow: UnitOfWork, table: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), _CHUNK):
        uow.execute(insert(table), rows[start:start + _CHUNK])
