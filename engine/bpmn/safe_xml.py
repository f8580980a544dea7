"""Load XML from users without giving it any power: no DTD, no entities, no network, a size cap.

BPMN files are code from users. A DOCTYPE has no legitimate use in BPMN or DMN, so any
document that declares one is refused outright rather than parsed with entities disabled.
"""

from __future__ import annotations

import re

from lxml import etree

from engine.errors import InvalidModel, Problem

_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
#: Elements one file may hold. Checking and building a model costs more than linear time in its elements
#: (SpiffWorkflow's parser searches the document per node), so a few thousand bound a call to about a second;
#: the shipped models hold under 200 each, and a large diagram with its layout a few times that.
MAX_ELEMENTS = 5000


def _hardened_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
    )


def parse_xml(content: bytes, filename: str, max_bytes: int) -> etree._ElementTree:
    """Parse ``content`` into a tree, or raise :class:`InvalidModel` saying what is wrong and where."""
    if len(content) > max_bytes:
        size = (f"the file is {len(content) / 1048576:.1f} MB; "
                f"the largest model accepted is {max_bytes / 1048576:.1f} MB")
        raise InvalidModel(f"{filename}: {size}", [Problem(size, file=filename)])
    if not content.strip():
        raise InvalidModel(f"{filename} is empty", [Problem("empty file", file=filename)])
    match = _DECLARATION.search(content)
    if match:
        line = content.count(b"\n", 0, match.start()) + 1
        reason = "declares a DTD or entity; BPMN and DMN files must not contain <!DOCTYPE> or <!ENTITY>"
        raise InvalidModel(f"{filename} {reason}", [Problem(reason, file=filename, line=line)])
    try:
        tree = etree.ElementTree(etree.fromstring(content, _hardened_parser()))
    except etree.XMLSyntaxError as err:
        raise InvalidModel(
            f"{filename} is not well-formed XML",
            [Problem(err.msg, file=filename, line=err.lineno)],
        ) from None
    elements = sum(1 for _ in tree.iter())
    if elements > MAX_ELEMENTS:
        reason = (f"holds {elements} XML elements; a model may hold at most {MAX_ELEMENTS} "
                  "(split it into called processes)")
        raise InvalidModel(f"{filename} {reason}", [Problem(reason, file=filename)])
    # Other encodings (UTF-16 and friends) slip past the byte scan; the parsed document cannot.
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        reason = "declares a DTD; BPMN and DMN files must not contain <!DOCTYPE>"
        raise InvalidModel(f"{filename} {reason}", [Problem(reason, file=filename, line=1)])
    return tree
