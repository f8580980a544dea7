"""Who a notification about tasks goes to: a task's assignee, or everyone it is offered to now, read in bulk.

A task offered to roles is offered to whoever holds them at their units now (as the inbox reads it, see
:mod:`engine.commands.assignment`); named users are offered it as written. Groups that are not roles have no
members in the directory and reach nobody. Everything is read a few queries per batch of tasks, never per task,
because a morning sweep looks at thousands.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, true

from engine.access.sensitivity import sensitivity_of
from engine.store import tables

if TYPE_CHECKING:
    from engine.commands.unit_of_work import UnitOfWork

_t, _c, _r = tables.human_task, tables.task_candidate, tables.role_assignment
_i, _u, _p = tables.process_instance, tables.org_unit, tables.person
#: Ids per IN list (SQLite takes a bounded number of parameters per statement).
CHUNK = 500


@dataclass(frozen=True)
class TaskFacts:
    """What a notification may say of a task; ``confidential`` tasks (counselling cases) are named by nothing."""

    id: int
    instance_id: int
    element_id: str
    title: str
    state: str
    assignee: str | None
    unit_id: str | None
    unit_name: str | None
    due_at: datetime | None
    item_group_id: int | None
    confidential: bool


def chunks(values: Iterable[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    ordered = sorted(set(values), key=str)
    for first in range(0, len(ordered), size):
        yield ordered[first:first + size]


def task_facts(uow: UnitOfWork, task_ids: Iterable[int]) -> dict[int, TaskFacts]:
    """The tasks by id, each with its unit's name and whether its instance is a confidential case."""
    found: dict[int, TaskFacts] = {}
    confidential: dict[int, bool] = {}  # by definition: one look at each process version's model
    for ids in chunks(task_ids):
        rows = uow.read(select(_t.c.id, _t.c.instance_id, _t.c.element_id, _t.c.title, _t.c.name, _t.c.state,
                               _t.c.assignee, _t.c.org_scope, _t.c.due_at, _t.c.item_group_id,
                               _u.c.name.label("unit_name"), _i.c.definition_id)
                        .join(_i, _i.c.id == _t.c.instance_id).outerjoin(_u, _u.c.id == _t.c.org_scope)
                        .where(_t.c.id.in_(ids))).all()
        for row in rows:
            if row.definition_id not in confidential:
                confidential[row.definition_id] = sensitivity_of(uow, row.definition_id).confidential
            found[row.id] = TaskFacts(row.id, row.instance_id, row.element_id, row.title or row.name, row.state,
                                      row.assignee, row.org_scope, row.unit_name, row.due_at, row.item_group_id,
                                      confidential[row.definition_id])
    return found


def offered_to(uow: UnitOfWork, task_ids: Iterable[int]) -> dict[int, list[str]]:
    """Everyone each task is offered to now: its named users and the holders of its roles (sorted, no repeats)."""
    people: dict[int, set[str]] = defaultdict(set)
    roles: dict[str, set[int]] = defaultdict(set)
    for ids in chunks(task_ids):
        for task_id, kind, value in uow.read(select(_c.c.task_id, _c.c.kind, _c.c.value)
                                             .where(_c.c.task_id.in_(ids), _c.c.task_open == true())):
            if kind == "user":
                people[task_id].add(value)
            elif kind == "role" and "@" in value:
                roles[value].add(task_id)
    units = {value.split("@", 1)[1] for value in roles}
    for unit_ids in chunks(units):
        for person, role, unit in uow.read(select(_r.c.person_id, _r.c.role, _r.c.unit_id)
                                           .where(_r.c.unit_id.in_(unit_ids))):
            for task_id in roles.get(f"{role}@{unit}", ()):
                people[task_id].add(person)
    return {task_id: sorted(found) for task_id, found in people.items()}


def responsible(uow: UnitOfWork, tasks: Iterable[TaskFacts]) -> dict[int, list[str]]:
    """Who is to act on each task: its assignee, else everyone it is offered to."""
    listed = list(tasks)
    pool = offered_to(uow, [task.id for task in listed if task.assignee is None])
    return {task.id: [task.assignee] if task.assignee else pool.get(task.id, []) for task in listed}


def names_of(uow: UnitOfWork, people: Iterable[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for ids in chunks(people):
        found.update(dict(uow.read(select(_p.c.id, _p.c.name).where(_p.c.id.in_(ids))).all()))
    return found
