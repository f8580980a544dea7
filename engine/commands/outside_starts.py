"""Processes started by a message or a signal from outside (``huhua message``/``signal``, the API).

A start event that catches a message or a signal is a way in like a start by hand, so it is governed by the same
start rule (:func:`engine.access.messages.event_may_start`): only where and by whom the process may be started.
What the event brings is checked as a delivery is: never what the engine sets or a report reads as a fact, and
only what its start event takes (``messageVariables``; a start event with spiff-arena's ``messageVariable``
takes the whole payload as one variable).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from engine.access.messages import MessageSender, event_may_start
from engine.access.starting import Holding, Scope, start_rule, trusted_keys
from engine.commands.event_routing import newest_start_triggers
from engine.commands.figures import REPORTED
from engine.commands.instance_state import compiled_definition
from engine.commands.unit_of_work import UnitOfWork
from engine.errors import InvalidInput, NotFound, Problem
from engine.phrases import Phrase
from engine.runtime.correlation import message_variables, variable_names
from engine.store import tables

_u, _r = tables.org_unit, tables.role_assignment


@dataclass(frozen=True)
class OutsideEvent:
    """What a start event is given: the payload from outside (as an event thrown by an instance carries it)."""

    payload: dict[str, Any]


def unit_scope(uow: UnitOfWork, org_scope: str | None) -> Scope | None:
    """The unit ``org_scope`` names, with its kind and path (None for none); an unknown unit is refused."""
    if org_scope is None:
        return None
    row = uow.read(select(_u.c.id, _u.c.kind, _u.c.path).where(_u.c.id == org_scope)).first()
    if row is None:
        raise NotFound(Phrase("org_scope: no unit '%(unit)s' in the org directory", unit=org_scope),
                       [Problem(Phrase("no such unit (give a unit id, such as zhuhui-s001)"), field="org_scope")])
    return Scope(row.id, row.kind, row.path)


def own_unit(uow: UnitOfWork, sender: MessageSender) -> Scope | None:
    """Where a service account's starts run when the call names no unit: its own unit."""
    return unit_scope(uow, sender.scope_unit) if sender.service and sender.scope_unit else None


def startable(uow: UnitOfWork, sender: MessageSender, kind: str, name: str,
              scope: Scope | None) -> list[tuple[Any, str | None]]:
    """The ``kind`` (message or signal) start events named ``name`` that ``sender`` may start their process
    through, with the unit each new instance runs for."""
    holdings: list[Holding] | None = None
    found = []
    for trigger in newest_start_triggers(uow, kind, name):
        compiled = compiled_definition(uow, trigger.definition_id)
        try:
            rule = start_rule(compiled.properties, compiled.start_triggers, compiled.has_none_start)
        except ValueError:
            continue  # a declaration nobody can read starts nothing (deployment refuses it)
        if holdings is None:
            holdings = _holdings(uow, sender)
        if event_may_start(sender, name, rule, scope, holdings):
            found.append((trigger, scope.id if scope is not None else None))
    return found


def _holdings(uow: UnitOfWork, sender: MessageSender) -> list[Holding]:
    if sender.administrator or sender.service:
        return []
    rows = uow.read(select(_r.c.role, _u.c.path).join(_u, _u.c.id == _r.c.unit_id)
                    .where(_r.c.person_id == sender.name))
    return [Holding(row.role, row.path) for row in rows]


def refuse_outside_variables(uow: UnitOfWork, variables: dict[str, Any], waiting: list[Any],
                             starts: list[tuple[Any, str | None]], kind: str) -> None:
    """An event from outside brings only what each receiver takes (``messageVariables`` of its catch or start
    event), and never what the engine sets or a report reads as a fact."""
    process_keys = {s.process_key for s in waiting} | {t.process_key for t, _ in starts}
    figures = [name for key in process_keys if (reported := REPORTED.get(key)) is not None
               for name in (reported.period, reported.score, reported.band)]
    trusted = trusted_keys(figures)
    accepts: dict[str, set[str] | None] = {s.element_id: set(variable_names(s.accepts or "")) for s in waiting}
    for trigger, _ in starts:
        spec = compiled_definition(uow, trigger.definition_id).spec.task_specs.get(trigger.element_id)
        whole = getattr(getattr(spec, "event_definition", None), "message_var", None)
        accepts[trigger.element_id] = None if whole else set(message_variables(spec))
    problems = []
    for key in variables:
        if key in trusted:
            problems.append(Problem(Phrase("'%(key)s' is set by the engine, never by a signal from outside", key=key)
                                    if kind == "signal" else
                                    Phrase("'%(key)s' is set by the engine, never by a message from outside",
                                           key=key), field=f"variables.{key}"))
            continue
        refusing = sorted(element for element, names in accepts.items() if names is not None and key not in names)
        if refusing:
            problems.append(Problem(Phrase("'%(key)s' is not among the variables %(elements)s takes from a signal "
                                           "(its messageVariables)", key=key, elements=", ".join(refusing))
                                    if kind == "signal" else
                                    Phrase("'%(key)s' is not among the variables %(elements)s takes from a message "
                                           "(its messageVariables)", key=key, elements=", ".join(refusing)),
                                    field=f"variables.{key}"))
    if problems:
        raise InvalidInput(Phrase("%(n)s variable(s) may not be sent; nothing was thrown", n=len(problems)), problems)
