"""Sequence-flow rules: where a flow may start and end, and what may be written on it.

A sequence flow moves a token within one level of one process. The schema only checks that
``sourceRef`` and ``targetRef`` are QNames, so flows into artifacts, into other pools or across a
sub-process border pass it and then either break the parser or silently never fire.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator

from engine.bpmn.lint_rules.model import (
    ACTIVITIES,
    ARTIFACTS,
    EVENTS,
    FLOW_NODES,
    ITEM_AWARE,
    Element,
    LintModel,
    kind_of,
)
from engine.errors import Problem


def check_flow_ends(model: LintModel) -> Iterator[Problem]:
    """Both ends of a flow exist, are flow nodes, and sit in the same process level as the flow."""
    for flow in model.by_kind["sequenceFlow"]:
        ends = []
        for attribute, direction in (("sourceRef", "source"), ("targetRef", "target")):
            end = yield from _flow_end(model, flow, attribute, direction)
            ends.append(end)
        source, target = ends
        if source is None or target is None:
            continue
        flow_container = model.container(flow)
        if flow_container is None:
            continue
        if model.process_of(source) is not model.process_of(target):
            yield model.problem(flow, f"{model.describe(flow)} connects {model.describe(source)} and "
                                f"{model.describe(target)}, which belong to different processes (pools); only "
                                "message flows may cross between pools", "flow-within-pool (EXT.028)")
            continue
        for end in (source, target):
            end_container = model.container(end)
            if end_container is not flow_container:
                deeper = end_container is not None and flow_container in end_container.iterancestors()
                border = end_container if deeper else flow_container
                yield model.problem(flow, f"{model.describe(flow)} crosses the border of {model.describe(border)} "
                                    f"to reach {model.describe(end)}; a sequence flow stays inside one process "
                                    "level", "flow-within-level (EXT.152)")
                break


def _flow_end(model: LintModel, flow: Element, attribute: str,
              direction: str) -> Generator[Problem, None, Element | None]:
    """Report what is wrong with one end of ``flow``; return that end when it is a usable flow node."""
    reference = (flow.get(attribute) or "").strip()
    if model.is_external(flow, reference):
        return None
    end = model.resolve(flow, reference)
    if end is None:
        yield model.problem(flow, f"{model.describe(flow)} has the {direction} '{reference}', which is not an element "
                            "of this file", "flow-ends-exist (REF)")
        return None
    kind = kind_of(end)
    rule = "EXT.007" if direction == "source" else "EXT.006"
    if kind in ARTIFACTS or kind in ITEM_AWARE:
        yield model.problem(flow, f"{model.describe(flow)} has {model.describe(end)} as its {direction}; artifacts "
                            f"and data cannot be connected by sequence flows (use an association)",
                            f"flow-ends-are-flow-nodes ({rule})")
        return None
    if kind not in FLOW_NODES:
        yield model.problem(flow, f"{model.describe(flow)} has {model.describe(end)} as its {direction}; only "
                            "activities, gateways and events can be connected by sequence flows",
                            "flow-ends-are-flow-nodes (REF)")
        return None
    if model.is_event_sub_process(end):
        rule = "EXT.021" if direction == "source" else "EXT.022"
        yield model.problem(flow, f"{model.describe(flow)} has {model.describe(end)} as its {direction}; an event "
                            "sub-process is started by its event and has no sequence flows",
                            f"event-sub-process-flows ({rule}, EXT.057)")
        return None
    return end


def check_declared_flows(model: LintModel) -> Iterator[Problem]:
    """``<incoming>``/``<outgoing>`` agree with the flows' ``sourceRef``/``targetRef`` (EXT.023).

    Both name the same link, and tools that write the lists keep them in step; a list that
    disagrees means a hand edit went half way. Documents that list no incoming or outgoing flows at
    all (a hand-written, minimal style the spec allows) are only checked for wrong entries.
    """
    lists_flows = bool(model.by_kind["incoming"] or model.by_kind["outgoing"])
    for node in model.of_kinds(FLOW_NODES):
        for child_kind, actual, end_attribute in (("incoming", model.incoming_of(node), "targetRef"),
                                                  ("outgoing", model.outgoing_of(node), "sourceRef")):
            declared = model.refs(node, child_kind)
            for reference in declared:
                flow = model.resolve(node, reference)
                if flow is None and model.is_external(node, reference):
                    continue
                if flow is None or kind_of(flow) != "sequenceFlow":
                    yield model.problem(node, f"{model.describe(node)} lists '{reference}' as an {child_kind} flow, "
                                        "but that is not a sequence flow of this file; remove "
                                        f"<bpmn:{child_kind}>{reference}</bpmn:{child_kind}> from it (the sequence "
                                        "flows' sourceRef and targetRef say what is connected)",
                                        "declared-flows (EXT.023)")
                elif model.local_ref(flow, flow.get(end_attribute)) != node.get("id"):
                    yield model.problem(node, f"{model.describe(node)} lists {model.describe(flow)} as an "
                                        f"{child_kind} flow, but that flow does not {_verb(child_kind)} it; remove "
                                        f"<bpmn:{child_kind}>{reference}</bpmn:{child_kind}> from it, or set the "
                                        f"flow's {end_attribute} to {node.get('id')}", "declared-flows (EXT.023)")
            if not lists_flows:
                continue
            listed = {model.local_ref(node, reference) for reference in declared}
            for flow in actual:
                if flow.get("id") not in listed:
                    yield model.problem(node, f"{model.describe(node)} does not list {model.describe(flow)} among "
                                        f"its {child_kind} flows although the flow {_verb(child_kind)}s it; add "
                                        f"<bpmn:{child_kind}>{flow.get('id')}</bpmn:{child_kind}> to it",
                                        "declared-flows (EXT.023)")


def _verb(child_kind: str) -> str:
    return "enter" if child_kind == "incoming" else "leave"


def check_immediate_flows(model: LintModel) -> Iterator[Problem]:
    """EXT.024: executable processes move tokens immediately; a non-immediate flow cannot be executed."""
    for flow in model.by_kind["sequenceFlow"]:
        if flow.get("isImmediate", "").strip() == "false" and model.is_executable(flow):
            yield model.problem(flow, f"{model.describe(flow)} is marked isImmediate=\"false\", which an executable "
                                "process cannot honour", "immediate-flows (EXT.024)")


def check_conditional_flows(model: LintModel) -> Iterator[Problem]:
    """Conditions belong on flows out of activities and gateways that choose, never out of events.

    A condition on a flow out of a parallel gateway is ignored by the spec's semantics (betsy's
    ParallelGateway_Conditions expects exactly that), so it is not refused.
    """
    for flow in model.by_kind["sequenceFlow"]:
        if model.child(flow, "conditionExpression") is None:
            continue
        source = model.resolve(flow, flow.get("sourceRef"))
        if source is None:
            continue
        kind = kind_of(source)
        if kind == "eventBasedGateway":
            yield model.problem(flow, f"{model.describe(flow)} has a condition, but it leaves "
                                f"{model.describe(source)}; the event that occurs first chooses the path there",
                                "event-gateway-conditions (EXT.137)")
        elif kind in EVENTS:
            yield model.problem(flow, f"{model.describe(flow)} has a condition, but it leaves "
                                f"{model.describe(source)}; only activities and exclusive, inclusive or complex "
                                "gateways may have conditional outgoing flows", "conditional-flow-source")
        elif kind in ACTIVITIES and len(model.outgoing_of(source)) < 2:
            yield model.problem(flow, f"{model.describe(flow)} is the only flow out of {model.describe(source)} and "
                                "has a condition; a conditional flow from an activity needs at least one other "
                                "outgoing flow", "activity-conditional-flow (EXT.025)")
