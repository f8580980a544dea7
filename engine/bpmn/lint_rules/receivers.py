"""Receiver rules: what a catching element says it accepts from other instances and from outside.

A message or signal catch (start, intermediate or boundary event, receive task) may carry the
``spiffworkflow:properties`` ``keylessMessages`` (true or false), ``eventSenders`` (one of
:data:`SENDER_RULES`) and ``messageVariables`` (comma-separated variable names); the engine routes by them
(``engine.runtime.correlation``), so a value it cannot read is refused at deploy rather than read as the default.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from engine.bpmn.lint_rules.model import LintModel
from engine.errors import Problem

#: The values of ``eventSenders``, relative to the receiver's org scope; the first is the default.
SENDER_RULES = ("same_or_above", "same_or_below", "anywhere")
_BOOLEANS = ("true", "false", "yes", "no", "1", "0")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SPIFF = "{http://spiffworkflow.org/bpmn/schema/1.0/core}"


def check_receiver_properties(model: LintModel) -> Iterator[Problem]:
    """HUHUA.MSG.1: ``eventSenders``, ``keylessMessages`` and ``messageVariables`` have values the engine can
    route by."""
    for prop in model.root.iter(f"{_SPIFF}property"):
        name, value = prop.get("name"), (prop.get("value") or "").strip()
        owner = prop.getparent().getparent().getparent() if prop.getparent() is not None else None
        where = model.describe(owner) if owner is not None and owner.get("id") else "an element"
        if name == "eventSenders" and value not in SENDER_RULES:
            yield model.problem(prop, f"{where} has eventSenders '{value}'; write one of {', '.join(SENDER_RULES)}",
                                "event-senders (HUHUA.MSG.1)")
        if name == "keylessMessages" and value.lower() not in _BOOLEANS:
            yield model.problem(prop, f"{where} has keylessMessages '{value}'; write true or false",
                                "keyless-messages (HUHUA.MSG.1)")
        if name == "messageVariables":
            bad = [n.strip() for n in value.split(",") if n.strip() and not _NAME.fullmatch(n.strip())]
            if bad:
                yield model.problem(prop, f"{where} has messageVariables naming {', '.join(repr(n) for n in bad)}; "
                                    "write variable names separated by commas", "message-variables (HUHUA.MSG.1)")
