"""Events one instance throws and no part of it catches: messages, signals, unhandled errors.

SpiffWorkflow hands these back after a move (``workflow.get_events()``). The engine delivers them in
the same transaction: a message to the instance waiting for it (same correlation key first, oldest
first) or else to a new instance of a process that starts with that message; a signal to every
waiting instance and to every process that starts with it; an error or escalation nobody caught is
written to the instance's history. Deliveries can throw again; chains stop after ``MAX_HOPS``.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import (
    ErrorEventDefinition,
    EscalationEventDefinition,
    SignalEventDefinition,
)
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from sqlalchemy import case, func, select

from engine.commands.instance_state import (
    InstanceRecord,
    compiled_definition,
    load_instance,
    persist,
    run_step,
)
from engine.commands.unit_of_work import UnitOfWork
from engine.store import tables

MAX_HOPS = 20
_m, _s, _d = tables.message_subscription, tables.start_trigger, tables.process_definition


def persist_and_route(uow: UnitOfWork, record: InstanceRecord, workflow: Any, incident: Any, actor: str, *,
                      new: bool = False, hops: int = 0) -> dict[str, Any]:
    """:func:`persist` the instance, then deliver whatever it threw that it did not catch itself.

    The thrown events are taken out of the workflow *before* it is stored: what is routed here never stays in
    the stored state, so no later command (in this process or after a restart) throws it a second time.
    """
    thrown = workflow.get_events()
    result = persist(uow, record, workflow, incident, actor, new=new)
    if thrown:
        if hops >= MAX_HOPS:
            uow.record("events_dropped", instance_id=record.id, actor=actor, count=len(thrown),
                       reason=f"more than {MAX_HOPS} instances threw to each other in one command")
        else:
            for event in thrown:
                _route(uow, record, workflow, event, actor, hops)
    return result


def _route(uow: UnitOfWork, source: InstanceRecord, workflow: Any, event: Any, actor: str, hops: int) -> None:
    definition = event.event_definition
    if isinstance(definition, MessageEventDefinition):
        if not _deliver_message(uow, source, event, actor, hops) and not _start_by(
                uow, source, "message", definition.name, event, actor, hops, first_only=True):
            uow.record("message_unrouted", instance_id=source.id, actor=actor, message=definition.name)
    elif isinstance(definition, SignalEventDefinition):
        _broadcast_signal(uow, source, event, actor, hops)
        _start_by(uow, source, "signal", definition.name, event, actor, hops, first_only=False)
    elif isinstance(definition, ErrorEventDefinition | EscalationEventDefinition) \
            and not uow.runtime.was_caught(workflow, definition):
        kind = "error_unhandled" if isinstance(definition, ErrorEventDefinition) else "escalation_unhandled"
        uow.record(kind, instance_id=source.id, actor=actor, code=definition.code, name=definition.name)


def _deliver_message(uow: UnitOfWork, source: InstanceRecord, event: Any, actor: str, hops: int) -> bool:
    key = _m.c.correlation_key
    same_key = key.is_(None) if source.business_key is None else key == source.business_key
    waiting = uow.read(
        select(_m.c.instance_id, _m.c.spiff_task_id, _m.c.element_id)
        .where(_m.c.kind == "message", _m.c.message_name == event.event_definition.name,
               _m.c.instance_id != source.id)
        .order_by(case((same_key, 0), else_=1), _m.c.id).limit(1)).first()
    if waiting is None:
        return False
    _deliver(uow, waiting, event, actor, hops)
    return True


def _broadcast_signal(uow: UnitOfWork, source: InstanceRecord, event: Any, actor: str, hops: int) -> None:
    waiting = uow.read(
        select(_m.c.instance_id, _m.c.spiff_task_id, _m.c.element_id)
        .where(_m.c.kind == "signal", _m.c.message_name == event.event_definition.name,
               _m.c.instance_id != source.id)
        .order_by(_m.c.id)).all()
    done: set[int] = set()
    for subscription in waiting:
        if subscription.instance_id not in done:
            done.add(subscription.instance_id)
            _deliver(uow, subscription, event, actor, hops)


def _deliver(uow: UnitOfWork, subscription: Any, event: Any, actor: str, hops: int) -> None:
    loaded = load_instance(uow, subscription.instance_id)
    definition = event.event_definition
    uow.record("message_received" if isinstance(definition, MessageEventDefinition) else "signal_received",
               instance_id=loaded.record.id, element_id=subscription.element_id, actor=actor, name=definition.name)
    payload = event.payload if isinstance(event.payload, dict) else {}
    incident = run_step(lambda: uow.runtime.deliver_message(loaded.workflow, subscription.spiff_task_id, payload))
    persist_and_route(uow, loaded.record, loaded.workflow, incident, actor, hops=hops + 1)


def _start_by(uow: UnitOfWork, source: InstanceRecord, kind: str, name: str, event: Any, actor: str, hops: int,
              *, first_only: bool) -> bool:
    """Start the newest version of each process that has a ``kind`` start event named ``name``."""
    newest = (select(_d.c.key, func.max(_d.c.version).label("version")).group_by(_d.c.key).subquery())
    triggers = uow.read(
        select(_s.c.definition_id, _s.c.process_key, _s.c.element_id)
        .join(_d, _d.c.id == _s.c.definition_id)
        .join(newest, (newest.c.key == _d.c.key) & (newest.c.version == _d.c.version))
        .where(_s.c.kind == kind, _s.c.name == name).order_by(_s.c.process_key, _s.c.id)).all()
    if first_only:
        triggers = triggers[:1]
    for trigger in triggers:
        compiled = compiled_definition(uow, trigger.definition_id)
        workflow = uow.runtime.create(compiled, {})
        incident = run_step(lambda w=workflow: uow.runtime.advance(w))
        if incident is None and not uow.runtime.waits_at_start(workflow, trigger.element_id):
            # SpiffWorkflow runs a none start event of the same process first and cancels the message start:
            # the sender must not fail for it, so the start is skipped and said so in the sender's history.
            uow.record("message_start_skipped", instance_id=source.id, actor=actor, process_key=trigger.process_key,
                       element_id=trigger.element_id, reason="the process also has a none start event")
            continue
        if incident is None:
            incident = run_step(lambda w=workflow, t=trigger: uow.runtime.deliver_start_event(w, t.element_id, event))
        record = InstanceRecord(id=0, definition_id=trigger.definition_id, process_key=trigger.process_key,
                                business_key=source.business_key, org_scope=source.org_scope, state="running",
                                version=0, waits=None, workflow_state=None, started_by=actor,
                                parent_instance_id=None)
        persist_and_route(uow, record, workflow, incident, actor, new=True, hops=hops + 1)
    return bool(triggers)
