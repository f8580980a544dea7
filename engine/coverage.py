"""不漏一校、不漏一人: who has and who has not completed a tiered rollout, as of now.

A rollout is a tree of instances: the parent's fan-outs start one child per unit (every county, every
school and teaching point of a county), and the leaves hand each person an item of a multi-instance
task. Coverage reads that tree level by level from the narrow tables (``fan_out_child``,
``human_task``, ``training_attendance``), never from instance state, so it answers at city scale in one request.

A person counts as done when their item is completed, except in an instance that keeps an attendance register
(the trainings, :mod:`engine.commands.attendance`): there the register lists the people, and a person counts
only when they attended or their absence was excused with a reason; an answer "I did not attend" leaves them
missing, with their standing and reason, until a make-up session or an accepted excuse.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from engine.commands.attendance import COVERED
from engine.errors import NotFound
from engine.phrases import Phrase
from engine.store import tables
from engine.store.database import Database

_fo, _fc, _u, _t, _p, _i = (tables.fan_out, tables.fan_out_child, tables.org_unit, tables.human_task,
                            tables.person, tables.process_instance)
_a = tables.training_attendance


def coverage(database: Database, instance_id: int, now: datetime, *, missing_only: bool = False) -> dict[str, Any]:
    with database.engine.connect() as connection:
        root = connection.execute(select(_i.c.id, _i.c.process_key, _i.c.state, _i.c.org_scope)
                                  .where(_i.c.id == instance_id)).first()
        if root is None:
            raise NotFound(Phrase("process instance %(id)s does not exist", id=instance_id))
        children_of: dict[int, list[Any]] = {}
        frontier, instances = [instance_id], [instance_id]
        while frontier:
            rows = connection.execute(
                select(_fo.c.parent_instance_id, _fc.c.unit_id, _fc.c.instance_id, _fc.c.state, _fc.c.completed_at)
                .join(_fc, _fc.c.fan_out_id == _fo.c.id).where(_fo.c.parent_instance_id.in_(frontier))
                .order_by(_fc.c.fan_out_id, _fc.c.unit_id)).all()
            for row in rows:
                children_of.setdefault(row.parent_instance_id, []).append(row)
            frontier = [row.instance_id for row in rows if row.instance_id is not None]
            instances += frontier
        people_of: dict[int, list[Any]] = {}
        for start in range(0, len(instances), 5000):
            batch = instances[start:start + 5000]
            for row in connection.execute(
                    select(_a.c.instance_id, _a.c.person_id.label("assignee"), _a.c.status, _a.c.reason,
                           _a.c.updated_at).where(_a.c.instance_id.in_(batch)).order_by(_a.c.person_id)):
                people_of.setdefault(row.instance_id, []).append(_Standing(
                    row.assignee, row.status in COVERED, row.updated_at if row.status in COVERED else None,
                    None, row.status, row.reason))
            registered = set(people_of)
            for row in connection.execute(
                    select(_t.c.instance_id, _t.c.assignee, _t.c.state, _t.c.completed_at, _t.c.name)
                    .where(_t.c.instance_id.in_(batch), _t.c.item_group_id.is_not(None),
                           _t.c.assignee.is_not(None), _t.c.state != "cancelled").order_by(_t.c.assignee)):
                if row.instance_id not in registered:  # a register, where kept, says who counts
                    people_of.setdefault(row.instance_id, []).append(_Standing(
                        row.assignee, row.state == "completed", row.completed_at, row.name, None, None))
        unit_ids = {row.unit_id for rows in children_of.values() for row in rows}
        units = {r.id: r for r in connection.execute(select(_u.c.id, _u.c.name, _u.c.kind)
                                                     .where(_u.c.id.in_(unit_ids)))} if unit_ids else {}
        person_ids = {row.assignee for rows in people_of.values() for row in rows}
        names = dict(connection.execute(select(_p.c.id, _p.c.name).where(_p.c.id.in_(person_ids))).all()) \
            if person_ids else {}
    totals = {"units": 0, "units_done": 0, "people": 0, "people_done": 0}
    missing_units: list[str] = []
    missing_people: list[dict[str, str]] = []

    def people(instance: int | None, unit: str | None) -> list[dict[str, Any]]:
        found = []
        for row in people_of.get(instance, []) if instance is not None else []:
            done = row.done
            totals["people"] += 1
            totals["people_done"] += done
            standing = {"status": row.status, "reason": row.reason} if row.status is not None else {}
            if not done:
                missing_people.append({"id": row.assignee, "name": names.get(row.assignee, row.assignee),
                                       "unit": unit, "task": row.task, **standing})
            if not (missing_only and done):
                found.append({"id": row.assignee, "name": names.get(row.assignee, row.assignee), "done": done,
                              "completed_at": row.completed_at.isoformat() if row.completed_at else None,
                              **standing})
        return found

    def branch(instance: int) -> list[dict[str, Any]]:
        nodes = []
        for row in children_of.get(instance, []):
            done = row.state == "completed"
            totals["units"] += 1
            totals["units_done"] += done
            if not done:
                missing_units.append(row.unit_id)
            unit = units.get(row.unit_id)
            node = {"unit": row.unit_id, "name": unit.name if unit else row.unit_id,
                    "kind": unit.kind if unit else None, "state": row.state, "instance_id": row.instance_id,
                    "people": people(row.instance_id, row.unit_id),
                    "children": branch(row.instance_id) if row.instance_id is not None else []}
            if not (missing_only and done):
                nodes.append(node)
        return nodes

    own_people = people(instance_id, root.org_scope)
    tree = branch(instance_id)
    complete = totals["units_done"] == totals["units"] and totals["people_done"] == totals["people"]
    return {"instance_id": instance_id, "process_key": root.process_key, "state": root.state, "as_of": now.isoformat(),
            "units": {"total": totals["units"], "completed": totals["units_done"], "missing": len(missing_units)},
            "people": {"total": totals["people"], "completed": totals["people_done"], "missing": len(missing_people)},
            "percent": _percent(totals), "complete": complete, "missing_units": missing_units,
            "missing_people": missing_people, "people_here": own_people, "tree": tree}


@dataclass(frozen=True)
class _Standing:
    """One person of one instance: done or not, since when, the task they were handed (without a register), and
    their standing in the register and its reason (with one)."""

    assignee: str
    done: bool
    completed_at: datetime | None
    task: str | None
    status: str | None
    reason: str | None


def _percent(totals: dict[str, int]) -> float:
    """The share done, counting every unit and every person once; 100.0 only when nobody is missing."""
    whole = totals["units"] + totals["people"]
    done = totals["units_done"] + totals["people_done"]
    return 100.0 if whole == 0 else (100.0 if done == whole else min(round(done * 100 / whole, 1), 99.9))


def fan_out_status(database: Database, instance_id: int, element_id: str) -> dict[str, Any]:
    """Where the newest fan-out of task ``element_id`` of an instance stands: for a deadline path to act on."""
    with database.engine.connect() as connection:
        fan_out = connection.execute(select(_fo.c.id, _fo.c.total, _fo.c.done, _fo.c.state, _fo.c.settings).where(
            _fo.c.parent_instance_id == instance_id, _fo.c.element_id == element_id).order_by(_fo.c.id.desc())
            .limit(1)).first()
        if fan_out is None:
            raise NotFound(f"instance {instance_id} has no fan-out at task {element_id}")
        children = connection.execute(
            select(_fc.c.unit_id, _fc.c.state, _u.c.name, _i.c.data).join(_u, _u.c.id == _fc.c.unit_id, isouter=True)
            .join(_i, _i.c.id == _fc.c.instance_id, isouter=True).where(_fc.c.fan_out_id == fan_out.id)
            .order_by(_fc.c.unit_id)).all()
    collect = json.loads(fan_out.settings).get("collect")
    status: dict[str, Any] = {
        "fan_out": fan_out.id, "state": fan_out.state, "total": fan_out.total, "completed": fan_out.done,
        "missing": [{"unit": c.unit_id, "name": c.name or c.unit_id, "state": c.state}
                    for c in children if c.state != "completed"]}
    if collect:
        status["collected"] = [{"unit": c.unit_id, "value": json.loads(c.data or "{}").get(collect)}
                               for c in children if c.state == "completed"]
    return status
