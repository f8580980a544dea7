"""Signals thrown from outside (``huhua signal``, ``POST /api/v1/signals``): a broadcast, as BPMN says.

A signal reaches every running instance that waits for it (an intermediate catch event, a boundary event, an
event sub-process's start) and starts every process whose start event catches it. From outside, only within
what the caller may do (:mod:`engine.access.messages`): the instances they may deliver to, the processes they may
start; the rest is as if it did not wait. An ``org_scope`` narrows the broadcast to that unit and the units below
it, and is the unit the started instances run for.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from engine.access.messages import MessageSender, deliverable, message_sender
from engine.access.starting import Scope
from engine.commands.administrators import is_administrator
from engine.commands.event_routing import persist_and_route, start_through
from engine.commands.instance_state import (
    ACTIVE_STATES,
    load_instance,
    require_json_object,
    require_label,
    run_step,
)
from engine.commands.instances import MAX_DELIVERIES
from engine.commands.outside_starts import OutsideEvent, own_unit, refuse_outside_variables, startable, unit_scope
from engine.commands.requests import ThrowSignal
from engine.commands.unit_of_work import UnitOfWork
from engine.errors import Conflict, NotFound, Problem
from engine.phrases import Phrase
from engine.store import tables

_m, _i, _u = tables.message_subscription, tables.process_instance, tables.org_unit


def throw_signal(command: ThrowSignal, uow: UnitOfWork) -> dict[str, Any]:
    """Deliver signal ``signal_name`` to the waiting instances and start the processes it starts, as far as the
    caller may; answer how many instances it reached and started (and which, unless the caller is a system).

    Nothing reached and nothing started answers 404, whether nothing waits or the caller may reach none of it.
    A variable that a receiver does not take from outside (``messageVariables``) or that the engine sets refuses
    the whole throw, before anything moves.
    """
    variables = require_json_object(command.variables, "variables")
    require_label(command.signal_name, "name", 200)
    require_label(command.actor, "actor", 100)
    require_label(command.org_scope, "org_scope", 100)
    sender = message_sender(uow, command.actor, administrator=is_administrator(uow, command.actor))
    scope = unit_scope(uow, command.org_scope)
    waiting = _waiting(uow, sender, command.signal_name, scope)
    starts = startable(uow, sender, "signal", command.signal_name, scope or own_unit(uow, sender))
    if not waiting and not starts:
        raise NotFound(Phrase("no instance waits for signal '%(name)s' and no process starts with it",
                              name=command.signal_name), [Problem(Phrase("nothing to reach"), field="name")])
    if len(waiting) > MAX_DELIVERIES:
        raise Conflict(Phrase("more than %(n)s instances wait for signal '%(name)s'; name a unit (org_scope)",
                              n=MAX_DELIVERIES, name=command.signal_name))
    refuse_outside_variables(uow, variables, waiting, starts, "signal")

    reached: list[dict[str, Any]] = []
    seen: set[int] = set()
    for subscription in waiting:
        if subscription.instance_id in seen or not _still_waits(uow, subscription.id):
            continue  # one delivery per instance reaches all its catches; an earlier delivery may have moved it
        seen.add(subscription.instance_id)
        loaded = load_instance(uow, subscription.instance_id)
        uow.record("signal_received", instance_id=loaded.record.id, element_id=subscription.element_id,
                   actor=command.actor, name=command.signal_name)
        incident = run_step(lambda s=subscription, w=loaded.workflow: uow.runtime.deliver_message(
            w, s.spiff_task_id, variables))
        reached.append(persist_and_route(uow, loaded.record, loaded.workflow, incident, command.actor))

    started = [start_through(uow, trigger, OutsideEvent(dict(variables)), command.actor, business_key=None,
                             org_scope=org_scope, hops=1) for trigger, org_scope in starts]
    uow.record("signal_thrown", actor=command.actor, name=command.signal_name, org_scope=command.org_scope,
               reached=len(reached), started=len(started))
    named = sender.names_instances
    return {"signal": command.signal_name, "reached": len(reached), "started": len(started),
            "reached_instances": reached if named else [], "started_instances": started if named else []}


def _waiting(uow: UnitOfWork, sender: MessageSender, name: str, scope: Scope | None) -> list[Any]:
    """The signal subscriptions of running instances that ``sender`` may deliver ``name`` to (within ``scope``)."""
    query = (select(_m.c.id, _m.c.instance_id, _m.c.spiff_task_id, _m.c.element_id, _m.c.accepts,
                    _i.c.process_key)
             .join(_i, _i.c.id == _m.c.instance_id).outerjoin(_u, _u.c.id == _i.c.org_scope)
             .where(_m.c.kind == "signal", _m.c.message_name == name, _i.c.state.in_(ACTIVE_STATES),
                    deliverable(uow, sender, name)))
    if scope is not None:
        query = query.where(func.substr(_u.c.path, 1, len(scope.path)) == scope.path)
    return list(uow.read(query.order_by(_m.c.id).limit(MAX_DELIVERIES + 1)).all())


def _still_waits(uow: UnitOfWork, subscription_id: int) -> bool:
    return uow.read(select(_m.c.id).where(_m.c.id == subscription_id)).first() is not None
