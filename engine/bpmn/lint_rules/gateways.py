"""Gateway rules: how many flows a gateway joins and splits, and how it chooses between them.

A gateway whose outgoing flows cannot be told apart (no conditions, no default) or whose declared
direction contradicts its flows is ambiguous; an engine either refuses it or picks a path the
author did not mean.
"""

from __future__ import annotations

from collections.abc import Iterator

from engine.bpmn.lint_rules.model import ACTIVITIES, Element, LintModel, is_true, kind_of
from engine.errors import Problem

_RECEIVING_TRIGGERS = frozenset({"message", "signal", "timer", "conditional"})


def check_gateway_directions(model: LintModel) -> Iterator[Problem]:
    """A gateway joins or splits (EXT.135) and does what its gatewayDirection says (EXT.017–EXT.019)."""
    for kind in ("exclusiveGateway", "inclusiveGateway", "parallelGateway", "complexGateway", "eventBasedGateway"):
        for gateway in model.by_kind[kind]:
            incoming, outgoing = len(model.incoming_of(gateway)), len(model.outgoing_of(gateway))
            direction = (gateway.get("gatewayDirection") or "Unspecified").strip()
            counts = f"{incoming} incoming and {outgoing} outgoing flows"
            if direction == "Converging" and outgoing > 1:
                yield model.problem(gateway, f"{model.describe(gateway)} is declared converging but has {counts}; a "
                                    "converging gateway has at most one outgoing flow", "gateway-direction (EXT.017)")
            elif direction == "Diverging" and incoming > 1:
                yield model.problem(gateway, f"{model.describe(gateway)} is declared diverging but has {counts}; a "
                                    "diverging gateway has at most one incoming flow", "gateway-direction (EXT.018)")
            elif direction == "Mixed" and (incoming < 2 or outgoing < 2):
                yield model.problem(gateway, f"{model.describe(gateway)} is declared mixed but has {counts}; a mixed "
                                    "gateway has several of each", "gateway-direction (EXT.019)")
            if incoming < 2 and outgoing < 2:
                yield model.problem(gateway, f"{model.describe(gateway)} has {counts}; a gateway must join several "
                                    "flows or split into several: remove it and let its incoming flow lead straight "
                                    "on, or give it the flows it is to choose between",
                                    "gateway-joins-or-splits (EXT.135)")


def check_default_flows(model: LintModel) -> Iterator[Problem]:
    """A ``default`` names one of the element's own outgoing flows (EXT.026)."""
    for kinds in (("exclusiveGateway", "inclusiveGateway", "complexGateway"), tuple(ACTIVITIES)):
        for kind in kinds:
            for element in model.by_kind[kind]:
                reference = (element.get("default") or "").strip()
                if not reference:
                    continue
                flow = model.resolve(element, reference)
                if flow is None or kind_of(flow) != "sequenceFlow":
                    yield model.problem(element, f"{model.describe(element)} names '{reference}' as its default flow, "
                                        "but that is not a sequence flow of this file",
                                        "default-flow (EXT.026)")
                elif model.local_ref(flow, flow.get("sourceRef")) != element.get("id"):
                    yield model.problem(element, f"{model.describe(element)} names {model.describe(flow)} as its "
                                        "default flow, but that flow does not leave it", "default-flow (EXT.026)")


def check_gateway_conditions(model: LintModel) -> Iterator[Problem]:
    """A splitting gateway that chooses by condition can tell every outgoing flow apart."""
    for kind in ("exclusiveGateway", "inclusiveGateway", "complexGateway"):
        for gateway in model.by_kind[kind]:
            outgoing = model.outgoing_of(gateway)
            if len(outgoing) < 2:
                continue
            default = model.local_ref(gateway, gateway.get("default"))
            unconditioned = [flow for flow in outgoing if flow.get("id") != default
                             and model.child(flow, "conditionExpression") is None]
            conditioned = len(outgoing) - len(unconditioned) - (1 if default else 0)
            if not unconditioned:
                continue
            if kind == "exclusiveGateway" or (conditioned and not default):
                names = ", ".join(model.describe(flow) for flow in unconditioned)
                default_words = "besides the default flow" if default else "and no default flow"
                yield model.problem(gateway, f"{model.describe(gateway)} has {len(unconditioned)} outgoing flows "
                                    f"without conditions {default_words} ({names}); give each a condition or make "
                                    "one the default", "gateway-conditions")


def check_event_based_gateways(model: LintModel) -> Iterator[Problem]:
    """Event-based gateways wait for one of several events (EXT.136–EXT.142)."""
    for gateway in model.by_kind["eventBasedGateway"]:
        outgoing = model.outgoing_of(gateway)
        if len(outgoing) < 2:
            yield model.problem(gateway, f"{model.describe(gateway)} has {len(outgoing)} outgoing flow(s); an "
                                "event-based gateway chooses between two or more events",
                                "event-gateway-outgoing (EXT.136)")
        if is_true(gateway, "instantiate") and model.incoming_of(gateway):
            yield model.problem(gateway, f"{model.describe(gateway)} starts the process (instantiate=\"true\") but has "
                                "an incoming sequence flow", "event-gateway-instantiate (EXT.142)")
        targets = [model.resolve(flow, flow.get("targetRef")) for flow in outgoing]
        targets = [target for target in targets if target is not None]
        for target in targets:
            yield from _check_event_gateway_target(model, gateway, target)
        has_receive_task = any(kind_of(target) == "receiveTask" for target in targets)
        has_message_event = any(kind_of(target) == "intermediateCatchEvent" and "message" in model.trigger_kinds(target)
                                for target in targets)
        if has_receive_task and has_message_event:
            yield model.problem(gateway, f"{model.describe(gateway)} waits for both receive tasks and message events; "
                                "use one or the other", "event-gateway-targets (EXT.139)")


def _check_event_gateway_target(model: LintModel, gateway: Element, target: Element) -> Iterator[Problem]:
    kind = kind_of(target)
    if kind == "receiveTask":
        attached = [event for event in model.by_kind["boundaryEvent"]
                    if model.local_ref(event, event.get("attachedToRef")) == target.get("id")]
        if attached:
            yield model.problem(target, f"{model.describe(target)} follows {model.describe(gateway)} and has boundary "
                                "events attached; receive tasks after an event-based gateway may not",
                                "event-gateway-targets (EXT.140)")
    elif kind != "intermediateCatchEvent" or not model.trigger_kinds(target) or \
            model.trigger_kinds(target) - _RECEIVING_TRIGGERS:
        yield model.problem(gateway, f"{model.describe(gateway)} leads to {model.describe(target)}; an event-based "
                            "gateway may only lead to receive tasks or to intermediate catch events for messages, "
                            "signals, timers or conditions", "event-gateway-targets (EXT.138)")
    if len(model.incoming_of(target)) > 1:
        yield model.problem(target, f"{model.describe(target)} follows {model.describe(gateway)} and has other "
                            "incoming flows too", "event-gateway-targets (EXT.141)")
