"""Loading an instance for a command and writing back everything its new state implies.

:func:`persist` is the one place that turns a moved workflow into rows: the instance (guarded by
its version), human tasks and their candidates, multi-instance item groups, timer jobs, message
subscriptions, incidents and audit events. It diffs the open work against what the instance last
published (kept in ``process_instance.waits``), so a command touches only the rows that change.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from sqlalchemy import insert, select, update

from engine.bpmn.parser import CompiledProcess, ModelFile, compile_process
from engine.commands.unit_of_work import UnitOfWork
from engine.errors import Conflict, InvalidInput, NotFound, Problem
from engine.runtime.execution import HumanWork, Incident, ItemsWork, OpenWork
from engine.store.models import (
    DeploymentResource,
    HumanTask,
    ItemGroup,
    Job,
    MessageSubscription,
    ProcessDefinition,
    ProcessInstance,
    TaskCandidate,
)
from engine.store.models import Incident as IncidentRow

ACTIVE_STATES = ("running", "incident")


@dataclass
class LoadedInstance:
    row: ProcessInstance
    workflow: BpmnWorkflow
    compiled: CompiledProcess


def compiled_definition(uow: UnitOfWork, definition_id: int) -> CompiledProcess:
    """The cached specs of a definition, built from its deployment's files on first use."""

    def build() -> CompiledProcess:
        definition = uow.session.get(ProcessDefinition, definition_id)
        if definition is None:
            raise NotFound(f"process definition {definition_id} does not exist")
        resources = uow.session.scalars(
            select(DeploymentResource).where(DeploymentResource.deployment_id == definition.deployment_id)
        ).all()
        files = [ModelFile(r.name, r.content) for r in resources]
        return compile_process(files, definition.key, uow.services.settings.max_model_bytes)

    return uow.services.specs.get(definition_id, build)


def load_instance(uow: UnitOfWork, instance_id: int, *, allowed: tuple[str, ...] = ACTIVE_STATES) -> LoadedInstance:
    row = uow.session.get(ProcessInstance, instance_id)
    if row is None:
        raise NotFound(f"process instance {instance_id} does not exist")
    if row.state not in allowed or row.workflow_state is None:
        raise Conflict(f"process instance {instance_id} is {row.state}; it cannot be changed now")
    compiled = compiled_definition(uow, row.definition_id)
    workflow = uow.runtime.loads(row.workflow_state, compiled)
    return LoadedInstance(row, workflow, compiled)


def run_step(step: Callable[[], None]) -> Incident | None:
    """Run a runtime move; a model failure becomes an incident to record, not an error for the caller."""
    try:
        step()
    except Incident as incident:
        return incident
    return None


def persist(uow: UnitOfWork, row: ProcessInstance, workflow: BpmnWorkflow, incident: Incident | None,
            actor: str, *, new: bool = False) -> dict[str, Any]:
    """Write the instance and everything its open work implies; return the instance summary."""
    runtime = uow.runtime
    work: OpenWork | None = None
    if incident is None:
        try:
            work = runtime.open_work(workflow)
        except Incident as found:
            incident = found
    if work is None:
        work = runtime.open_work(workflow, check_completion=False)
    completed = work.completed and incident is None
    state = "incident" if incident is not None else "completed" if completed else "running"

    if new:
        row.id = uow.session.execute(insert(ProcessInstance).values(
            definition_id=row.definition_id, process_key=row.process_key, business_key=row.business_key,
            org_scope=row.org_scope, parent_instance_id=row.parent_instance_id, state="running", version=0,
            started_by=row.started_by, started_at=uow.now, updated_at=uow.now, data="{}",
        ).returning(ProcessInstance.id)).scalar_one()
        row.version = 0
        uow.record("instance_started", instance_id=row.id, actor=actor, process_key=row.process_key,
                   business_key=row.business_key, org_scope=row.org_scope)

    version = row.version
    waits = _Publisher(uow, row, json.loads(row.waits or "{}")).publish(work, closing=completed)
    data = workflow.data if completed or workflow.last_task is None else workflow.last_task.data
    result = uow.session.execute(
        update(ProcessInstance)
        .where(ProcessInstance.id == row.id, ProcessInstance.version == version)
        .values(state=state, version=version + 1, updated_at=uow.now,
                ended_at=uow.now if completed else None,
                data=runtime.codec.data_dumps(data),
                workflow_state=None if completed else runtime.dumps(workflow),
                waits=json.dumps(waits, separators=(",", ":")))
    )
    if result.rowcount != 1:
        raise Conflict(f"process instance {row.id} was changed by someone else at the same time; reload and retry")
    if incident is not None:
        uow.session.execute(insert(IncidentRow).values(
            instance_id=row.id, element_id=incident.element_id, kind=incident.kind, message=incident.message,
            created_at=uow.now))
        uow.record("incident_raised", instance_id=row.id, element_id=incident.element_id, actor=actor,
                   incident_kind=incident.kind, message=incident.message)
    if completed:
        uow.record("instance_completed", instance_id=row.id, actor=actor)
    return {"id": row.id, "process_key": row.process_key, "state": state, "version": version + 1,
            "business_key": row.business_key, "org_scope": row.org_scope,
            "incident": incident.message if incident is not None else None}


class _Publisher:
    """Diffs open work against what the instance last published and writes only the differences."""

    def __init__(self, uow: UnitOfWork, row: ProcessInstance, published: dict[str, dict[str, Any]]) -> None:
        self.uow = uow
        self.row = row
        self.old = published

    def publish(self, work: OpenWork, *, closing: bool) -> dict[str, dict[str, Any]]:
        new: dict[str, dict[str, Any]] = {"human": {}, "items": {}, "timers": {}, "messages": {}}
        old_human = self.old.get("human", {})
        for spiff_id, work_item in work.human.items():
            new["human"][spiff_id] = old_human.get(spiff_id) or self._create_task(work_item)
        self._close_tasks([tid for sid, tid in old_human.items() if sid not in work.human])

        old_items = self.old.get("items", {})
        for spiff_id, group_id in old_items.items():
            if spiff_id in work.item_parents:
                new["items"][spiff_id] = group_id
            else:
                self._close_group(group_id)
        for items in work.new_items:
            new["items"][items.task_id] = self._create_items(items)

        old_timers = self.old.get("timers", {})
        for spiff_id, timer in work.timers.items():
            due = timer.due_at.isoformat()
            existing = old_timers.get(spiff_id)
            if existing and existing[1] == due:
                new["timers"][spiff_id] = existing
                continue
            if existing:
                self._cancel_job(existing[0])
            new["timers"][spiff_id] = [self._create_timer(timer.task_id, timer.element_id, timer.due_at), due]
        for spiff_id, (job_id, _due) in old_timers.items():
            if spiff_id not in work.timers:
                self._cancel_job(job_id)

        old_messages = self.old.get("messages", {})
        for spiff_id, wait in work.messages.items():
            new["messages"][spiff_id] = old_messages.get(spiff_id) or self._subscribe(wait.task_id, wait.element_id,
                                                                                      wait.message_name)
        gone = [sub for sid, sub in old_messages.items() if sid not in work.messages]
        if gone:
            self.uow.session.execute(MessageSubscription.__table__.delete().where(MessageSubscription.id.in_(gone)))
        return {kind: entries for kind, entries in new.items() if entries} if not closing else {}

    # -- human tasks ------------------------------------------------------------------------------

    def _create_task(self, work: HumanWork) -> int:
        return self._insert_task(work.task_id, work.element_id, work.name, work.properties)

    def _insert_task(self, spiff_id: str, element_id: str, name: str, properties: dict[str, str], *,
                     group_id: int | None = None, item_key: Any = None, item_input: dict | None = None,
                     lane: str | None = None) -> int:
        uow = self.uow
        assignee = properties.get("assignee") or None
        task_id = uow.session.execute(insert(HumanTask).values(
            instance_id=self.row.id, spiff_task_id=spiff_id, element_id=element_id, name=name,
            process_key=self.row.process_key, state="open", assignee=assignee, org_scope=self.row.org_scope,
            form_key=properties.get("formKey") or None, due_at=_due_at(properties.get("dueDate"), uow.now),
            created_at=uow.now, item_group_id=group_id,
            item_key=json.dumps(item_key, ensure_ascii=False) if group_id is not None else None,
            item_input=uow.runtime.codec.data_dumps(item_input) if item_input is not None else None,
        ).returning(HumanTask.id)).scalar_one()
        candidates = [{"task_id": task_id, "kind": "user", "value": u} for u in _split(properties.get("candidateUsers"))]
        groups = _split(properties.get("candidateGroups"))
        candidates += [{"task_id": task_id, "kind": "group", "value": g} for g in groups]
        if candidates:
            uow.session.execute(insert(TaskCandidate), candidates)
        uow.record("task_created", instance_id=self.row.id, element_id=element_id, task_id=task_id,
                   name=name, assignee=assignee)
        return task_id

    def _close_tasks(self, task_ids: list[int]) -> None:
        if not task_ids:
            return
        still_open = self.uow.session.scalars(
            select(HumanTask.id).where(HumanTask.id.in_(task_ids), HumanTask.state == "open")).all()
        if still_open:
            self.uow.session.execute(update(HumanTask).where(HumanTask.id.in_(still_open)).values(
                state="cancelled", completed_at=self.uow.now))
            for task_id in still_open:
                self.uow.record("task_cancelled", instance_id=self.row.id, task_id=task_id)

    # -- multi-instance items ---------------------------------------------------------------------

    def _create_items(self, items: ItemsWork) -> int:
        group_id = self.uow.session.execute(insert(ItemGroup).values(
            instance_id=self.row.id, spiff_task_id=items.task_id, total=len(items.items), done=0, state="open",
        ).returning(ItemGroup.id)).scalar_one()
        for key, data in items.items:
            self._insert_task(items.task_id, items.element_id, items.name, items.properties,
                              group_id=group_id, item_key=key, item_input=data)
        return group_id

    def _close_group(self, group_id: int) -> None:
        session = self.uow.session
        session.execute(update(ItemGroup).where(ItemGroup.id == group_id, ItemGroup.state == "open")
                        .values(state="cancelled"))
        open_items = session.scalars(select(HumanTask.id).where(HumanTask.item_group_id == group_id,
                                                                HumanTask.state == "open")).all()
        self._close_tasks(list(open_items))

    # -- timers and messages ----------------------------------------------------------------------

    def _create_timer(self, spiff_id: str, element_id: str, due_at: datetime) -> int:
        return self.uow.session.execute(insert(Job).values(
            kind="timer", instance_id=self.row.id, spiff_task_id=spiff_id, element_id=element_id, due_at=due_at,
            state="pending", attempts=0, created_at=self.uow.now,
        ).returning(Job.id)).scalar_one()

    def _cancel_job(self, job_id: int) -> None:
        self.uow.session.execute(update(Job).where(Job.id == job_id, Job.state == "pending").values(state="cancelled"))

    def _subscribe(self, spiff_id: str, element_id: str, message_name: str) -> int:
        return self.uow.session.execute(insert(MessageSubscription).values(
            instance_id=self.row.id, spiff_task_id=spiff_id, element_id=element_id, message_name=message_name,
            correlation_key=self.row.business_key, created_at=self.uow.now,
        ).returning(MessageSubscription.id)).scalar_one()


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _due_at(value: str | None, now: datetime) -> datetime | None:
    """A task's due date from its ``dueDate`` property: an ISO duration from now, or an ISO date-time."""
    if not value:
        return None
    if value.upper().startswith("P"):
        parsed = TimerEventDefinition.parse_iso_duration(value)
        return now + TimerEventDefinition.get_timedelta_from_start(parsed, now)
    return TimerEventDefinition.get_datetime(value)


def require_json_object(value: Any, what: str) -> dict[str, Any]:
    """Refuse anything but a JSON object whose keys are names a script can use."""
    if not isinstance(value, dict):
        raise InvalidInput(f"{what} must be a JSON object", [Problem("expected an object", field=what)])
    bad = [k for k in value if not isinstance(k, str) or not k.isidentifier() or k.startswith("_")]
    if bad:
        raise InvalidInput(f"{what} has names that scripts cannot use",
                           [Problem("a variable name must be an identifier not starting with '_'",
                                    field=f"{what}.{k}") for k in bad])
    try:
        json.dumps(value)
    except (TypeError, ValueError) as err:
        raise InvalidInput(f"{what} is not plain JSON: {err}", [Problem(str(err), field=what)]) from None
    return value

