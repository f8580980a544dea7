"""Completing human tasks, including items of a parallel multi-instance task."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import bindparam, select, update

from engine.access.policy import is_candidate, may_read_task, may_work_on_task
from engine.clock import BUSINESS_TZ
from engine.commands.acting import acting_person_of
from engine.commands.event_routing import persist_and_route
from engine.commands.instance_state import close_offers, load_instance, require_json_object, require_label, run_step
from engine.commands.requests import CompleteTask
from engine.commands.task_conflicts import task_taken
from engine.commands.task_refusals import may_not_complete
from engine.commands.unit_of_work import UnitOfWork
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.forms import parse_form
from engine.json_schema_forms import SCHEMA_KIND, JsonSchemaForm
from engine.phrases import Phrase
from engine.runtime.script_environment import acting_person
from engine.runtime.task_data import waiting_task_data
from engine.store import tables

_t, _c, _g, _f = tables.human_task, tables.task_candidate, tables.item_group, tables.form_definition
_a, _i, _at = tables.definition_artifact, tables.process_instance, tables.task_attachment
_d, _r = tables.process_definition, tables.deployment_resource
_LOAD_TASK = select(_t).where(_t.c.id == bindparam("id"))
_CLOSE_TASK = (update(_t).where(_t.c.id == bindparam("task_id"), _t.c.state == "open")
               .values(state="completed", completed_at=bindparam("now"), completed_by=bindparam("actor"),
                       item_output=bindparam("item_output")))
_COUNT_ITEM = (update(_g).where(_g.c.id == bindparam("group_id"), _g.c.state == "open")
               .values(done=_g.c.done + 1).returning(_g.c.done, _g.c.total))


def complete_task(command: CompleteTask, uow: UnitOfWork) -> dict[str, Any]:
    data = require_json_object(command.data, "data")
    require_label(command.actor, "actor", 100)
    task = uow.read(_LOAD_TASK, {"id": command.task_id}).first()
    if task is None or not may_read_task(uow, command.actor, task.id):  # as missing for whoever may not see it
        raise NotFound(Phrase("task %(task)s does not exist", task=command.task_id))
    if task.state != "open":
        raise task_taken(uow, task.id)
    _authorise(uow, task, command.actor)
    if task.form_key:
        data = _check_form(uow, task, data)
    if task.item_group_id is not None:
        _close(uow, task, command.actor, data)
        return _complete_item(uow, task, command.actor)
    loaded = load_instance(uow, task.instance_id)
    with acting_person(acting_person_of(uow, command.actor)):
        incident = run_step(lambda: uow.runtime.complete_human_task(loaded.workflow, task.spiff_task_id, data))
    _close(uow, task, command.actor, data)  # the guarded write: a concurrent completion fails here
    instance = persist_and_route(uow, loaded.record, loaded.workflow, incident, command.actor)
    return {"task_id": task.id, "state": "completed", "instance": instance}


def _complete_item(uow: UnitOfWork, task: Any, actor: str) -> dict[str, Any]:
    """Count the item done; only the last one of its group loads and moves the workflow."""
    counted = uow.execute(_COUNT_ITEM, {"group_id": task.item_group_id}).first()
    if counted is None:
        raise Conflict(f"the multi-instance activity of task {task.id} is no longer open")
    done, total = counted
    if done < total:
        return {"task_id": task.id, "state": "completed", "items_done": done, "items_total": total}
    uow.execute(update(_g).where(_g.c.id == task.item_group_id).values(state="finished"))
    rows = uow.read(select(_t.c.item_key, _t.c.item_output)
                       .where(_t.c.item_group_id == task.item_group_id, _t.c.state == "completed")
                       .order_by(_t.c.id)).all()
    results = [(json.loads(key), json.loads(output or "{}")) for key, output in rows]
    loaded = load_instance(uow, task.instance_id)
    incident = run_step(lambda: uow.runtime.finish_items(loaded.workflow, task.spiff_task_id, results))
    instance = persist_and_route(uow, loaded.record, loaded.workflow, incident, actor)
    return {"task_id": task.id, "state": "completed", "items_done": done, "items_total": total,
            "instance": instance}


def _close(uow: UnitOfWork, task: Any, actor: str, data: dict[str, Any]) -> None:
    item_output = None
    if task.item_group_id is not None:
        item_output = json.dumps({**json.loads(task.item_input or "{}"), **data}, ensure_ascii=False)
    closed = uow.execute(_CLOSE_TASK, {"task_id": task.id, "now": uow.now, "actor": actor,
                                       "item_output": item_output})
    if closed.rowcount != 1:
        raise task_taken(uow, task.id)
    close_offers(uow, [task.id])
    uow.record("task_completed", instance_id=task.instance_id, element_id=task.element_id, task_id=task.id,
               actor=actor, fields=sorted(data))


def _check_form(uow: UnitOfWork, task: Any, data: dict[str, Any]) -> dict[str, Any]:
    """The submission checked against the task's form, its left-out fields filled in; what it sent for read-only
    fields dropped; the task's files referenced when the form asks for it (``properties.filesTo``).

    The form is the version the instance's process version was deployed with (the newest, for a version
    deployed before its form was); a task whose form key names no deployed form takes the data as it is.
    """
    instance_id, form_key = task.instance_id, task.form_key
    json_form = _json_schema_form(uow, instance_id, form_key)
    if json_form is not None:
        data = json_form.answered(data)
        context = None
        if json_form.choices_from:  # choices the task's data holds (options_from_task_data_var)
            row = uow.read(select(_i.c.data, _i.c.workflow_state).where(_i.c.id == instance_id)).first()
            stored = json.loads(row.data or "{}") if row is not None else {}
            context = _shown_values(json_form.choices_from, stored if isinstance(stored, dict) else {},
                                    row.workflow_state if row is not None else None, task)
        problems = json_form.check(data, context)
        if problems:
            raise InvalidInput(Phrase("the form %(form)s has %(count)s problem(s); nothing was saved",
                                      form=json_form.name, count=len(problems)), problems)
        return data
    pinned = uow.read(select(_a.c.form_version).join(_i, _i.c.definition_id == _a.c.definition_id)
                      .where(_i.c.id == instance_id, _a.c.kind == "form", _a.c.artifact_key == form_key)).scalar()
    query = select(_f.c.name, _f.c.content, _f.c.sha256).where(_f.c.form_key == form_key)
    query = query.where(_f.c.version == pinned) if pinned is not None else query.order_by(_f.c.version.desc())
    row = uow.read(query.limit(1)).first()
    if row is None:
        return data
    cache = uow.services.forms
    form = cache.get(row.sha256)
    if form is None:
        form = cache[row.sha256] = parse_form(f"{form_key}.form.json", row.content.encode("utf-8"))
    context: dict[str, Any] = {}
    shown: dict[str, Any] | None = None
    if form.fixed_lists or (form.shows and form.hides()):  # lists the process set; conditions on shown values
        row = uow.read(select(_i.c.data, _i.c.workflow_state).where(_i.c.id == instance_id)).first()
        stored = json.loads(row.data or "{}") if row is not None else {}
        context = stored if isinstance(stored, dict) else {}
        if form.shows and form.hides():
            shown = _shown_values(form.shows, context, row.workflow_state if row is not None else None, task)
    data = form.without_read_only(data, context)
    problems = form.check(data, context, uow.now.astimezone(BUSINESS_TZ).date(), shown)
    if problems:
        raise InvalidInput(Phrase("the form %(form)s has %(count)s problem(s); nothing was saved", form=form.name,
                                  count=len(problems)), problems)
    filled = form.filled(data, shown)
    if form.files_to:
        filled[form.files_to] = _file_references(uow, task.id)
    return filled


def _json_schema_form(uow: UnitOfWork, instance_id: int, name: str) -> JsonSchemaForm | None:
    """The JSON Schema the task's form names (``formJsonSchemaFilename``), as its process version keeps it; None
    when the task's form is not one."""
    row = uow.read(select(_r.c.content, _r.c.sha256).select_from(_i)
                   .join(_a, _a.c.definition_id == _i.c.definition_id)
                   .join(_d, _d.c.id == _i.c.definition_id)
                   .join(_r, (_r.c.deployment_id == _d.c.deployment_id) & (_r.c.name == _a.c.resource_name))
                   .where(_i.c.id == instance_id, _a.c.kind == SCHEMA_KIND, _a.c.artifact_key == name)).first()
    if row is None:
        return None
    cache, key = uow.services.forms, f"{SCHEMA_KIND}:{row.sha256}"
    if key not in cache:
        cache[key] = JsonSchemaForm.parse(name, bytes(row.content))
    return cache[key]


def _shown_values(names: frozenset[str], data: dict[str, Any], workflow_state: str | None,
                  task: Any) -> dict[str, Any]:
    """The values the task's form opened with, as the form's data query fills them: the task's own data (inside a
    called subprocess) over the instance's, an item's input first."""
    own = waiting_task_data(workflow_state, task.spiff_task_id) or {}
    item = json.loads(task.item_input or "{}") if task.item_input else {}
    merged = {**data, **own, **(item if isinstance(item, dict) else {})}
    return {name: value for name, value in merged.items() if name in names}


def _file_references(uow: UnitOfWork, task_id: int) -> list[dict[str, Any]]:
    """The files attached to a task, as data a later step's form can show (a link to each)."""
    rows = uow.read(select(_at.c.id, _at.c.name, _at.c.uploaded_by, _at.c.uploaded_at)
                    .where(_at.c.task_id == task_id).order_by(_at.c.id)).all()
    return [{"attachment_id": r.id, "name": r.name, "uploaded_by": r.uploaded_by,
             "uploaded_at": r.uploaded_at.isoformat()} for r in rows]


def _authorise(uow: UnitOfWork, task: Any, actor: str) -> None:
    """Who may complete is the access policy's answer (engine.access.policy.may_work_on_task); a candidate
    beaten to it by a colleague's claim is told who took it; anyone else, the task's lane and who may act."""
    if may_work_on_task(uow, task, actor):
        return
    if is_candidate(uow, task.id, actor):
        raise task_taken(uow, task.id)
    raise Forbidden(may_not_complete(uow, task, actor))
