"""A message from outside correlated by the model's correlation properties, read from its payload.

A message that declares ``bpmn:correlationProperty`` retrieval expressions (``messagePath``) is routed, as
SpiffWorkflow and spiff-arena route it, by the values those expressions read from the payload: the waiting catch
whose own values (its subscription's key, :mod:`engine.runtime.correlation`) are the same gets it. Each waiting
element reads the payload with its own process version's expressions, so two versions that correlate differently
are each matched by their own rule. No index is added: the keys are computed for the few distinct (version,
element) pairs that wait for the message and compared with the subscription index's ``correlation_key``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select

from engine.commands.instance_state import compiled_definition
from engine.commands.unit_of_work import UnitOfWork
from engine.runtime.correlation import CorrelationError, property_names
from engine.store import tables

_m, _i = tables.message_subscription, tables.process_instance


@dataclass(frozen=True)
class PayloadCorrelation:
    """What a payload says about the receivers of a message whose catches declare correlation properties."""

    #: (definition id, element id) → the key the payload gives that waiting element.
    keys: dict[tuple[int, str], str] = field(default_factory=dict)
    #: Payload variables read only to correlate (a catch takes them only if its ``messageVariables`` says so).
    names: frozenset[str] = frozenset()
    #: Why the payload gives no key to an element that needs one (a property it lacks).
    problems: tuple[str, ...] = ()

    def matches(self, subscription: Any) -> bool:
        """Whether a subscription (with ``definition_id``, ``element_id``, ``correlation_key``) is the payload's."""
        key = self.keys.get((subscription.definition_id, subscription.element_id))
        return key is not None and key == subscription.correlation_key

    def described(self) -> str:
        """The keys the payload gives, for a refusal ('1', or '1', '2' when versions read it differently)."""
        return ", ".join(f"'{key}'" for key in sorted(set(self.keys.values())))


def payload_correlation(uow: UnitOfWork, waiting: Select[Any], payload: dict[str, Any]) -> PayloadCorrelation:
    """The keys ``payload`` gives the elements of ``waiting`` (subscriptions joined to their instances) whose
    message declares correlation properties; empty when none of them does."""
    pairs = uow.read(waiting.with_only_columns(_i.c.definition_id, _m.c.element_id).distinct()).all()
    keys: dict[tuple[int, str], str] = {}
    names: set[str] = set()
    problems: list[str] = []
    for definition_id, element_id in pairs:
        message = uow.runtime.caught_message(compiled_definition(uow, definition_id), element_id)
        if message is None:
            continue
        names |= property_names(message)
        try:
            key = uow.runtime.payload_key(message, payload)
        except CorrelationError as err:
            problems.append(str(err))
            continue
        if key is not None:
            keys[(definition_id, element_id)] = key
    return PayloadCorrelation(keys, frozenset(names), tuple(dict.fromkeys(problems)))
