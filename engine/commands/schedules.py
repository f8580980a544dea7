"""Scheduled starts: one instance per occurrence of a schedule, recorded under its idempotency key."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select

from engine.commands.instances import begin_instance
from engine.commands.model import FireSchedule, StartInstance
from engine.commands.unit_of_work import UnitOfWork
from engine.store import tables

_f = tables.schedule_fire


def fire_schedule(command: FireSchedule, uow: UnitOfWork) -> dict[str, Any]:
    """Start the occurrence's instance and log the occurrence, together; a second fire starts nothing."""
    key = (_f.c.schedule_key == command.schedule_key, _f.c.fire_time == command.fire_time,
           _f.c.org_unit == command.org_unit)
    earlier = uow.read(select(_f.c.instance_id).where(*key)).first()
    if earlier is not None:
        return {"fired": False, "instance_id": earlier.instance_id}
    instance = begin_instance(uow, StartInstance(
        process_key=command.process_key, actor=command.actor, org_scope=command.org_unit or None,
        business_key=f"{command.schedule_key}@{command.fire_time.isoformat()}",
        variables={"scheduled_for": command.fire_time.isoformat(), "late": command.late}))
    # A concurrent scheduler that logged the same occurrence first makes this insert fail: nothing is kept.
    uow.execute(insert(_f).values(schedule_key=command.schedule_key, fire_time=command.fire_time,
                                  org_unit=command.org_unit, instance_id=instance["id"], late=command.late,
                                  fired_at=uow.now))
    uow.record("schedule_fired", instance_id=instance["id"], actor=command.actor, schedule=command.schedule_key,
               fire_time=command.fire_time.isoformat(), late=command.late)
    return {"fired": True, "instance_id": instance["id"], "late": command.late}
