"""What a model file uses besides itself: the task forms it names and the DMN decisions it calls.

A process version is bound to these at deployment (see ``definition_artifact``), so that an edited
form or decision table reaches new instances through a new version while running ones keep theirs.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from engine.bpmn import schema
from engine.bpmn.safe_xml import parse_xml


@dataclass(frozen=True)
class Uses:
    """The form keys (``formKey`` properties) and decision ids (``calledDecisionId``/``decisionRef``) of a file."""

    forms: frozenset[str] = frozenset()
    decisions: frozenset[str] = frozenset()


def model_uses(name: str, content: bytes, max_bytes: int) -> Uses:
    """The forms and decisions a BPMN file names (nothing for other files); call it on accepted files only."""
    tree = parse_xml(content, name, max_bytes)
    if not schema.is_bpmn(tree):
        return Uses()
    forms, decisions = set(), set()
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue
        local = etree.QName(element).localname
        if local == "property" and element.get("name") == "formKey" and (element.get("value") or "").strip():
            forms.add(element.get("value").strip())
        elif local == "calledDecisionId" and (element.text or "").strip():
            decisions.add(element.text.strip())
        for attribute, value in element.attrib.items():
            if etree.QName(attribute).localname == "decisionRef" and value.strip():
                decisions.add(value.strip())
    return Uses(frozenset(forms), frozenset(decisions))


def decision_ids(name: str, content: bytes, max_bytes: int) -> tuple[str, ...]:
    """The ids of the decisions of a DMN file, in the file's order (none for other files): a FEEL file may hold
    several, and a business rule task may call any of them."""
    tree = parse_xml(content, name, max_bytes)
    if not schema.is_dmn(tree):
        return ()
    return tuple(e.get("id") for e in tree.getroot()
                 if isinstance(e.tag, str) and etree.QName(e).localname == "decision" and e.get("id"))
