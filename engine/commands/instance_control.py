"""Suspending, resuming and terminating instances, as an administrator does when something is wrong.

A suspended instance keeps its tasks and timers but nothing moves: completions are refused and its jobs
wait (state ``suspended``) until it is resumed. Terminating ends an instance for good: its open tasks and
jobs are cancelled, its message subscriptions dropped, and the children a fan-out started for it are
terminated too.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update

from engine.commands.instance_state import close_offers, require_label
from engine.commands.requests import ResumeInstance, SuspendInstance, TerminateInstance
from engine.commands.unit_of_work import UnitOfWork
from engine.errors import Conflict, NotFound
from engine.phrases import Phrase
from engine.store import tables

_i, _t, _j, _m, _g = (tables.process_instance, tables.human_task, tables.job, tables.message_subscription,
                      tables.item_group)
_fo, _fc = tables.fan_out, tables.fan_out_child


def suspend_instance(command: SuspendInstance, uow: UnitOfWork) -> dict[str, Any]:
    _change(uow, command.instance_id, command.actor, ("running", "incident"), "suspended")
    jobs = uow.execute(update(_j).where(_j.c.instance_id == command.instance_id, _j.c.state == "pending")
                       .values(state="suspended")).rowcount
    uow.record("instance_suspended", instance_id=command.instance_id, actor=command.actor, reason=command.reason,
               jobs=jobs)
    return {"id": command.instance_id, "state": "suspended", "jobs_held": jobs}


def resume_instance(command: ResumeInstance, uow: UnitOfWork) -> dict[str, Any]:
    has_incident = uow.read(select(tables.incident.c.id).where(tables.incident.c.instance_id == command.instance_id,
                                                               tables.incident.c.resolved_at.is_(None))).first()
    state = "incident" if has_incident else "running"
    _change(uow, command.instance_id, command.actor, ("suspended",), state)
    jobs = uow.execute(update(_j).where(_j.c.instance_id == command.instance_id, _j.c.state == "suspended")
                       .values(state="pending")).rowcount
    uow.record("instance_resumed", instance_id=command.instance_id, actor=command.actor, jobs=jobs)
    return {"id": command.instance_id, "state": state, "jobs_due": jobs}


def terminate_instance(command: TerminateInstance, uow: UnitOfWork) -> dict[str, Any]:
    terminated = []
    pending = [command.instance_id]
    while pending:  # the instance, then the children its fan-outs started, level by level
        instance_id = pending.pop()
        changed = _change(uow, instance_id, command.actor, ("running", "incident", "suspended"), "terminated",
                          missing_ok=instance_id != command.instance_id)
        if not changed:
            continue
        terminated.append(instance_id)
        cancelled = uow.execute(update(_t).where(_t.c.instance_id == instance_id, _t.c.state == "open")
                                .values(state="cancelled", completed_at=uow.now).returning(_t.c.id)).scalars().all()
        close_offers(uow, list(cancelled))
        uow.execute(update(_g).where(_g.c.instance_id == instance_id, _g.c.state == "open").values(state="cancelled"))
        uow.execute(update(_j).where(_j.c.instance_id == instance_id, _j.c.state.in_(("pending", "suspended")))
                    .values(state="cancelled"))
        uow.execute(delete(_m).where(_m.c.instance_id == instance_id))
        uow.execute(update(_fc).where(_fc.c.instance_id == instance_id, _fc.c.state != "completed")
                    .values(state="terminated"))
        fan_outs = uow.read(select(_fo.c.id).where(_fo.c.parent_instance_id == instance_id)).scalars().all()
        if fan_outs:
            uow.execute(update(_fo).where(_fo.c.id.in_(fan_outs), _fo.c.state == "open")
                        .values(state="closed", closed_at=uow.now))
            pending += uow.read(select(_fc.c.instance_id).where(_fc.c.fan_out_id.in_(fan_outs),
                                                                _fc.c.instance_id.is_not(None))).scalars().all()
        uow.record("instance_terminated", instance_id=instance_id, actor=command.actor, reason=command.reason)
    return {"id": command.instance_id, "state": "terminated", "terminated": terminated}


def _change(uow: UnitOfWork, instance_id: int, actor: str, from_states: tuple[str, ...], to: str, *,
            missing_ok: bool = False) -> bool:
    require_label(actor, "actor", 100)
    row = uow.read(select(_i.c.state, _i.c.version).where(_i.c.id == instance_id)).first()
    if row is None:
        raise NotFound(Phrase("process instance %(id)s does not exist", id=instance_id))
    if row.state not in from_states:
        if missing_ok:
            return False
        raise Conflict(f"process instance {instance_id} is {row.state}; it cannot be made {to}")
    changed = uow.execute(update(_i).where(_i.c.id == instance_id, _i.c.version == row.version).values(
        state=to, version=row.version + 1, updated_at=uow.now,
        **({"ended_at": uow.now, "workflow_state": None} if to == "terminated" else {}))).rowcount
    if changed != 1:
        raise Conflict(f"process instance {instance_id} changed at the same time; try again")
    return True
