"""A JSON-schema task form shown as a form-js form, so the task page offers its fields as it offers form-js forms and
posts them the same way (:mod:`engine.json_schema_forms` checks every submission against the schema itself)."""

from __future__ import annotations

from typing import Any

from engine.json_schema_forms import choice_options, with_choices


def as_form_js(form_key: str, schema: dict[str, Any], ui: dict[str, Any] | None = None,
               data: dict[str, Any] | None = None) -> dict[str, Any]:
    """A form-js form showing the fields a JSON Schema asks for, so the task page can offer them as it offers form-js
    forms (and posts them the same way): text, numbers (whole numbers as such), yes/no, choices (``enum``, or
    ``oneOf`` of ``const`` with ``title``), dates (``format: date``), lists of choices, groups for nested
    objects and lists of such objects (a row per item, rows added and removed by the person); labels are the
    fields' titles, required ones marked. The UI schema's ``ui:order``, ``ui:widget:
    textarea``, ``ui:help`` and ``ui:readonly`` are followed. A field of another kind is left out, for the API to
    fill in; the server checks every submission against the JSON Schema itself. ``data``: the task's data, where
    choices named ``options_from_task_data_var:…`` come from."""
    root = with_choices(schema, data or {})
    return {"id": form_key, "type": "default", "schemaVersion": 16,
            "components": _components_of(root, ui or {}, "", root)}


def _resolved(field: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """A field with its local ``$ref`` (``#/definitions/…``, ``#/$defs/…``) followed, its own keys on top."""
    ref = field.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return field
    target: Any = root
    for part in ref[2:].split("/"):
        target = target.get(part) if isinstance(target, dict) else None
    if not isinstance(target, dict) or target is field:
        return field
    return {**_resolved(target, root), **{k: v for k, v in field.items() if k != "$ref"}}


def _components_of(schema: dict[str, Any], ui: dict[str, Any], prefix: str,
                   root: dict[str, Any]) -> list[dict[str, Any]]:
    properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    order = ui.get("ui:order") if isinstance(ui.get("ui:order"), list) else []
    names = [n for n in order if n in properties] + [n for n in properties if n not in order]
    required = set(schema.get("required") or [])
    components = []
    for name in names:
        field, field_ui = properties[name], ui.get(name) if isinstance(ui.get(name), dict) else {}
        if isinstance(field, dict):
            made = _component(str(name), _resolved(field, root), field_ui, name in required, prefix, root)
            components += [made] if made is not None else []
    return components


def _component(key: str, field: dict[str, Any], ui: dict[str, Any], required: bool, prefix: str,
               root: dict[str, Any]) -> dict[str, Any] | None:
    kind = field.get("type", "object" if isinstance(field.get("properties"), dict) else None)
    label = str(field.get("title") or key)
    made: dict[str, Any] = {"key": key, "label": label, "id": f"Field_{prefix}{key}".replace(".", "_")}
    rules: dict[str, Any] = {"required": True} if required else {}
    options = choice_options(field)
    if kind == "object":
        inner = _components_of(field, ui, f"{prefix}{key}.", root)
        return {"type": "group", "label": label, "path": key, "id": made["id"], "components": inner} if inner else None
    if kind == "array" and isinstance(field.get("items"), dict) and _object_items(field["items"], root):
        return _row_list(key, label, made["id"], field, ui, prefix, root, required)
    if options is not None:
        made.update(type="radio" if ui.get("ui:widget") == "radio" else "select", values=options)
    elif kind == "array" and isinstance(field.get("items"), dict) and choice_options(field["items"]) is not None:
        made.update(type="checklist", values=choice_options(field["items"]))
    elif kind == "boolean":
        made["type"] = "checkbox"
        rules = {}  # an unticked box is an answer (false), not a missing one
    elif kind in ("integer", "number"):
        made["type"] = "number"
        made.update({"decimalDigits": 0} if kind == "integer" else {})
        rules.update({"min": field["minimum"]} if isinstance(field.get("minimum"), int | float) else {})
        rules.update({"max": field["maximum"]} if isinstance(field.get("maximum"), int | float) else {})
    elif kind == "string" and field.get("format") == "date":
        made.update(type="datetime", subtype="date", dateLabel=label)
        del made["label"]
    elif kind == "string":
        made["type"] = "textarea" if ui.get("ui:widget") == "textarea" else "textfield"
        for name in ("minLength", "maxLength"):
            rules.update({name: field[name]} if isinstance(field.get(name), int) else {})
    else:
        return None
    if field.get("default") is not None:
        made["defaultValue"] = field["default"]
    help_text = ui.get("ui:help") or field.get("description")
    if isinstance(help_text, str) and help_text:
        made["description"] = help_text
    if ui.get("ui:readonly") is True or field.get("readOnly") is True:
        made["disabled"] = True
    if rules:
        made["validate"] = rules
    return made


def _object_items(items: dict[str, Any], root: dict[str, Any]) -> bool:
    resolved = _resolved(items, root)
    return resolved.get("type", "object") == "object" and isinstance(resolved.get("properties"), dict)


def _row_list(key: str, label: str, component_id: str, field: dict[str, Any], ui: dict[str, Any], prefix: str,
              root: dict[str, Any], required: bool) -> dict[str, Any] | None:
    """A list of objects as form-js' dynamic list: one row of the item's fields per item, as many rows as
    ``minItems`` asks for to begin with (one for a required list, none for an optional one, which an empty row
    would otherwise make the person fill or remove), rows added and removed by the person; ``maxItems`` and the
    rest are checked by the server. Rows are never folded away, so every answer stays in sight."""
    items_ui = ui.get("items") if isinstance(ui.get("items"), dict) else {}
    inner = _components_of(_resolved(field["items"], root), items_ui, f"{prefix}{key}.", root)
    if not inner:
        return None
    least = field.get("minItems") if isinstance(field.get("minItems"), int) else 0
    options = ui.get("ui:options") if isinstance(ui.get("ui:options"), dict) else {}
    return {"type": "dynamiclist", "label": label, "path": key, "id": component_id, "components": inner,
            "isRepeating": True, "allowAddRemove": options.get("addable", True) is not False,
            "defaultRepetitions": max(1 if required else 0, least), "disableCollapse": True, "showOutline": True}
