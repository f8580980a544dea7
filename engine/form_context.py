"""What a task form shows of the process: the context a reviewer, scorer or approver judges, read-only.

A form author decides what a person sees by naming process data in the form itself, the form-js way:

- a value field marked ``readonly: true`` or ``disabled: true`` shows the data variable its key names (a key
  inside a group with a path: the group's variable), and is never taken back from a submission;
- a dynamic list whose fields are all read-only shows the rows of the variable its ``path`` names;
- a ``table`` shows the rows its ``dataSource`` (``=name``) names;
- a ``text`` or ``html`` component's template (``{{ … }}``) shows the variables it names;
- an ``expression`` field (a running total) is computed in the browser and never taken back either.

The server fills the form's data with exactly these variables and nothing else; everything the form does not
name stays on the server. A ``text`` component's template is markdown once filled: the text in the variables it
names is sent with markdown's link, image, HTML and code characters backslash-escaped (:func:`markdown_safe`), so a
file named ``x](https://…) (`` or a case titled ``[点此](…)`` reads as typed instead of becoming a link. The paths
a value field shows keep their text as it is (a field is not markdown).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

#: Components that show text written with feelers templates.
_TEMPLATED = {"text": "text", "html": "content"}
_TEMPLATE = re.compile(r"\{\{(.*?)\}\}", re.S)
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
#: What makes markdown out of plain text: links and images, inline HTML, code; escaped in values a text shows.
_MARKDOWN = re.compile(r"([\\`\[\]()<>!])")
#: A name at the start of a path (not after a dot), not called as a function.
_NAME = re.compile(r"(?<![\w.])([A-Za-z_]\w*)(?!\s*\(|\w)")
#: FEEL and feelers words that are not variables.
_WORDS = frozenset({"if", "then", "else", "for", "in", "return", "some", "every", "satisfies", "and", "or", "not",
                    "true", "false", "null", "between", "instance", "of", "function", "loop", "this", "parent",
                    "_this_", "_parent_", "item"})


def read_only(component: dict[str, Any]) -> bool:
    """Whether a component only shows its value: read-only, disabled, or computed in the browser."""
    return component.get("readonly") is True or component.get("disabled") is True \
        or component.get("type") == "expression"


def shown_list(component: dict[str, Any]) -> bool:
    """A dynamic list that only shows rows: every value field in it read-only."""
    inner = [c for c in component.get("components") or [] if isinstance(c, dict) and c.get("key")]
    return component.get("type") == "dynamiclist" and bool(inner) and all(read_only(c) for c in inner)


def shown_names(components: Any) -> list[str]:
    """The process data variables a form names for showing, in the order they first appear; never one the form
    fills in itself (a running total's template names the scores being entered, which start empty)."""
    names: dict[str, None] = {}
    filled: set[str] = set()
    for component, group_path in _walk(components, None):
        if not read_only(component) and not shown_list(component) \
                and component.get("type") not in ("group", "text", "html", "table") and (
                isinstance(component.get("key"), str) or isinstance(component.get("path"), str)):
            filled.add(group_path or str(component.get("key") or component.get("path")).split(".", 1)[0])
        kind = component.get("type")
        if kind == "expression":
            continue
        if kind == "dynamiclist" and shown_list(component) and isinstance(component.get("path"), str):
            names.setdefault(group_path or component["path"])
        elif read_only(component) and isinstance(component.get("key"), str) and kind != "dynamiclist":
            names.setdefault(group_path or component["key"].split(".", 1)[0])
        elif kind == "table" and isinstance(component.get("dataSource"), str):
            names.update(dict.fromkeys(template_names("{{" + component["dataSource"].lstrip("=") + "}}")))
        elif kind in _TEMPLATED and isinstance(component.get(_TEMPLATED[kind]), str):
            names.update(dict.fromkeys(template_names(component[_TEMPLATED[kind]])))
    return [name for name in names if name not in filled]


def template_names(text: str) -> list[str]:
    """The variables a feelers template names: the first name of each path in its ``{{ … }}`` parts (inside a
    ``{{#loop …}}`` names are the rows' own, not variables)."""
    found: dict[str, None] = {}
    depth = 0
    for part in _TEMPLATE.findall(text):
        expression = _STRING.sub('""', part).strip()
        if expression.startswith("/loop"):
            depth = max(depth - 1, 0)
            continue
        loop = expression.startswith("#loop")
        expression = expression.lstrip("#/").removeprefix("loop").removeprefix("if")
        if not depth:
            found.update(dict.fromkeys(n for n in _NAME.findall(expression) if n not in _WORDS))
        depth += loop
    return list(found)


def shown_values(components: Any, data: dict[str, Any]) -> dict[str, Any]:
    """The values of the variables the form names, taken from ``data`` (those it lacks are left out)."""
    return {name: data[name] for name in shown_names(components) if name in data}


def markdown_safe(components: Any, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with every text in the variables a ``text`` template names escaped for markdown, but at the paths
    a value field or list shows."""
    templated = {name for component, _ in _walk(components, None) if component.get("type") == "text"
                 and isinstance(component.get("text"), str) for name in template_names(component["text"])}
    plain = set(_field_paths(components, ""))
    return {name: _escaped(value, name, plain) if name in templated else value for name, value in values.items()}


def _escaped(value: Any, path: str, plain: set[str]) -> Any:
    if path in plain:
        return value
    if isinstance(value, str):
        return _MARKDOWN.sub(r"\\\1", value)
    if isinstance(value, dict):
        return {key: _escaped(inner, f"{path}.{key}", plain) for key, inner in value.items()}
    if isinstance(value, list):
        return [_escaped(inner, path, plain) for inner in value]
    return value


def _field_paths(components: Any, prefix: str) -> Iterator[str]:
    """The data paths value fields, lists and tables show: their text is not markdown."""
    for component in components if isinstance(components, list) else []:
        if not isinstance(component, dict):
            continue
        kind = component.get("type")
        if kind == "group":
            path = component.get("path")
            yield from _field_paths(component.get("components"), f"{prefix}{path}." if path else prefix)
        elif kind == "table" and isinstance(component.get("dataSource"), str):
            yield component["dataSource"].lstrip("=").strip()
        elif kind not in _TEMPLATED:
            key = component.get("path") if kind == "dynamiclist" else component.get("key")
            if isinstance(key, str) and key:
                yield prefix + key


def _walk(components: Any, group_path: str | None) -> Iterator[tuple[dict[str, Any], str | None]]:
    """Every component with the path of the outermost group holding it (a group's fields live in its variable);
    a dynamic list's own fields belong to its rows and are not walked."""
    for component in components if isinstance(components, list) else []:
        if not isinstance(component, dict):
            continue
        yield component, group_path
        if component.get("type") == "group":
            path = component.get("path")
            inner = group_path or (path.split(".", 1)[0] if isinstance(path, str) and path else None)
            yield from _walk(component.get("components"), inner)
