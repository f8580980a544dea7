"""Event rules: which triggers each kind of event may have, and how events connect to the flow.

The spec's tables 10.84–10.93 say which event definitions are allowed where (a timer cannot end a
process, a link cannot start one); the schema accepts any definition on any event.
"""

from __future__ import annotations

from collections.abc import Iterator

from engine.bpmn.lint_rules.model import Element, LintModel, is_true, kind_of
from engine.errors import Problem

_TOP_LEVEL_START = frozenset({"message", "timer", "conditional", "signal"})
_EVENT_SUB_PROCESS_START = frozenset({"message", "error", "escalation", "compensate", "conditional", "signal", "timer"})
_NON_INTERRUPTING_START = frozenset({"message", "escalation", "conditional", "signal", "timer"})
_END = frozenset({"message", "escalation", "error", "cancel", "compensate", "signal", "terminate"})
_INTERMEDIATE_CATCH = frozenset({"message", "timer", "conditional", "link", "signal"})
_INTERMEDIATE_THROW = frozenset({"message", "escalation", "compensate", "link", "signal"})
_INTERRUPTING_BOUNDARY = frozenset({"message", "timer", "escalation", "conditional", "error", "cancel", "compensate",
                                    "signal"})
_NON_INTERRUPTING_BOUNDARY = frozenset({"message", "timer", "escalation", "conditional", "signal"})


def _triggers(kinds: set[str]) -> str:
    return ", ".join(sorted(kinds)) if kinds else "none"


def _disallowed(model: LintModel, event: Element, allowed: frozenset[str], where: str, rule: str,
                none_allowed: bool = True) -> Iterator[Problem]:
    kinds = model.trigger_kinds(event)
    wrong = kinds - allowed
    if wrong:
        yield model.problem(event, f"{model.describe(event)} has a {_triggers(wrong)} trigger, which {where} cannot "
                            f"have (allowed: {_triggers(set(allowed))})", rule)
    elif not kinds and not none_allowed:
        yield model.problem(event, f"{model.describe(event)} has no trigger; {where} needs one of: "
                            f"{_triggers(set(allowed))}", rule)


def check_start_events(model: LintModel) -> Iterator[Problem]:
    """EXT.059, EXT.096, EXT.098, EXT.100, EXT.101, EXT.129: triggers allowed where the start event is, and flows."""
    for event in model.by_kind["startEvent"]:
        container = model.container(event)
        if container is None:
            continue
        if kind_of(container) == "process":
            yield from _disallowed(model, event, _TOP_LEVEL_START, "a start event of a process",
                                   "start-event-trigger (EXT.098)")
        elif model.is_event_sub_process(container):
            if is_true(event, "isInterrupting", default=True):
                yield from _disallowed(model, event, _EVENT_SUB_PROCESS_START, "the start event of an event "
                                       "sub-process", "event-sub-process-trigger (EXT.059, EXT.129)",
                                       none_allowed=False)
            else:
                yield from _disallowed(model, event, _NON_INTERRUPTING_START, "a non-interrupting start event of an "
                                       "event sub-process", "event-sub-process-trigger (EXT.059)", none_allowed=False)
        elif model.trigger_kinds(event):
            yield model.problem(event, f"{model.describe(event)} has a {_triggers(model.trigger_kinds(event))} "
                                f"trigger, but it starts {model.describe(container)}, which is started by the flow "
                                "that reaches it; use a none start event", "sub-process-start (EXT.100)")
        if model.incoming_of(event):
            yield model.problem(event, f"{model.describe(event)} has an incoming sequence flow; a start event begins "
                                "the flow and cannot be entered", "start-event-incoming (EXT.096)")
        if not model.outgoing_of(event):
            yield model.problem(event, f"{model.describe(event)} has no outgoing sequence flow",
                                "start-event-outgoing (EXT.101)")


def check_end_events(model: LintModel) -> Iterator[Problem]:
    """EXT.104, EXT.106, EXT.107, EXT.146: an end event is entered, not left, and has an allowed result."""
    for event in model.by_kind["endEvent"]:
        yield from _disallowed(model, event, _END, "an end event", "end-event-trigger (EXT.146)")
        container = model.container(event)
        if "cancel" in model.trigger_kinds(event) and (container is None or kind_of(container) != "transaction"):
            yield model.problem(event, f"{model.describe(event)} is a cancel end event outside a transaction; cancel "
                                "end events may only be used inside a transaction sub-process",
                                "cancel-end-event (EXT.106)")
        if model.outgoing_of(event):
            yield model.problem(event, f"{model.describe(event)} has an outgoing sequence flow; an end event ends its "
                                "path", "end-event-outgoing (EXT.104)")
        if not model.incoming_of(event):
            yield model.problem(event, f"{model.describe(event)} has no incoming sequence flow, so nothing can reach "
                                "it", "end-event-incoming (EXT.107)")


def check_intermediate_events(model: LintModel) -> Iterator[Problem]:
    """EXT.115–EXT.117, EXT.122, EXT.148, EXT.149: an intermediate event sits in the flow with an allowed trigger."""
    for event in model.by_kind["intermediateCatchEvent"]:
        kinds = model.trigger_kinds(event)
        yield from _disallowed(model, event, _INTERMEDIATE_CATCH, "an intermediate catch event",
                               "intermediate-catch-trigger (EXT.148, EXT.122)", none_allowed=False)
        if "link" in kinds:
            if model.incoming_of(event):
                yield model.problem(event, f"{model.describe(event)} is a link catch event with an incoming sequence "
                                    "flow; the matching link throw event leads here instead",
                                    "link-event-flows (EXT.117)")
        elif not model.incoming_of(event):
            yield model.problem(event, f"{model.describe(event)} has no incoming sequence flow",
                                "intermediate-event-incoming (EXT.115)")
        if not model.outgoing_of(event):
            yield model.problem(event, f"{model.describe(event)} has no outgoing sequence flow",
                                "intermediate-event-outgoing (EXT.116)")
    for event in model.by_kind["intermediateThrowEvent"]:
        kinds = model.trigger_kinds(event)
        yield from _disallowed(model, event, _INTERMEDIATE_THROW, "an intermediate throw event",
                               "intermediate-throw-trigger (EXT.149)")
        if not model.incoming_of(event):
            yield model.problem(event, f"{model.describe(event)} has no incoming sequence flow",
                                "intermediate-event-incoming (EXT.115)")
        if "link" in kinds:
            if model.outgoing_of(event):
                yield model.problem(event, f"{model.describe(event)} is a link throw event with an outgoing sequence "
                                    "flow; the flow continues at the matching link catch event instead",
                                    "link-event-flows (EXT.117)")
        elif not model.outgoing_of(event):
            yield model.problem(event, f"{model.describe(event)} has no outgoing sequence flow",
                                "intermediate-event-outgoing (EXT.116)")


def check_boundary_events(model: LintModel) -> Iterator[Problem]:
    """EXT.110–EXT.114, EXT.120, EXT.130, EXT.143, EXT.144, EXT.147: boundary events start a path of their own."""
    for event in model.by_kind["boundaryEvent"]:
        kinds = model.trigger_kinds(event)
        if is_true(event, "cancelActivity", default=True):
            yield from _disallowed(model, event, _INTERRUPTING_BOUNDARY, "a boundary event",
                                   "boundary-event-trigger (EXT.110, EXT.130, EXT.147)", none_allowed=False)
        else:
            yield from _disallowed(model, event, _NON_INTERRUPTING_BOUNDARY, "a non-interrupting boundary event",
                                   "boundary-event-trigger (EXT.110, EXT.147)", none_allowed=False)
        attached = model.resolve(event, event.get("attachedToRef"))
        if attached is not None:
            if "cancel" in kinds and kind_of(attached) != "transaction":
                yield model.problem(event, f"{model.describe(event)} is a cancel boundary event attached to "
                                    f"{model.describe(attached)}; cancel events can only be attached to a transaction",
                                    "cancel-boundary-event (EXT.111, EXT.120)")
            if model.container(attached) is not model.container(event):
                yield model.problem(event, f"{model.describe(event)} is attached to {model.describe(attached)}, which "
                                    "is not in the same process level as the event", "boundary-attachment")
        if model.incoming_of(event):
            yield model.problem(event, f"{model.describe(event)} has an incoming sequence flow; a boundary event is "
                                "triggered while its activity runs and cannot be entered",
                                "boundary-event-incoming (EXT.112)")
        if "compensate" in kinds:
            yield from _check_compensation_handler(model, event)
        elif not model.outgoing_of(event):
            yield model.problem(event, f"{model.describe(event)} has no outgoing sequence flow, so the path it starts "
                                "goes nowhere", "boundary-event-outgoing (EXT.113)")


def _check_compensation_handler(model: LintModel, event: Element) -> Iterator[Problem]:
    if model.outgoing_of(event):
        yield model.problem(event, f"{model.describe(event)} is a compensation boundary event with an outgoing "
                            "sequence flow; it must be connected to its compensation activity by an association",
                            "compensation-boundary-flows (EXT.114)")
    handlers = [model.resolve(association, association.get("targetRef"))
                for association in model.by_kind["association"]
                if model.local_ref(association, association.get("sourceRef")) == event.get("id")]
    handlers = [handler for handler in handlers if handler is not None]
    if not handlers:
        yield model.problem(event, f"{model.describe(event)} is not associated with a compensation activity",
                            "compensation-handler (EXT.143)")
    for handler in handlers:
        if not model.is_compensation(handler):
            yield model.problem(event, f"{model.describe(event)} is associated with {model.describe(handler)}, which "
                                "is not marked isForCompensation=\"true\"", "compensation-handler (EXT.144)")


def check_link_events(model: LintModel) -> Iterator[Problem]:
    """Link throw and catch events pair up within one process level, by name (EXT.118, EXT.124–126)."""
    throws = _links_by_scope(model, "intermediateThrowEvent")
    catches = _links_by_scope(model, "intermediateCatchEvent")
    for (scope, name), pairs in throws.items():
        named = catches.get((scope, name), [])
        for event, definition in pairs:
            yield from _check_link_targets(model, event, definition, name)
            if not named:
                yield model.problem(event, f"{model.describe(event)} throws the link '{name}', but no link catch event "
                                    "in the same process level has that name", "link-target (EXT.125)")
            elif len(named) > 1:
                yield model.problem(event, f"{model.describe(event)} throws the link '{name}', which {len(named)} link "
                                    "catch events of the same process level are named", "link-target (EXT.125)")
    for (scope, name), pairs in catches.items():
        if (scope, name) not in throws:
            for event, _ in pairs:
                yield model.problem(event, f"{model.describe(event)} catches the link '{name}', but no link throw "
                                    "event in the same process level throws it", "link-source (EXT.124)")


def _check_link_targets(model: LintModel, event: Element, definition: Element, name: str) -> Iterator[Problem]:
    """Explicit ``<target>`` references agree with the pairing by name."""
    for reference in model.refs(definition, "target"):
        target = model.resolve(definition, reference)
        owner = target.getparent() if target is not None else None
        if target is None or owner is None or kind_of(target) != "linkEventDefinition":
            continue
        if model.container(owner) is not model.container(event):
            yield model.problem(event, f"{model.describe(event)} links to {model.describe(owner)} in another process "
                                "level; links stay within one level", "link-same-level (EXT.126)")
        elif _link_name(target) != name:
            yield model.problem(event, f"{model.describe(event)} targets {model.describe(owner)}, but their link "
                                f"names differ ('{name}' and '{_link_name(target)}'); link events are paired by name",
                                "link-pairs (EXT.118)")
        elif model.refs(target, "source") and definition.get("id") not in model.refs(target, "source"):
            yield model.problem(event, f"{model.describe(event)} targets {model.describe(owner)}, which does not list "
                                "it among its sources", "link-pairs (EXT.118)")


def _link_name(definition: Element) -> str:
    return (definition.get("name") or "").strip()


def _links_by_scope(model: LintModel, kind: str) -> dict[tuple[str, str], list[tuple[Element, Element]]]:
    """Link events of one kind, grouped by their process level (its id, or line) and link name."""
    grouped: dict[tuple[str, str], list[tuple[Element, Element]]] = {}
    for event in model.by_kind[kind]:
        container = model.container(event)
        scope = "" if container is None else container.get("id") or f"line {container.sourceline}"
        for definition in model.event_definitions(event):
            if kind_of(definition) == "linkEventDefinition":
                grouped.setdefault((scope, _link_name(definition)), []).append((event, definition))
    return grouped


def check_event_references(model: LintModel) -> Iterator[Problem]:
    """Throwing events must say what they throw; an escalation needs a code to be caught by (EXT.011)."""
    for kind in ("endEvent", "intermediateThrowEvent"):
        for event in model.by_kind[kind]:
            for definition in model.event_definitions(event):
                definition_kind = kind_of(definition)
                if definition_kind == "escalationEventDefinition":
                    escalation = model.resolve(definition, definition.get("escalationRef"))
                    if not (definition.get("escalationRef") or "").strip():
                        yield model.problem(event, f"{model.describe(event)} throws an escalation but names none "
                                            "(escalationRef is missing)", "escalation-code (EXT.011)")
                    elif escalation is not None and not (escalation.get("escalationCode") or "").strip():
                        yield model.problem(event, f"{model.describe(event)} throws {model.describe(escalation)}, "
                                            "which has no escalationCode to be caught by", "escalation-code (EXT.011)")
                elif definition_kind == "errorEventDefinition" and not (definition.get("errorRef") or "").strip():
                    yield model.problem(event, f"{model.describe(event)} throws an error but names none (errorRef is "
                                        "missing)", "error-ref")
    for definition in model.by_kind["messageEventDefinition"]:
        event = definition.getparent()
        if event is None or kind_of(event) not in ("startEvent", "endEvent", "intermediateThrowEvent",
                                                   "intermediateCatchEvent", "boundaryEvent"):
            continue
        if not (definition.get("messageRef") or "").strip() and model.is_executable(event):
            yield model.problem(event, f"{model.describe(event)} is a message event that names no message "
                                "(messageRef is missing)", "message-ref (EXT.127)")
    for definition in model.by_kind["conditionalEventDefinition"]:
        condition = model.child(definition, "condition")
        if condition is None or not "".join(condition.itertext()).strip():
            owner = definition.getparent() if definition.getparent() is not None else definition
            yield model.problem(owner, f"{model.describe(owner)} has a conditional trigger without a condition",
                                "conditional-event-condition (EXT.123)")
