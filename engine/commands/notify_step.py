"""Running a ``notify`` service task (:mod:`engine.notifications.operator`) in one command.

The recipients are resolved, the templates rendered, :func:`~engine.notifications.planning.notify` called and
the held task released with how many were told, **in one transaction**: the notification exists exactly when the
step is done, and a step retried after a crash tells nobody twice (``dedupe_key``: the instance, the element
and the task it is about — one reminder per task per rule). Parameters or templates that cannot be used fail the
job at once into an incident naming the element: retrying would fail the same way.

In a confidential process (a counselling case) the templates see the case's data without its sensitive variables,
and only people who may read at least the case and its risk level are told (:mod:`engine.access.confidential`).
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any
from uuid import UUID

from sqlalchemy import insert, select, update

from engine.access.confidential import CASE_AND_RISK, at_least, case_access
from engine.access.sensitivity import redact, sensitivity_of
from engine.clock import BUSINESS_TZ
from engine.commands.assignment import candidates_of, holders
from engine.commands.instances import held_job, release_held_job
from engine.commands.requests import RunNotifyStep
from engine.commands.unit_of_work import UnitOfWork
from engine.notifications.operator import MAX_RECIPIENTS, NotifyRefused, NotifyRequest, read_request
from engine.notifications.planning import Occasion, notify
from engine.notifications.templates import MAX_BODY_CHARS, MAX_SUBJECT_CHARS, TemplateFailure, render
from engine.store import tables

_t, _c, _u, _j = tables.human_task, tables.task_candidate, tables.org_unit, tables.job


def run_notify_step(command: RunNotifyStep, uow: UnitOfWork) -> dict[str, Any]:
    """Tell the step's recipients and release its task with their number (its result variable)."""
    held = held_job(uow, command.job_id, command.actor)
    if isinstance(held, dict):
        return held
    job, loaded = held
    record = loaded.record
    params = (json.loads(job.payload or "{}") or {}).get("params") or {}
    sensitivity = sensitivity_of(uow, record.definition_id)
    try:
        request = read_request(params)
        task = loaded.workflow.get_task_from_id(UUID(job.spiff_task_id))
        data = task.data if isinstance(task.data, dict) else {}
        if sensitivity.confidential:
            data = redact(data, sensitivity)
        about = _open_tasks(uow, record.id, request.link_task or request.to_task_holders)
        people = _recipients(uow, record.org_scope, record.id, request)
        context = {**_facts(uow, record.org_scope, about), **data}
        subject = render(request.subject, context, MAX_SUBJECT_CHARS)
        body = render(request.body, context, MAX_BODY_CHARS, markdown=True)
    except (NotifyRefused, TemplateFailure) as err:
        return _fail(uow, job, f"notify task {job.element_id}: {err}", command.actor)
    if sensitivity.confidential:
        reader = SimpleNamespace(execute=uow.read)
        people = [p for p in people if at_least(case_access(reader, p, record.id), CASE_AND_RISK)]
    linked = _open_tasks(uow, record.id, request.link_task) if request.link_task else []
    attached = about[0].id if about else None
    key = (f"{request.kind}:{job.element_id}:instance:{record.id}:"
           + (f"task:{attached}" if attached is not None else f"step:{job.spiff_task_id}"))
    told = notify(uow, Occasion(
        kind=request.kind, subject=subject, body=body, dedupe_key=key,
        link=f"/inbox/tasks/{linked[0].id}" if linked else None, task_id=attached, instance_id=record.id,
        unit_id=record.org_scope, urgent=request.urgent), people)
    uow.record("notified", instance_id=record.id, element_id=job.element_id, actor=command.actor,
               notification_kind=request.kind, people=len(told.notifications), deliveries=len(told.deliveries))
    return release_held_job(uow, job, loaded, len(told.notifications), command.actor)


def _recipients(uow: UnitOfWork, org_scope: str | None, instance_id: int, request: NotifyRequest) -> list[str]:
    people = list(request.to_people)
    if request.to_roles.strip():
        offered = candidates_of(uow, org_scope, {"candidateRoles": request.to_roles}, None)
        people += holders(uow, [value for kind, value in offered if kind == "role"])
    if request.to_task_holders:
        people += _holders_of(uow, _open_tasks(uow, instance_id, request.to_task_holders))
    found = list(dict.fromkeys(people))
    if len(found) > MAX_RECIPIENTS:
        raise NotifyRefused(f"the recipients are {len(found)} people; one notify task tells at most {MAX_RECIPIENTS}")
    return found


def _open_tasks(uow: UnitOfWork, instance_id: int, element_id: str | None) -> list[Any]:
    if not element_id:
        return []
    return list(uow.read(select(_t.c.id, _t.c.assignee, _t.c.title, _t.c.name, _t.c.due_at).where(
        _t.c.instance_id == instance_id, _t.c.element_id == element_id, _t.c.state == "open").order_by(_t.c.id)))


def _holders_of(uow: UnitOfWork, tasks: list[Any]) -> list[str]:
    """Who holds each task (its assignee) or, while nobody does, everyone it is offered to."""
    people = [task.assignee for task in tasks if task.assignee]
    offered = [task.id for task in tasks if not task.assignee]
    if offered:
        rows = uow.read(select(_c.c.kind, _c.c.value).where(_c.c.task_id.in_(offered))).all()
        people += [value for kind, value in rows if kind == "user"]
        people += holders(uow, [value for kind, value in rows if kind == "role" and "@" in value])
    return people


def _facts(uow: UnitOfWork, org_scope: str | None, about: list[Any]) -> dict[str, Any]:
    """What every template may use besides the task's data: the unit's name, the task's title and due day."""
    name = uow.read(select(_u.c.name).where(_u.c.id == org_scope)).scalar() if org_scope else None
    first = about[0] if about else None
    due = first.due_at.astimezone(BUSINESS_TZ) if first is not None and first.due_at is not None else None
    return {"unit_name": name or "", "task_title": (first.title or first.name) if first is not None else "",
            "task_due": f"{due.month}月{due.day}日" if due is not None else ""}


def _fail(uow: UnitOfWork, job: Any, message: str, actor: str) -> dict[str, Any]:
    """The job fails for good, into an incident of its element (a retry of the incident runs it again)."""
    uow.execute(update(_j).where(_j.c.id == job.id, _j.c.state == "pending").values(
        state="failed", attempts=job.attempts + 1, last_error=message[:4000], lease_owner=None, lease_until=None))
    uow.execute(insert(tables.incident).values(instance_id=job.instance_id, element_id=job.element_id,
                                               kind="notify_failed", message=message[:1000], created_at=uow.now))
    uow.record("incident_raised", instance_id=job.instance_id, element_id=job.element_id, actor=actor,
               incident_kind="notify_failed", job_id=job.id)
    return {"job_id": job.id, "ran": False, "state": "failed", "error": message}
