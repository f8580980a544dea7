"""Retrying an instance's incidents: the failed step runs again (with corrected data), failed jobs are due again.

An incident stays in the history (resolved, with when and by whom); a retry that fails again raises a
new one, so the record shows every attempt.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from engine.commands.event_routing import persist_and_route
from engine.commands.instance_state import load_instance, require_json_object, require_label, run_step
from engine.commands.requests import RetryIncidents
from engine.commands.unit_of_work import UnitOfWork
from engine.errors import Conflict
from engine.store import tables

_inc, _j = tables.incident, tables.job


def retry_incidents(command: RetryIncidents, uow: UnitOfWork) -> dict[str, Any]:
    data = require_json_object(command.variables, "variables")
    require_label(command.actor, "actor", 100)
    loaded = load_instance(uow, command.instance_id)
    open_incidents = uow.read(select(_inc.c.id).where(_inc.c.instance_id == command.instance_id,
                                                      _inc.c.resolved_at.is_(None))).scalars().all()
    if not open_incidents:
        raise Conflict(f"process instance {command.instance_id} has no open incident to retry")
    jobs = uow.execute(update(_j).where(_j.c.instance_id == command.instance_id, _j.c.state == "failed")
                       .values(state="pending", attempts=0, due_at=uow.now, last_error=None, lease_owner=None,
                               lease_until=None)).rowcount
    retried: list[int] = []
    incident = run_step(lambda: retried.append(uow.runtime.retry_failed(loaded.workflow, data)))
    uow.execute(update(_inc).where(_inc.c.id.in_(open_incidents)).values(resolved_at=uow.now))
    uow.record("incidents_retried", instance_id=command.instance_id, actor=command.actor, incidents=open_incidents,
               tasks=retried[0] if retried else 0, jobs=jobs, fields=sorted(data))
    instance = persist_and_route(uow, loaded.record, loaded.workflow, incident, command.actor)
    return {"instance": instance, "resolved": open_incidents, "jobs_due_again": jobs}
