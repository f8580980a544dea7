"""XSD validation of BPMN 2.0 and DMN documents, reporting every violation with its line and element id.

The schema files are the ones SpiffWorkflow ships (BPMN 2.0 plus its ``spiffworkflow`` extension
namespace, DMN 1.1–1.3); they are loaded once per process, on first use.
"""

from __future__ import annotations

import functools
import os
import re

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import XSD_PATH as BPMN_XSD
from SpiffWorkflow.dmn.parser.BpmnDmnParser import SCHEMAS as DMN_SCHEMAS
from SpiffWorkflow.spiff.parser.process import SPIFF_XSD

from engine.bpmn.editor_attributes import settle_editor_attributes
from engine.errors import Problem
from engine.phrases import Phrase

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
_XSD_NS = "http://www.w3.org/2001/XMLSchema"
_MAX_REPORTED = 50


@functools.cache
def _bpmn_schema() -> etree.XMLSchema:
    with open(BPMN_XSD, "rb") as handle:
        doc = etree.parse(handle, base_url=BPMN_XSD)
    doc.getroot().insert(
        0, etree.Element(f"{{{_XSD_NS}}}import", namespace="http://spiffworkflow.org/bpmn/schema/1.0/core",
                         schemaLocation=os.path.abspath(SPIFF_XSD)),
    )
    return etree.XMLSchema(doc)


@functools.cache
def _dmn_schema(namespace: str) -> etree.XMLSchema | None:
    path = DMN_SCHEMAS.get(namespace)
    if path is None:
        return None
    with open(path, "rb") as handle:
        return etree.XMLSchema(etree.parse(handle, base_url=path))


def semantic_size(tree: etree._ElementTree) -> int:
    """The elements of a document that are not its diagram (BPMN DI): what checking and parsing it costs."""
    drawn = sum(1 for diagram in tree.getroot().iterfind(f"{{{BPMNDI_NS}}}BPMNDiagram") for _ in diagram.iter())
    return sum(1 for _ in tree.iter()) - drawn


def is_dmn(tree: etree._ElementTree) -> bool:
    root = tree.getroot()
    return etree.QName(root).localname == "definitions" and etree.QName(root).namespace in DMN_SCHEMAS


def is_bpmn(tree: etree._ElementTree) -> bool:
    return etree.QName(tree.getroot()).namespace == BPMN_NS


def validate(tree: etree._ElementTree, filename: str) -> list[Problem]:
    """Return every schema violation in ``tree`` (empty when valid).

    What spiff-arena's modeler writes beyond the schema is settled first (:mod:`engine.bpmn.editor_attributes`):
    the harmless removed from ``tree``, the rest returned as problems that say what to write.
    """
    settled: list[Problem] = []
    if is_bpmn(tree):
        _normalise_correlation_expressions(tree)
        settled = settle_editor_attributes(tree, filename)
        schema = _bpmn_schema()
    elif is_dmn(tree):
        schema = _dmn_schema(etree.QName(tree.getroot()).namespace)
    else:
        root = etree.QName(tree.getroot())
        return [Problem(
            f"not a BPMN 2.0 or DMN document (root element {{{root.namespace}}}{root.localname})",
            file=filename, line=tree.getroot().sourceline,
        )]
    if schema is None or schema.validate(tree):
        return settled
    problems = settled
    for entry in list(schema.error_log)[:_MAX_REPORTED]:
        said = (_id_message(tree, entry.message, entry.line) or _attribute_message(entry.message)
                or _order_message(tree, entry.message, entry.path) or entry.message)
        problems.append(Problem(said, file=filename, line=entry.line,
                                element_id=_element_id(tree, entry.path, entry.line)))
    return problems


_NOT_ALLOWED = re.compile(r"Element '(?:\{([^}]*)\})?(\w+)', attribute '(?:\{[^}]*\})?([\w.-]+)': "
                          r"The attribute '[^']*' is not allowed")
_PREFIXES = {BPMN_NS: "bpmn:", BPMNDI_NS: "bpmndi:"}


def _attribute_message(message: str) -> Phrase | None:
    """lxml's "The attribute 'x' is not allowed" with the change to make: the attribute is removed."""
    found = _NOT_ALLOWED.search(message)
    if found is None:
        return None
    element = _PREFIXES.get(found.group(1) or "", "") + found.group(2)
    return Phrase("BPMN 2.0 does not allow the attribute %(attribute)s on <%(element)s>; remove %(attribute)s=\"…\" "
                  "from the element (an extension goes into its extensionElements, or into an attribute of its own "
                  "namespace)", attribute=found.group(3), element=element)


_NOT_EXPECTED = re.compile(r"Element '(?:\{([^}]*)\})?(\w+)': This element is not expected\. Expected is (?:one of )?"
                           r"\( ?([^)]*?) ?\)")


def _prefixed(qualified: str) -> str:
    """``{namespace}name`` as the file writes it (``bpmn:name``, or the bare name for another namespace)."""
    found = re.match(r"(?:\{([^}]*)\})?(\w+)", qualified.strip())
    return (_PREFIXES.get(found.group(1) or "", "") + found.group(2)) if found else qualified.strip()


def _order_message(tree: etree._ElementTree, message: str, path: str | None) -> Phrase | None:
    """lxml's "This element is not expected. Expected is one of (…)" in words: BPMN fixes the order of an
    element's children, so the child is most often only out of place (spiff-arena's own files put
    extensionElements first; a hand edit may not)."""
    found = _NOT_EXPECTED.search(message)
    if found is None:
        return None
    child = _PREFIXES.get(found.group(1) or "", "") + found.group(2)
    expected = ", ".join(f"<{_prefixed(name)}>" for name in found.group(3).split(",") if name.strip())
    parent = path.rsplit("/", 2)[-2] if path and path.count("/") >= 2 else ""
    parent_name = re.sub(r"\[\d+\]$", "", parent.split(":")[-1]) if parent else ""
    return Phrase("<%(child)s> is out of place inside <bpmn:%(parent)s>: BPMN 2.0 fixes the order of an element's "
                  "children, and at this point it expects %(expected)s; move <%(child)s> to its place (documentation "
                  "first, then extensionElements, then incoming and outgoing, then the rest), or remove it if it "
                  "does not belong there", child=child, parent=parent_name or "…", expected=expected)


_NOT_AN_ID = re.compile(r"attribute 'id': '(.*)' is not a valid value of the atomic type 'xs:ID'")


def _id_message(tree: etree._ElementTree, message: str, line: int | None) -> Phrase | None:
    """lxml's "not a valid value of the atomic type 'xs:ID'" in words: an id used twice, or not a valid id."""
    found = _NOT_AN_ID.search(message)
    if found is None:
        return None
    identifier = found.group(1)
    lines = [el.sourceline for el in tree.iter() if isinstance(el.tag, str) and el.get("id") == identifier]
    if len(lines) == 2:
        return Phrase("the id %(id)s is used twice (lines %(first)s and %(second)s); give each element an id of "
                      "its own", id=identifier, first=lines[0], second=lines[1])
    if len(lines) > 2:
        return Phrase("the id %(id)s is used %(count)s times (lines %(lines)s); give each element an id of its own",
                      id=identifier, count=len(lines), lines=", ".join(map(str, lines)))
    return Phrase("'%(id)s' is not a valid id: write one that starts with a letter or '_' and holds only letters, "
                  "digits, '-', '_' and '.'", id=identifier)


def _element_id(tree: etree._ElementTree, path: str | None, line: int | None) -> str | None:
    """The id of the element an XSD error is about (or of its nearest ancestor that has one)."""
    node = None
    if path:
        namespaces = {k: v for k, v in (tree.getroot().nsmap or {}).items() if k}
        try:
            found = tree.xpath(path, namespaces=namespaces)
            node = found[0] if found else None
        except etree.XPathError:
            node = None
    if node is None and line:
        node = next((el for el in tree.iter() if isinstance(el.tag, str) and el.sourceline == line), None)
    while node is not None:
        if isinstance(node.tag, str) and node.get("id"):
            return node.get("id")
        node = node.getparent()
    return None


def _normalise_correlation_expressions(tree: etree._ElementTree) -> None:
    # bpmn-js writes correlation retrieval expressions as formalExpression, which the XSD names
    # messagePath; SpiffWorkflow's parser accepts the latter, so rename before validating.
    for expr in tree.iterfind(f".//{{{BPMN_NS}}}correlationPropertyRetrievalExpression/{{{BPMN_NS}}}formalExpression"):
        expr.tag = f"{{{BPMN_NS}}}messagePath"


def bpmn_tag(local_name: str) -> str:
    """The Clark-notation tag of a BPMN 2.0 model element."""
    return f"{{{BPMN_NS}}}{local_name}"
