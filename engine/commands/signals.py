"""Signals thrown from outside (``huhua signal``, ``POST /api/v1/signals``): a broadcast, as BPMN says.

A signal reaches every running instance that waits for it (an intermediate catch event, a boundary event, an
event sub-process's start) and starts every process whose start event catches it. From outside, only within
what the caller may do (:mod:`engine.access.messages`): the instances they may deliver to, the processes they may
start; the rest is as if it did not wait. An ``org_scope`` narrows the broadcast to that unit and the units below
it, and is the unit the started instances run for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from engine.access.messages import MessageSender, deliverable, message_sender, signal_may_start
from engine.access.starting import Holding, Scope, start_rule, trusted_keys
from engine.commands.administrators import is_administrator
from engine.commands.event_routing import newest_start_triggers, persist_and_route, start_through
from engine.commands.figures import REPORTED
from engine.commands.instance_state import (
    ACTIVE_STATES,
    compiled_definition,
    load_instance,
    require_json_object,
    require_label,
    run_step,
)
from engine.commands.instances import MAX_DELIVERIES
from engine.commands.model import ThrowSignal
from engine.commands.unit_of_work import UnitOfWork
from engine.errors import Conflict, InvalidInput, NotFound, Problem
from engine.phrases import Phrase
from engine.runtime.correlation import message_variables, variable_names
from engine.store import tables

_m, _i, _u, _r = tables.message_subscription, tables.process_instance, tables.org_unit, tables.role_assignment


@dataclass(frozen=True)
class _OutsideSignal:
    """What a start event is given: the thrown signal's payload (as an event thrown by an instance carries it)."""

    payload: dict[str, Any]


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
    scope = _scope(uow, command.org_scope)
    waiting = _waiting(uow, sender, command.signal_name, scope)
    starts = _startable(uow, sender, command.signal_name, scope or _own_unit(uow, sender))
    if not waiting and not starts:
        raise NotFound(Phrase("no instance waits for signal '%(name)s' and no process starts with it",
                              name=command.signal_name), [Problem(Phrase("nothing to reach"), field="name")])
    if len(waiting) > MAX_DELIVERIES:
        raise Conflict(Phrase("more than %(n)s instances wait for signal '%(name)s'; name a unit (org_scope)",
                              n=MAX_DELIVERIES, name=command.signal_name))
    _refuse_variables(uow, variables, waiting, starts)

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

    started: list[dict[str, Any]] = []
    for trigger, org_scope in starts:
        instance = start_through(uow, trigger, _OutsideSignal(dict(variables)), command.actor, business_key=None,
                                 org_scope=org_scope, hops=1)
        if instance is None:
            uow.record("signal_start_skipped", actor=command.actor, process_key=trigger.process_key,
                       element_id=trigger.element_id, reason="the process also has a none start event")
        else:
            started.append(instance)
    uow.record("signal_thrown", actor=command.actor, name=command.signal_name, org_scope=command.org_scope,
               reached=len(reached), started=len(started))
    named = sender.names_instances
    return {"signal": command.signal_name, "reached": len(reached), "started": len(started),
            "reached_instances": reached if named else [], "started_instances": started if named else []}


def _scope(uow: UnitOfWork, org_scope: str | None) -> Scope | None:
    if org_scope is None:
        return None
    row = uow.read(select(_u.c.id, _u.c.kind, _u.c.path).where(_u.c.id == org_scope)).first()
    if row is None:
        raise NotFound(Phrase("org_scope: no unit '%(unit)s' in the org directory", unit=org_scope),
                       [Problem(Phrase("no such unit (give a unit id, such as zhuhui-s001)"), field="org_scope")])
    return Scope(row.id, row.kind, row.path)


def _own_unit(uow: UnitOfWork, sender: MessageSender) -> Scope | None:
    """Where a service account's starts run when the throw names no unit: its own unit."""
    return _scope(uow, sender.scope_unit) if sender.service and sender.scope_unit else None


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


def _startable(uow: UnitOfWork, sender: MessageSender, name: str, scope: Scope | None) -> list[tuple[Any, str | None]]:
    """The signal start events named ``name`` that ``sender`` may start their process through, with the unit
    each new instance runs for."""
    holdings: list[Holding] | None = None
    found = []
    for trigger in newest_start_triggers(uow, "signal", name):
        compiled = compiled_definition(uow, trigger.definition_id)
        try:
            rule = start_rule(compiled.properties, compiled.start_triggers, compiled.has_none_start)
        except ValueError:
            continue  # a declaration nobody can read starts nothing (deployment refuses it)
        if holdings is None:
            holdings = _holdings(uow, sender)
        if signal_may_start(sender, name, rule, scope, holdings):
            found.append((trigger, scope.id if scope is not None else None))
    return found


def _holdings(uow: UnitOfWork, sender: MessageSender) -> list[Holding]:
    if sender.administrator or sender.service:
        return []
    rows = uow.read(select(_r.c.role, _u.c.path).join(_u, _u.c.id == _r.c.unit_id)
                    .where(_r.c.person_id == sender.name))
    return [Holding(row.role, row.path) for row in rows]


def _still_waits(uow: UnitOfWork, subscription_id: int) -> bool:
    return uow.read(select(_m.c.id).where(_m.c.id == subscription_id)).first() is not None


def _refuse_variables(uow: UnitOfWork, variables: dict[str, Any], waiting: list[Any],
                      starts: list[tuple[Any, str | None]]) -> None:
    """A signal from outside brings only what each receiver takes (``messageVariables`` of its catch or start
    event), and never what the engine sets or a report reads as a fact."""
    process_keys = {s.process_key for s in waiting} | {t.process_key for t, _ in starts}
    figures = [name for key in process_keys if (reported := REPORTED.get(key)) is not None
               for name in (reported.period, reported.score, reported.band)]
    trusted = trusted_keys(figures)
    accepts = {s.element_id: set(variable_names(s.accepts or "")) for s in waiting}
    for trigger, _ in starts:
        spec = compiled_definition(uow, trigger.definition_id).spec.task_specs.get(trigger.element_id)
        accepts[trigger.element_id] = set(message_variables(spec))
    problems = []
    for key in variables:
        if key in trusted:
            problems.append(Problem(Phrase("'%(key)s' is set by the engine, never by a signal from outside", key=key),
                                    field=f"variables.{key}"))
            continue
        refusing = sorted(element for element, names in accepts.items() if key not in names)
        if refusing:
            problems.append(Problem(Phrase("'%(key)s' is not among the variables %(elements)s takes from a signal "
                                           "(its messageVariables)", key=key, elements=", ".join(refusing)),
                                    field=f"variables.{key}"))
    if problems:
        raise InvalidInput(Phrase("%(n)s variable(s) may not be sent; nothing was thrown", n=len(problems)), problems)
