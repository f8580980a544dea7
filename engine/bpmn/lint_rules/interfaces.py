"""Interface rules: data passed to operations, messages, events and called elements fits what they declare.

A service, send or receive task, an event with data, or a call activity exchanges values with
something declared elsewhere (an operation, a message, a called process). The spec requires the
two sides to agree in number and item type.
"""

from __future__ import annotations

from collections.abc import Iterator

from engine.bpmn.lint_rules.data import item_of, same_item
from engine.bpmn.lint_rules.model import CALLABLE, EVENT_DEFINITIONS, Element, LintModel, kind_of, text_of
from engine.errors import Problem

_TRIGGER_TYPE_SOURCES = {"messageEventDefinition": "messageRef", "signalEventDefinition": "signalRef",
                         "errorEventDefinition": "errorRef", "escalationEventDefinition": "escalationRef"}


def _specification_parts(model: LintModel, owner: Element | None) -> dict[str, list[Element]]:
    specification = None if owner is None else model.child(owner, "ioSpecification")
    parts: dict[str, list[Element]] = {kind: [] for kind in ("dataInput", "dataOutput", "inputSet", "outputSet")}
    if specification is not None:
        for kind, found in parts.items():
            found.extend(model.children(specification, kind))
    return parts


def _operation_message(model: LintModel, operation: Element, kind: str) -> Element | None:
    return model.resolve(operation, text_of(model.child(operation, kind)))


def check_service_tasks(model: LintModel) -> Iterator[Problem]:
    """EXT.042–EXT.045: a service task calling an operation passes its in-message and takes its out-message."""
    for task in model.by_kind["serviceTask"]:
        operation = model.resolve(task, task.get("operationRef"))
        if operation is None or kind_of(operation) != "operation":
            continue
        parts = _specification_parts(model, task)
        if len(parts["inputSet"]) != 1:
            yield model.problem(task, f"{model.describe(task)} calls {model.describe(operation)} and so needs exactly "
                                f"one input set, not {len(parts['inputSet'])}", "service-task-io (EXT.042)")
        if len(parts["outputSet"]) > 1:
            yield model.problem(task, f"{model.describe(task)} calls {model.describe(operation)} and so may have at "
                                f"most one output set, not {len(parts['outputSet'])}", "service-task-io (EXT.043)")
        for data_kind, message_kind, rule in (("dataInput", "inMessageRef", "EXT.044"),
                                              ("dataOutput", "outMessageRef", "EXT.045")):
            message = _operation_message(model, operation, message_kind)
            for data in parts[data_kind]:
                if message is not None and not same_item(item_of(model, data), item_of(model, message)):
                    yield model.problem(task, f"{model.describe(task)} has {model.describe(data)} whose type differs "
                                        f"from that of {model.describe(message)} of {model.describe(operation)}",
                                        f"service-task-io ({rule})")


def check_message_tasks(model: LintModel) -> Iterator[Problem]:
    """EXT.046–EXT.052: a send (receive) task's single data input (output) carries its message."""
    for kind, data_kind, set_kind, rules in (("sendTask", "dataInput", "inputSet", ("EXT.046", "EXT.047", "EXT.048")),
                                             ("receiveTask", "dataOutput", "outputSet",
                                              ("EXT.050", "EXT.051", "EXT.052"))):
        for task in model.by_kind[kind]:
            message = model.resolve(task, task.get("messageRef"))
            if message is None or kind_of(message) != "message":
                continue
            parts = _specification_parts(model, task)
            if len(parts[set_kind]) > 1:
                yield model.problem(task, f"{model.describe(task)} has {len(parts[set_kind])} {set_kind}s; with a "
                                    "message it may have at most one", f"message-task-io ({rules[0]})")
            if len(parts[data_kind]) > 1:
                yield model.problem(task, f"{model.describe(task)} has {len(parts[data_kind])} {data_kind}s; with a "
                                    "message it may have at most one", f"message-task-io ({rules[1]})")
            carried = item_of(model, message)
            for data in parts[data_kind]:
                typed = item_of(model, data)
                if carried is not None and (typed is None or not same_item(typed, carried)):
                    yield model.problem(task, f"{model.describe(task)} has {model.describe(data)}, which is not typed "
                                        f"like {model.describe(message)} ({model.describe(carried)})",
                                        f"message-task-io ({rules[2]})")


def check_event_data(model: LintModel) -> Iterator[Problem]:
    """EXT.093, EXT.094: an event with data has one input (output) per trigger, typed like that trigger."""
    for kind, data_kind in (("intermediateThrowEvent", "dataInput"), ("endEvent", "dataInput"),
                            ("startEvent", "dataOutput"), ("intermediateCatchEvent", "dataOutput"),
                            ("boundaryEvent", "dataOutput")):
        for event in model.by_kind[kind]:
            data = model.children(event, data_kind)
            if not data:
                continue
            triggers = [child for child in event if kind_of(child) in EVENT_DEFINITIONS or
                        kind_of(child) == "eventDefinitionRef"]
            if len(data) != len(triggers):
                yield model.problem(event, f"{model.describe(event)} has {len(data)} {data_kind}s for "
                                    f"{len(triggers)} triggers; it needs one per trigger", "event-data (EXT.093)")
                continue
            for value, trigger in zip(data, model.event_definitions(event), strict=False):
                reference = _TRIGGER_TYPE_SOURCES.get(kind_of(trigger))
                carried = model.resolve(trigger, trigger.get(reference)) if reference else None
                if carried is not None and not same_item(item_of(model, value), item_of(model, carried)):
                    yield model.problem(event, f"{model.describe(event)} has {model.describe(value)} whose type "
                                        f"differs from that of {model.describe(carried)}", "event-data (EXT.094)")


def check_call_activity_io(model: LintModel) -> Iterator[Problem]:
    """EXT.063: a call activity with a specification mirrors the one of what it calls, when that is in this file."""
    for call in model.by_kind["callActivity"]:
        called = model.resolve(call, call.get("calledElement"))
        if called is None or kind_of(called) not in CALLABLE or model.child(call, "ioSpecification") is None:
            continue
        mine, theirs = _specification_parts(model, call), _specification_parts(model, called)
        for kind in ("dataInput", "dataOutput", "inputSet", "outputSet"):
            if len(mine[kind]) != len(theirs[kind]):
                yield model.problem(call, f"{model.describe(call)} has {len(mine[kind])} {kind}s but "
                                    f"{model.describe(called)} has {len(theirs[kind])}", "call-activity-io (EXT.063)")
                break
        else:
            for kind in ("dataInput", "dataOutput"):
                for own, other in zip(mine[kind], theirs[kind], strict=True):
                    if not same_item(item_of(model, own), item_of(model, other)):
                        yield model.problem(call, f"{model.describe(call)} has {model.describe(own)} whose type "
                                            f"differs from that of {model.describe(other)} of {model.describe(called)}",
                                            "call-activity-io (EXT.063)")


def check_exposed_interfaces(model: LintModel) -> Iterator[Problem]:
    """EXT.064, EXT.065: a callable element offered as a service binds its data to the operation's messages."""
    for kind in CALLABLE:
        for callable_element in model.by_kind[kind]:
            if model.child(callable_element, "supportedInterfaceRef") is None:
                continue
            bindings = model.children(callable_element, "ioBinding")
            if not bindings:
                yield model.problem(callable_element, f"{model.describe(callable_element)} supports an interface but "
                                    "binds none of its data to its operations (no ioBinding)",
                                    "interface-binding (EXT.064)")
            for binding in bindings:
                operation = model.resolve(binding, binding.get("operationRef"))
                if operation is None or kind_of(operation) != "operation":
                    continue
                for attribute, message_kind in (("inputDataRef", "inMessageRef"), ("outputDataRef", "outMessageRef")):
                    data = model.resolve(binding, binding.get(attribute))
                    message = _operation_message(model, operation, message_kind)
                    if data is not None and message is not None and \
                            not same_item(item_of(model, data), item_of(model, message)):
                        yield model.problem(callable_element, f"{model.describe(callable_element)} binds "
                                            f"{model.describe(data)} to {model.describe(message)} of "
                                            f"{model.describe(operation)}, but their types differ",
                                            "interface-binding (EXT.065)")
