"""Reading DMN elements by local name, whatever the DMN version's namespace."""

from __future__ import annotations

from typing import Any

from lxml import etree

#: DMN files are users' files: no entities, no network (``engine.bpmn.safe_xml`` checks them first at deploy)
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True)


def local(element: Any) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def children(element: Any, name: str) -> list[Any]:
    return [child for child in element if local(child) == name]


def child(element: Any, name: str) -> Any:
    found = children(element, name)
    return found[0] if found else None


def text_of(element: Any) -> str:
    """The ``<text>`` of an expression element ('' when it has none)."""
    text = child(element, "text")
    return (text.text or "") if text is not None else ""
