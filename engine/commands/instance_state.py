"""Loading an instance for a command and writing back everything its new state implies.

:func:`persist` is the one place that turns a moved workflow into rows: the instance (guarded by
its version), human tasks and their candidates, multi-instance item groups, timer jobs, message
subscriptions, incidents and audit events. It diffs the open work against what the instance last
published (``process_instance.waits``, keyed by SpiffWorkflow task id), so a command writes only the
rows that change, and a new instance is one INSERT when nothing waits.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from sqlalchemy import bindparam, delete, insert, select, true, update

from engine.bpmn.parser import CompiledProcess, ModelFile, compile_process
from engine.bpmn.timevalues import due_from
from engine.clock import BUSINESS_TZ
from engine.commands.appraisal import keep_appraisal
from engine.commands.assignment import SOLE_HOLDER, pool_of
from engine.commands.attendance import keep_attendance
from engine.commands.counselling_rooms import keep_counselling_room
from engine.commands.fan_out_state import child_changed, close_fan_outs, open_fan_out
from engine.commands.figures import keep_figures
from engine.commands.kept_messages import note_fresh_waits
from engine.commands.lane_people import SPIFF_ARENA_INITIATOR, names_own_performer, offer_of
from engine.commands.unit_of_work import UnitOfWork
from engine.errors import Conflict, InvalidInput, NotFound, Problem, StaleVersion
from engine.json_schema_forms import SCHEMA_PROPERTY
from engine.org.calendar import working_deadline
from engine.phrases import Phrase
from engine.runtime.execution import Incident, InvalidAction, OpenWork
from engine.runtime.task_titles import finish_title
from engine.store import tables
from engine.store.raw_insert import RawInsert

ACTIVE_STATES = ("running", "incident")
Waits = dict[str, Any]

_i, _t, _c, _g, _j, _m = (tables.process_instance, tables.human_task, tables.task_candidate, tables.item_group,
                          tables.job, tables.message_subscription)

_LOAD_INSTANCE = select(_i).where(_i.c.id == bindparam("id"))
#: The new instance's definition is re-read inside the INSERT: the in-process "latest version" cache
#: costs no extra round trip, and a start that raced a deployment is caught and retried.
_INSERT_INSTANCE = RawInsert(insert(_i).values(
    definition_id=select(tables.process_definition.c.id)
    .where(tables.process_definition.c.key == bindparam("definition_key"))
    .order_by(tables.process_definition.c.version.desc()).limit(1).scalar_subquery(),
).returning(_i.c.id, _i.c.definition_id), ["process_key", "business_key", "org_scope", "parent_instance_id", "state",
                                            "version", "started_by", "started_at", "updated_at", "ended_at", "data",
                                            "workflow_state", "waits"])
_UPDATE_INSTANCE = (update(_i).where(_i.c.id == bindparam("instance_id"), _i.c.version == bindparam("expected"))
                    .values(state=bindparam("state"), version=bindparam("next_version"),
                            updated_at=bindparam("now"), ended_at=bindparam("ended_at"), data=bindparam("data"),
                            workflow_state=bindparam("workflow_state"), waits=bindparam("waits")))
_INSERT_TASK = insert(_t).returning(_t.c.id)
_INSERT_CANDIDATES = insert(_c)
_CLOSE_OFFERS = update(_c).where(_c.c.task_id == bindparam("closed_task"), _c.c.task_open == true()).values(
    task_open=False)
_INSERT_GROUP = insert(_g).returning(_g.c.id)
_INSERT_JOB = insert(_j)
_INSERT_SUBSCRIPTION = insert(_m)
_INSERT_INCIDENT = insert(tables.incident)


def close_offers(uow: UnitOfWork, task_ids: list[int]) -> None:
    """Mark the offers of tasks that just left the open state as closed (see ``TaskCandidate.task_open``)."""
    if task_ids:
        uow.execute(_CLOSE_OFFERS, [{"closed_task": task_id} for task_id in task_ids])


@dataclass
class InstanceRecord:
    """The instance row as a command sees it."""

    id: int
    definition_id: int
    process_key: str
    business_key: str | None
    org_scope: str | None
    state: str
    version: int
    waits: str | None
    workflow_state: str | None
    started_by: str
    parent_instance_id: int | None = None


@dataclass
class LoadedInstance:
    record: InstanceRecord
    workflow: BpmnWorkflow
    compiled: CompiledProcess


def compiled_definition(uow: UnitOfWork, definition_id: int) -> CompiledProcess:
    """The cached specs of a definition, built from its deployment's files on first use."""

    def build() -> CompiledProcess:
        d, r = tables.process_definition, tables.deployment_resource
        definition = uow.read(select(d.c.key, d.c.deployment_id).where(d.c.id == definition_id)).first()
        if definition is None:
            raise NotFound(f"process definition {definition_id} does not exist")
        resources = uow.read(select(r.c.name, r.c.content).where(  # the models, not the JSON-schema forms kept
            r.c.deployment_id == definition.deployment_id, r.c.name.not_like("%.json")))
        files = [ModelFile(row.name, bytes(row.content)) for row in resources]
        return compile_process(files, definition.key, uow.services.settings.max_model_bytes)

    return uow.services.specs.get(definition_id, build)


def load_instance(uow: UnitOfWork, instance_id: int) -> LoadedInstance:
    """The instance and its workflow, if it can still move (running, or running with an incident)."""
    row = uow.read(_LOAD_INSTANCE, {"id": instance_id}).first()
    if row is None:
        raise NotFound(Phrase("process instance %(id)s does not exist", id=instance_id))
    if row.state not in ACTIVE_STATES or row.workflow_state is None:
        raise Conflict(Phrase("process instance %(id)s is %(state)s; it cannot be changed now", id=instance_id,
                              state=Phrase(row.state)))
    record = InstanceRecord(row.id, row.definition_id, row.process_key, row.business_key, row.org_scope, row.state,
                            row.version, row.waits, row.workflow_state, row.started_by, row.parent_instance_id)
    compiled = compiled_definition(uow, record.definition_id)
    return LoadedInstance(record, uow.runtime.loads(record.workflow_state or "", compiled), compiled)


def run_step(step: Callable[[], None]) -> Incident | None:
    """Run a runtime move; a model failure becomes an incident to record, not an error for the caller.

    A move the instance can no longer make (the task was completed, the message taken, by a command
    that committed after this one read) is a stale read: nothing was applied, and a retry will see why.
    """
    try:
        step()
    except Incident as incident:
        return incident
    except InvalidAction as stale:
        raise StaleVersion(str(stale)) from None
    return None


def persist(uow: UnitOfWork, record: InstanceRecord, workflow: BpmnWorkflow, incident: Incident | None,
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
        try:
            work = runtime.open_work(workflow, check_completion=False)
        except Incident:
            work = None  # the open work itself cannot be read: keep what was published until the incident is fixed
    if work is not None:
        refused = _hold_back_unoffered(uow, record, workflow, work, set() if new else _published_human(record))
        incident = incident or refused
    completed = work is not None and work.completed and incident is None
    state = "incident" if incident is not None else "completed" if completed else "running"
    waits = {} if completed else _waits_of(work) if work is not None else json.loads(record.waits or "{}")
    data = workflow.data if completed or workflow.last_task is None else workflow.last_task.data
    values = {
        "state": state, "now": uow.now, "ended_at": uow.now if completed else None,
        "data": runtime.codec.data_dumps(data),
        "workflow_state": None if completed else runtime.dumps(workflow),
        "waits": json.dumps(waits, separators=(",", ":"), ensure_ascii=False) if waits else None,
    }
    if new:
        inserted_id, inserted_definition = uow.insert(_INSERT_INSTANCE, [{
            "definition_key": record.process_key, "process_key": record.process_key,
            "business_key": record.business_key, "org_scope": record.org_scope,
            "parent_instance_id": record.parent_instance_id, "state": state, "version": 1,
            "started_by": record.started_by, "started_at": uow.now, "updated_at": uow.now,
            "ended_at": values["ended_at"], "data": values["data"], "workflow_state": values["workflow_state"],
            "waits": values["waits"]}])[0]
        if inserted_definition != record.definition_id:
            uow.services.latest_definitions[record.process_key] = inserted_definition
            raise StaleVersion(f"process '{record.process_key}' was deployed again while this instance started")
        record.id, record.version = inserted_id, 1
        uow.record("instance_started", instance_id=record.id, actor=actor, process_key=record.process_key,
                   business_key=record.business_key, org_scope=record.org_scope)
    else:
        written = uow.execute(_UPDATE_INSTANCE, {**values, "instance_id": record.id, "expected": record.version,
                                                 "next_version": record.version + 1})
        if written.rowcount != 1:
            raise StaleVersion(Phrase("process instance %(id)s was changed by someone else at the same time; "
                                      "reload and retry", id=record.id))
        record.version += 1
    keep_figures(uow, record.id, record.process_key, data if isinstance(data, dict) else {}, new=new)
    keep_counselling_room(uow, record.id, record.process_key, record.org_scope, data if isinstance(data, dict) else {})
    keep_attendance(uow, record.id, record.process_key, data if isinstance(data, dict) else {}, new=new)
    keep_appraisal(uow, record.id, record.process_key, record.org_scope, data if isinstance(data, dict) else {})
    if work is not None:
        _Publisher(uow, record, getattr(workflow, "closed_tasks", None) or {}).publish(
            json.loads(record.waits or "{}") if not new else {}, work)
    record.state = state
    completed_elements = getattr(workflow, "completed_elements", None)
    if completed_elements:
        uow.record("activities_completed", instance_id=record.id, actor=actor, elements=completed_elements)
    if incident is not None:
        uow.execute(_INSERT_INCIDENT, {"instance_id": record.id, "element_id": incident.element_id,
                                       "kind": incident.kind, "message": incident.message, "created_at": uow.now})
        uow.record("incident_raised", instance_id=record.id, element_id=incident.element_id, actor=actor,
                   incident_kind=incident.kind, message=incident.message)
    if completed:
        uow.record("instance_completed", instance_id=record.id, actor=actor)
    if record.parent_instance_id is not None and not new and state != "running":
        child_changed(uow, record.id, state)  # a fan-out's child: count it in (a new one is counted by its starter)
    return {"id": record.id, "process_key": record.process_key, "state": state, "version": record.version,
            "business_key": record.business_key, "org_scope": record.org_scope,
            "incident": incident.message if incident is not None else None}


def _published_human(record: InstanceRecord) -> set[str]:
    return set(json.loads(record.waits or "{}").get("human", ()))


def _hold_back_unoffered(uow: UnitOfWork, record: InstanceRecord, workflow: BpmnWorkflow, work: OpenWork,
                         published: set[str]) -> Incident | None:
    """The incident of the first new task whose ``lane_owners`` names nobody the directory knows (see
    :mod:`engine.commands.lane_people`); such a task is held back (in error) rather than offered to fewer people.

    Items of a multi-instance task cannot be held back one by one: they go to the people who are known, and the
    incident says who was not.
    """
    found: Incident | None = None
    for spiff_id, human in list(work.human.items()):
        if spiff_id in published or human.lane_owners is None:
            continue
        offer = offer_of(uow, record.org_scope, record.started_by, human.properties, human.lane, human.lane_owners)
        if offer.problem is not None:
            uow.runtime.hold_back(workflow, spiff_id)
            del work.human[spiff_id]
            found = found or Incident(offer.problem, human.element_id, kind="lane_owners")
    for items in work.new_items:
        if items.lane_owners is None:
            continue
        offer = offer_of(uow, record.org_scope, record.started_by, items.properties, items.lane, items.lane_owners)
        if offer.problem is not None:
            found = found or Incident(offer.problem, items.element_id, kind="lane_owners")
    return found


def _waits_of(work: OpenWork) -> Waits:
    waits: Waits = {}
    if work.human:
        waits["human"] = sorted(work.human)
    if work.item_parents:
        waits["items"] = sorted(work.item_parents)
    if work.timers:
        waits["timers"] = {spiff_id: t.due_at.isoformat() for spiff_id, t in work.timers.items()}
    if work.messages:
        waits["messages"] = sorted(work.messages)
    if work.held:
        waits["held"] = {spiff_id: h.kind for spiff_id, h in work.held.items()}
    return waits


class _Publisher:
    """Writes the difference between what an instance last published and what it waits for now."""

    def __init__(self, uow: UnitOfWork, record: InstanceRecord, closed: dict[str, str] | None = None) -> None:
        self.uow = uow
        self.record = record
        #: Tasks the engine closed on purpose (an escalation whose work is done), with the reason to record.
        self.closed = closed or {}
        self._names: tuple[str | None, str | None] | None = None
        self._model_folder: bool | None = None

    def _unit_and_process_names(self) -> tuple[str | None, str | None]:
        """The instance's unit's name and its process's name, read once for all the tasks this write creates."""
        if self._names is None:  # one round trip for both
            u, d = tables.org_unit, tables.process_definition
            row = self.uow.read(select(
                select(u.c.name).where(u.c.id == (self.record.org_scope or "")).scalar_subquery(),
                select(d.c.name).where(d.c.id == self.record.definition_id).scalar_subquery())).one()
            self._names = (row[0], row[1])
        return self._names

    def _from_model_folder(self) -> bool:
        """Whether the instance's process came from a spiff-arena process-model folder (read once per write)."""
        if self._model_folder is None:
            d = tables.process_definition
            self._model_folder = self.uow.read(select(d.c.model_path).where(
                d.c.id == self.record.definition_id)).scalar() is not None
        return self._model_folder

    def publish(self, old: Waits, work: OpenWork) -> None:
        old_human = set(old.get("human", ()))
        for spiff_id, human in work.human.items():
            if spiff_id not in old_human:
                self._insert_task(spiff_id, human.element_id, human.name, human.properties, human.lane,
                                  owners=human.lane_owners)
        self._cancel_tasks(sorted(old_human - set(work.human)))

        gone_groups = sorted(set(old.get("items", ())) - work.item_parents)
        if gone_groups:
            self._close_groups(gone_groups)
        for items in work.new_items:
            group_id = self.uow.execute(_INSERT_GROUP, {
                "instance_id": self.record.id, "spiff_task_id": items.task_id, "total": len(items.items),
                "done": 0, "state": "open"}).scalar_one()
            for key, data, own in items.items:
                self._insert_task(items.task_id, items.element_id, items.name, own or items.properties, items.lane,
                                  owners=items.lane_owners, group_id=group_id, item_key=key, item_input=data)

        old_timers: dict[str, str] = old.get("timers", {})
        stale = [s for s, due in old_timers.items() if s not in work.timers or work.timers[s].due_at.isoformat() != due]
        if stale:
            self._cancel_jobs(stale)
        new_timers = [t for s, t in work.timers.items() if old_timers.get(s) != t.due_at.isoformat()]
        if new_timers:
            self.uow.execute(_INSERT_JOB, [{
                "kind": "timer", "instance_id": self.record.id, "spiff_task_id": t.task_id,
                "element_id": t.element_id, "due_at": t.due_at, "state": "pending", "attempts": 0,
                "created_at": self.uow.now, "payload": None} for t in new_timers])

        old_held: dict[str, str] = old.get("held", {})
        released = [s for s in old_held if s not in work.held]
        if released:
            self._cancel_jobs(released)  # ran (the job is done already) or cancelled by an interrupt
            fan_outs = [s for s in released if old_held[s] == "fanout"]
            if fan_outs:
                close_fan_outs(self.uow, self.record.id, fan_outs)
        fresh_held = [h for s, h in work.held.items() if s not in old_held and h.kind != "fanout"]
        for held in work.held.values():
            if held.kind == "fanout" and held.task_id not in old_held:
                open_fan_out(self.uow, self.record.id, self.record.org_scope, held)
        if fresh_held:
            self.uow.execute(_INSERT_JOB, [{
                "kind": h.kind, "instance_id": self.record.id, "spiff_task_id": h.task_id, "element_id": h.element_id,
                "due_at": h.due_at or self.uow.now, "state": "pending", "attempts": 0, "created_at": self.uow.now,
                "payload": json.dumps(h.payload, ensure_ascii=False)} for h in fresh_held])

        old_messages = set(old.get("messages", ()))
        gone = sorted(old_messages - set(work.messages))
        if gone:
            self.uow.execute(delete(_m).where(_m.c.instance_id == self.record.id, _m.c.spiff_task_id.in_(gone)))
        fresh = [w for s, w in work.messages.items() if s not in old_messages]
        if any(w.kind == "message" for w in fresh):
            note_fresh_waits(self.uow, self.record.id)  # a message kept for it may be waiting (.kept_messages)
        if fresh:
            self.uow.execute(_INSERT_SUBSCRIPTION, [{
                "instance_id": self.record.id, "spiff_task_id": w.task_id, "element_id": w.element_id,
                "kind": w.kind, "message_name": w.name,
                "correlation_key": w.correlation if w.correlation is not None else self.record.business_key,
                "keyless": w.keyless, "senders": w.senders, "accepts": ", ".join(w.accepts) or None,
                "created_at": self.uow.now} for w in fresh])

    def _insert_task(self, spiff_id: str, element_id: str, name: str, properties: dict[str, str],
                     lane: str | None, *, owners: Any = None,
                     group_id: int | None = None, item_key: Any = None, item_input: dict | None = None) -> int:
        uow = self.uow
        assignee = properties.get("assignee") or None
        if not lane and not names_own_performer(properties) and self._from_model_folder():
            lane = SPIFF_ARENA_INITIATOR  # spiff-arena offers a task in no lane to whoever started the instance
        offered = offer_of(uow, self.record.org_scope, self.record.started_by, properties, lane, owners).candidates
        pool = None if assignee else pool_of(uow, offered)
        sole_holder = pool[0] if pool is not None and len(pool) == 1 else None
        title = finish_title(properties.get("title"), name, *self._unit_and_process_names())
        task_id = uow.execute(_INSERT_TASK, {
            "instance_id": self.record.id, "spiff_task_id": spiff_id, "element_id": element_id, "name": name,
            "title": title,
            "process_key": self.record.process_key, "state": "open", "assignee": assignee or sole_holder,
            "org_scope": self.record.org_scope,
            "form_key": properties.get("formKey") or properties.get(SCHEMA_PROPERTY) or None,  # form-js, or JSON Schema
            "due_at": _due_at(properties, uow), "created_at": uow.now,
            "completed_at": None, "completed_by": None, "item_group_id": group_id,
            "item_key": json.dumps(item_key, ensure_ascii=False) if group_id is not None else None,
            "item_input": uow.runtime.codec.data_dumps(item_input) if item_input is not None else None,
            "item_output": None,
        }).scalar_one()
        if offered:
            uow.execute(_INSERT_CANDIDATES, [{"task_id": task_id, "kind": kind, "value": value}
                                             for kind, value in offered])
        uow.record("task_created", instance_id=self.record.id, element_id=element_id, task_id=task_id,
                   name=name, title=title, assignee=assignee)
        if sole_holder is not None:  # nobody to claim it from: the one person who holds the role has it
            uow.record("task_assigned", instance_id=self.record.id, element_id=element_id, task_id=task_id,
                       assignee=sole_holder, reason=SOLE_HOLDER)
        if pool == []:
            uow.record("task_unstaffed", instance_id=self.record.id, element_id=element_id, task_id=task_id,
                       roles=[value for _kind, value in offered])
        return task_id

    def _cancel_tasks(self, spiff_ids: list[str], *, group_ids: list[int] | None = None) -> None:
        if not spiff_ids and not group_ids:
            return
        query = update(_t).where(_t.c.instance_id == self.record.id, _t.c.state == "open")
        if group_ids is not None:
            query = query.where(_t.c.item_group_id.in_(group_ids))
        else:
            query = query.where(_t.c.spiff_task_id.in_(spiff_ids), _t.c.item_group_id.is_(None))
        cancelled = self.uow.execute(query.values(state="cancelled", completed_at=self.uow.now)
                                     .returning(_t.c.id, _t.c.element_id, _t.c.spiff_task_id)).all()
        close_offers(self.uow, [task_id for task_id, _element, _spiff in cancelled])
        for task_id, element_id, spiff_id in cancelled:
            reason = self.closed.get(spiff_id)
            self.uow.record("task_cancelled", instance_id=self.record.id, element_id=element_id, task_id=task_id,
                            **({"reason": reason} if reason else {}))

    def _close_groups(self, spiff_ids: list[str]) -> None:
        closed = self.uow.execute(
            update(_g).where(_g.c.instance_id == self.record.id, _g.c.spiff_task_id.in_(spiff_ids),
                             _g.c.state == "open").values(state="cancelled").returning(_g.c.id)).scalars().all()
        if closed:
            self._cancel_tasks([], group_ids=list(closed))

    def _cancel_jobs(self, spiff_ids: list[str]) -> None:
        self.uow.execute(update(_j).where(_j.c.instance_id == self.record.id, _j.c.spiff_task_id.in_(spiff_ids),
                                          _j.c.state == "pending").values(state="cancelled"))




#: A due date counted in working days falls at the end of that day's office hours, Beijing time.


def _due_at(properties: dict[str, str], uow: UnitOfWork) -> datetime | None:
    """A task's due date: ``dueWorkingDays`` (working days from today, by China's calendar) or ``dueDate``.

    Both were checked when the runtime read the properties.
    """
    working_days = properties.get("dueWorkingDays")
    if working_days:
        return working_deadline(uow.calendar, uow.now.astimezone(BUSINESS_TZ).date(), int(working_days))
    value = properties.get("dueDate")
    return due_from(value, uow.now) if value else None


def require_json_object(value: Any, what: str) -> dict[str, Any]:
    """Refuse anything but a JSON object whose keys are names a script can use."""
    if not isinstance(value, dict):
        raise InvalidInput(Phrase("%(what)s must be a JSON object", what=what),
                           [Problem(Phrase("expected an object"), field=what)])
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


def require_label(value: str | None, field: str, longest: int) -> None:
    """Refuse a blank label or one longer than the column that stores it."""
    if value is not None and (not value.strip() or len(value) > longest):
        raise InvalidInput(Phrase("%(field)s must be 1 to %(n)s characters", field=field, n=longest),
                           [Problem(Phrase("bad length"), field=field)])
