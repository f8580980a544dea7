"""Task forms: form-js schemas (``*.form.json``), checked when deployed and enforced when a task is completed.

The browser renders the form with form-js; the server checks the submission again against the same
schema, field by field, so a client that skips the form (the API, a script, a hostile user) gets the
same answer: every wrong field named, with its label, and nothing applied.

A ``dynamiclist`` with a ``path`` is a list of rows, each checked against the list's fields. A list whose
rows the process sets (``properties.rowsFrom``: the data variable holding them, ``properties.rowKey``: the
field naming each row) must come back with exactly those rows, each once, in any order: a checking sheet
with one row per teacher of the directory cannot lose a teacher or gain one. ``properties.excusedBy`` names
a field of the list that, filled in, excuses its row from the required fields (a reason such as 病假).
``validate.required``, ``minItems`` and ``maxItems`` on the list bound its length (at most :data:`MAX_ROWS`).
The form's ``properties.filesTo`` names a variable that, on completion, receives the files attached to the task
(``[{"attachment_id", "name", "uploaded_by", "uploaded_at"}]``).

Read-only fields, lists that only show rows and computed (``expression``) fields show process data
(:mod:`engine.form_context`); what a client sends back for them is dropped, so no one overwrites process data
through a field shown to them. A read-only field inside a list a person fills in (a teacher's name beside the
scores) keeps the process's value for its row (the row named by ``rowKey``), or none. A ``conditional.hide`` is
read, as form-js reads it, over the shown values with the submission on top.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date, datetime
from typing import Any

from engine.clock import BUSINESS_TZ
from engine.errors import InvalidModel, Problem
from engine.form_conditions import UNKNOWN, hide_condition
from engine.form_context import read_only, shown_list, shown_names
from engine.form_dates import DateRange, date_of, declared_range, range_problems
from engine.phrases import Phrase

FORM_SUFFIX = ".form.json"
#: Components that hold a value, and the JSON types a value may have.
_VALUE_TYPES: dict[str, tuple[type, ...]] = {
    "textfield": (str,), "textarea": (str,), "number": (int, float), "checkbox": (bool,), "radio": (str, int),
    "select": (str, int), "checklist": (list,), "taglist": (list,), "datetime": (str,), "dynamiclist": (list,),
}
#: How a refusal names a JSON value's type (each, and each "x or y" of _VALUE_TYPES, is in the errors catalogue).
_KIND_NAMES: dict[type, str] = {str: "text", int: "a number", float: "a number", bool: "true or false", list: "a list"}
_LAYOUT = frozenset({"text", "html", "image", "spacer", "separator", "button", "iframe", "table", "expression"})
_CONTAINERS = frozenset({"group"})
MAX_TEXT = 10_000
#: The most rows a dynamic list may hold (a school's class teachers and more).
MAX_ROWS = 2_000


@dataclass(frozen=True)
class Field:
    key: str  # dotted when inside a group with a path: scores.plan_summary
    kind: str
    label: str
    required: bool
    rules: dict[str, Any]
    options: tuple[Any, ...] | None
    default: Any = None
    #: A dynamic list's fields (each row is checked against them); None for any other field.
    rows: tuple[Field, ...] | None = None
    #: A dynamic list whose rows the process sets: the data variable holding them, and the field naming a row.
    rows_from: str | None = None
    row_key: str | None = None
    #: A dynamic list's field that, filled in, excuses its row from the required fields (a teacher on sick leave).
    excused_by: str | None = None
    #: A date field's accepted range (engine.form_dates); None for any other field.
    dates: DateRange | None = None
    #: The field's ``conditional.hide`` as a check of the form's data (see :mod:`engine.form_conditions`).
    hide: Any = dataclass_field(default=None, compare=False)
    #: A field of a dynamic list's rows that only shows (read-only): its value is the process's, never the client's.
    only_shows: bool = False

    def hidden(self, data: dict[str, Any]) -> bool:
        """Whether form-js hides this field for ``data``: then it is not checked and carries no value."""
        return self.hide is not None and self.hide is not UNKNOWN and self.hide(data)


@dataclass(frozen=True)
class Form:
    key: str
    name: str
    fields: tuple[Field, ...]
    #: The (dotted) keys of the fields that only show process data; a submission's values for them are dropped.
    read_only: frozenset[str] = frozenset()
    #: The variable that receives references to the files attached to the task (``properties.filesTo``), so a
    #: later step can show them: a case's file, uploaded with the case, shown to the expert who scores it.
    files_to: str | None = None
    #: The process data variables the form opens with (:func:`engine.form_context.shown_names`).
    shows: frozenset[str] = frozenset()

    def without_read_only(self, data: dict[str, Any], context: dict[str, Any] | None = None) -> dict[str, Any]:
        """The submission without what it sent for read-only fields (the process data they show stays as it is);
        a group left empty by that is dropped too. In a list's rows a read-only field takes the value of the
        process's row with the same key (``context``: the instance's data), or none."""
        kept = copy.deepcopy(_without(data, self.read_only))
        for field in self.fields:
            rows = _lookup(kept, field.key)
            if field.rows is not None and isinstance(rows, list):
                _rows_as_the_process_set(field, rows, (context or {}).get(field.rows_from or ""))
        return kept

    def hides(self) -> bool:
        """Whether any field has a hide condition (which may read the values the form shows)."""
        return any(f.hide is not None for f in self.fields)

    def filled(self, data: dict[str, Any], shown: dict[str, Any] | None = None) -> dict[str, Any]:
        """The submission with the fields it left out set to their default (or None), and hidden fields to None
        (hidden as form-js decides it, over the values the form showed, ``shown``, and the submission)."""
        seen = _overlay(shown, data)
        hidden = [f for f in self.fields if f.hidden(seen)]
        filled = with_defaults(self, data, {f.key: f.default for f in self.fields})
        for each in hidden:
            *groups, last = each.key.split(".")
            target = filled
            for part in groups:
                target = target.get(part) if isinstance(target.get(part), dict) else {}
            target[last] = None
        return filled

    @property
    def fixed_lists(self) -> tuple[Field, ...]:
        """The dynamic lists whose rows the process sets (checked against the instance's data)."""
        return tuple(f for f in self.fields if f.rows is not None and f.rows_from and f.row_key)

    def check(self, data: dict[str, Any], context: dict[str, Any] | None = None,
              today: date | None = None, shown: dict[str, Any] | None = None) -> list[Problem]:
        """Every problem of a submission, each naming the field (key and label); empty when it may be applied.

        ``context`` is the instance's data, against which lists with fixed rows are checked; ``today`` (Beijing)
        places the date fields' ranges; ``shown`` are the values the form opened with, which hide conditions read
        as form-js does.
        """
        today = today or datetime.now(BUSINESS_TZ).date()
        seen = _overlay(shown, data)
        known = {f.key for f in self.fields}
        problems = [Problem(Phrase("'%(key)s' is not a field of the form %(form)s", key=key, form=self.name), field=key)
                    for key in _leaf_keys(data, known) if key not in known or _spelled_dotted(data, key)]
        for field in self.fields:
            value = _lookup(data, field.key)
            if field.hidden(seen):
                continue
            if field.rows is None:
                problems += _check_field(field, value, today)
                continue
            problems += _check_rows(field, value, today)
            if field in self.fixed_lists and context is not None and isinstance(value, list):
                problems += _check_fixed_rows(field, value, context.get(field.rows_from or ""))
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
        if field.rows is not None and isinstance(target.get(parts[-1]), list):
            for row in target[parts[-1]]:
                for inner in field.rows if isinstance(row, dict) else ():
                    row.setdefault(inner.key, inner.default)
    return filled


def _overlay(under: dict[str, Any] | None, over: dict[str, Any]) -> dict[str, Any]:
    """``over`` on top of ``under``, group by group: what the form holds once a person has filled it in."""
    merged = dict(under or {})
    for key, value in over.items():
        below = merged.get(key)
        merged[key] = _overlay(below, value) if isinstance(value, dict) and isinstance(below, dict) else value
    return merged


def _rows_as_the_process_set(field: Field, rows: list[Any], process_rows: Any) -> None:
    """Each row's read-only fields set to those of the process's row with the same key, or removed."""
    shows = [inner.key for inner in field.rows or () if inner.only_shows and inner.key != field.row_key]
    if not shows:
        return
    by_key = {_hashable(row.get(field.row_key)): row for row in process_rows or ()
              if isinstance(row, dict)} if field.row_key and isinstance(process_rows, list) else {}
    for row in rows:
        if not isinstance(row, dict):
            continue
        source = by_key.get(_hashable(row.get(field.row_key or "")))
        for key in shows:
            row.pop(key, None)
            if source is not None and key in source:
                row[key] = source[key]


def _hashable(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool) or value is None else json.dumps(value)


def _without(data: dict[str, Any], keys: frozenset[str]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for key, value in data.items():
        if key in keys:
            continue
        inner = frozenset(k.split(".", 1)[1] for k in keys if k.startswith(key + "."))
        if inner and isinstance(value, dict):
            value = _without(value, inner)
            if not value:
                continue
        kept[key] = value
    return kept


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
    listed = [prefix + str(c.get("path") if c.get("type") == "dynamiclist" else c.get("key"))
              for _, prefix, c in _components(schema["components"], "components", "")
              if (read_only(c) or shown_list(c)) and (c.get("key") or c.get("path"))]
    shown = frozenset(listed)
    twice = sorted({key for key in listed if listed.count(key) > 1} | (shown & {f.key for f in fields}))
    if twice:  # form-js would refuse to render it ("binding path … is already claimed")
        raise InvalidModel(f"{name}: a key is shown or filled in by two fields: {', '.join(twice)}",
                           [Problem(f"key '{key}' is used by two fields", file=name) for key in twice])
    properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    files_to = properties.get("filesTo")
    if files_to is not None and (not isinstance(files_to, str) or not re.fullmatch(r"[A-Za-z_]\w{0,99}", files_to)
                                 or files_to in {f.key.split(".", 1)[0] for f in fields}):
        raise InvalidModel(f"{name}: properties.filesTo must name a variable that is not a field of the form",
                           [Problem("bad filesTo", file=name, field="properties.filesTo")])
    return Form(key, str(schema.get("name") or key), tuple(fields), shown, files_to,
                frozenset(shown_names(schema["components"])))


def _fields(name: str, components: list[Any], where: str) -> tuple[list[Field], list[Problem]]:
    """The value fields of ``components`` (a dynamic list's inner fields inside its one field), and the problems."""
    fields, problems = [], []
    for here, prefix, component in _components(components, where, ""):
        kind = component.get("type")
        if read_only(component) or shown_list(component):
            continue  # shows process data (engine.form_context), takes nothing
        if kind == "dynamiclist" and component.get("path"):
            listed, list_problems = _dynamic_list(name, where, prefix, component)
            fields += [listed] if listed is not None else []
            problems += list_problems
            continue
        if kind in _LAYOUT or kind in _CONTAINERS:
            continue
        if kind not in _VALUE_TYPES:
            problems.append(Problem(f"component type '{kind}' is not supported", file=name, field=here))
            continue
        field_key = component.get("key")
        if kind == "dynamiclist" or not isinstance(field_key, str) or not field_key:
            problems.append(Problem("a dynamic list needs a path (one name)" if kind == "dynamiclist"
                                    else "a field needs a key", file=name, field=here))
            continue
        rules = component.get("validate") or {}
        problems += [Problem(p, file=name, field=here) for p in _rule_problems(rules)]
        values = component.get("values")
        options = tuple(v.get("value") for v in values if isinstance(v, dict)) if isinstance(values, list) else None
        dates = declared_range(component) if kind == "datetime" else None
        problems += [Problem(p, file=name, field=here) for p in (range_problems(component) if dates else [])]
        conditional = component.get("conditional")
        fields.append(Field(prefix + field_key, kind, str(component.get("label") or field_key),
                            bool(rules.get("required")), rules, options, component.get("defaultValue"), dates=dates,
                            hide=hide_condition(conditional.get("hide")) if isinstance(conditional, dict) else None))
    keys = [f.key for f in fields]
    problems += [Problem(f"key '{k}' is used by two fields", file=name) for k in sorted(set(keys)) if keys.count(k) > 1]
    return fields, problems


def _dynamic_list(name: str, where: str, prefix: str, component: dict[str, Any]) -> tuple[Field | None, list[Problem]]:
    """A dynamic list's field: its rows' fields (plain value fields only) and, when set, where its rows come from."""
    path = component["path"]
    if not isinstance(path, str) or not re.fullmatch(r"[A-Za-z_]\w{0,99}", path):
        return None, [Problem("a dynamic list's path must be a name", file=name, field=where)]
    rows, problems = [], []
    for index, inner in enumerate(component.get("components") or []):
        here = f"{where}.components[{index}]"
        kind = inner.get("type") if isinstance(inner, dict) else None
        if kind in _LAYOUT:
            continue
        if kind not in _VALUE_TYPES or not isinstance(inner.get("key"), str) or not inner["key"]:
            problems.append(Problem("a dynamic list holds value fields with keys only", file=name, field=here))
            continue
        rules = inner.get("validate") or {}
        problems += [Problem(p, file=name, field=here) for p in _rule_problems(rules)]
        values = inner.get("values")
        options = tuple(v.get("value") for v in values if isinstance(v, dict)) if isinstance(values, list) else None
        dates = declared_range(inner) if kind == "datetime" else None
        problems += [Problem(p, file=name, field=here) for p in (range_problems(inner) if dates else [])]
        rows.append(Field(inner["key"], kind, str(inner.get("label") or inner["key"]), bool(rules.get("required")),
                          rules, options, inner.get("defaultValue"), dates=dates, only_shows=read_only(inner)))
    rules = component.get("validate") or {}
    problems += [Problem(p, file=name, field=where) for p in _rule_problems(rules)]
    properties = component.get("properties") if isinstance(component.get("properties"), dict) else {}
    rows_from, row_key, excused_by = properties.get("rowsFrom"), properties.get("rowKey"), properties.get("excusedBy")
    if (rows_from is None) != (row_key is None) or (row_key is not None and row_key not in {r.key for r in rows}):
        problems.append(Problem("properties rowsFrom and rowKey go together, and rowKey names a field of the list",
                                file=name, field=where))
    if excused_by is not None and excused_by not in {r.key for r in rows}:
        problems.append(Problem("properties excusedBy names a field of the list", file=name, field=where))
    rules = rules if isinstance(rules, dict) else {}
    return Field(prefix + path, "dynamiclist", str(component.get("label") or path), bool(rules.get("required")),
                 rules, None, None, tuple(rows), rows_from, row_key, excused_by), problems


def _check_rows(field: Field, value: Any, today: date) -> list[Problem]:
    """A dynamic list: a list of rows within its bounds, each with the list's fields only, each field checked;
    a problem names the row (``rooms[1].area``)."""
    if value is None or value == []:
        return [Problem(Phrase("%(label)s: required", label=field.label), field=field.key)] if field.required else []
    if not isinstance(value, list) or not all(isinstance(row, dict) for row in value):
        return [Problem(Phrase("%(label)s: must be a list of rows", label=field.label), field=field.key)]
    least, most = field.rules.get("minItems"), min(int(field.rules.get("maxItems") or MAX_ROWS), MAX_ROWS)
    if least is not None and len(value) < least:
        return [Problem(Phrase("%(label)s: at least %(n)s rows", label=field.label, n=least), field=field.key)]
    if len(value) > most:
        return [Problem(Phrase("%(label)s: at most %(n)s rows", label=field.label, n=most), field=field.key)]
    known = {inner.key for inner in field.rows or ()}
    problems = []
    for number, row in enumerate(value, start=1):
        where = f"{field.key}[{number - 1}]"
        excused = field.excused_by is not None and row.get(field.excused_by) not in (None, "", [])
        problems += [Problem(Phrase("%(label)s, row %(row)s: '%(key)s' is not a field of the list", label=field.label,
                                    row=number, key=key), field=f"{where}.{key}") for key in row if key not in known]
        for inner in field.rows or ():
            row_label = Phrase("%(label)s, row %(row)s: %(field)s", label=field.label, row=number, field=inner.label)
            labelled = Field(f"{where}.{inner.key}", inner.kind, row_label,
                             inner.required and not excused, inner.rules, inner.options, dates=inner.dates)
            problems += _check_field(labelled, row.get(inner.key), today)
    return problems


def _check_fixed_rows(field: Field, value: list[Any], expected: Any) -> list[Problem]:
    """The rows the process set, each once: none left out, none added (named by the list's row key)."""
    key = field.row_key or ""
    wanted = [row.get(key) for row in expected if isinstance(row, dict)] if isinstance(expected, list) else []
    given = [row.get(key) for row in value if isinstance(row, dict)]
    problems = []
    missing = [str(k) for k in wanted if k not in given]
    if missing:
        more = Phrase(" and %(n)s more", n=len(missing) - 20) if len(missing) > 20 else ""
        problems.append(Problem(Phrase("%(label)s: rows missing for %(rows)s%(more)s", label=field.label,
                                       rows=", ".join(missing[:20]), more=more), field=field.key))
    extra = sorted({str(k) for k in given if k not in wanted})
    if extra:
        problems.append(Problem(Phrase("%(label)s: no such rows: %(rows)s", label=field.label,
                                       rows=", ".join(extra[:20])), field=field.key))
    twice = sorted({str(k) for k in given if given.count(k) > 1})
    if twice:
        problems.append(Problem(Phrase("%(label)s: rows given twice: %(rows)s", label=field.label,
                                       rows=", ".join(twice[:20])), field=field.key))
    return problems


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


def _check_field(field: Field, value: Any, today: date) -> list[Problem]:
    """The first thing wrong with one field's value, said as "label: what" (a Phrase the web says in Chinese)."""
    def problem(text: Phrase) -> list[Problem]:
        return [Problem(text, field=field.key)]

    label = field.label
    if value is None or value == "" or value == []:
        return problem(Phrase("%(label)s: required", label=label)) if field.required else []
    wanted = _VALUE_TYPES[field.kind]
    if (isinstance(value, bool) and bool not in wanted) or not isinstance(value, wanted):
        kinds, given = " or ".join(sorted({_KIND_NAMES[t] for t in wanted})), _KIND_NAMES.get(type(value), "an object")
        return problem(Phrase("%(label)s: must be %(kinds)s, not %(given)s", label=label, kinds=Phrase(kinds),
                              given=Phrase(given)))
    rules = field.rules
    if isinstance(value, str):
        longest = min(int(rules.get("maxLength") or MAX_TEXT), MAX_TEXT)
        if len(value) > longest:
            return problem(Phrase("%(label)s: at most %(n)s characters", label=label, n=longest))
        if rules.get("minLength") and len(value) < int(rules["minLength"]):
            return problem(Phrase("%(label)s: at least %(n)s characters", label=label, n=rules["minLength"]))
        if rules.get("pattern") and not re.fullmatch(rules["pattern"], value):
            return problem(Phrase("%(label)s: does not have the required format", label=label))
    if field.kind == "number":
        if rules.get("min") is not None and value < rules["min"]:
            return problem(Phrase("%(label)s: at least %(n)s", label=label, n=rules["min"]))
        if rules.get("max") is not None and value > rules["max"]:
            return problem(Phrase("%(label)s: at most %(n)s", label=label, n=rules["max"]))
    if field.kind == "datetime":
        day = date_of(value)
        if day is None:
            return problem(Phrase("%(label)s: must be a date (YYYY-MM-DD) or date-time", label=label))
        low, high = (field.dates or DateRange(None, None)).resolved(today)
        if not low <= day <= high:
            return problem(Phrase("%(label)s: must be a date from %(low)s to %(high)s", label=label,
                                  low=low.isoformat(), high=high.isoformat()))
    chosen = value if isinstance(value, list) else [value] if field.kind in ("select", "radio") else []
    if field.options is not None and any(v not in field.options for v in chosen):
        return problem(Phrase("%(label)s: must be one of %(options)s", label=label,
                              options=", ".join(map(str, field.options))))
    return []


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
        wrong = pattern_problem(pattern)
        problems += [f"validate.{wrong}" if wrong.startswith("pattern ") else wrong] if wrong else []
    return problems


def pattern_problem(pattern: Any) -> str | None:
    """What makes a form's regular expression unusable (too long, one that can take forever, not parsing)."""
    if not isinstance(pattern, str) or len(pattern) > 200:
        return "pattern must be text of at most 200 characters"
    if _NESTED_REPEAT.search(pattern):
        return "pattern repeats a repeated group (like (a+)+), which can take forever to check"
    try:
        re.compile(pattern)
    except re.error as err:
        return f"bad pattern: {err}"
    return None
