"""Events one instance throws and no part of it catches: messages, signals, unhandled errors.

SpiffWorkflow hands these back after a move (``workflow.get_events()``). The engine delivers them in
the same transaction, exactly and once:

- a message goes to the oldest waiting subscription with the *same key* (the sender's business key, or the
  value of the message's correlation properties: :mod:`engine.runtime.correlation`), or else starts the
  newest version of a process that starts with that message. A message with no key goes only to catching
  elements that declare ``keylessMessages="true"``; never to "any waiting instance";
- a signal goes to every waiting instance and starts every process that starts with it;
- either reaches only receivers within the sender's org scope (:func:`receivers_in_reach`): by default an
  instance at the sender's unit or a unit below it; a catching element may say ``eventSenders="same_or_below"``
  or ``"anywhere"``. A receiver started by the event runs at the sender's org scope;
- an error or escalation nobody caught is written to the instance's history.

Deliveries can throw again; chains stop after ``MAX_HOPS``.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import (
    ErrorEventDefinition,
    EscalationEventDefinition,
    SignalEventDefinition,
)
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from sqlalchemy import ColumnElement, and_, false, func, literal, or_, select

from engine.commands import kept_messages
from engine.commands.acting import acting_person_of
from engine.commands.instance_state import (
    InstanceRecord,
    compiled_definition,
    load_instance,
    persist,
    run_step,
)
from engine.commands.unit_of_work import UnitOfWork
from engine.runtime.correlation import CorrelationError
from engine.runtime.script_environment import remember_initiator
from engine.store import tables

MAX_HOPS = 20
_m, _s, _d, _i, _u = (tables.message_subscription, tables.start_trigger, tables.process_definition,
                      tables.process_instance, tables.org_unit)


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
    if hops < MAX_HOPS:
        for kept in kept_messages.waiting_for_kept(uow, record.id, lambda scope: receivers_in_reach(uow, scope)):
            if kept_messages.take(uow, kept):
                _deliver_kept(uow, kept, actor, hops)
    return result


def _route(uow: UnitOfWork, source: InstanceRecord, workflow: Any, event: Any, actor: str, hops: int) -> None:
    definition = event.event_definition
    if isinstance(definition, MessageEventDefinition):
        try:
            key = uow.runtime.thrown_key(event)
        except CorrelationError as err:
            uow.record("message_unrouted", instance_id=source.id, actor=actor, message=definition.name, reason=str(err))
            return
        key = source.business_key if key is None else key  # no correlation properties: the business key is the key
        if not _deliver_message(uow, source, event, key, actor, hops) and not _start_by(
                uow, source, "message", definition.name, event, key, actor, hops, first_only=True):
            kept_until = None if key is None else kept_messages.keep(
                uow, definition.name, key, event.payload, source.id, source.org_scope)
            uow.record("message_unrouted", instance_id=source.id, actor=actor, message=definition.name,
                       correlation_key=key, kept_until=kept_until)
    elif isinstance(definition, SignalEventDefinition):
        _broadcast_signal(uow, source, event, actor, hops)
        _start_by(uow, source, "signal", definition.name, event, source.business_key, actor, hops, first_only=False)
    elif isinstance(definition, ErrorEventDefinition | EscalationEventDefinition) \
            and not uow.runtime.was_caught(workflow, definition):
        kind = "error_unhandled" if isinstance(definition, ErrorEventDefinition) else "escalation_unhandled"
        uow.record(kind, instance_id=source.id, actor=actor, code=definition.code, name=definition.name)


def receivers_in_reach(uow: UnitOfWork, sender_scope: str | None) -> ColumnElement[bool]:
    """The SQL condition that a subscription's instance (``process_instance``, with its unit ``org_unit`` outer
    joined) may receive an event thrown at ``sender_scope``, by the subscription's ``senders`` rule.

    ``same_or_above``: the receiver's unit is the sender's or below it; ``same_or_below``: the receiver's unit is
    the sender's or above it; ``anywhere``. A unit is compared by its path in the unit tree (exact prefixes, no
    pattern matching); an org scope that names no unit of the directory, and no scope at all, reach only the same.
    """
    same = _i.c.org_scope.is_(None) if sender_scope is None else _i.c.org_scope == sender_scope
    path = _unit_path(uow, sender_scope)
    if path is None:
        below, above = false(), false()
    else:
        below = func.substr(_u.c.path, 1, len(path)) == path
        above = and_(_u.c.path.is_not(None), func.substr(literal(path), 1, func.length(_u.c.path)) == _u.c.path)
    return or_(_m.c.senders == "anywhere",
               and_(_m.c.senders == "same_or_above", or_(same, below)),
               and_(_m.c.senders == "same_or_below", or_(same, above)))


def _unit_path(uow: UnitOfWork, unit: str | None) -> str | None:
    if unit is None:
        return None
    key = f"unit_path:{unit}"
    if key not in uow.memo:
        uow.memo[key] = uow.read(select(_u.c.path).where(_u.c.id == unit)).scalar()
    return uow.memo[key]


def _waiting(uow: UnitOfWork, source: InstanceRecord, kind: str, name: str) -> Any:
    """Subscriptions of other instances waiting for ``kind`` ``name`` that an event of ``source`` may reach."""
    return (select(_m.c.instance_id, _m.c.spiff_task_id, _m.c.element_id)
            .join(_i, _i.c.id == _m.c.instance_id).outerjoin(_u, _u.c.id == _i.c.org_scope)
            .where(_m.c.kind == kind, _m.c.message_name == name, _m.c.instance_id != source.id,
                   receivers_in_reach(uow, source.org_scope)))


def _deliver_message(uow: UnitOfWork, source: InstanceRecord, event: Any, key: str | None, actor: str,
                     hops: int) -> bool:
    matching = _m.c.keyless.is_(True) if key is None else _m.c.correlation_key == key
    waiting = uow.read(_waiting(uow, source, "message", event.event_definition.name).where(matching)
                       .order_by(_m.c.id).limit(1)).first()
    if waiting is None:
        return False
    _deliver(uow, waiting, event, actor, hops)
    return True


def _broadcast_signal(uow: UnitOfWork, source: InstanceRecord, event: Any, actor: str, hops: int) -> None:
    waiting = uow.read(_waiting(uow, source, "signal", event.event_definition.name).order_by(_m.c.id)).all()
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


def _deliver_kept(uow: UnitOfWork, kept: kept_messages.KeptDelivery, actor: str, hops: int) -> None:
    """Deliver a message that was kept until this instance came to wait for it (:mod:`.kept_messages`)."""
    loaded = load_instance(uow, kept.instance_id)
    uow.record("message_received", instance_id=kept.instance_id, element_id=kept.element_id, actor=actor,
               name=kept.message_name, kept=True)
    incident = run_step(lambda: uow.runtime.deliver_message(loaded.workflow, kept.spiff_task_id, kept.payload))
    persist_and_route(uow, loaded.record, loaded.workflow, incident, actor, hops=hops + 1)


def _start_by(uow: UnitOfWork, source: InstanceRecord, kind: str, name: str, event: Any, key: str | None,
              actor: str, hops: int, *, first_only: bool) -> bool:
    """Start the newest version of each process that has a ``kind`` start event named ``name``.

    The new instance runs at the sender's org scope with the sender's business key. A message without a key starts
    only a process whose start event declares ``keylessMessages="true"``.
    """
    triggers = newest_start_triggers(uow, kind, name)
    if kind == "message" and key is None:
        triggers = [t for t in triggers if _takes_keyless(uow, t.definition_id, t.element_id)]
    if first_only:
        triggers = triggers[:1]
    for trigger in triggers:
        start_through(uow, trigger, event, actor, business_key=source.business_key, org_scope=source.org_scope,
                      hops=hops + 1)
    return bool(triggers)


def newest_start_triggers(uow: UnitOfWork, kind: str, name: str) -> list[Any]:
    """The ``kind`` (message or signal) start events named ``name`` of each process's newest version:
    ``definition_id``, ``process_key`` and ``element_id``, by process key."""
    newest = (select(_d.c.key, func.max(_d.c.version).label("version")).group_by(_d.c.key).subquery())
    return list(uow.read(
        select(_s.c.definition_id, _s.c.process_key, _s.c.element_id)
        .join(_d, _d.c.id == _s.c.definition_id)
        .join(newest, (newest.c.key == _d.c.key) & (newest.c.version == _d.c.version))
        .where(_s.c.kind == kind, _s.c.name == name).order_by(_s.c.process_key, _s.c.id)).all())


def start_through(uow: UnitOfWork, trigger: Any, event: Any, actor: str, *, business_key: str | None,
                  org_scope: str | None, hops: int) -> dict[str, Any]:
    """Start an instance of ``trigger``'s process version through its start event with ``event`` (its
    ``payload`` joins the start data), and route what it throws. A process that also has a none start event,
    which SpiffWorkflow would run first, is started with the event caught before it first moves."""
    compiled = compiled_definition(uow, trigger.definition_id)
    workflow = uow.runtime.create(compiled, {})
    remember_initiator(workflow, acting_person_of(uow, actor))
    if compiled.has_none_start:  # SpiffWorkflow would run it first: the event is caught before anything moves
        incident = run_step(lambda: uow.runtime.start_with_event(workflow, trigger.element_id, event))
    else:
        incident = run_step(lambda: uow.runtime.advance(workflow))
        if incident is None:
            incident = run_step(lambda: uow.runtime.deliver_start_event(workflow, trigger.element_id, event))
    record = InstanceRecord(id=0, definition_id=trigger.definition_id, process_key=trigger.process_key,
                            business_key=business_key, org_scope=org_scope, state="running", version=0, waits=None,
                            workflow_state=None, started_by=actor, parent_instance_id=None)
    return persist_and_route(uow, record, workflow, incident, actor, new=True, hops=hops)


def _takes_keyless(uow: UnitOfWork, definition_id: int, element_id: str) -> bool:
    try:
        keyless, _senders = uow.runtime.start_rules(compiled_definition(uow, definition_id), element_id)
    except CorrelationError:
        return False
    return keyless
