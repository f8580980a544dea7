"""Identity and reference rules: every element that is referred to has one id, and every reference lands.

The XSD types references as plain QNames, so a typo (or a reference to the wrong kind of element)
passes schema validation and only fails, if at all, deep inside the engine. References with a prefix
bound to another namespace point into imported documents and are left to the engine.
"""

from __future__ import annotations

from collections.abc import Iterator

from engine.bpmn.lint_rules.model import (
    ACTIVITIES,
    CALLABLE,
    EVENT_DEFINITIONS,
    EVENTS,
    FLOW_NODES,
    ITEM_AWARE,
    Element,
    LintModel,
    kind_of,
    text_of,
)
from engine.errors import Problem

_ANY: frozenset[str] = frozenset()

# (owners, reference, written as an attribute?, what it may name, that in words); _ANY accepts any element.
# Sequence and message flow ends, incoming/outgoing, default flows, call activities' calledElement and
# loop data references have rules of their own with messages that say more.
_REFERENCES: tuple[tuple[frozenset[str], str, bool, frozenset[str], str], ...] = (
    (frozenset({"association"}), "sourceRef", True, _ANY, "an element"),
    (frozenset({"association"}), "targetRef", True, _ANY, "an element"),
    (frozenset({"group"}), "categoryValueRef", True, frozenset({"categoryValue"}), "a category value"),
    (frozenset({"correlationKey"}), "correlationPropertyRef", False, frozenset({"correlationProperty"}),
     "a correlation property"),
    (frozenset({"correlationPropertyRetrievalExpression"}), "messageRef", True, frozenset({"message"}), "a message"),
    (frozenset({"correlationSubscription"}), "correlationKeyRef", True, frozenset({"correlationKey"}),
     "a correlation key"),
    (frozenset({"correlationPropertyBinding"}), "correlationPropertyRef", True, frozenset({"correlationProperty"}),
     "a correlation property"),
    (frozenset({"error", "escalation", "signal"}), "structureRef", True, frozenset({"itemDefinition"}),
     "an item definition"),
    (frozenset({"message"}), "itemRef", True, frozenset({"itemDefinition"}), "an item definition"),
    (frozenset({"resourceParameter"}), "type", True, frozenset({"itemDefinition"}), "an item definition"),
    (frozenset({"operation"}), "inMessageRef", False, frozenset({"message"}), "a message"),
    (frozenset({"operation"}), "outMessageRef", False, frozenset({"message"}), "a message"),
    (frozenset({"operation"}), "errorRef", False, frozenset({"error"}), "an error"),
    (frozenset({"collaboration"}), "choreographyRef", False, frozenset({"choreography"}), "a choreography"),
    (frozenset({"participant"}), "processRef", True, frozenset({"process"}), "a process"),
    (frozenset({"participant"}), "interfaceRef", False, frozenset({"interface"}), "an interface"),
    (frozenset({"participant"}), "endPointRef", False, frozenset({"endPoint"}), "an end point"),
    (frozenset({"partnerEntity", "partnerRole"}), "participantRef", False, frozenset({"participant"}),
     "a participant"),
    (frozenset({"participantAssociation"}), "innerParticipantRef", False, frozenset({"participant"}),
     "a participant"),
    (frozenset({"participantAssociation"}), "outerParticipantRef", False, frozenset({"participant"}),
     "a participant"),
    (frozenset({"messageFlow"}), "messageRef", True, frozenset({"message"}), "a message"),
    (frozenset({"process"}), "supports", False, frozenset({"process"}), "a process"),
    (frozenset({"process"}), "definitionalCollaborationRef", True, frozenset({"collaboration"}), "a collaboration"),
    (frozenset({"performer", "humanPerformer", "potentialOwner", "resourceRole"}), "resourceRef", False,
     frozenset({"resource"}), "a resource"),
    (frozenset({"resourceParameterBinding"}), "parameterRef", True, frozenset({"resourceParameter"}),
     "a resource parameter"),
    (frozenset({"serviceTask", "sendTask", "receiveTask"}), "operationRef", True, frozenset({"operation"}),
     "an operation"),
    (frozenset({"sendTask", "receiveTask"}), "messageRef", True, frozenset({"message"}), "a message"),
    (CALLABLE, "supportedInterfaceRef", False, frozenset({"interface"}), "an interface"),
    (frozenset({"ioBinding"}), "inputDataRef", True, frozenset({"dataInput"}), "a data input"),
    (frozenset({"ioBinding"}), "outputDataRef", True, frozenset({"dataOutput"}), "a data output"),
    (frozenset({"ioBinding"}), "operationRef", True, frozenset({"operation"}), "an operation"),
    (frozenset({"multiInstanceLoopCharacteristics"}), "oneBehaviorEventRef", True, EVENT_DEFINITIONS,
     "an event definition"),
    (frozenset({"multiInstanceLoopCharacteristics"}), "noneBehaviorEventRef", True, EVENT_DEFINITIONS,
     "an event definition"),
    (ITEM_AWARE, "itemSubjectRef", True, frozenset({"itemDefinition"}), "an item definition"),
    (frozenset({"dataObjectReference"}), "dataObjectRef", True, frozenset({"dataObject"}), "a data object"),
    (frozenset({"dataStoreReference"}), "dataStoreRef", True, frozenset({"dataStore"}), "a data store"),
    (frozenset({"inputSet"}), "dataInputRefs", False, frozenset({"dataInput"}), "a data input"),
    (frozenset({"inputSet"}), "optionalInputRefs", False, frozenset({"dataInput"}), "a data input"),
    (frozenset({"inputSet"}), "whileExecutingInputRefs", False, frozenset({"dataInput"}), "a data input"),
    (frozenset({"inputSet"}), "outputSetRefs", False, frozenset({"outputSet"}), "an output set"),
    (frozenset({"outputSet"}), "dataOutputRefs", False, frozenset({"dataOutput"}), "a data output"),
    (frozenset({"outputSet"}), "optionalOutputRefs", False, frozenset({"dataOutput"}), "a data output"),
    (frozenset({"outputSet"}), "whileExecutingOutputRefs", False, frozenset({"dataOutput"}), "a data output"),
    (frozenset({"outputSet"}), "inputSetRefs", False, frozenset({"inputSet"}), "an input set"),
    (frozenset({"dataInputAssociation", "dataOutputAssociation"}), "sourceRef", False, ITEM_AWARE,
     "a data object, data store, property or data input/output"),
    (frozenset({"dataInputAssociation", "dataOutputAssociation"}), "targetRef", False, ITEM_AWARE,
     "a data object, data store, property or data input/output"),
    (EVENTS, "eventDefinitionRef", False, EVENT_DEFINITIONS, "an event definition"),
    (frozenset({"boundaryEvent"}), "attachedToRef", True, ACTIVITIES, "an activity"),
    (frozenset({"compensateEventDefinition"}), "activityRef", True, ACTIVITIES, "an activity"),
    (frozenset({"errorEventDefinition"}), "errorRef", True, frozenset({"error"}), "an error"),
    (frozenset({"escalationEventDefinition"}), "escalationRef", True, frozenset({"escalation"}), "an escalation"),
    (frozenset({"signalEventDefinition"}), "signalRef", True, frozenset({"signal"}), "a signal"),
    (frozenset({"messageEventDefinition"}), "messageRef", True, frozenset({"message"}), "a message"),
    (frozenset({"messageEventDefinition"}), "operationRef", False, frozenset({"operation"}), "an operation"),
    (frozenset({"linkEventDefinition"}), "source", False, frozenset({"linkEventDefinition"}),
     "a link event definition"),
    (frozenset({"linkEventDefinition"}), "target", False, frozenset({"linkEventDefinition"}),
     "a link event definition"),
    (frozenset({"lane"}), "partitionElementRef", True, _ANY, "an element"),
    (frozenset({"lane"}), "flowNodeRef", False, FLOW_NODES, "a flow node"),
    (frozenset({"conversationLink"}), "sourceRef", True, _ANY, "an element"),
    (frozenset({"conversationLink"}), "targetRef", True, _ANY, "an element"),
    (frozenset({"choreographyTask", "callChoreography", "subChoreography", "conversation", "subConversation",
                "callConversation"}), "participantRef", False, frozenset({"participant"}), "a participant"),
    (frozenset({"choreographyTask", "callChoreography", "subChoreography"}), "initiatingParticipantRef", True,
     frozenset({"participant"}), "a participant"),
    (frozenset({"choreographyTask", "conversation", "subConversation", "callConversation"}), "messageFlowRef", False,
     frozenset({"messageFlow"}), "a message flow"),
)

_BY_OWNER: dict[str, list[tuple[str, bool, frozenset[str], str]]] = {}
for _owners, _name, _is_attribute, _allowed, _words in _REFERENCES:
    for _owner in _owners:
        _BY_OWNER.setdefault(_owner, []).append((_name, _is_attribute, _allowed, _words))

#: References that tools also fill with a type name (``structureRef="String"``) instead of an item
#: definition's id; they are only judged when they do name an element of the file.
_TYPE_NAME_ALLOWED = frozenset({"structureRef"})

#: Elements an engine or a reference needs to find by id.
_NEED_AN_ID = FLOW_NODES | {"sequenceFlow", "process", "collaboration", "participant", "messageFlow", "message",
                            "signal", "error", "escalation", "dataObject", "itemDefinition"}


def check_unique_ids(model: LintModel) -> Iterator[Problem]:
    """EXT.002: references name elements by id, so an id that two elements share names neither reliably."""
    for element in model.duplicates:
        first = model.by_id[element.get("id") or ""]
        yield model.problem(
            element,
            f"{model.describe(element)} reuses the id of the {model.kind_words(first)} at line {first.sourceline}; "
            "every id in a file must be unique", "unique-ids (EXT.002)")


def check_ids_present(model: LintModel) -> Iterator[Problem]:
    """EXT.003: the engine and other elements refer to these elements by id."""
    for element in model.of_kinds(_NEED_AN_ID):
        if not (element.get("id") or "").strip():
            yield model.problem(
                element, f"{model.describe(element)} has no id; flow elements and the messages, signals, errors and "
                "processes they use must have one so that they can be referred to", "id-required (EXT.003)")


def check_references_resolve(model: LintModel) -> Iterator[Problem]:
    """REF: every reference in the table above names an element of this file of a kind it may name."""
    for element in model.of_kinds(_BY_OWNER):
        for name, is_attribute, allowed, words in _BY_OWNER[kind_of(element)]:
            values = [element.get(name)] if is_attribute else model.refs(element, name)
            for value in values:
                if value is None or not value.strip() or model.is_external(element, value):
                    continue
                yield from _check_one(model, element, name, value.strip(), allowed, words)


def _check_one(model: LintModel, owner: Element, name: str, value: str, allowed: frozenset[str],
               words: str) -> Iterator[Problem]:
    target = model.resolve(owner, value)
    if target is None and name in _TYPE_NAME_ALLOWED:
        return
    if target is None:
        yield model.problem(owner, f"{model.describe(owner)} refers to '{value}' in its {name}, but nothing in this "
                            f"file has that id", "reference-exists (REF)")
    elif allowed and kind_of(target) not in allowed:
        yield model.problem(owner, f"{model.describe(owner)} names {model.describe(target)} in its {name}, which "
                            f"must be {words}", "reference-type (REF)")


def check_lane_members(model: LintModel) -> Iterator[Problem]:
    """A lane partitions the flow nodes of its own process; naming a node of another one is a mistake."""
    for lane in model.by_kind["lane"]:
        process = model.process_of(lane)
        for value in model.refs(lane, "flowNodeRef"):
            node = model.resolve(lane, value)
            if node is not None and kind_of(node) in FLOW_NODES and model.process_of(node) is not process:
                yield model.problem(lane, f"{model.describe(lane)} lists {model.describe(node)}, which belongs to "
                                    "another process", "lane-members")


def check_called_elements(model: LintModel) -> Iterator[Problem]:
    """A call activity must name what it calls; when that is in this file it must be callable.

    A name that is not in this file may be a process of another file in the same deployment, which
    the engine resolves when it builds the specs.
    """
    for call in model.by_kind["callActivity"]:
        called = (call.get("calledElement") or "").strip()
        if not called:
            yield model.problem(call, f"{model.describe(call)} does not say which process it calls (calledElement "
                                "is empty)", "called-element")
            continue
        target = model.resolve(call, called)
        if target is not None and kind_of(target) not in CALLABLE:
            yield model.problem(call, f"{model.describe(call)} calls {model.describe(target)}, which is not a "
                                "process or global task", "called-element (REF)")


def check_event_definition_refs_are_root(model: LintModel) -> Iterator[Problem]:
    """EXT.095: an event definition written inside a throw event belongs to it and cannot be shared."""
    for ref in model.by_kind["eventDefinitionRef"]:
        target = model.resolve(ref, text_of(ref))
        if target is None or kind_of(target) not in EVENT_DEFINITIONS:
            continue
        owner = target.getparent()
        if owner is not None and kind_of(owner) in EVENTS and owner is not ref.getparent():
            event = ref.getparent()
            yield model.problem(event, f"{model.describe(event)} uses the event definition '{text_of(ref)}' that "
                                f"belongs to {model.describe(owner)}; define shared event definitions at the top "
                                "level of the file", "shared-event-definition (EXT.095)")
