"""Scheduled starts: one instance per occurrence of a schedule (or per org unit), under its idempotency key.

The key is (schedule, fire time, org unit), unique in ``schedule_fire``. Each instance starts with the
occurrence's start variables (rendered by the scheduler from the fire time) and ``scheduled_for``/``late``.
A schedule that starts one instance starts it in the firing command. A schedule ``for_each`` unit kind
(the monthly check at every school) logs the occurrence and writes one ``scheduled_start`` job per unit in
one transaction; workers start the units' instances in parallel, each job again under the unit's key, so a retried or
doubled job never starts a second instance and a crash half-way loses no school.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from engine.commands.assignment import prime_chains
from engine.commands.instances import begin_instance
from engine.commands.requests import ENGINE, FireSchedule, MarkSchedulesChecked, StartInstance, StartScheduledUnits
from engine.commands.unit_of_work import UnitOfWork
from engine.errors import InvalidInput, Problem, StaleVersion
from engine.store import tables

_f, _j, _u, _w = tables.schedule_fire, tables.job, tables.org_unit, tables.schedule_watermark
_CHUNK = 1000
#: The most scheduled starts one transaction runs: a worker's batch shares one commit, one calendar read.
MAX_BATCH = 50


def fire_schedule(command: FireSchedule, uow: UnitOfWork) -> dict[str, Any]:
    """Start the occurrence's work and log the occurrence, together; a second fire starts nothing."""
    earlier = _logged(uow, command.schedule_key, command.fire_time, command.org_unit)
    if earlier is not None:
        return {"fired": False, "instance_id": earlier.instance_id}
    if command.for_each is not None and not command.org_unit:
        return _fan_out(command, uow)
    return _start(uow, command.schedule_key, command.fire_time, command.process_key, command.org_unit,
                  command.late, command.actor, command.start_event, command.variables)


def start_scheduled_units(command: StartScheduledUnits, uow: UnitOfWork) -> dict[str, Any]:
    """Run ``scheduled_start`` jobs in one transaction: each starts its unit's instance unless already started."""
    if not 1 <= len(command.job_ids) <= MAX_BATCH:
        raise InvalidInput(f"give 1 to {MAX_BATCH} job ids", [Problem("out of range", field="job_ids")])
    jobs = uow.read(select(_j).where(_j.c.id.in_(command.job_ids), _j.c.kind == "scheduled_start",
                                     _j.c.state == "pending", _j.c.due_at <= uow.now).order_by(_j.c.id)).all()
    work = [(job.id, json.loads(job.payload)) for job in jobs]
    for _, unit in work:
        unit["fire_time"] = datetime.fromisoformat(unit["fire_time"])
    prime_chains(uow, [unit["org_unit"] for _, unit in work])
    units = [unit for _, unit in work]
    started = {(r.schedule_key, r.fire_time, r.org_unit): r.instance_id for r in uow.read(
        select(_f.c.schedule_key, _f.c.fire_time, _f.c.org_unit, _f.c.instance_id).where(
            _f.c.schedule_key.in_({u["schedule"] for u in units}), _f.c.org_unit.in_({u["org_unit"] for u in units}),
            _f.c.fire_time.in_({u["fire_time"] for u in units})))} if work else {}
    instances = []
    for _, unit in work:
        earlier = started.get((unit["schedule"], unit["fire_time"], unit["org_unit"]))
        instances.append(earlier if earlier is not None else _start(
            uow, unit["schedule"], unit["fire_time"], unit["process"], unit["org_unit"], unit["late"],
            command.actor, unit.get("start_event"), unit.get("variables") or {})["instance_id"])
    if work:
        finished = uow.execute(update(_j).where(_j.c.id.in_([job_id for job_id, _ in work]), _j.c.state == "pending")
                               .values(state="done", attempts=_j.c.attempts + 1)).rowcount
        if finished != len(work):
            raise StaleVersion("another worker ran some of these jobs at the same time")
    return {"jobs": [job_id for job_id, _ in work], "instances": instances}


def mark_schedules_checked(command: MarkSchedulesChecked, uow: UnitOfWork) -> dict[str, Any]:
    """Move each schedule's watermark forward (never back)."""
    for key, until in sorted(command.checked_until.items()):
        moved = uow.execute(update(_w).where(_w.c.schedule_key == key, _w.c.checked_until < until)
                            .values(checked_until=until)).rowcount
        if not moved and uow.read(select(_w.c.schedule_key).where(_w.c.schedule_key == key)).first() is None:
            uow.execute(insert(_w).values(schedule_key=key, checked_until=until))
    return {"schedules": len(command.checked_until)}


def _logged(uow: UnitOfWork, schedule_key: str, fire_time: datetime, org_unit: str) -> Any:
    return uow.read(select(_f.c.instance_id).where(
        _f.c.schedule_key == schedule_key, _f.c.fire_time == fire_time, _f.c.org_unit == org_unit)).first()



def _start(uow: UnitOfWork, schedule_key: str, fire_time: datetime, process_key: str, org_unit: str, late: bool,
           actor: str, start_event: str | None, variables: dict[str, Any]) -> dict[str, Any]:
    instance = begin_instance(uow, StartInstance(
        process_key=process_key, actor=actor, org_scope=org_unit or None,
        business_key=(f"{schedule_key}@{fire_time.isoformat()}" + (f"@{org_unit}" if org_unit else ""))[:200],
        variables={**variables, "scheduled_for": fire_time.isoformat(), "late": late}, origin=ENGINE),
        timer_start=start_event)
    # A concurrent scheduler that logged the same occurrence first makes this insert fail: nothing is kept.
    uow.execute(insert(_f).values(schedule_key=schedule_key, fire_time=fire_time, org_unit=org_unit,
                                  instance_id=instance["id"], late=late, fired_at=uow.now))
    uow.record("schedule_fired", instance_id=instance["id"], actor=actor, schedule=schedule_key,
               fire_time=fire_time.isoformat(), org_unit=org_unit or None, late=late)
    return {"fired": True, "instance_id": instance["id"], "late": late}


def _fan_out(command: FireSchedule, uow: UnitOfWork) -> dict[str, Any]:
    units = uow.read(select(_u.c.id).where(_u.c.kind == command.for_each).order_by(_u.c.path)).scalars().all()
    if not units:
        raise InvalidInput(f"schedule {command.schedule_key} starts one instance per {command.for_each}, "
                           f"and the org directory has none; load it first (huhua org load)",
                           [Problem("no units of that kind", field="for_each")])
    uow.execute(insert(_f).values(schedule_key=command.schedule_key, fire_time=command.fire_time, org_unit="",
                                  instance_id=None, late=command.late, fired_at=uow.now))
    jobs = [{"kind": "scheduled_start", "instance_id": None, "due_at": uow.now, "state": "pending", "attempts": 0,
             "created_at": uow.now, "element_id": command.start_event,
             "payload": json.dumps({"schedule": command.schedule_key, "fire_time": command.fire_time.isoformat(),
                                    "process": command.process_key, "org_unit": unit, "late": command.late,
                                    "start_event": command.start_event, "variables": command.variables},
                                   ensure_ascii=False)} for unit in units]
    for start in range(0, len(jobs), _CHUNK):
        uow.execute(insert(_j), jobs[start:start + _CHUNK])
    uow.record("schedule_fired", actor=command.actor, schedule=command.schedule_key,
               fire_time=command.fire_time.isoformat(), for_each=command.for_each, units=len(units), late=command.late)
    return {"fired": True, "instance_id": None, "units": len(units), "late": command.late}
