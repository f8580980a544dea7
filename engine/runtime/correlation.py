"""What a message is correlated by, and what a catching element accepts, read from the model.

A message is correlated by a *key*, one string compared for equality in the subscription index:

- when the message declares BPMN correlation properties (``bpmn:correlationProperty`` with a
  ``correlationPropertyRetrievalExpression`` for the message, as SpiffWorkflow parses them), the key is made of
  their values: evaluated on the payload for the thrower (an instance, or a message from outside), on the waiting
  task's own data for the receiver (or, when its data cannot give one, the value its instance's earlier messages
  fixed). One property gives its value as text (``zhuhui-s001``); several give a JSON object sorted by name;
- otherwise it is the instance's business key (for the thrower and the receiver alike).

A catching element (message or signal start event, intermediate or boundary catch event, receive task) may
say in its ``spiffworkflow:properties``:

- ``keylessMessages="true"``: it takes a message that carries no key (no business key, no properties).
  Without it such a message is never delivered to it: "any waiting instance" is not a receiver;
- ``eventSenders``: where a thrown message or signal may come from, relative to the receiver's ``org_scope``:
  ``same_or_above`` (the default: the sender is at the receiver's unit or a unit above it, so events go down
  the unit tree, never sideways or up), ``same_or_below`` (reports that go up: the sender is at the receiver's
  unit or below it) or ``anywhere``;
- ``messageVariables``: the variables a message *from outside* (the API, a webhook, ``huhua message``) may bring,
  comma-separated (``objection_school, objection_reason``). A delivery with any other key is refused; a catch
  that declares nothing takes the message but no variables from outside. Messages thrown between instances
  carry the model's own data and are not limited by it.
"""

from __future__ import annotations

import ast
import json
from typing import Any

from engine.bpmn.lint_rules.receivers import SENDER_RULES

_TRUE = ("true", "yes", "1")


class CorrelationError(ValueError):
    """A correlation property cannot be read (its variable is missing, its expression fails)."""


def catch_rules(spec: Any) -> tuple[bool, str]:
    """``(takes keyless messages, sender rule)`` of a catching task spec; a bad ``eventSenders`` is refused."""
    properties = (getattr(spec, "extensions", None) or {}).get("properties") or {}
    keyless = str(properties.get("keylessMessages", "")).strip().lower() in _TRUE
    senders = str(properties.get("eventSenders", "") or SENDER_RULES[0]).strip()
    if senders not in SENDER_RULES:
        raise CorrelationError(f"eventSenders must be one of {', '.join(SENDER_RULES)}, not '{senders}'")
    return keyless, senders


def message_variables(spec: Any) -> tuple[str, ...]:
    """The variable names a catching task spec takes from a message delivered from outside (``messageVariables``)."""
    properties = (getattr(spec, "extensions", None) or {}).get("properties") or {}
    return variable_names(str(properties.get("messageVariables", "") or ""))


def variable_names(text: str) -> tuple[str, ...]:
    """The names of a ``messageVariables`` value (comma-separated, blanks dropped, order kept, no repeats)."""
    return tuple(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))


def declares_properties(definition: Any) -> bool:
    """Whether a message definition is correlated by its own properties (rather than by business key)."""
    return bool(getattr(definition, "correlation_properties", None))


def property_names(definition: Any) -> frozenset[str]:
    """The payload variables a message's correlation properties read (the names their retrieval expressions use):
    a message from outside may carry them to choose its receiver, whatever its catch takes."""
    names: set[str] = set()
    for prop in getattr(definition, "correlation_properties", None) or ():
        try:
            tree = ast.parse(str(prop.retrieval_expression or ""), mode="eval")
        except SyntaxError:
            continue
        names.update(node.id for node in ast.walk(tree)
                     if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load))
    return frozenset(names)


def property_key(definition: Any, environment: Any, context: dict[str, Any],
                 established: dict[str, dict[str, Any]] | None = None) -> str:
    """The key made of a message's correlation properties, evaluated on ``context`` (a payload or task data).

    A property the context cannot give is taken from ``established``, the values an instance's earlier messages
    fixed (SpiffWorkflow's ``workflow.correlations``, by ``bpmn:correlationKey`` name): a process that sent a
    request with ``{"order_id": id}`` waits for the reply to that order even if its own data names it otherwise.
    """
    values: dict[str, Any] = {}
    for prop in definition.correlation_properties:
        try:
            values[prop.name] = environment.evaluate(prop.retrieval_expression, dict(context))
        except Exception as err:
            fixed = [established[key][prop.name] for key in getattr(prop, "correlation_keys", None) or ()
                     if prop.name in (established or {}).get(key, {})]
            if fixed:
                values[prop.name] = fixed[0]
                continue
            raise CorrelationError(f"correlation property '{prop.name}' of message '{definition.name}' "
                                   f"cannot be read ({prop.retrieval_expression}): {err}") from None
    if len(values) == 1:
        only = next(iter(values.values()))
        text = only if isinstance(only, str) else json.dumps(only, ensure_ascii=False, sort_keys=True)
    else:
        text = json.dumps(values, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    if not text or len(text) > 200:
        raise CorrelationError(f"the correlation key of message '{definition.name}' must be 1 to 200 characters")
    return text
