"""Collaboration rules: message flows between pools, participants, conversations and choreographies.

Huhua runs processes, but a deployed file often carries the collaboration diagram around them; a
message flow inside one pool or out of a start event describes an exchange that cannot happen.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from engine.bpmn.lint_rules.model import ACTIVITIES, ARTIFACTS, EVENTS, Element, LintModel, is_true, kind_of
from engine.errors import Problem

_INTEGER = re.compile(r"^[+-]?\d+$")
_INTERACTION_NODES = ACTIVITIES | EVENTS | {"participant"}


def _pool_of(model: LintModel, element: Element, pools: dict[str, str]) -> str | None:
    """The participant (or, without one, the process) an element belongs to."""
    if kind_of(element) == "participant":
        return element.get("id")
    process = model.process_of(element)
    if process is None:
        return None
    return pools.get(process.get("id") or "", process.get("id"))


def check_message_flows(model: LintModel) -> Iterator[Problem]:
    """EXT.008, EXT.009, EXT.031: message flows connect interaction nodes of two different pools."""
    pools = {model.local_ref(p, p.get("processRef")) or "": p.get("id") or "" for p in model.by_kind["participant"]
             if p.get("processRef")}
    for flow in model.by_kind["messageFlow"]:
        ends = []
        for attribute, direction, rule in (("sourceRef", "source", "EXT.009"), ("targetRef", "target", "EXT.008")):
            reference = (flow.get(attribute) or "").strip()
            end = model.resolve(flow, reference)
            if end is None and not model.is_external(flow, reference):
                yield model.problem(flow, f"{model.describe(flow)} has the {direction} '{reference}', which is not an "
                                    "element of this file", "message-flow-ends (REF)")
            elif end is not None and kind_of(end) in ARTIFACTS:
                yield model.problem(flow, f"{model.describe(flow)} has {model.describe(end)} as its {direction}; "
                                    "artifacts cannot send or receive messages", f"message-flow-ends ({rule})")
                end = None
            elif end is not None and kind_of(end) not in _INTERACTION_NODES:
                yield model.problem(flow, f"{model.describe(flow)} has {model.describe(end)} as its {direction}; "
                                    "message flows connect participants, activities and events",
                                    "message-flow-ends (REF)")
                end = None
            ends.append(end)
        source, target = ends
        if source is None or target is None:
            continue
        source_pool, target_pool = _pool_of(model, source, pools), _pool_of(model, target, pools)
        if source_pool is not None and source_pool == target_pool:
            yield model.problem(flow, f"{model.describe(flow)} connects {model.describe(source)} and "
                                f"{model.describe(target)} in the same pool; message flows connect different pools "
                                "(use a sequence flow within one)", "message-flow-pools (EXT.031)")


def check_message_flow_events(model: LintModel) -> Iterator[Problem]:
    """EXT.102, EXT.103, EXT.108, EXT.109, EXT.119: which events may send or receive message flows."""
    for event in model.by_kind["startEvent"]:
        identifier = event.get("id") or ""
        if model.message_sources.get(identifier):
            yield model.problem(event, f"{model.describe(event)} sends a message flow; a start event can only "
                                "receive one", "message-flow-events (EXT.102)")
        if model.message_targets.get(identifier) and "message" not in model.trigger_kinds(event):
            yield model.problem(event, f"{model.describe(event)} receives a message flow but is not a message start "
                                "event", "message-flow-events (EXT.103)")
    for event in model.by_kind["endEvent"]:
        identifier = event.get("id") or ""
        if model.message_targets.get(identifier):
            yield model.problem(event, f"{model.describe(event)} receives a message flow; an end event can only send "
                                "one", "message-flow-events (EXT.108)")
        if model.message_sources.get(identifier) and "message" not in model.trigger_kinds(event):
            yield model.problem(event, f"{model.describe(event)} sends a message flow but is not a message end event",
                                "message-flow-events (EXT.109)")
    for kind, table, verb in (("intermediateThrowEvent", model.message_targets, "receives"),
                              ("intermediateCatchEvent", model.message_sources, "sends")):
        for event in model.by_kind[kind]:
            if table.get(event.get("id") or ""):
                yield model.problem(event, f"{model.describe(event)} {verb} a message flow, which a "
                                    f"{model.kind_words(event)} cannot do", "message-flow-events (EXT.119)")


def check_participant_multiplicity(model: LintModel) -> Iterator[Problem]:
    """EXT.029, EXT.030: 0 ≤ minimum ≤ maximum, and maximum ≥ 1."""
    for multiplicity in model.by_kind["participantMultiplicity"]:
        participant = multiplicity.getparent() if multiplicity.getparent() is not None else multiplicity
        minimum, maximum = (multiplicity.get("minimum") or "0").strip(), (multiplicity.get("maximum") or "1").strip()
        if not (_INTEGER.match(minimum) and _INTEGER.match(maximum)):
            continue
        if int(minimum) < 0:
            yield model.problem(participant, f"{model.describe(participant)} has a negative minimum multiplicity "
                                f"({minimum})", "participant-multiplicity (EXT.029)")
        if int(maximum) < 1 or int(maximum) < int(minimum):
            yield model.problem(participant, f"{model.describe(participant)} has the maximum multiplicity {maximum}, "
                                f"which must be at least 1 and at least the minimum ({minimum})",
                                "participant-multiplicity (EXT.030)")


def check_conversations(model: LintModel) -> Iterator[Problem]:
    """EXT.027, EXT.032, EXT.033: global conversations are empty; choreography references stay consistent."""
    for kind in ("choreography", "globalConversation"):
        for element in model.by_kind[kind]:
            if model.child(element, "choreographyRef") is not None:
                yield model.problem(element, f"{model.describe(element)} references a choreography, which a "
                                    f"{model.kind_words(element)} cannot do", "choreography-ref (EXT.027)")
    forbidden = {"conversation", "subConversation", "callConversation", "participantAssociation",
                 "messageFlowAssociation", "conversationAssociation"} | ARTIFACTS
    for conversation in model.by_kind["globalConversation"]:
        for child in model.children(conversation, forbidden):
            yield model.problem(child, f"{model.describe(child)} is inside {model.describe(conversation)}; a global "
                                "conversation only lists participants and message flows",
                                "global-conversation-content (EXT.032)")
    for collaboration in model.by_kind["collaboration"]:
        for reference in model.refs(collaboration, "choreographyRef"):
            choreography = model.resolve(collaboration, reference)
            if choreography is not None and kind_of(choreography) == "choreography" and \
                    is_true(collaboration, "isClosed") != is_true(choreography, "isClosed"):
                yield model.problem(collaboration, f"{model.describe(collaboration)} and its "
                                    f"{model.describe(choreography)} disagree on isClosed",
                                    "choreography-closed (EXT.033)")
