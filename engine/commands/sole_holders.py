"""Tasks assigned to the only holder of their role follow the role when the directory changes.

A task offered to a role that one person holds is assigned to that person when it is created (see
:func:`engine.commands.assignment.pool_of`). The directory still rules: after a change of staff, such a task
whose assignee no longer holds the role goes to the new sole holder, or back to the pool when several (or
nobody) hold it now; an unassigned task whose roles one person holds now (a post filled) goes to that person. A
task someone claimed or was delegated stays theirs: that was a person's choice.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select, true, update

from engine.commands.assignment import SOLE_HOLDER, pool_of
from engine.commands.unit_of_work import UnitOfWork
from engine.store import tables

_t, _c, _r, _e = tables.human_task, tables.task_candidate, tables.role_assignment, tables.event
#: The events that decide who has a task, newest wins.
_ASSIGNING = ("task_assigned", "task_claimed", "task_unclaimed", "task_delegated", "task_reassigned")
#: Why a task went back to its pool, as its history says.
LEFT_THE_ROLE = "原办理人已不在该岗位，退回待认领"


def follow_sole_holders(uow: UnitOfWork) -> int:
    """Move the tasks assigned to a role's sole holder who no longer holds it, and give each unassigned task whose
    roles now have one holder (a post filled, a pool shrunk to one) to that person; the number moved."""
    return _follow_assigned(uow) + _assign_sole_holders(uow)


def _assign_sole_holders(uow: UnitOfWork) -> int:
    """Assign the open unassigned tasks offered to roles alone that exactly one person holds now, as a new task
    would be (:func:`engine.commands.assignment.pool_of`)."""
    offers: dict[int, list[tuple[str, str]]] = defaultdict(list)
    tasks = {}
    for row in uow.read(select(_t.c.id, _t.c.instance_id, _t.c.element_id, _c.c.kind, _c.c.value)
                        .join(_c, _c.c.task_id == _t.c.id)
                        .where(_t.c.state == "open", _t.c.assignee.is_(None), _c.c.task_open == true())):
        offers[row.id].append((row.kind, row.value))
        tasks[row.id] = row
    role_only = {task_id: {value for _kind, value in offered} for task_id, offered in offers.items()
                 if all(kind == "role" and "@" in value for kind, value in offered)}
    wanted = set().union(*role_only.values()) if role_only else set()
    if not wanted:
        return 0
    holding: dict[str, set[str]] = defaultdict(set)
    units = sorted({value.split("@", 1)[1] for value in wanted})
    for person, role, unit in uow.read(select(_r.c.person_id, _r.c.role, _r.c.unit_id).where(_r.c.unit_id.in_(units))):
        if f"{role}@{unit}" in wanted:
            holding[f"{role}@{unit}"].add(person)
    moved = 0
    for task_id, roles in sorted(role_only.items()):
        pool = set().union(*(holding[value] for value in roles))
        if len(pool) != 1:
            continue
        [to] = pool
        task = tasks[task_id]
        changed = uow.execute(update(_t).where(_t.c.id == task_id, _t.c.state == "open",
                                               _t.c.assignee.is_(None)).values(assignee=to)).rowcount
        if changed == 1:
            moved += 1
            uow.record("task_assigned", instance_id=task.instance_id, element_id=task.element_id, task_id=task_id,
                       assignee=to, reason=SOLE_HOLDER)
    return moved


def _follow_assigned(uow: UnitOfWork) -> int:
    """Move the tasks assigned to a role's sole holder who no longer holds it; the number moved."""
    offers: dict[int, list[tuple[str, str]]] = defaultdict(list)
    tasks = {}
    for row in uow.read(select(_t.c.id, _t.c.instance_id, _t.c.element_id, _t.c.assignee, _c.c.kind, _c.c.value)
                        .join(_c, _c.c.task_id == _t.c.id)
                        .where(_t.c.state == "open", _t.c.assignee.is_not(None), _c.c.task_open == true())):
        offers[row.id].append((row.kind, row.value))
        tasks[row.id] = row
    assignees = {row.assignee for row in tasks.values()}
    held = defaultdict(set)
    if assignees:
        for person, role, unit in uow.read(select(_r.c.person_id, _r.c.role, _r.c.unit_id)
                                           .where(_r.c.person_id.in_(sorted(assignees)))):
            held[person].add(("role", f"{role}@{unit}"))
    left = [task_id for task_id, offered in offers.items()
            if all(kind == "role" for kind, _value in offered) and not held[tasks[task_id].assignee] & set(offered)]
    if not left:
        return 0
    last_kind: dict[int, str] = {}
    for task_id, kind in uow.read(select(_e.c.task_id, _e.c.kind).where(_e.c.task_id.in_(left),
                                                                      _e.c.kind.in_(_ASSIGNING)).order_by(_e.c.id)):
        last_kind[task_id] = kind
    moved = 0
    for task_id in left:
        if last_kind.get(task_id) != "task_assigned":
            continue
        task, pool = tasks[task_id], pool_of(uow, offers[task_id]) or []
        to = pool[0] if len(pool) == 1 else None
        changed = uow.execute(update(_t).where(_t.c.id == task_id, _t.c.state == "open",
                                               _t.c.assignee == task.assignee).values(assignee=to)).rowcount
        if changed == 1:
            moved += 1
            uow.record("task_assigned" if to else "task_unclaimed", instance_id=task.instance_id,
                       element_id=task.element_id, task_id=task_id, previous=task.assignee, assignee=to,
                       reason=SOLE_HOLDER if to else LEFT_THE_ROLE)
    return moved
