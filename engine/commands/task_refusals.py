"""Refusals to act on a task that say why: the lane it is in and who may act on it.

Said only to someone who may read the task (whoever may not gets "does not exist", engine.access.policy), so
naming its candidates tells nothing they could not read on the task itself. The lane is read off the process
version's specs (a role lane, whose specs carry the role, is named as a reader sees it: 县市区专项负责人).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine.bpmn import lane_roles
from engine.bpmn.lane_roles import is_initiator_lane
from engine.commands.instance_state import compiled_definition
from engine.commands.unit_of_work import UnitOfWork
from engine.org.directory import ROLES, TIER_OF_KIND
from engine.phrases import Phrase
from engine.store import tables

_i, _c, _p, _u = tables.process_instance, tables.task_candidate, tables.person, tables.org_unit


def may_not_complete(uow: UnitOfWork, task: Any, actor: str) -> Phrase:
    """Why ``actor`` may not complete ``task``: its lane, and whom it is assigned or offered to."""
    lane = lane_of(uow, task)
    if task.assignee:
        if lane is None:
            return Phrase("%(actor)s may not complete task %(task)s; it is assigned to %(assignee)s", actor=actor,
                          task=task.id, assignee=task.assignee)
        return Phrase("%(actor)s may not complete task %(task)s: it is in lane '%(lane)s' and is assigned to "
                      "%(assignee)s", actor=actor, task=task.id, lane=lane, assignee=task.assignee)
    return Phrase("%(actor)s may not complete task %(task)s: %(why)s", actor=actor, task=task.id,
                  why=offered_to(uow, task, lane))


def not_a_candidate(uow: UnitOfWork, task: Any, actor: str) -> Phrase:
    """Why ``actor`` may not claim ``task``: its lane, and whom it is offered to."""
    return Phrase("%(actor)s is not among the candidates of task %(task)s: %(why)s", actor=actor, task=task.id,
                  why=offered_to(uow, task, lane_of(uow, task)))


def offered_to(uow: UnitOfWork, task: Any, lane: str | None) -> Phrase:
    """``it is in lane 'Finance' and is offered to …``: the people and roles of its candidates, or nobody."""
    offered: list[Phrase | str] = []
    rows = uow.read(select(_c.c.kind, _c.c.value).where(_c.c.task_id == task.id)
                    .order_by(_c.c.kind.desc(), _c.c.value)).all()
    people = [value for kind, value in rows if kind == "user"]
    if people:
        names = dict(uow.read(select(_p.c.id, _p.c.name).where(_p.c.id.in_(people))).all())
        shown = ", ".join(f"{names[p]} ({p})" if p in names else p for p in people)
        offered.append(Phrase("the person who started the instance, %(people)s", people=shown)
                       if is_initiator_lane(lane) else shown)
    roles = [value.split("@", 1) for kind, value in rows if kind == "role" and "@" in value]
    units = dict(uow.read(select(_u.c.id, _u.c.name).where(_u.c.id.in_([unit for _, unit in roles]))).all()) \
        if roles else {}
    offered += [Phrase("role %(role)s at %(unit)s", role=ROLES.get(code, code), unit=units.get(unit, unit))
                for code, unit in roles]
    offered += [Phrase("group %(group)s", group=value) for kind, value in rows if kind == "group"]
    if not offered:
        offered = [Phrase("nobody yet (the administrator may assign it)")]
    if lane is None:
        return Phrase("it is offered to %(offered)s", offered=offered)
    return Phrase("it is in lane '%(lane)s' and is offered to %(offered)s", lane=lane, offered=offered)


def lane_of(uow: UnitOfWork, task: Any) -> str | None:
    """The lane the task's element is drawn in, as a reader names it; None when it is in none."""
    row = uow.read(select(_i.c.definition_id, _i.c.org_scope).where(_i.c.id == task.instance_id)).first()
    if row is None:
        return None
    compiled = compiled_definition(uow, row.definition_id)
    lane = None
    for spec in (compiled.spec, *compiled.subprocess_specs.values()):
        for task_spec in spec.task_specs.values():
            if getattr(task_spec, "bpmn_id", None) == task.element_id and getattr(task_spec, "lane", None):
                lane = task_spec.lane
                break
        if lane:
            break
    if not lane:
        return None
    if all(lane_roles.parse_role(part) for part in lane_roles.split(lane)):
        kind = uow.read(select(_u.c.kind).where(_u.c.id == (row.org_scope or ""))).scalar()
        return lane_roles.display_name(lane, TIER_OF_KIND.get(kind or ""))
    return str(lane)
