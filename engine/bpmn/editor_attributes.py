"""What spiff-arena's modeler writes that BPMN 2.0's schema refuses, settled before the XSD check.

spiff-arena's modeler (bpmn-js with its SpiffWorkflow extension) saves a few things the OMG schema does not
define and SpiffWorkflow never reads: internal properties written out as ``[object Object]`` (``messageRef`` on a
start event, ``rootElements`` on a process, ``messages`` on a collaboration, ``errorRef`` on an escalation event
definition), a diagram's ``label``, a data store reference's ``type``, an empty ``correlationKey`` left at the
top of the file, and an empty retrieval expression beside one with a body in a correlation property (SpiffWorkflow
skips it: the property is not read from that message). They change nothing that runs, so they are removed and the
file is checked as if it never held them; the stored file is not touched.

The modeler also names a multi-instance activity's ``inputDataItem`` and ``outputDataItem`` by the variable they
stand for, and SpiffWorkflow reads that id as the variable: two activities that loop over items of the same name
hold the same id, which the schema refuses. Such a repeated id is set aside under :data:`VARIABLE` for the checks
and given back by :func:`restore_data_item_ids` before SpiffWorkflow parses the file.

What looks meaningful but would be silently ignored is refused instead, with the change to make: a start event
whose ``messageRef`` names a message while it has no message event definition (SpiffWorkflow would start it as a
none start event), an escalation's ``errorCode`` (SpiffWorkflow reads only ``escalationCode``), and a
``correlationKey`` with properties outside any collaboration.
"""

from __future__ import annotations

import re

from lxml import etree

from engine.errors import Problem
from engine.phrases import Phrase

_BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
#: The attribute that keeps a repeated data item id (its variable) while the file is checked.
VARIABLE = "{urn:huhua:settled}variable"
_DATA_ITEMS = (f"{{{_BPMN_NS}}}inputDataItem", f"{{{_BPMN_NS}}}outputDataItem")
_BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"

#: A JavaScript object written as text: what bpmn-js saves for a property it could not serialise.
_UNSERIALISED = re.compile(r"\s*\[object Object\]\s*(,\s*\[object Object\]\s*)*")

#: (element, attribute) the schema refuses and SpiffWorkflow ignores, whatever their value.
_IGNORED = {("process", "rootElements"), ("collaboration", "messages"), ("escalationEventDefinition", "errorRef"),
            ("dataStoreReference", "type")}

#: Elements of tCollaboration that come after correlationKey in the schema's sequence.
_AFTER_CORRELATION_KEYS = ("choreographyRef", "conversationLink")


def settle_editor_attributes(tree: etree._ElementTree, filename: str) -> list[Problem]:
    """Remove what is harmless from the BPMN document ``tree`` in place; return what is refused, with the change."""
    problems: list[Problem] = []
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue
        name = etree.QName(element)
        if name.namespace == _BPMNDI_NS:
            element.attrib.pop("label", None)
        elif name.namespace == _BPMN_NS:
            for attribute in [a for a in element.attrib if (name.localname, a) in _IGNORED]:
                del element.attrib[attribute]
            if name.localname == "startEvent" and "messageRef" in element.attrib:
                problems += _start_event_message_ref(element, filename)
            elif name.localname == "escalation" and "errorCode" in element.attrib:
                problems += _escalation_error_code(element, filename)
    problems += _top_level_correlation_keys(tree.getroot(), filename)
    _drop_empty_retrieval_expressions(tree.getroot())
    _set_aside_repeated_data_item_ids(tree.getroot())
    return problems


def _set_aside_repeated_data_item_ids(root: etree._Element) -> None:
    holders: dict[str, list[etree._Element]] = {}
    for element in root.iter():
        if isinstance(element.tag, str) and element.get("id"):
            holders.setdefault(element.get("id"), []).append(element)
    for identifier, elements in holders.items():
        if len(elements) < 2 or any(e.tag not in _DATA_ITEMS for e in elements):
            continue
        for number, element in enumerate(elements[1:], 2):
            element.set(VARIABLE, identifier)
            element.set("id", f"{identifier}__{number}")


def restore_data_item_ids(root: etree._Element) -> None:
    """Give each data item set aside by :func:`settle_editor_attributes` its own id (its variable) back."""
    for element in root.iter(*_DATA_ITEMS):
        variable = element.attrib.pop(VARIABLE, None)
        if variable is not None:
            element.set("id", variable)


def _drop_empty_retrieval_expressions(root: etree._Element) -> None:
    for prop in root.iter(f"{{{_BPMN_NS}}}correlationProperty"):
        retrievals = prop.findall(f"{{{_BPMN_NS}}}correlationPropertyRetrievalExpression")
        empty = [r for r in retrievals if not "".join(r.itertext()).strip()]
        if empty and len(empty) < len(retrievals):
            for retrieval in empty:
                prop.remove(retrieval)


def _start_event_message_ref(event: etree._Element, filename: str) -> list[Problem]:
    value = event.attrib["messageRef"]
    has_definition = event.find(f"{{{_BPMN_NS}}}messageEventDefinition") is not None
    if has_definition or _UNSERIALISED.fullmatch(value) or not value.strip():
        del event.attrib["messageRef"]  # its messageEventDefinition names the message
        return []
    del event.attrib["messageRef"]  # said here; the schema need not say it again
    return [Problem(Phrase(
        "start event %(event)s has messageRef=\"%(message)s\" but no message event definition, so nothing would "
        "start it by that message; write <bpmn:messageEventDefinition messageRef=\"%(message)s\"/> inside the start "
        "event and remove its messageRef attribute", event=_named(event), message=value),
        file=filename, line=event.sourceline, element_id=event.get("id"))]


def _escalation_error_code(escalation: etree._Element, filename: str) -> list[Problem]:
    code = escalation.attrib["errorCode"]
    if escalation.get("escalationCode") is not None or not code.strip():
        del escalation.attrib["errorCode"]  # escalationCode is the one read
        return []
    del escalation.attrib["errorCode"]  # said here; the schema need not say it again
    return [Problem(Phrase(
        "escalation %(escalation)s gives its code as errorCode=\"%(code)s\", an attribute of errors that is not "
        "read for an escalation; write escalationCode=\"%(code)s\" instead", escalation=_named(escalation),
        code=code), file=filename, line=escalation.sourceline, element_id=escalation.get("id"))]


def _top_level_correlation_keys(root: etree._Element, filename: str) -> list[Problem]:
    keys = root.findall(f"{{{_BPMN_NS}}}correlationKey")
    if not keys:
        return []
    collaboration = root.find(f"{{{_BPMN_NS}}}collaboration")
    problems = []
    for key in keys:
        if key.find(f"{{{_BPMN_NS}}}correlationPropertyRef") is None:
            root.remove(key)  # names no property: correlates nothing
        elif collaboration is not None:
            _place_in_collaboration(collaboration, key)
        else:
            root.remove(key)  # said here; the schema need not say it again
            problems.append(Problem(Phrase(
                "correlation key %(key)s stands at the top of the file, where BPMN 2.0 does not allow it; move it "
                "into a <bpmn:collaboration> (the one whose participants exchange its messages)", key=_named(key)),
                file=filename, line=key.sourceline, element_id=key.get("id")))
    return problems


def _place_in_collaboration(collaboration: etree._Element, key: etree._Element) -> None:
    later = [child for child in collaboration
             if isinstance(child.tag, str) and etree.QName(child).localname in _AFTER_CORRELATION_KEYS]
    if later:
        later[0].addprevious(key)
    else:
        collaboration.append(key)


def _named(element: etree._Element) -> str:
    name, identifier = element.get("name"), element.get("id") or "?"
    return f"'{name}' ({identifier})" if name and name != identifier else identifier
