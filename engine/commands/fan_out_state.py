"""Opening, counting and closing fan-outs: a task waiting for one child instance per org unit.

A ``fan_out`` service task (operator ``fan_out``: ``process``, ``for_each`` unit kinds, optional
``variables`` and ``people``) is held by the engine like any service task. Publishing it here writes the
fan-out, one ``fan_out_child`` row per unit under the instance's org scope and one ``child_start`` job
per unit, in the parent's transaction; workers start the children in batches. Each child that
completes counts itself in, and the last one writes a ``fanout_done`` job that releases the parent.
A boundary timer on the task (a deadline) closes the fan-out early; the children go on, and coverage
lists the ones not done.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import insert, select, update

from engine.commands.unit_of_work import UnitOfWork
from engine.runtime.execution import HeldWork
from engine.store import tables

_fo, _fc, _u, _j, _d = tables.fan_out, tables.fan_out_child, tables.org_unit, tables.job, tables.process_definition
_CHUNK = 1000


def open_fan_out(uow: UnitOfWork, instance_id: int, org_scope: str | None, held: HeldWork) -> None:
    params = held.payload["params"]
    kinds = [k.strip() for k in str(params["for_each"]).split(",") if k.strip()]
    process = params["process"]
    if uow.read(select(_d.c.id).where(_d.c.key == process).limit(1)).first() is None:
        _cannot_fan_out(uow, instance_id, held, f"process '{process}' is not deployed")
        return
    units_query = select(_u.c.id).where(_u.c.kind.in_(kinds)).order_by(_u.c.path)
    if org_scope is not None:
        path = uow.read(select(_u.c.path).where(_u.c.id == org_scope)).scalar()
        if path is None:
            _cannot_fan_out(uow, instance_id, held, f"the org scope '{org_scope}' is not a unit of the directory")
            return
        units_query = units_query.where(_u.c.path.startswith(path, autoescape=True), _u.c.id != org_scope)
    units = uow.read(units_query).scalars().all()
    settings = {"variables": params.get("variables") or {}, "people": params.get("people"),
                "collect": params.get("collect")}
    fan_out_id = uow.execute(insert(_fo).values(
        parent_instance_id=instance_id, spiff_task_id=held.task_id, element_id=held.element_id,
        process_key=process, for_each=",".join(kinds), settings=json.dumps(settings, ensure_ascii=False),
        total=len(units), done=0, state="open" if units else "done", created_at=uow.now).returning(_fo.c.id)
    ).scalar_one()
    children = [{"fan_out_id": fan_out_id, "unit_id": unit, "instance_id": None, "state": "pending",
                 "completed_at": None} for unit in units]
    jobs = [{"kind": "child_start", "instance_id": None, "spiff_task_id": None, "element_id": held.element_id,
             "due_at": uow.now, "state": "pending", "attempts": 0, "created_at": uow.now,
             "payload": json.dumps({"fan_out": fan_out_id, "unit": unit}, ensure_ascii=False)} for unit in units]
    for start in range(0, len(units), _CHUNK):
        uow.execute(insert(_fc), children[start:start + _CHUNK])
        uow.execute(insert(_j), jobs[start:start + _CHUNK])
    if not units:
        _release_parent(uow, instance_id, held.task_id)
    uow.record("fan_out_opened", instance_id=instance_id, element_id=held.element_id, fan_out=fan_out_id,
               process=process, for_each=kinds, units=len(units))


def close_fan_outs(uow: UnitOfWork, instance_id: int, spiff_task_ids: list[str]) -> None:
    """The parent stopped waiting (a deadline, a cancellation): children not started yet will not be."""
    closed = uow.execute(update(_fo).where(_fo.c.parent_instance_id == instance_id,
                                           _fo.c.spiff_task_id.in_(spiff_task_ids), _fo.c.state == "open")
                         .values(state="closed", closed_at=uow.now).returning(_fo.c.id, _fo.c.done, _fo.c.total))
    for fan_out_id, done, total in closed.all():
        uow.record("fan_out_closed", instance_id=instance_id, fan_out=fan_out_id, done=done, missing=total - done)


def child_changed(uow: UnitOfWork, instance_id: int, state: str) -> None:
    """A child instance completed or ran into an incident: note it, and count a completion in."""
    row = uow.read(select(_fc.c.fan_out_id, _fc.c.unit_id).where(_fc.c.instance_id == instance_id)).first()
    if row is not None:
        count_child(uow, row.fan_out_id, row.unit_id, state)


def count_child(uow: UnitOfWork, fan_out_id: int, unit_id: str, state: str) -> None:
    if state not in ("completed", "incident"):
        return
    changed = uow.execute(update(_fc).where(_fc.c.fan_out_id == fan_out_id, _fc.c.unit_id == unit_id,
                                            _fc.c.state != "completed")
                          .values(state=state, completed_at=uow.now if state == "completed" else None)).rowcount
    if not changed or state != "completed":
        return
    counted = uow.execute(update(_fo).where(_fo.c.id == fan_out_id).values(done=_fo.c.done + 1)
                          .returning(_fo.c.done, _fo.c.total, _fo.c.state, _fo.c.parent_instance_id,
                                     _fo.c.spiff_task_id)).first()
    if counted is not None and counted.done >= counted.total and counted.state == "open":
        uow.execute(update(_fo).where(_fo.c.id == fan_out_id).values(state="done", closed_at=uow.now))
        _release_parent(uow, counted.parent_instance_id, counted.spiff_task_id)


def _release_parent(uow: UnitOfWork, parent_id: int, spiff_task_id: str) -> None:
    uow.execute(insert(_j).values(kind="fanout_done", instance_id=parent_id, spiff_task_id=spiff_task_id,
                                  element_id=None, due_at=uow.now, state="pending", attempts=0, created_at=uow.now,
                                  payload=None))


def fan_out_result(uow: UnitOfWork, parent_id: int, spiff_task_id: str) -> dict[str, Any]:
    """What the parent's task gets when its children are done: how many, the fan-out's id, and, when the
    fan-out names a variable to ``collect``, that variable of each completed child, by unit."""
    row = uow.read(select(_fo.c.id, _fo.c.total, _fo.c.done, _fo.c.settings).where(
        _fo.c.parent_instance_id == parent_id, _fo.c.spiff_task_id == spiff_task_id).order_by(_fo.c.id.desc())
        .limit(1)).first()
    if row is None:
        return {}
    result: dict[str, Any] = {"fan_out": row.id, "total": row.total, "completed": row.done}
    collect = json.loads(row.settings).get("collect")
    if collect:
        _i = tables.process_instance
        children = uow.read(select(_fc.c.unit_id, _i.c.data).join(_i, _i.c.id == _fc.c.instance_id).where(
            _fc.c.fan_out_id == row.id, _fc.c.state == "completed").order_by(_fc.c.unit_id)).all()
        result["collected"] = [{"unit": unit, "value": json.loads(data or "{}").get(collect)}
                               for unit, data in children]
    return result


def _cannot_fan_out(uow: UnitOfWork, instance_id: int, held: HeldWork, reason: str) -> None:
    """The instance stops at the task with an incident saying why, instead of refusing the whole command."""
    message = f"task {held.element_id} cannot fan out: {reason}"
    uow.execute(insert(tables.incident).values(instance_id=instance_id, element_id=held.element_id,
                                               kind="fan_out_failed", message=message, created_at=uow.now))
    uow.execute(update(tables.process_instance).where(tables.process_instance.c.id == instance_id)
                .values(state="incident"))
    uow.record("incident_raised", instance_id=instance_id, element_id=held.element_id, incident_kind="fan_out_failed",
               message=message)
