"""Task forms written as JSON Schema, as spiff-arena models have them: checked at deployment, enforced on completion.

A user task names its form in its ``spiffworkflow:properties``: ``formJsonSchemaFilename`` (the JSON Schema of the
data it asks for) and ``formUiSchemaFilename`` (how RJSF lays it out), both files of the model's folder
(``<name>-schema.json``, ``<name>-uischema.json``). A deployment keeps them with the process version
(``deployment_resource``, bound through ``definition_artifact``), refuses a task naming a file that is missing, not
JSON or not a JSON Schema, and a completion is checked with :mod:`jsonschema` against the version's schema: every
wrong field named (by its ``title``, the person's word for it), nothing applied. A key the schema does not know is
refused as it is for form-js forms, so nobody sets process data through a form that does not ask for it.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from jsonschema import ValidationError, validators
from jsonschema.exceptions import SchemaError

from engine.bpmn import schema as bpmn_schema
from engine.bpmn.safe_xml import parse_xml
from engine.errors import InvalidModel, Problem
from engine.forms import pattern_problem
from engine.phrases import Phrase

SCHEMA_PROPERTY = "formJsonSchemaFilename"
UI_SCHEMA_PROPERTY = "formUiSchemaFilename"
#: definition_artifact kinds: the JSON Schema a task's completion is checked against, and its layout for RJSF.
SCHEMA_KIND, UI_SCHEMA_KIND = "jsonschema", "uischema"
_SPIFF = "{http://spiffworkflow.org/bpmn/schema/1.0/core}"
_TASKS = ("userTask", "manualTask")
#: How a refusal names a JSON Schema type (each is in the errors catalogue).
_TYPE_NAMES = {"string": "text", "integer": "a whole number", "number": "a number", "boolean": "true or false",
               "array": "a list", "object": "an object", "null": "empty"}
#: Subschemas whose properties a submission may also hold (RJSF's dependencies and conditional fields).
_ALTERNATIVES = ("allOf", "anyOf", "oneOf")


@dataclass(frozen=True)
class SchemaUse:
    """A task naming a JSON file: which task (file, element id, line), which property and which file."""

    bpmn_file: str
    element_id: str
    line: int | None
    property: str
    filename: str
    #: The JSON Schema the same task names (a UI schema is kept as that schema's layout).
    schema_filename: str | None = None


def schema_uses(name: str, content: bytes, max_bytes: int) -> list[SchemaUse]:
    """The JSON files the user and manual tasks of a BPMN file name (none for other files)."""
    tree = parse_xml(content, name, max_bytes)
    if not bpmn_schema.is_bpmn(tree):
        return []
    uses = []
    for element in tree.iter(*(bpmn_schema.bpmn_tag(kind) for kind in _TASKS)):
        named = [(prop, prop.get("name"), (prop.get("value") or "").strip()) for prop in element.iterfind(
            f"{bpmn_schema.bpmn_tag('extensionElements')}/{_SPIFF}properties/{_SPIFF}property")]
        schema_filename = next((value for _p, prop_name, value in named if prop_name == SCHEMA_PROPERTY and value),
                               None)
        uses += [SchemaUse(name, element.get("id") or "", prop.sourceline, prop_name, value, schema_filename)
                 for prop, prop_name, value in named if prop_name in (SCHEMA_PROPERTY, UI_SCHEMA_PROPERTY) and value]
    return uses


def resolve(use: SchemaUse, available: Iterable[str]) -> str | None:
    """The deployed file a task means: beside its BPMN file (spiff-arena's model folder), else the one file of
    the deployment with that name; None when there is none or several."""
    names = set(available)
    beside = posixpath.normpath(posixpath.join(posixpath.dirname(use.bpmn_file), use.filename))
    if beside in names:
        return beside
    same = [n for n in names if posixpath.basename(n) == posixpath.basename(use.filename)]
    return same[0] if len(same) == 1 else None


@dataclass(frozen=True)
class Binding:
    """The JSON files a deployment's tasks use: by BPMN file, ``(kind, name, deployed file)``; the name is the one
    the task writes for its JSON Schema (also for the UI schema that lays it out)."""

    by_file: dict[str, tuple[tuple[str, str, str], ...]]

    def used(self, bpmn_files: Iterable[str]) -> dict[tuple[str, str], str]:
        """(kind, name) → deployed file, for the tasks of ``bpmn_files`` (a process and the ones it calls)."""
        return {(kind, key): resource for f in bpmn_files for kind, key, resource in self.by_file.get(f, ())}


def bind_json_forms(bpmn_files: list[tuple[str, bytes]], json_files: dict[str, bytes], max_bytes: int) -> Binding:
    """Which deployed JSON file each task's form names; InvalidModel naming the task (file, element, line) when a
    file is missing, is not JSON, or is not a JSON Schema (a UI schema: not a JSON object)."""
    problems: list[Problem] = []
    by_file: dict[str, list[tuple[str, str, str]]] = {}
    checked: dict[tuple[str, str], str | None] = {}
    for name, content in bpmn_files:
        for use in schema_uses(name, content, max_bytes):
            kind = SCHEMA_KIND if use.property == SCHEMA_PROPERTY else UI_SCHEMA_KIND
            resource = resolve(use, json_files)
            if resource is None:
                problems.append(Problem(f"{use.property} names '{use.filename}', which is not among the deployed "
                                        f"files: deploy it beside {posixpath.basename(use.bpmn_file)}",
                                        file=use.bpmn_file, line=use.line, element_id=use.element_id))
                continue
            if (kind, resource) not in checked:
                checked[(kind, resource)] = _file_problem(kind, resource, json_files[resource])
            wrong = checked[(kind, resource)]
            if wrong is not None:
                problems.append(Problem(f"{use.property} names '{use.filename}': {wrong}", file=use.bpmn_file,
                                        line=use.line, element_id=use.element_id))
                continue
            entries = by_file.setdefault(name, [])
            key = use.filename if kind == SCHEMA_KIND else use.schema_filename
            if key is not None and not any((k, known) == (kind, key) for k, known, _r in entries):
                entries.append((kind, key, resource))
    if problems:
        raise InvalidModel("a task's JSON-schema form cannot be used; nothing was deployed", problems)
    return Binding({name: tuple(entries) for name, entries in by_file.items()})


def _file_problem(kind: str, name: str, content: bytes) -> str | None:
    try:
        document = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        return f"{name} is not a JSON document ({err})"
    if not isinstance(document, dict):
        return f"{name} is not a JSON object"
    if kind == UI_SCHEMA_KIND:
        return None
    try:
        JsonSchemaForm.of(name, document)
    except InvalidModel as err:
        return str(err)
    return None


class JsonSchemaForm:
    """A task's JSON Schema, ready to check submissions (made once per content, see the unit of work's cache)."""

    def __init__(self, name: str, schema: dict[str, Any]) -> None:
        self.name = str(schema.get("title") or name)
        self.schema = schema
        #: The variables whose lists give choices (``options_from_task_data_var:…``): none, usually.
        self.choices_from = frozenset(choice_variables(schema))
        self._validator = validators.validator_for(schema)(with_choices(schema, None))
        self._known = frozenset(_property_names(schema))
        self._open = schema.get("additionalProperties", False) is not False

    @classmethod
    def of(cls, name: str, schema: Any) -> JsonSchemaForm:
        """The form of a schema; InvalidModel when it is not a JSON Schema for an object of fields."""
        if not isinstance(schema, dict):
            raise InvalidModel(f"{name} is not a JSON object", [Problem("not an object", file=name)])
        if schema.get("type", "object") != "object" and "properties" not in schema:
            raise InvalidModel(f"{name} is not the JSON Schema of a form: its type must be \"object\" with "
                               "\"properties\"", [Problem("not an object schema", file=name)])
        validator = validators.validator_for(schema)
        try:
            validator.check_schema(with_choices(schema, None))
        except SchemaError as err:
            where = "/".join(map(str, err.absolute_path)) or "the top"
            raise InvalidModel(f"{name} is not a valid JSON Schema at {where}: {err.message}",
                               [Problem(err.message, file=name, field=where)]) from None
        bad = [p for p in (pattern_problem(pattern) for pattern in _patterns(schema)) if p]
        if bad:
            raise InvalidModel(f"{name}: {bad[0]}", [Problem(p, file=name) for p in bad])
        unnamed = [field for field in dict.fromkeys(_property_names(schema)) if not _variable_name(field)]
        if unnamed:
            raise InvalidModel(f"{name}: {_unnamed_problem(unnamed[0])}",
                               [Problem(_unnamed_problem(field), file=name, field=field) for field in unnamed])
        return cls(name, schema)

    @classmethod
    def parse(cls, name: str, content: bytes) -> JsonSchemaForm:
        try:
            schema = json.loads(content.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as err:
            raise InvalidModel(f"{name} is not a JSON document: {err}", [Problem(str(err), file=name)]) from None
        return cls.of(name, schema)

    @staticmethod
    def answered(data: dict[str, Any]) -> dict[str, Any]:
        """The submission without the fields left empty (None or ""), as RJSF sends it: a required one is then
        missing, an optional one absent rather than of the wrong type (in nested objects and list rows too)."""
        return {key: _answered_value(value) for key, value in data.items() if value is not None and value != ""}

    def check(self, data: dict[str, Any], context: dict[str, Any] | None = None) -> list[Problem]:
        """Every field the submission gets wrong, each once, named by its title (key and path as ``field``);
        ``context``: the task's data, from which choices named ``options_from_task_data_var:…`` come."""
        validator = self._validator
        if self.choices_from:
            validator = validators.validator_for(self.schema)(with_choices(self.schema, context or {}))
        problems: list[Problem] = []
        if not self._open:
            problems += [Problem(Phrase("'%(key)s' is not a field of the form %(form)s", key=key, form=self.name),
                                 field=key) for key in data if key not in self._known]
        named = {p.field for p in problems}
        for error in sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path]):
            for problem in _problems(error, self.schema):
                if problem.field not in named:
                    named.add(problem.field)
                    problems.append(problem)
        return problems


#: spiff-arena's way of taking a field's choices from the task's data: ``"anyOf": ["options_from_task_data_var:x"]``.
CHOICES_FROM = "options_from_task_data_var:"


def _answered_value(value: Any) -> Any:
    if isinstance(value, dict):
        return JsonSchemaForm.answered(value)
    if isinstance(value, list):
        return [JsonSchemaForm.answered(row) if isinstance(row, dict) else row for row in value]
    return value


def choice_variables(schema: Any) -> Iterator[str]:
    """The task data variables a schema takes choices from (``options_from_task_data_var:…``)."""
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key in ("anyOf", "items") and _placeholder(value):
                yield value[0].removeprefix(CHOICES_FROM)
            else:
                yield from choice_variables(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from choice_variables(value)


def _placeholder(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 1 and isinstance(value[0], str) and \
        value[0].startswith(CHOICES_FROM)


def with_choices(schema: Any, data: dict[str, Any] | None) -> Any:
    """``schema`` with each ``options_from_task_data_var:x`` replaced by the choices the list ``x`` of ``data``
    holds (``{"value", "label"}`` entries become ``{"enum": [value], "title": label}``, as spiff-arena makes them);
    a placeholder whose list is not there (or no ``data``: at deployment) accepts any value."""
    if isinstance(schema, dict):
        made = {}
        for key, value in schema.items():
            if key in ("anyOf", "items") and _placeholder(value):
                listed = (data or {}).get(value[0].removeprefix(CHOICES_FROM))
                made[key] = _choices(listed, key)
            else:
                made[key] = with_choices(value, data)
        return made
    if isinstance(schema, list):
        return [with_choices(value, data) for value in schema]
    return schema


def _choices(listed: Any, key: str) -> Any:
    if not isinstance(listed, list) or not listed or not all(isinstance(entry, dict) for entry in listed):
        return [{}] if key == "anyOf" else {}
    if all("value" in entry and "label" in entry for entry in listed):
        listed = [{"enum": [entry["value"]], "title": str(entry["label"])} for entry in listed]
    return listed if key == "anyOf" else {"anyOf": listed}


def _property_names(schema: dict[str, Any]) -> Iterator[str]:
    """The fields a submission may hold: the schema's properties, its dependencies' and alternatives'."""
    yield from schema.get("properties") or {}
    parts: list[Any] = [schema.get("if"), schema.get("then"), schema.get("else")]
    for key in _ALTERNATIVES:
        parts += schema.get(key) or []
    dependencies = schema.get("dependencies") or {}
    parts += list(dependencies.values()) if isinstance(dependencies, dict) else []
    parts += list((schema.get("dependentSchemas") or {}).values())
    for part in parts:
        if isinstance(part, dict):
            yield from _property_names(part)


def _variable_name(field: str) -> bool:
    """Whether a form field's name can be a variable of the task data (what scripts and conditions read)."""
    return field.isidentifier() and not field.startswith("_")


def _unnamed_problem(field: str) -> str:
    """Why a field name cannot be a variable, and what to write instead (spiff-arena keeps 'a.b' as one key)."""
    if "." in field:
        head, _, rest = field.partition(".")
        return (f"the field '{field}' would be a variable scripts cannot name; nest it instead: "
                f"\"{head}\": {{\"type\": \"object\", \"properties\": {{\"{rest}\": …}}}} gives {head}['{rest}']")
    return f"the field '{field}' would be a variable scripts cannot name; give it a name of letters, digits and _ " \
           "that does not start with a digit or _"


def _patterns(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        if isinstance(schema.get("pattern"), str):
            yield schema["pattern"]
        if isinstance(schema.get("patternProperties"), dict):
            yield from (k for k in schema["patternProperties"] if isinstance(k, str))
        for value in schema.values():
            yield from _patterns(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _patterns(value)


def _field(path: Iterable[Any]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _title(schema: dict[str, Any], path: list[Any]) -> str | None:
    """The ``title`` of the field at ``path`` (through properties and array items), if the schema gives one."""
    here: Any = schema
    for part in path:
        if not isinstance(here, dict):
            return None
        here = here.get("items") if isinstance(part, int) else (here.get("properties") or {}).get(part)
    return str(here["title"]) if isinstance(here, dict) and here.get("title") else None


def _problems(error: ValidationError, schema: dict[str, Any]) -> list[Problem]:
    """One jsonschema error as Problems in the form's words (a Phrase the web says in Chinese)."""
    path = list(error.absolute_path)
    choices = choice_options(error.schema) if error.validator in ("anyOf", "oneOf") and \
        isinstance(error.schema, dict) else None
    if choices is not None:
        return [Problem(Phrase("%(label)s: must be one of %(options)s", label=_title(schema, path) or
                               (str(path[-1]) if path else ""), options=", ".join(str(c["label"]) for c in choices)),
                        field=_field(path) or None)]
    if error.validator in ("anyOf", "oneOf") and error.context:  # the closest alternative says what is wrong
        deepest = max(error.context, key=lambda e: len(e.absolute_path))
        if len(deepest.absolute_path) > len(path):
            return _problems(deepest, schema)
    if error.validator == "required":
        missing = [name for name in error.validator_value if isinstance(error.instance, dict)
                   and name not in error.instance]
        return [Problem(Phrase("%(label)s: required", label=_title(schema, [*path, name]) or name),
                        field=_field([*path, name])) for name in missing]
    field = _field(path) or None
    label = _title(schema, path) or (str(path[-1]) if path else "")
    value = error.validator_value
    wording = {
        "type": lambda: Phrase("%(label)s: must be %(kinds)s, not %(given)s", label=label, kinds=_kinds(value),
                               given=Phrase(_kind_of(error.instance))),
        "enum": lambda: Phrase("%(label)s: must be one of %(options)s", label=label,
                               options=", ".join(map(str, value))),
        "minimum": lambda: Phrase("%(label)s: at least %(n)s", label=label, n=value),
        "maximum": lambda: Phrase("%(label)s: at most %(n)s", label=label, n=value),
        "minLength": lambda: Phrase("%(label)s: at least %(n)s characters", label=label, n=value),
        "maxLength": lambda: Phrase("%(label)s: at most %(n)s characters", label=label, n=value),
        "pattern": lambda: Phrase("%(label)s: does not have the required format", label=label),
        "minItems": lambda: Phrase("%(label)s: at least %(n)s rows", label=label, n=value),
        "maxItems": lambda: Phrase("%(label)s: at most %(n)s rows", label=label, n=value),
    }
    if (error.validator == "minLength" and value == 1) or (error.validator == "type" and error.instance is None):
        return [Problem(Phrase("%(label)s: required", label=label), field=field)]
    made = wording.get(str(error.validator))
    text = made() if made else Phrase("%(label)s: %(problem)s", label=label, problem=error.message[:300])
    return [Problem(text, field=field)]


def _kinds(value: Any) -> Phrase:
    names = value if isinstance(value, list) else [value]
    joined = " or ".join(sorted({_TYPE_NAMES.get(str(n), str(n)) for n in names}))
    return Phrase(joined)


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    return "empty" if value is None else "an object"


def ui_schema(content: bytes) -> dict[str, Any]:
    """A deployed UI schema (checked at deployment to be a JSON object)."""
    found = json.loads(content.decode("utf-8"))
    return found if isinstance(found, dict) else {}


def choice_options(field: dict[str, Any]) -> list[dict[str, Any]] | None:
    """A field's choices as (label, value) pairs, from ``enum`` (with RJSF's ``enumNames``), or ``oneOf``/``anyOf`` of
    ``const`` (or one-value ``enum``) entries with titles; None when it has none."""
    if isinstance(field.get("enum"), list):
        labels = field.get("enumNames") if isinstance(field.get("enumNames"), list) else []
        return [{"label": str(labels[i]) if i < len(labels) else str(value), "value": value}
                for i, value in enumerate(field["enum"]) if value is not None]
    choices = field.get("oneOf") or field.get("anyOf")
    if not isinstance(choices, list) or not choices or not all(isinstance(c, dict) for c in choices):
        return None
    values = [c["const"] if "const" in c else c["enum"][0] if isinstance(c.get("enum"), list) and len(c["enum"]) == 1
              else _NO_CHOICE for c in choices]
    if any(v is _NO_CHOICE for v in values):
        return None
    return [{"label": str(c.get("title") or v), "value": v} for c, v in zip(choices, values, strict=True)]


_NO_CHOICE = object()
