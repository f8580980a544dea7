"""The task API under /api/v1: a person's tasks with the inbox's filters, claiming, completing, delegating,
comments, attachments, the history beside a task, and saved filters."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Blueprint, current_app, jsonify, request

from engine.clock import BUSINESS_TZ
from engine.commands import (
    AddAttachment,
    AddComment,
    ClaimTask,
    CompleteTask,
    DelegateTask,
    DeleteFilter,
    ReassignTask,
    SaveFilter,
    UnclaimTask,
)
from engine.commands.instance_state import require_json_object
from engine.errors import InvalidInput, Problem
from engine.form_dates import with_resolved_ranges
from engine.phrases import Phrase
from engine.task_filters import parse_filter
from engine.web import calls
from engine.web.auth import is_administrator

task_api = Blueprint("task_api", __name__, url_prefix="/api/v1")


@task_api.get("/tasks")
def list_tasks() -> Any:
    """The caller's tasks (the administrator may ask for anyone's, or everyone's), filtered and paged in SQL.

    The filters are the inbox's (view, process, unit, due, within_days, q, sort); the total over all pages
    comes in the X-Total-Count header.
    """
    actor = calls.actor()
    administrator = is_administrator(actor)
    user = request.args.get("user") if administrator else actor
    instance_id = calls.optional_int_arg("instance_id")
    if instance_id is not None and not administrator:
        calls.visible_instance(instance_id)  # another's instance answers as a missing one
    huhua = calls.engine()
    filters = parse_filter(request.args)
    now = huhua.clock.now()
    state = request.args.get("state", "open")
    found, total = huhua.queries.task_list(user=user, instance_id=instance_id, state=state, filters=filters, now=now,
                                           limit=calls.int_arg("limit", 50), offset=calls.int_arg("offset", 0))
    response = jsonify(found)
    response.headers["X-Total-Count"] = str(total)
    return response


@task_api.get("/saved-filters")
def list_saved_filters() -> Any:
    """The caller's own saved inbox filters."""
    return jsonify(calls.engine().queries.saved_filters(calls.actor()))


@task_api.post("/saved-filters")
def save_filter() -> Any:
    """Save the current inbox filter under a name (the same name again replaces it)."""
    body = calls.json_body()
    filters = body.get("filters", {})
    name = calls.str_field(body, "name", required=True) or ""
    saved = calls.engine().execute(SaveFilter(calls.actor(), name, filters))
    return jsonify(saved), 200 if saved["replaced"] else 201


@task_api.delete("/saved-filters/<int:filter_id>")
def delete_saved_filter(filter_id: int) -> Any:
    return jsonify(calls.engine().execute(DeleteFilter(calls.path_id(filter_id, "filter"), calls.actor())))


@task_api.get("/tasks/<int:task_id>/attachments")
def list_attachments(task_id: int) -> Any:
    return jsonify(calls.engine().queries.attachments(calls.task_detail(task_id, "attachments")))


@task_api.post("/tasks/<int:task_id>/attachments")
def add_attachment(task_id: int) -> Any:
    """Attach a file (multipart field 'file'); its type is read from its bytes, its size limited by config."""
    task_id = calls.path_id(task_id, "task")
    upload = request.files.get("file")
    if upload is None:
        raise InvalidInput(Phrase("Choose a file to upload (multipart field file)"),
                           [Problem(Phrase("missing"), field="file")])
    content = upload.read()
    return jsonify(calls.engine().execute(AddAttachment(task_id, calls.actor(), upload.filename or "", content))), 201


@task_api.get("/attachments/<int:attachment_id>")
def download_attachment(attachment_id: int) -> Any:
    """An attachment's file, for whoever may see its task (or read a later step that references it: the case file
    an expert scores), named (in UTF-8) as it was uploaded."""
    huhua = calls.engine()
    attachment_id = calls.visible_attachment(attachment_id)
    task_id = huhua.queries.attachment_task(attachment_id)
    if huhua.queries.may_read_task(calls.actor(), task_id):  # a confidential case's file: its record's readers
        calls.task_detail(task_id, "attachment")
    name, content_type, content = huhua.queries.attachment(attachment_id)
    response = current_app.response_class(content, content_type=content_type)
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name)
    response.headers["Content-Disposition"] = f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@task_api.get("/tasks/<int:task_id>/history")
def task_history(task_id: int) -> Any:
    """The newest events of the task's instance (at most ``limit``, 50 unless asked), for beside the task."""
    task_id = calls.visible_task(task_id)
    huhua = calls.engine()
    calls.logged_case_read(huhua.queries.task_instance(task_id), "task_history")
    return jsonify(huhua.queries.task_history(task_id, limit=calls.int_arg("limit", 50), viewer=calls.actor()))


@task_api.get("/tasks/<int:task_id>")
def get_task(task_id: int) -> Any:
    task_id = calls.visible_task(task_id)
    huhua = calls.engine()
    calls.logged_case_read(huhua.queries.task_instance(task_id), "task")
    return jsonify(huhua.queries.task(task_id, viewer=calls.actor()))


@task_api.get("/tasks/<int:task_id>/form")
def get_task_form(task_id: int) -> Any:
    """The task's form-js schema (null when the task has no form), for the browser to render, and the data it
    opens with: exactly the process data the form names for showing (engine.form_context). A task whose form is a
    JSON Schema (spiff-arena's formJsonSchemaFilename) also gets it as ``json_schema`` (schema and UI schema),
    the form-js schema then showing the fields it asks for."""
    task_id = calls.task_detail(task_id, "task_form")
    huhua = calls.engine()
    schema = huhua.queries.task_form(task_id)
    today = huhua.clock.now().astimezone(BUSINESS_TZ).date()
    return jsonify({"schema": with_resolved_ranges(schema, today),
                    "data": huhua.queries.task_form_data(task_id, schema, calls.actor()),
                    "json_schema": huhua.queries.task_json_schema(task_id)})


@task_api.get("/tasks/<int:task_id>/comments")
def list_comments(task_id: int) -> Any:
    return jsonify(calls.engine().queries.comments(calls.task_detail(task_id, "comments")))


@task_api.post("/tasks/<int:task_id>/comments")
def add_comment(task_id: int) -> Any:
    task_id = calls.path_id(task_id, "task")
    text = calls.str_field(calls.json_body(), "body", required=True) or ""
    return jsonify(calls.engine().execute(AddComment(task_id, calls.actor(), text))), 201


@task_api.post("/tasks/<int:task_id>/complete")
def complete_task(task_id: int) -> Any:
    data = require_json_object(calls.json_body().get("data", {}), "data")  # a malformed call is told so first
    task_id = calls.path_id(task_id, "task")
    return jsonify(calls.engine().execute(CompleteTask(task_id=task_id, actor=calls.actor(), data=data)))


@task_api.post("/tasks/<int:task_id>/claim")
def claim_task(task_id: int) -> Any:
    return jsonify(calls.engine().execute(ClaimTask(calls.path_id(task_id, "task"), calls.actor())))


@task_api.post("/tasks/<int:task_id>/unclaim")
def unclaim_task(task_id: int) -> Any:
    return jsonify(calls.engine().execute(UnclaimTask(calls.path_id(task_id, "task"), calls.actor())))


@task_api.post("/tasks/<int:task_id>/delegate")
def delegate_task(task_id: int) -> Any:
    body = calls.json_body()
    return jsonify(calls.engine().execute(DelegateTask(calls.path_id(task_id, "task"), calls.actor(),
                                                 calls.str_field(body, "to", required=True) or "",
                                                 calls.str_field(body, "reason"))))


@task_api.get("/tasks/<int:task_id>/delegates")
def delegation_pool(task_id: int) -> Any:
    """Whom the caller may delegate the task to, with names and role lines, for the page's picker: only for its
    assignee or a candidate who may claim it (403 for anyone else who reads the task)."""
    return jsonify(calls.engine().queries.delegation_pool(calls.visible_task(task_id), calls.actor()))


@task_api.post("/tasks/<int:task_id>/reassign")
def reassign_task(task_id: int) -> Any:
    body = calls.json_body()
    return jsonify(calls.engine().execute(ReassignTask(calls.path_id(task_id, "task"), calls.actor(),
                                                       calls.str_field(body, "to"), calls.str_field(body, "reason"))))

