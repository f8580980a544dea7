"""Activity rules: token quantities, loops, sub-process shapes and the processes that call activities start.

These are the constraints on what an activity may contain or be configured with that the schema
cannot express because they depend on attribute values or on other elements.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from lxml import etree

from engine.bpmn.lint_rules.model import (
    ACTIVITIES,
    CHOREOGRAPHY_ACTIVITIES,
    LintModel,
    is_true,
    kind_of,
    text_of,
)
from engine.errors import Problem
from engine.phrases import Phrase

_INTEGER = re.compile(r"^[+-]?\d+$")


#: The most tokens an activity may wait for or send (each becomes elements of its own when it runs).
MAX_TOKEN_QUANTITY = 100


def check_token_quantities(model: LintModel) -> Iterator[Problem]:
    """EXT.037, EXT.038: an activity consumes and produces at least one token (and, here, at most 100)."""
    for element in model.of_kinds(ACTIVITIES):
        for attribute, rule in (("startQuantity", "EXT.037"), ("completionQuantity", "EXT.038")):
            value = (element.get(attribute) or "").strip()
            if _INTEGER.match(value) and not 1 <= int(value) <= MAX_TOKEN_QUANTITY:
                yield model.problem(element, f"{model.describe(element)} has {attribute}={value}; it must be 1 to "
                                    f"{MAX_TOKEN_QUANTITY}", f"token-quantity ({rule})")


def check_loop_limits(model: LintModel) -> Iterator[Problem]:
    """Loop counts are natural numbers: a negative loopMaximum or literal loopCardinality cannot run."""
    for loop in model.by_kind["standardLoopCharacteristics"]:
        owner = loop.getparent() if loop.getparent() is not None else loop
        maximum = (loop.get("loopMaximum") or "").strip()
        if _INTEGER.match(maximum) and int(maximum) < 0:
            yield model.problem(owner, f"{model.describe(owner)} has loopMaximum={maximum}; it cannot be negative",
                                "loop-maximum")
    for loop in model.by_kind["multiInstanceLoopCharacteristics"]:
        owner = loop.getparent() if loop.getparent() is not None else loop
        cardinality = text_of(model.child(loop, "loopCardinality"))
        if _INTEGER.match(cardinality) and int(cardinality) < 0:
            yield model.problem(owner, f"{model.describe(owner)} has loopCardinality {cardinality}; it cannot be "
                                "negative", "loop-cardinality")
        if model.is_executable(loop) and model.child(loop, "loopCardinality") is None and \
                model.child(loop, "loopDataInputRef") is None:
            yield model.problem(owner, f"{model.describe(owner)} is multi-instance but says neither how many instances "
                                "(loopCardinality) nor over which collection (loopDataInputRef)",
                                "multi-instance-count (EXT.067)")


def check_instantiating_receive_tasks(model: LintModel) -> Iterator[Problem]:
    """EXT.049: a receive task that starts the process is where the process begins, so nothing leads into it."""
    for task in model.by_kind["receiveTask"]:
        if is_true(task, "instantiate") and model.incoming_of(task):
            yield model.problem(task, f"{model.describe(task)} starts the process (instantiate=\"true\") but has an "
                                "incoming sequence flow", "instantiating-receive-task (EXT.049)")


def check_event_sub_processes(model: LintModel) -> Iterator[Problem]:
    """EXT.058: an event sub-process is started by exactly one start event."""
    for kind in ("subProcess", "transaction", "adHocSubProcess"):
        for sub_process in model.by_kind[kind]:
            if not model.is_event_sub_process(sub_process):
                continue
            starts = model.children(sub_process, "startEvent")
            if len(starts) != 1:
                yield model.problem(sub_process, f"{model.describe(sub_process)} has {len(starts)} start events; an "
                                    "event sub-process has exactly one", "event-sub-process-start (EXT.058)")


def check_ad_hoc_sub_processes(model: LintModel) -> Iterator[Problem]:
    """EXT.061, EXT.062: an ad-hoc sub-process holds activities, and no start or end events."""
    for sub_process in model.by_kind["adHocSubProcess"]:
        if not model.children(sub_process, ACTIVITIES):
            yield model.problem(sub_process, f"{model.describe(sub_process)} contains no activity",
                                "ad-hoc-content (EXT.061)")
        for child in model.children(sub_process, {"startEvent", "endEvent", "conversation", "conversationLink"}
                                    | CHOREOGRAPHY_ACTIVITIES):
            yield model.problem(child, f"{model.describe(child)} is inside {model.describe(sub_process)}, where start "
                                "events, end events, conversations and choreography activities are not allowed",
                                "ad-hoc-content (EXT.062)")


def check_choreography_in_processes(model: LintModel) -> Iterator[Problem]:
    """EXT.036, EXT.056: choreography activities describe collaborations, not process steps."""
    for kind in CHOREOGRAPHY_ACTIVITIES:
        for activity in model.by_kind[kind]:
            container = model.container(activity)
            if container is not None:
                rule = "EXT.036" if kind_of(container) == "process" else "EXT.056"
                yield model.problem(activity, f"{model.describe(activity)} is inside {model.describe(container)}; "
                                    "choreography activities belong in choreographies", f"no-choreography ({rule})")


def check_called_processes_start(model: LintModel) -> Iterator[Problem]:
    """EXT.099: a process called from this file has a none start event for the call to start."""
    for call in model.by_kind["callActivity"]:
        called = model.resolve(call, call.get("calledElement"))
        if called is None or kind_of(called) != "process":
            continue
        starts = model.children(called, "startEvent")
        if starts and not any(not model.trigger_kinds(start) for start in starts):
            yield model.problem(call, f"{model.describe(call)} calls {model.describe(called)}, which has no none "
                                "start event to begin the call with", "called-process-start (EXT.099)")


def check_public_processes(model: LintModel) -> Iterator[Problem]:
    """EXT.035: a public process is a partner's view of an exchange, not something to run."""
    for process in model.by_kind["process"]:
        if (process.get("processType") or "").strip() == "Public" and is_true(process, "isExecutable"):
            yield model.problem(process, f"{model.describe(process)} is a public process marked executable; a "
                                "public process only shows the interactions with a partner",
                                "public-process (EXT.035)")


_SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"


def check_called_decisions(model: LintModel) -> Iterator[Problem]:
    """called-decision: a business rule task names its DMN decision as SpiffWorkflow reads it.

    That is ``<spiffworkflow:calledDecisionId>`` in its extensionElements. Other tools' forms
    (``calledDecision decisionId="…"`` of older spiff-arena and Zeebe models, ``camunda:decisionRef``) would
    otherwise reach the parser as a decision called "None".
    """
    for element in model.by_kind.get("businessRuleTask", ()):
        written = [e for e in element.iter() if isinstance(e.tag, str) and (e.text or "").strip()
                   and etree.QName(e).localname == "calledDecisionId" and etree.QName(e).namespace == _SPIFF_NS]
        if written:
            continue
        old = next((e for e in element.iter() if isinstance(e.tag, str)
                    and etree.QName(e).localname == "calledDecision" and e.get("decisionId")), None)
        reference = next((v for k, v in element.attrib.items() if etree.QName(k).localname == "decisionRef"), None)
        if old is not None:
            message = Phrase("%(task)s names its decision in the old form <%(form)s decisionId=\"%(decision)s\"/>, "
                             "which is not read; write <spiffworkflow:calledDecisionId>%(decision)s"
                             "</spiffworkflow:calledDecisionId> in its extensionElements instead",
                             task=model.describe(element), form=_prefixed(old), decision=old.get("decisionId"))
            at = old
        elif reference:
            message = Phrase("%(task)s names its decision as decisionRef=\"%(decision)s\", which is not read; write "
                             "<spiffworkflow:calledDecisionId>%(decision)s</spiffworkflow:calledDecisionId> in its "
                             "extensionElements instead", task=model.describe(element), decision=reference)
            at = element
        else:
            message = Phrase("%(task)s names no decision; write <spiffworkflow:calledDecisionId>the id of a DMN "
                             "decision</spiffworkflow:calledDecisionId> in its extensionElements",
                             task=model.describe(element))
            at = element
        found = model.problem(at, "", "called-decision")
        yield Problem(Phrase("%(message)s [rule: %(rule)s]", message=message, rule="called-decision"), file=found.file,
                      line=found.line, element_id=found.element_id)


def _prefixed(element: etree._Element) -> str:
    """``spiffworkflow:calledDecision``: an element's name with the prefix its document gives its namespace."""
    qname = etree.QName(element)
    prefix = next((p for p, ns in (element.nsmap or {}).items() if ns == qname.namespace and p), None)
    return f"{prefix}:{qname.localname}" if prefix else qname.localname
