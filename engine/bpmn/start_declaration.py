"""What a deployed process tells a person who might start it, read from its BPMN file without building specs.

The 发起事项 page lists, for each person, the processes they may start. It needs each process's start rule
(:func:`engine.access.starting.start_rule`), start form and a description, for every deployed process on every
page load: building SpiffWorkflow specs for that would cost a second, so the file is read directly (once per
file content, see :mod:`engine.queries.starting`). The start command itself still decides on the built specs.

The description is the process's ``start_description`` property (a sentence for the people who start it),
else its ``bpmn:documentation`` (which is written for modellers).
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.bpmn.process_properties import SPIFF_NS, process_properties
from engine.bpmn.safe_xml import parse_xml
from engine.bpmn.schema import BPMN_NS

_TRIGGERS = {"messageEventDefinition": "message", "signalEventDefinition": "signal", "timerEventDefinition": "timer"}


@dataclass(frozen=True)
class StartDeclaration:
    """A process's start as its file declares it."""

    properties: dict[str, str]
    #: (kind, name, element id) of each message, signal or timer start event, as the start rule reads them.
    triggers: tuple[tuple[str, str, str], ...]
    has_none_start: bool
    #: The ``formKey`` of the none start event: the form a person's start variables are checked against.
    form_key: str | None
    description: str


def start_declaration(content: bytes, process_key: str, *, filename: str = "model.bpmn",
                      max_bytes: int = 10 * 1024 * 1024) -> StartDeclaration | None:
    """The start declaration of process ``process_key`` in a BPMN file; None when the file lacks the process."""
    tree = parse_xml(content, filename, max_bytes)
    process = next((p for p in tree.iterfind(f".//{{{BPMN_NS}}}process") if p.get("id") == process_key), None)
    if process is None:
        return None
    messages = {m.get("id"): m.get("name") or m.get("id") or "" for m in tree.iterfind(f".//{{{BPMN_NS}}}message")}
    signals = {s.get("id"): s.get("name") or s.get("id") or "" for s in tree.iterfind(f".//{{{BPMN_NS}}}signal")}
    triggers: list[tuple[str, str, str]] = []
    form_key, has_none_start = None, False
    for event in process.iterfind(f"{{{BPMN_NS}}}startEvent"):
        found = [(kind, child) for tag, kind in _TRIGGERS.items()
                 for child in event.iterfind(f"{{{BPMN_NS}}}{tag}")]
        for kind, child in found:
            name = (messages.get(child.get("messageRef")) if kind == "message"
                    else signals.get(child.get("signalRef")) if kind == "signal" else "")
            triggers.append((kind, name or "", event.get("id") or ""))
        if not found and not has_none_start:
            has_none_start = True
            key = next((p.get("value") for p in event.iterfind(
                f"{{{BPMN_NS}}}extensionElements/{{{SPIFF_NS}}}properties/{{{SPIFF_NS}}}property")
                if p.get("name") == "formKey"), None)
            form_key = key.strip() if key and key.strip() else None
    properties = process_properties(content, process_key, filename=filename, max_bytes=max_bytes)
    documentation = process.find(f"{{{BPMN_NS}}}documentation")
    description = properties.get("start_description", "").strip() or (
        (documentation.text or "").strip() if documentation is not None else "")
    return StartDeclaration(properties, tuple(triggers), has_none_start, form_key, description)
