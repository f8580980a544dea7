"""Reachability rules: once a level of a process has start (end) events, every path starts (ends) at one.

Without start events the spec lets every node without incoming flows start implicitly, and without
end events every node without outgoing flows ends implicitly. Once an author draws explicit ones, a
node that no start event reaches never runs, and a node with nowhere to go is a forgotten flow.
"""

from __future__ import annotations

from collections.abc import Iterator

from engine.bpmn.lint_rules.model import ACTIVITIES, GATEWAYS, Element, LintModel, is_true, kind_of
from engine.errors import Problem

_CHECKED_CONTAINERS = ("process", "subProcess", "transaction")


def _containers(model: LintModel) -> Iterator[Element]:
    for kind in _CHECKED_CONTAINERS:
        yield from model.by_kind[kind]


def _instantiating(model: LintModel, container: Element, nodes: list[Element]) -> list[Element]:
    starts = [node for node in nodes if kind_of(node) == "startEvent"]
    if kind_of(container) == "process":
        starts += [node for node in nodes if kind_of(node) in ("receiveTask", "eventBasedGateway")
                   and is_true(node, "instantiate") and not model.incoming_of(node)]
    return starts


def _successors(model: LintModel, node: Element, nodes_by_id: dict[str, Element],
                boundary_events: dict[str, list[Element]], links: dict[str, list[Element]]) -> Iterator[Element]:
    for flow in model.outgoing_of(node):
        target = nodes_by_id.get(model.local_ref(flow, flow.get("targetRef")) or "")
        if target is not None:
            yield target
    yield from boundary_events.get(node.get("id") or "", ())
    if kind_of(node) == "intermediateThrowEvent":
        for definition in model.event_definitions(node):
            if kind_of(definition) == "linkEventDefinition":
                yield from links.get((definition.get("name") or "").strip(), ())


def _walk(model: LintModel, starts: list[Element], allowed: set[str], nodes_by_id: dict[str, Element],
          boundary_events: dict[str, list[Element]], links: dict[str, list[Element]]) -> set[str]:
    seen = {node.get("id") or "" for node in starts}
    stack = list(starts)
    while stack:
        for successor in _successors(model, stack.pop(), nodes_by_id, boundary_events, links):
            identifier = successor.get("id") or ""
            if identifier in allowed and identifier not in seen:
                seen.add(identifier)
                stack.append(successor)
    return seen


def check_reachable_from_start(model: LintModel) -> Iterator[Problem]:
    """EXT.150 and beyond: every flow node of a level with start events is reached from one of them."""
    for container in _containers(model):
        nodes = [node for node in model.flow_nodes(container) if node.get("id")]
        starts = _instantiating(model, container, nodes)
        if not starts:
            continue
        nodes_by_id = {node.get("id") or "": node for node in nodes}
        boundary_events: dict[str, list[Element]] = {}
        links: dict[str, list[Element]] = {}
        for node in nodes:
            if kind_of(node) == "boundaryEvent":
                boundary_events.setdefault(model.local_ref(node, node.get("attachedToRef")) or "", []).append(node)
            elif kind_of(node) == "intermediateCatchEvent":
                for definition in model.event_definitions(node):
                    if kind_of(definition) == "linkEventDefinition":
                        links.setdefault((definition.get("name") or "").strip(), []).append(node)
        reached = _walk(model, starts, set(nodes_by_id), nodes_by_id, boundary_events, links)
        unreached = [node for node in nodes if node.get("id") not in reached and not _exempt(model, node, links)]
        explained: set[str] = set()
        pending = {node.get("id") or "" for node in unreached}
        for needs_no_incoming in (True, False):
            for node in unreached:
                identifier = node.get("id") or ""
                if identifier in explained or (needs_no_incoming and model.incoming_of(node)):
                    continue
                explained |= _walk(model, [node], pending, nodes_by_id, boundary_events, links)
                if needs_no_incoming:
                    message = (f"{model.describe(node)} has no incoming sequence flow, so no start event of "
                               f"{model.describe(container)} reaches it and it would never run; draw a sequence "
                               "flow into it from the step it follows, or remove it")
                else:
                    message = (f"{model.describe(node)} cannot be reached from any start event of "
                               f"{model.describe(container)} (it is only entered from a loop that nothing leads "
                               "into); draw a sequence flow into the loop from the step it follows, or remove it")
                yield model.problem(node, message, "reachable-from-start (EXT.150)")


def _exempt(model: LintModel, node: Element, links: dict[str, list[Element]]) -> bool:
    """Nodes that are started by something other than an incoming flow, or judged by another rule."""
    kind = kind_of(node)
    if kind in ("startEvent", "boundaryEvent") or model.is_event_sub_process(node) or model.is_compensation(node):
        return True
    if kind == "intermediateCatchEvent" and "link" in model.trigger_kinds(node):
        names = {(d.get("name") or "").strip() for d in model.event_definitions(node)}
        return not any(model.container(throw) is model.container(node)
                       and names & {(d.get("name") or "").strip() for d in model.event_definitions(throw)}
                       for throw in model.by_kind["intermediateThrowEvent"])
    return False


def check_paths_end(model: LintModel) -> Iterator[Problem]:
    """EXT.151: in a level with end events, activities and gateways lead somewhere.

    Events without outgoing flows are reported by the event rules, which know their exceptions.
    """
    for container in _containers(model):
        nodes = model.flow_nodes(container)
        if not any(kind_of(node) == "endEvent" for node in nodes):
            continue
        for node in nodes:
            kind = kind_of(node)
            if kind not in ACTIVITIES and kind not in GATEWAYS:
                continue
            if model.is_event_sub_process(node) or model.is_compensation(node) or model.outgoing_of(node):
                continue
            yield model.problem(node, f"{model.describe(node)} has no outgoing sequence flow although "
                                f"{model.describe(container)} uses end events; connect it to the rest of the flow",
                                "paths-end (EXT.151)")


def check_start_and_end_pair(model: LintModel) -> Iterator[Problem]:
    """EXT.097 and EXT.105: a level that uses start events also uses end events, and the other way round."""
    for container in _containers(model):
        nodes = model.flow_nodes(container)
        has_end = any(kind_of(node) == "endEvent" for node in nodes)
        has_start = bool(_instantiating(model, container, nodes))
        if has_end and not has_start:
            yield model.problem(container, f"{model.describe(container)} has end events but no start event",
                                "start-with-end (EXT.097)")
        elif has_start and not has_end and any(kind_of(node) == "startEvent" for node in nodes):
            yield model.problem(container, f"{model.describe(container)} has a start event but no end event",
                                "end-with-start (EXT.105)")
