"""Task forms: form-js schemas (``*.form.json``), checked when deployed and enforced when a task is completed.

The browser renders the form with form-js; the server checks the submission again against the same
schema, field by field, so a client that skips the form (the API, a script, a hostile user) gets the
same answer: every wrong field named, with its label, and nothing applied. A ``dynamiclist`` (form-js's
repeating group, data at its ``path`` as a list of objects) is one field whose items are checked against its
inner fields; ``validate.minItems``/``maxItems`` bound its length (at most :data:`MAX_ITEMS`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from engine.errors import InvalidModel, Problem

FORM_SUFFIX = ".form.json"
#: Components that hold a value, and the JSON types a value may have.
_VALUE_TYPES: dict[str, tuple[type, ...]] = {
    "textfield": (str,), "textarea": (str,), "number": (int, float), "checkbox": (bool,), "radio": (str, int),
    "select": (str, int), "checklist": (list,), "taglist": (list,), "datetime": (str,), "dynamiclist": (list,),
}
_LAYOUT = frozenset({"text", "html", "image", "spacer", "separator", "button", "iframe", "table", "expression"})
_CONTAINERS = frozenset({"group"})
MAX_TEXT = 10_000
#: The most items a dynamic list may hold, whatever its form says.
MAX_ITEMS = 200


@dataclass(frozen=True)
class Field:
    key: str  # dotted when inside a group with a path: scores.plan_summary
    kind: str
    label: str
    required: bool
    rules: dict[str, Any]
    options: tuple[Any, ...] | None
    default: Any = None
    #: A dynamic list's fields, checked in each of its items (keys relative to the item).
    items: tuple[Field, ...] | None = None


@dataclass(frozen=True)
class Form:
    key: str
    name: str
    fields: tuple[Field, ...]

    def filled(self, data: dict[str, Any]) -> dict[str, Any]:
        """The submission with the fields it left out set to their default (or None)."""
        return with_defaults(self, data, {f.key: f.default for f in self.fields})

    def check(self, data: dict[str, Any]) -> list[Problem]:
        """Every problem of a submission, each naming the field (key and label); empty when it may be applied."""
        known = {f.key for f in self.fields}
        problems = [Problem(f"'{key}' is not a field of the form {self.name}", field=key)
                    for key in _leaf_keys(data, known) if key not in known or _spelled_dotted(data, key)]
        for field in self.fields:
            problems += _check_field(field, _lookup(data, field.key))
        return problems


def with_defaults(form: Form, data: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """The submission with every field it left out present: its form default, or None.

    Scripts after the task can then read an optional field that was left empty, instead of failing on
    a name that is not there.
    """
    filled = json.loads(json.dumps(data))
    for field in form.fields:
        parts = field.key.split(".")
        target = filled
        for part in parts[:-1]:
            target = target.setdefault(part, {}) if isinstance(target.get(part, {}), dict) else {}
        target.setdefault(parts[-1], defaults.get(field.key))
        if field.items is not None and isinstance(target.get(parts[-1]), list):
            for item in target[parts[-1]]:
                for inner in field.items if isinstance(item, dict) else ():
                    item.setdefault(inner.key, inner.default)
    return filled


def _spelled_dotted(data: dict[str, Any], key: str) -> bool:
    """A group's field sent as one top-level key with a dot in it ("scores.x"), around the group's checks."""
    return "." in key and key in data


def _leaf_keys(data: dict[str, Any], known: set[str], prefix: str = "") -> Iterator[str]:
    """The submitted keys, descending into the dicts of groups that have a path."""
    groups = {k.rsplit(".", 1)[0] for k in known if "." in k}
    for key, value in data.items():
        dotted = prefix + key
        if isinstance(value, dict) and dotted in groups:
            yield from _leaf_keys(value, known, dotted + ".")
        else:
            yield dotted


def _lookup(data: dict[str, Any], dotted: str) -> Any:
    value: Any = data
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def parse_form(name: str, content: bytes) -> Form:
    """A form from its file; InvalidModel naming the file and component when it cannot be used."""
    try:
        schema = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise InvalidModel(f"{name} is not a JSON document: {err}", [Problem(str(err), file=name)]) from None
    if not isinstance(schema, dict) or not isinstance(schema.get("components"), list):
        raise InvalidModel(f"{name} is not a form-js schema (no components)", [Problem("no components", file=name)])
    key = schema.get("id") or name.rsplit("/", 1)[-1].removesuffix(FORM_SUFFIX)
    if not isinstance(key, str) or not re.fullmatch(r"[A-Za-z_][\w.-]{0,99}", key):
        raise InvalidModel(f"{name}: the form id must be a name like monthly_self_check",
                           [Problem("bad form id", file=name)])
    fields, problems = _fields(name, schema["components"], "components")
    if problems:
        raise InvalidModel(f"{name}: the form cannot be used", problems)
    return Form(key, str(schema.get("name") or key), tuple(fields))


def _fields(name: str, components: list[Any], where: str) -> tuple[list[Field], list[Problem]]:
    """The value fields of ``components`` (a dynamic list's inner fields inside its one field), and the problems."""
    fields, problems = [], []
    for here, prefix, component in _components(components, where, ""):
        kind = component.get("type")
        if kind in _LAYOUT or kind in _CONTAINERS:
            continue
        if kind not in _VALUE_TYPES:
            problems.append(Problem(f"component type '{kind}' is not supported", file=name, field=here))
            continue
        field_key = component.get("path") if kind == "dynamiclist" else component.get("key")
        if not isinstance(field_key, str) or not field_key or (kind == "dynamiclist" and "." in field_key):
            problems.append(Problem("a dynamic list needs a path (one name)" if kind == "dynamiclist"
                                    else "a field needs a key", file=name, field=here))
            continue
        rules = component.get("validate") or {}
        problems += [Problem(p, file=name, field=here) for p in _rule_problems(rules)]
        items = None
        if kind == "dynamiclist":
            inner = component.get("components")
            items_found, inner_problems = _fields(name, inner if isinstance(inner, list) else [], here + ".components")
            items, problems = tuple(items_found), problems + inner_problems
            if any(f.kind == "dynamiclist" for f in items):
                problems.append(Problem("a dynamic list inside a dynamic list is not supported", file=name, field=here))
        values = component.get("values")
        options = tuple(v.get("value") for v in values if isinstance(v, dict)) if isinstance(values, list) else None
        fields.append(Field(prefix + field_key, kind, str(component.get("label") or field_key),
                            bool(rules.get("required")), rules, options, component.get("defaultValue"), items))
    keys = [f.key for f in fields]
    problems += [Problem(f"key '{k}' is used by two fields", file=name) for k in sorted(set(keys)) if keys.count(k) > 1]
    return fields, problems


def _components(components: list[Any], where: str, prefix: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(location, key prefix, component) of every component; a group with a ``path`` nests its fields' data."""
    for index, component in enumerate(components):
        if not isinstance(component, dict):
            continue
        here = f"{where}[{index}]"
        yield here, prefix, component
        if component.get("type") == "group" and isinstance(component.get("components"), list):
            path = component.get("path")
            inner = prefix + (f"{path}." if isinstance(path, str) and path else "")
            yield from _components(component["components"], here + ".components", inner)


def _check_field(field: Field, value: Any) -> list[Problem]:
    def problem(text: str) -> list[Problem]:
        return [Problem(f"{field.label}: {text}", field=field.key)]

    if value is None or value == "" or (value == [] and field.items is None):
        return problem("required") if field.required else []
    wanted = _VALUE_TYPES[field.kind]
    if (isinstance(value, bool) and bool not in wanted) or not isinstance(value, wanted):
        names = {str: "text", int: "a number", float: "a number", bool: "true or false", list: "a list"}
        return problem(f"must be {' or '.join(sorted({names[t] for t in wanted}))}, not {type(value).__name__}")
    rules = field.rules
    if isinstance(value, str):
        if len(value) > min(int(rules.get("maxLength") or MAX_TEXT), MAX_TEXT):
            return problem(f"at most {min(int(rules.get('maxLength') or MAX_TEXT), MAX_TEXT)} characters")
        if rules.get("minLength") and len(value) < int(rules["minLength"]):
            return problem(f"at least {rules['minLength']} characters")
        if rules.get("pattern") and not re.fullmatch(rules["pattern"], value):
            return problem("does not have the required format")
    if field.kind == "number":
        if rules.get("min") is not None and value < rules["min"]:
            return problem(f"at least {rules['min']}")
        if rules.get("max") is not None and value > rules["max"]:
            return problem(f"at most {rules['max']}")
    if field.items is not None:
        return _check_items(field, value)
    if field.kind == "datetime" and not _is_date(value):
        return problem("must be a date (YYYY-MM-DD) or date-time")
    chosen = value if isinstance(value, list) else [value] if field.kind in ("select", "radio") else []
    if field.options is not None and any(v not in field.options for v in chosen):
        return problem(f"must be one of {', '.join(map(str, field.options))}")
    return []


def _check_items(field: Field, items: list[Any]) -> list[Problem]:
    """A dynamic list: its length within bounds, each item an object of the list's fields, each field checked;
    a problem names the item (``rooms[1].area``)."""
    least, most = field.rules.get("minItems"), min(int(field.rules.get("maxItems") or MAX_ITEMS), MAX_ITEMS)
    if field.required and not items:
        return [Problem(f"{field.label}: required", field=field.key)]
    if least is not None and len(items) < least:
        return [Problem(f"{field.label}: at least {least} entries", field=field.key)]
    if len(items) > most:
        return [Problem(f"{field.label}: at most {most} entries", field=field.key)]
    problems = []
    known = {inner.key.split(".", 1)[0] for inner in field.items or ()}
    for index, item in enumerate(items):
        where = f"{field.key}[{index}]"
        if not isinstance(item, dict):
            problems.append(Problem(f"{field.label}: entry {index + 1} must be an object", field=where))
            continue
        problems += [Problem(f"'{key}' is not a field of {field.label}", field=f"{where}.{key}")
                     for key in item if key not in known]
        for inner in field.items or ():
            problems += [Problem(f"{field.label} {index + 1}: {p.message}", field=f"{where}.{p.field}")
                         for p in _check_field(inner, _lookup(item, inner.key))]
    return problems


def _is_date(value: str) -> bool:
    for parse in (date.fromisoformat, datetime.fromisoformat):
        try:
            parse(value)
            return True
        except ValueError:
            continue
    return False


#: A group repeated inside a repeated group, (a+)+: the shape that makes a regular expression take forever.
_NESTED_REPEAT = re.compile(r"\([^()]*[+*}][^()]*\)\s*[+*{]")


def _rule_problems(rules: Any) -> list[str]:
    """What is wrong with a component's ``validate`` rules, checked once at deployment."""
    if not isinstance(rules, dict):
        return ["validate must be an object"]
    problems = []
    for name in ("min", "max"):
        if rules.get(name) is not None and (isinstance(rules[name], bool) or not isinstance(rules[name], int | float)):
            problems.append(f"validate.{name} must be a number")
    for name in ("minLength", "maxLength", "minItems", "maxItems"):
        if rules.get(name) is not None and (isinstance(rules[name], bool) or not isinstance(rules[name], int)):
            problems.append(f"validate.{name} must be a whole number")
    pattern = rules.get("pattern")
    if pattern is not None:
        if not isinstance(pattern, str) or len(pattern) > 200:
            problems.append("validate.pattern must be text of at most 200 characters")
        elif _NESTED_REPEAT.search(pattern):
            problems.append("validate.pattern repeats a repeated group (like (a+)+), which can take forever to check")
        else:
            try:
                re.compile(pattern)
            except re.error as err:
                problems.append(f"bad pattern: {err}")
    return problems
