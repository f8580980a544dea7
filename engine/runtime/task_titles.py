"""A task's title: the words a person reads in the inbox, naming the unit and the subject of the work.

A model gives a task a ``title`` property, a template with ``{placeholders}``: ``审核 {unit} 工作方案``,
``评审：《{case_title}》 {author_name}``. Placeholders are filled when the task is created, in two steps: the
runtime fills names from the task's data (an item's own data first; ``{nominee.name}`` reads into a dict), and
the command that stores the task fills ``{unit}`` (the unit's name) and ``{process}`` (the process's name), which
the data never shadows. A placeholder nothing fills is dropped, so no raw ``{name}`` reaches a reader.
Filling is plain substitution, once: a value filled in is never read as a template again (a case titled
``{unit}`` stays so), and a title cannot run code (one starting with ``=`` is text, not an expression).
Without a template the title is "<task name> · <unit name>".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

#: Filled by the command from the org directory and the catalogue, never from the task's data.
RESERVED = ("unit", "process")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\}")
#: As long as the stored column allows.
LONGEST = 300
#: Braces of a value filled from data, kept out of the second step's placeholders (private-use characters).
_OPEN, _CLOSE = "\ue000", "\ue001"


def is_expression(name: str, value: Any) -> bool:
    """Whether a task property's value is an expression (``=`` first); a title never is: it is text."""
    return name != "title" and isinstance(value, str) and value.startswith("=")


def fill_from_data(template: str, *sources: Mapping[str, Any] | None) -> str:
    """``template`` with each placeholder found in the first of ``sources`` that has it; others stay."""
    def value(match: re.Match[str]) -> str:
        path = match.group(1).split(".")
        if path[0] in RESERVED:
            return match.group(0)
        for source in sources:
            found = _lookup(source, path)
            if found is not None:
                return found.replace("{", _OPEN).replace("}", _CLOSE)
        return match.group(0)

    return _PLACEHOLDER.sub(value, template)


def finish_title(template: str | None, task_name: str, unit_name: str | None, process_name: str | None) -> str:
    """The stored title: the template with ``{unit}`` and ``{process}`` filled and what is left dropped, or the
    task's name and the unit's name when the model gives no template."""
    if not template or not template.strip():
        title = f"{task_name} · {unit_name}" if unit_name else task_name
    else:
        named = {"unit": unit_name or "", "process": process_name or ""}
        title = _PLACEHOLDER.sub(lambda m: named.get(m.group(1), ""), template).replace(_OPEN, "{") \
            .replace(_CLOSE, "}")
        title = re.sub(r"\s{2,}", " ", title).strip() or task_name
    return title if len(title) <= LONGEST else title[:LONGEST - 1] + "…"


def _lookup(source: Mapping[str, Any] | None, path: list[str]) -> str | None:
    found: Any = source
    for step in path:
        if not isinstance(found, Mapping) or step not in found:
            return None
        found = found[step]
    if isinstance(found, bool) or found is None:
        return None
    return str(found) if isinstance(found, str | int | float) else None
