"""A task's instructions for the person doing it: spiff-arena's ``spiffworkflow:instructionsForEndUser``.

A user or manual task may carry, in its extension elements, a Jinja template of Markdown ("请核对{{ student }}的
材料……") shown above its form. It is the model's code, so it is rendered as the notification templates are
(:mod:`engine.notifications.templates`: a narrowed sandbox, bounded in time, memory and output; each value written
as literal text, so a form field cannot become a link or markup), over the data the task holds, and the Markdown is
then made HTML safely (:mod:`engine.safe_markdown`). A template that fails at run time (a variable the task does
not have) is reported in words instead of the instructions; it never breaks the task's page. One that does not
parse is refused at deployment (:mod:`engine.bpmn.lint_rules.instructions`).
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from engine import safe_markdown
from engine.bpmn import schema
from engine.notifications.templates import TemplateFailure, check, render

INSTRUCTIONS_TAG = "{http://spiffworkflow.org/bpmn/schema/1.0/core}instructionsForEndUser"
#: The longest template a task may hold, and the longest text it may render to.
MAX_SOURCE_CHARS = 20_000
MAX_RENDERED_CHARS = 50_000


def instructions_in(tree: etree._ElementTree) -> dict[str, list[tuple[str, str]]]:
    """The instructions of a BPMN document's tasks: element id → [(the id of the process holding it, template)]."""
    found: dict[str, list[tuple[str, str]]] = {}
    if not schema.is_bpmn(tree):
        return found
    for process in tree.getroot().iter(schema.bpmn_tag("process")):
        for element in process.iter(INSTRUCTIONS_TAG):
            task = element.getparent().getparent() if element.getparent() is not None else None
            text = "".join(element.itertext()).strip()
            if task is not None and task.get("id") and text:
                found.setdefault(task.get("id"), []).append((process.get("id") or "", text))
    return found


def rendered_instructions(source: str, data: dict[str, Any]) -> dict[str, Any]:
    """The instructions over ``data``: ``markdown`` and ``html`` (safe to put in a page), or ``error`` saying why
    they cannot be shown (the other two then None)."""
    try:
        text = render(source, data, MAX_RENDERED_CHARS, markdown=True, longest=MAX_SOURCE_CHARS)
    except TemplateFailure as err:
        return {"markdown": None, "html": None, "error": str(err)}
    return {"markdown": text, "html": str(safe_markdown.render(text)), "error": None}


def check_instructions(source: str) -> None:
    """Refuse (TemplateFailure) instructions that are too long or do not parse: at deployment."""
    check(source, MAX_SOURCE_CHARS)
