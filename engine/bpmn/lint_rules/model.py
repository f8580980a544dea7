"""The indexed view of one BPMN document that every lint rule reads.

Rules ask questions such as "which flows leave this node?" or "what does this reference name?" many
times; building the answers once per document keeps a lint run linear in the size of the model.
Only BPMN-namespace elements outside ``extensionElements`` are indexed: diagram interchange and
vendor extensions carry no process semantics.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator

from lxml import etree

from engine.bpmn.schema import BPMN_NS
from engine.connectors.registry import ConnectorRegistry
from engine.errors import Problem

Element = etree._Element

XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
_BPMN_PREFIX = "{" + BPMN_NS + "}"

TASKS = frozenset({"task", "serviceTask", "sendTask", "receiveTask", "userTask", "manualTask", "scriptTask",
                   "businessRuleTask"})
SUB_PROCESSES = frozenset({"subProcess", "adHocSubProcess", "transaction"})
ACTIVITIES = TASKS | SUB_PROCESSES | {"callActivity"}
GATEWAYS = frozenset({"exclusiveGateway", "inclusiveGateway", "parallelGateway", "complexGateway",
                      "eventBasedGateway"})
CATCH_EVENTS = frozenset({"startEvent", "intermediateCatchEvent", "boundaryEvent"})
THROW_EVENTS = frozenset({"endEvent", "intermediateThrowEvent", "implicitThrowEvent"})
EVENTS = CATCH_EVENTS | THROW_EVENTS
CHOREOGRAPHY_ACTIVITIES = frozenset({"choreographyTask", "callChoreography", "subChoreography"})
FLOW_NODES = ACTIVITIES | GATEWAYS | EVENTS | CHOREOGRAPHY_ACTIVITIES
EVENT_DEFINITIONS = frozenset({"messageEventDefinition", "timerEventDefinition", "escalationEventDefinition",
                               "conditionalEventDefinition", "linkEventDefinition", "errorEventDefinition",
                               "cancelEventDefinition", "compensateEventDefinition", "signalEventDefinition",
                               "terminateEventDefinition"})
ITEM_AWARE = frozenset({"property", "dataObject", "dataInput", "dataOutput", "dataStore", "dataStoreReference",
                        "dataObjectReference"})
CALLABLE = frozenset({"process", "globalTask", "globalUserTask", "globalManualTask", "globalScriptTask",
                      "globalBusinessRuleTask"})
ARTIFACTS = frozenset({"textAnnotation", "group", "association"})
#: Elements whose direct children are flow nodes connected by sequence flows of their own.
CONTAINERS = frozenset({"process"}) | SUB_PROCESSES

_KIND_WORDS = {
    "subProcess": "sub-process", "adHocSubProcess": "ad-hoc sub-process", "eventBasedGateway": "event-based gateway",
    "dataInputAssociation": "data input association", "dataOutputAssociation": "data output association",
    "ioSpecification": "input/output specification",
}


def kind_of(element: Element) -> str:
    """The BPMN local name of ``element`` ("" for elements of other namespaces, comments and the like)."""
    tag = element.tag
    if isinstance(tag, str) and tag.startswith(_BPMN_PREFIX):
        return tag[len(_BPMN_PREFIX):]
    return ""


def is_true(element: Element, attribute: str, default: bool = False) -> bool:
    value = element.get(attribute)
    return default if value is None else value.strip() == "true"


def text_of(element: Element | None) -> str:
    return "" if element is None else "".join(element.itertext()).strip()


class LintModel:
    """Everything the rules need to know about one BPMN document, computed once."""

    def __init__(self, tree: etree._ElementTree, filename: str, connectors: ConnectorRegistry | None = None) -> None:
        self.filename = filename
        #: The connectors service tasks may name; None when they are not checked (see engine.bpmn.lint).
        self.connectors = connectors
        self.root = tree.getroot()
        self.target_namespace = self.root.get("targetNamespace")
        self.elements: list[Element] = []
        self.by_kind: dict[str, list[Element]] = defaultdict(list)
        self.by_id: dict[str, Element] = {}
        self.duplicates: list[Element] = []
        self._index(self.root)
        self.outgoing: dict[str, list[Element]] = defaultdict(list)
        self.incoming: dict[str, list[Element]] = defaultdict(list)
        for flow in self.by_kind["sequenceFlow"]:
            self.outgoing[self.local_ref(flow, flow.get("sourceRef")) or ""].append(flow)
            self.incoming[self.local_ref(flow, flow.get("targetRef")) or ""].append(flow)
        self.message_sources: dict[str, list[Element]] = defaultdict(list)
        self.message_targets: dict[str, list[Element]] = defaultdict(list)
        for flow in self.by_kind["messageFlow"]:
            self.message_sources[self.local_ref(flow, flow.get("sourceRef")) or ""].append(flow)
            self.message_targets[self.local_ref(flow, flow.get("targetRef")) or ""].append(flow)

    def _index(self, root: Element) -> None:
        stack = [root]
        while stack:
            element = stack.pop()
            kind = kind_of(element)
            if not kind or kind == "extensionElements":
                continue
            self.elements.append(element)
            self.by_kind[kind].append(element)
            identifier = element.get("id")
            if identifier is not None:
                if identifier in self.by_id:
                    self.duplicates.append(element)
                else:
                    self.by_id[identifier] = element
            stack.extend(reversed(element))  # so that elements are visited in document order

    def of_kinds(self, kinds: Iterable[str]) -> Iterator[Element]:
        """The elements of several kinds, kind by kind (rules sort their findings by line in the end)."""
        for kind in kinds:
            yield from self.by_kind.get(kind, ())

    # ----- references -------------------------------------------------------------------------------

    def local_ref(self, context: Element, reference: str | None) -> str | None:
        """The id a reference names in this document, or None when it is empty or points into another one."""
        if reference is None:
            return None
        reference = reference.strip()
        if not reference:
            return None
        prefix, colon, rest = reference.partition(":")
        if not colon:
            return reference
        namespace = context.nsmap.get(prefix)
        if namespace is None or namespace == self.target_namespace:
            return rest
        return None

    def is_external(self, context: Element, reference: str | None) -> bool:
        """True for a QName whose prefix names another namespace (an imported document we cannot see)."""
        return bool(reference and reference.strip()) and self.local_ref(context, reference) is None

    def resolve(self, context: Element, reference: str | None) -> Element | None:
        key = self.local_ref(context, reference)
        return None if key is None else self.by_id.get(key)

    def refs(self, element: Element, child_kind: str) -> list[str]:
        """The texts of ``element``'s reference children of one kind (``<incoming>``, ``<dataInputRefs>`` …)."""
        return [text_of(child) for child in element.iterchildren(_BPMN_PREFIX + child_kind)]

    # ----- structure --------------------------------------------------------------------------------

    @staticmethod
    def children(element: Element, kinds: Iterable[str] | str) -> list[Element]:
        """``element``'s BPMN children of the given kinds, in document order."""
        wanted = (kinds,) if isinstance(kinds, str) else tuple(kinds)
        return list(element.iterchildren(*(_BPMN_PREFIX + kind for kind in wanted)))

    @staticmethod
    def child(element: Element, kind: str) -> Element | None:
        return element.find(_BPMN_PREFIX + kind)

    @staticmethod
    def ancestor(element: Element, kinds: Iterable[str]) -> Element | None:
        wanted = set(kinds)
        parent = element.getparent()
        while parent is not None and kind_of(parent) not in wanted:
            parent = parent.getparent()
        return parent

    def container(self, element: Element) -> Element | None:
        """The process or sub-process whose flow ``element`` belongs to."""
        return self.ancestor(element, CONTAINERS)

    def process_of(self, element: Element) -> Element | None:
        return element if kind_of(element) == "process" else self.ancestor(element, ("process",))

    def is_executable(self, element: Element) -> bool:
        process = self.process_of(element)
        return process is not None and is_true(process, "isExecutable")

    def flow_nodes(self, container: Element) -> list[Element]:
        return self.children(container, FLOW_NODES)

    def outgoing_of(self, node: Element) -> list[Element]:
        identifier = node.get("id")
        return self.outgoing.get(identifier, []) if identifier else []

    def incoming_of(self, node: Element) -> list[Element]:
        identifier = node.get("id")
        return self.incoming.get(identifier, []) if identifier else []

    def event_definitions(self, event: Element) -> list[Element]:
        """The event definitions of an event: inline ones and those named by ``eventDefinitionRef``."""
        found = []
        for child in event:
            kind = kind_of(child)
            if kind in EVENT_DEFINITIONS:
                found.append(child)
            elif kind == "eventDefinitionRef":
                target = self.resolve(child, text_of(child))
                if target is not None and kind_of(target) in EVENT_DEFINITIONS:
                    found.append(target)
        return found

    def trigger_kinds(self, event: Element) -> set[str]:
        """The kinds of trigger an event has, e.g. {"message", "timer"}; empty for a none event."""
        return {kind_of(d).removesuffix("EventDefinition") for d in self.event_definitions(event)}

    @staticmethod
    def is_event_sub_process(element: Element) -> bool:
        return kind_of(element) in SUB_PROCESSES and is_true(element, "triggeredByEvent")

    @staticmethod
    def is_compensation(element: Element) -> bool:
        return is_true(element, "isForCompensation")

    # ----- reporting --------------------------------------------------------------------------------

    @staticmethod
    def kind_words(element: Element) -> str:
        """``element``'s kind in the words a process author would use ("exclusive gateway")."""
        kind = kind_of(element)
        if kind == "subProcess" and is_true(element, "triggeredByEvent"):
            return "event sub-process"
        if kind in _KIND_WORDS:
            return _KIND_WORDS[kind]
        return re.sub(r"(?<!^)(?=[A-Z])", " ", kind).lower()

    def describe(self, element: Element) -> str:
        """``exclusive gateway 'Decide' (gw1)``: kind, name when it has one, and id."""
        name = " ".join((element.get("name") or "").split())
        label = f"{self.kind_words(element)} '{name}'" if name else self.kind_words(element)
        identifier = element.get("id")
        return f"{label} ({identifier})" if identifier else f"{label} without an id"

    def problem(self, element: Element, message: str, rule: str, line: int | None = None) -> Problem:
        """A finding about ``element``, located by its line (or ``line``) and its id (or its nearest ancestor's)."""
        owner: Element | None = element
        while owner is not None and not owner.get("id"):
            owner = owner.getparent()
        return Problem(f"{message} [rule: {rule}]", file=self.filename, line=line or element.sourceline,
                       element_id=owner.get("id") if owner is not None else None)
