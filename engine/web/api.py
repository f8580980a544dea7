"""JSON API under /api/v1: every call is a command or a query of the engine, nothing more."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Blueprint, current_app, jsonify, request

from engine.bootstrap import Huhua
from engine.commands import (
    AddAttachment,
    AddComment,
    AddWebhook,
    ClaimTask,
    CompleteTask,
    CorrelateMessage,
    DelegateTask,
    DeleteFilter,
    DeployEditedDecision,
    DeployEditedForm,
    DeployEditedProcess,
    DeployModels,
    MigrateInstance,
    ReassignTask,
    ReceiveWebhook,
    RemoveWebhook,
    ResumeInstance,
    RetryIncidents,
    SaveFilter,
    StartInstance,
    SuspendInstance,
    TerminateInstance,
    UnclaimTask,
)
from engine.commands.instance_state import require_json_object
from engine.dashboard import monthly_sheets, overdue_sheets, rollout_sheets
from engine.documents import XLSX
from engine.documents.layout import workbook
from engine.errors import Forbidden, InvalidInput, Problem, Unauthorized
from engine.task_filters import parse_filter
from engine.web import openapi
from engine.web.auth import acting_user, is_administrator

api = Blueprint("api", __name__, url_prefix="/api/v1")



def _huhua() -> Huhua:
    return current_app.extensions["huhua"]


def _actor() -> str:
    actor = acting_user()
    if not actor:
        raise Unauthorized("log in, or send an API token as 'Authorization: Bearer <token>'",
                           [Problem("not authenticated", field="Authorization")])
    return actor


def _body() -> dict[str, Any]:
    try:
        body = request.get_json(silent=True)
    except RecursionError:
        raise InvalidInput("the request body is nested too deeply") from None
    if body is None:
        if request.data:
            raise InvalidInput("the request body is not valid JSON")
        return {}
    if not isinstance(body, dict):
        raise InvalidInput("the request body must be a JSON object")
    try:
        _refuse_lone_surrogates(body, "")
    except RecursionError:
        raise InvalidInput("the request body is nested too deeply") from None
    return body


def _refuse_lone_surrogates(value: Any, where: str) -> None:
    """JSON may escape half of a UTF-16 pair (\\ud800); such text cannot be stored, so it is refused by name."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidInput(f"{where or 'the body'} holds text that is not valid Unicode (a lone surrogate)",
                               [Problem("not valid Unicode", field=where or None)]) from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_lone_surrogates(key, where)
            _refuse_lone_surrogates(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_lone_surrogates(item, f"{where}[{index}]")


#: Ids and offsets are 64-bit integers in the database.
LARGEST_ID = 2**63 - 1


def _int_arg(name: str, default: int) -> int:
    number = _optional_int_arg(name)
    return default if number is None else number


def _optional_int_arg(name: str) -> int | None:
    value = request.args.get(name)
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise InvalidInput(f"query parameter {name} must be a whole number",
                           [Problem("not an integer", field=name)]) from None
    if not 0 <= number <= LARGEST_ID:
        raise InvalidInput(f"query parameter {name} must be between 0 and {LARGEST_ID}",
                           [Problem("out of range", field=name)])
    return number


def _path_id(value: int, what: str) -> int:
    if value > LARGEST_ID:
        raise InvalidInput(f"{what} {value} is out of range", [Problem("out of range", field=what)])
    return value


def _str_field(body: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise InvalidInput(f"{name} is required", [Problem("missing", field=name)])
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string", [Problem("expected a string", field=name)])
    return value


@api.get("/health")
def health() -> Any:
    huhua = _huhua()
    return jsonify({"status": "ok", "clock": huhua.clock.now().isoformat(), "virtual_clock": huhua.clock.virtual})


@api.get("/openapi.json")
def openapi_document() -> Any:
    return jsonify(openapi.document())


@api.get("/process-definitions")
def list_definitions() -> Any:
    _actor()
    return jsonify(_huhua().queries.definitions(key=request.args.get("key")))


@api.get("/process-definitions/<int:definition_id>/xml")
def definition_xml(definition_id: int) -> Any:
    """A version's BPMN file, for the modeler and the instance view."""
    _actor()
    name, xml = _huhua().queries.definition_model(_path_id(definition_id, "definition"))
    return jsonify({"name": name, "xml": xml})


@api.post("/process-definitions/<int:definition_id>/deploy")
def deploy_edited(definition_id: int) -> Any:
    """Deploy an edited version of a process: its deployment's other files (DMN, called processes) go along.

    Only an edit of the process's newest version is accepted (409 names the newest), so none is undone.
    """
    actor = _admin()
    xml = _str_field(_body(), "xml", required=True) or ""
    result = _huhua().execute(DeployEditedProcess(_path_id(definition_id, "definition"), xml, actor))
    return jsonify(result), 201 if result["deployment_id"] else 200


@api.get("/process-definitions/<int:definition_id>/artifacts")
def definition_artifacts(definition_id: int) -> Any:
    """The DMN decisions and forms a version uses (forms with the version pinned to it); administrator only."""
    _admin()
    return jsonify(_huhua().queries.definition_artifacts(_path_id(definition_id, "definition")))


@api.get("/process-definitions/<int:definition_id>/decisions/<decision_id>")
def definition_decision(definition_id: int, decision_id: str) -> Any:
    """A decision's DMN file as deployed with the version, for the DMN editor (administrator only)."""
    _admin()
    name, xml = _huhua().queries.definition_decision(_path_id(definition_id, "definition"), decision_id)
    return jsonify({"decision_id": decision_id, "name": name, "xml": xml})


@api.post("/process-definitions/<int:definition_id>/decisions/<decision_id>/deploy")
def deploy_edited_decision(definition_id: int, decision_id: str) -> Any:
    """Deploy an edited decision table: the processes using it get new versions; running instances keep theirs."""
    actor = _admin()
    xml = _str_field(_body(), "xml", required=True) or ""
    result = _huhua().execute(DeployEditedDecision(_path_id(definition_id, "definition"), decision_id, xml, actor))
    return jsonify(result), 201 if result["deployment_id"] else 200


@api.get("/process-definitions/<int:definition_id>/forms/<form_key>")
def definition_form(definition_id: int, form_key: str) -> Any:
    """A form as pinned to the version (key, version, name, form-js schema), for the form editor (admin only)."""
    _admin()
    return jsonify(_huhua().queries.definition_form(_path_id(definition_id, "definition"), form_key))


@api.post("/process-definitions/<int:definition_id>/forms/<form_key>/deploy")
def deploy_edited_form(definition_id: int, form_key: str) -> Any:
    """Deploy an edited form: a new form version, and new versions of the processes showing it."""
    actor = _admin()
    schema = _body().get("schema")
    if not isinstance(schema, dict):
        raise InvalidInput("schema must be a JSON object (a form-js schema)",
                           [Problem("missing" if schema is None else "not an object", field="schema")])
    result = _huhua().execute(DeployEditedForm(_path_id(definition_id, "definition"), form_key, schema, actor))
    return jsonify(result), 201 if result["deployment_id"] else 200


def _uploaded_files() -> tuple[tuple[str, bytes], ...]:
    if request.files:
        return tuple((f.filename or "upload.bpmn", f.read()) for f in request.files.getlist("file"))
    body = _body()
    files = body.get("files")
    if not isinstance(files, list) or not files:
        raise InvalidInput("send the model files as multipart field 'file', or JSON {\"files\": [{name, content}]}")
    parsed = []
    for index, entry in enumerate(files):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) \
                or not isinstance(entry.get("content"), str):
            raise InvalidInput("each file needs a string name and content",
                               [Problem("expected {name, content}", field=f"files[{index}]")])
        parsed.append((entry["name"], entry["content"].encode("utf-8")))
    return tuple(parsed)


@api.post("/deployments")
def deploy() -> Any:
    result = _huhua().execute(DeployModels(files=_uploaded_files(), actor=_actor(), source="api",
                                           name=request.args.get("name")))
    return jsonify(result), 201 if result["deployment_id"] else 200


@api.post("/validate")
def validate() -> Any:
    _actor()
    return jsonify({"valid": True, "processes": _huhua().queries.validate_models(_uploaded_files())})


@api.post("/process-instances")
def start_instance() -> Any:
    body = _body()
    result = _huhua().execute(StartInstance(
        process_key=_str_field(body, "process_key", required=True) or "",
        actor=_actor(),
        variables=body.get("variables", {}),
        org_scope=_str_field(body, "org_scope"),
        business_key=_str_field(body, "business_key"),
    ))
    return jsonify(result), 201


#: The filters of the instance list (and of its counts), as query parameters.
INSTANCE_FILTERS = ("process_key", "state", "business_key", "org_unit", "under", "started_from", "started_to")


def instance_filters() -> dict[str, str | None]:
    """The instance list's filters from the query string (empty ones left out)."""
    return {name: request.args.get(name) or None for name in INSTANCE_FILTERS}


@api.get("/process-instances")
def list_instances() -> Any:
    """Instances filtered by process, state, org unit (or under one), business key and start date, paged."""
    _admin()
    return jsonify(_huhua().queries.instances(**instance_filters(), limit=_int_arg("limit", 50),
                                              offset=_int_arg("offset", 0)))


@api.get("/process-instances/<int:instance_id>")
def get_instance(instance_id: int) -> Any:
    return jsonify(_huhua().queries.instance(_visible_instance(instance_id)))


@api.get("/tasks")
def list_tasks() -> Any:
    """The caller's tasks (the administrator may ask for anyone's, or everyone's), filtered and paged in SQL.

    The filters are the inbox's (view, process, unit, due, within_days, q, sort); the total over all pages
    comes in the X-Total-Count header.
    """
    actor = _actor()
    administrator = is_administrator(actor)
    user = request.args.get("user") if administrator else actor
    instance_id = _optional_int_arg("instance_id")
    if instance_id is not None and not administrator:
        _visible_instance(instance_id)
    huhua = _huhua()
    filters = parse_filter(request.args)
    now = huhua.clock.now()
    state = request.args.get("state", "open")
    found = huhua.queries.tasks(user=user, instance_id=instance_id, state=state, filters=filters, now=now,
                                limit=_int_arg("limit", 50), offset=_int_arg("offset", 0))
    response = jsonify(found)
    response.headers["X-Total-Count"] = str(huhua.queries.task_total(
        user=user, instance_id=instance_id, state=state, filters=filters, now=now))
    return response


@api.get("/saved-filters")
def list_saved_filters() -> Any:
    """The caller's own saved inbox filters."""
    return jsonify(_huhua().queries.saved_filters(_actor()))


@api.post("/saved-filters")
def save_filter() -> Any:
    """Save the current inbox filter under a name (the same name again replaces it)."""
    body = _body()
    filters = body.get("filters", {})
    saved = _huhua().execute(SaveFilter(_actor(), _str_field(body, "name", required=True) or "", filters))
    return jsonify(saved), 200 if saved["replaced"] else 201


@api.delete("/saved-filters/<int:filter_id>")
def delete_saved_filter(filter_id: int) -> Any:
    return jsonify(_huhua().execute(DeleteFilter(_path_id(filter_id, "filter"), _actor())))


@api.get("/tasks/<int:task_id>/attachments")
def list_attachments(task_id: int) -> Any:
    return jsonify(_huhua().queries.attachments(_visible_task(task_id)))


@api.post("/tasks/<int:task_id>/attachments")
def add_attachment(task_id: int) -> Any:
    """Attach a file (multipart field 'file'); its type is read from its bytes, its size limited by config."""
    task_id = _visible_task(task_id)
    upload = request.files.get("file")
    if upload is None:
        raise InvalidInput("请选择要上传的文件（multipart 字段 file）", [Problem("missing", field="file")])
    content = upload.read()
    return jsonify(_huhua().execute(AddAttachment(task_id, _actor(), upload.filename or "", content))), 201


@api.get("/attachments/<int:attachment_id>")
def download_attachment(attachment_id: int) -> Any:
    """An attachment's file, for whoever may see its task, named (in UTF-8) as it was uploaded."""
    huhua = _huhua()
    attachment_id = _path_id(attachment_id, "attachment")
    _visible_task(huhua.queries.attachment_task(attachment_id))
    name, content_type, content = huhua.queries.attachment(attachment_id)
    response = current_app.response_class(content, content_type=content_type)
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name)
    response.headers["Content-Disposition"] = f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@api.get("/tasks/<int:task_id>/history")
def task_history(task_id: int) -> Any:
    """The newest events of the task's instance (at most ``limit``, 50 unless asked), for beside the task."""
    return jsonify(_huhua().queries.task_history(_visible_task(task_id), limit=_int_arg("limit", 50)))


@api.get("/tasks/<int:task_id>")
def get_task(task_id: int) -> Any:
    return jsonify(_huhua().queries.task(_visible_task(task_id)))


@api.get("/tasks/<int:task_id>/form")
def get_task_form(task_id: int) -> Any:
    """The task's form-js schema (null when the task has no form), for the browser to render."""
    return jsonify({"schema": _huhua().queries.task_form(_visible_task(task_id))})


@api.get("/tasks/<int:task_id>/comments")
def list_comments(task_id: int) -> Any:
    return jsonify(_huhua().queries.comments(_visible_task(task_id)))


@api.post("/tasks/<int:task_id>/comments")
def add_comment(task_id: int) -> Any:
    task_id = _visible_task(task_id)
    body = _body()
    return jsonify(_huhua().execute(AddComment(task_id, _actor(), _str_field(body, "body", required=True) or ""))), 201


@api.post("/tasks/<int:task_id>/complete")
def complete_task(task_id: int) -> Any:
    data = require_json_object(_body().get("data", {}), "data")  # a malformed call is told so first
    return jsonify(_huhua().execute(CompleteTask(task_id=_visible_task(task_id), actor=_actor(), data=data)))


@api.post("/messages")
def correlate_message() -> Any:
    body = _body()
    deliver_to_all = body.get("all", False)
    if not isinstance(deliver_to_all, bool):
        raise InvalidInput("all must be true or false", [Problem("expected a boolean", field="all")])
    return jsonify(_huhua().execute(CorrelateMessage(
        message_name=_str_field(body, "name", required=True) or "",
        actor=_actor(),
        correlation_key=_str_field(body, "correlation_key"),
        variables=body.get("variables", {}),
        deliver_to_all=deliver_to_all,
    )))


@api.get("/jobs")
def list_jobs() -> Any:
    """Background jobs by state and kind; ``due=true``: only those due by now."""
    _admin()
    huhua = _huhua()
    due = request.args.get("due")
    if due not in (None, "true", "false"):
        raise InvalidInput("due must be true or false", [Problem("expected true or false", field="due")])
    return jsonify(huhua.queries.jobs(
        state=request.args.get("state") or None, kind=request.args.get("kind") or None,
        due_before=huhua.clock.now() if due == "true" else None, instance_id=_optional_int_arg("instance_id"),
        limit=_int_arg("limit", 100), offset=_int_arg("offset", 0)))


@api.post("/webhooks/messages/<name>")
def receive_webhook(name: str) -> Any:
    """An outside system delivers message ``name``; its Idempotency-Key makes a repeat harmless."""
    body = _body()
    return jsonify(_huhua().execute(ReceiveWebhook(
        idempotency_key=(request.headers.get("Idempotency-Key") or "").strip(), message_name=name, actor=_actor(),
        correlation_key=_str_field(body, "correlation_key"), variables=body.get("variables", {}))))


@api.get("/webhooks")
def list_webhooks() -> Any:
    _admin()
    return jsonify(_huhua().queries.webhooks())


@api.post("/webhooks")
def add_webhook() -> Any:
    body = _body()
    created = _huhua().execute(AddWebhook(url=_str_field(body, "url", required=True) or "", actor=_actor(),
                                          events=_str_field(body, "events") or "*", secret=_str_field(body, "secret")))
    return jsonify(created), 201


@api.delete("/webhooks/<int:subscription_id>")
def remove_webhook(subscription_id: int) -> Any:
    return jsonify(_huhua().execute(RemoveWebhook(_path_id(subscription_id, "webhook"), _actor())))


@api.get("/process-instances/<int:instance_id>/coverage")
def instance_coverage(instance_id: int) -> Any:
    """不漏一校、不漏一人 for a rollout; ``?missing=true`` lists only what is not done."""
    missing = request.args.get("missing", "false").lower() in ("1", "true", "yes")
    huhua = _huhua()
    return jsonify(huhua.queries.coverage(_visible_instance(instance_id), huhua.clock.now(), missing_only=missing))


@api.get("/dashboard/rollouts")
def dashboard_rollouts() -> Any:
    """The tiered rollouts the caller oversees, with their completion."""
    return jsonify(_huhua().queries.dashboard_rollouts(_actor()))


@api.get("/dashboard/rollouts/<int:instance_id>")
def dashboard_rollout(instance_id: int) -> Any:
    """One level of a rollout's coverage: the counties, ``?unit=`` a county's schools or a school's people."""
    return jsonify(_rollout_level(instance_id))


@api.get("/dashboard/rollouts/<int:instance_id>/export")
def dashboard_rollout_export(instance_id: int) -> Any:
    level = _rollout_level(instance_id)
    where = "-".join(c["name"] for c in level["breadcrumbs"]) or "全市"
    return _xlsx(workbook(rollout_sheets(level)), f"推进覆盖-{instance_id}-{where}.xlsx")


def _rollout_level(instance_id: int) -> dict[str, Any]:
    return _huhua().queries.dashboard_rollout(_actor(), _path_id(instance_id, "instance"), _unit_arg("unit"))


@api.get("/dashboard/monthly-checks")
def dashboard_monthly_checks() -> Any:
    """一月一查 per month: submission on time, late and missing, bands and scores; ``?county=`` one county."""
    huhua = _huhua()
    return jsonify(huhua.queries.dashboard_monthly_checks(_actor(), huhua.clock.now(), _unit_arg("county")))


@api.get("/dashboard/monthly-checks/export")
def dashboard_monthly_checks_export() -> Any:
    huhua = _huhua()
    county = _unit_arg("county")
    figures = huhua.queries.dashboard_monthly_checks(_actor(), huhua.clock.now(), county)
    return _xlsx(workbook(monthly_sheets(figures)), f"一月一查-{county or '全市'}.xlsx")


@api.get("/dashboard/overdue")
def dashboard_overdue() -> Any:
    """Overdue open tasks per county (``?county=``: per school of it), by process (``?process=``: one)."""
    huhua = _huhua()
    return jsonify(huhua.queries.dashboard_overdue(_actor(), huhua.clock.now(), _unit_arg("county"),
                                                   _unit_arg("process")))


@api.get("/dashboard/overdue/export")
def dashboard_overdue_export() -> Any:
    huhua = _huhua()
    county = _unit_arg("county")
    figures = huhua.queries.dashboard_overdue(_actor(), huhua.clock.now(), county, _unit_arg("process"))
    return _xlsx(workbook(overdue_sheets(figures)), f"逾期待办-{county or '全市'}.xlsx")


def _unit_arg(name: str) -> str | None:
    """An optional id-like query parameter (a unit, a process key): empty means not given."""
    value = (request.args.get(name) or "").strip()
    if len(value) > 200:
        raise InvalidInput(f"query parameter {name} is too long", [Problem("at most 200 characters", field=name)])
    return value or None


def _xlsx(content: bytes, name: str) -> Any:
    response = current_app.response_class(content, mimetype=XLSX)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return response


@api.get("/process-instances/<int:instance_id>/documents")
def instance_documents(instance_id: int) -> Any:
    return jsonify(_huhua().queries.documents(_visible_instance(instance_id)))


@api.get("/documents/<int:document_id>")
def download_document(document_id: int) -> Any:
    """A generated document's file (.xlsx or .pdf), named for saving."""
    huhua = _huhua()
    document_id = _path_id(document_id, "document")
    instance_id = huhua.queries.document_instance(document_id)
    if instance_id is not None:
        _visible_instance(instance_id)
    name, content_type, content = huhua.queries.document(document_id)
    response = current_app.response_class(content, mimetype=content_type)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return response


@api.post("/tasks/<int:task_id>/claim")
def claim_task(task_id: int) -> Any:
    return jsonify(_huhua().execute(ClaimTask(_visible_task(task_id), _actor())))


@api.post("/tasks/<int:task_id>/unclaim")
def unclaim_task(task_id: int) -> Any:
    return jsonify(_huhua().execute(UnclaimTask(_visible_task(task_id), _actor())))


@api.post("/tasks/<int:task_id>/delegate")
def delegate_task(task_id: int) -> Any:
    body = _body()
    return jsonify(_huhua().execute(DelegateTask(_visible_task(task_id), _actor(),
                                                 _str_field(body, "to", required=True) or "",
                                                 _str_field(body, "reason"))))


@api.post("/tasks/<int:task_id>/reassign")
def reassign_task(task_id: int) -> Any:
    body = _body()
    return jsonify(_huhua().execute(ReassignTask(_visible_task(task_id), _actor(), _str_field(body, "to"),
                                                 _str_field(body, "reason"))))


@api.post("/process-instances/<int:instance_id>/retry")
def retry_incidents(instance_id: int) -> Any:
    """Run the failed step again, with ``variables`` (the corrected data) added first."""
    body = _body()
    return jsonify(_huhua().execute(RetryIncidents(_path_id(instance_id, "instance"), _actor(),
                                                   body.get("variables", {}))))


@api.post("/process-instances/<int:instance_id>/suspend")
def suspend_instance(instance_id: int) -> Any:
    body = _body()
    return jsonify(_huhua().execute(SuspendInstance(_path_id(instance_id, "instance"), _admin(),
                                                    _str_field(body, "reason"))))


@api.post("/process-instances/<int:instance_id>/resume")
def resume_instance(instance_id: int) -> Any:
    return jsonify(_huhua().execute(ResumeInstance(_path_id(instance_id, "instance"), _admin())))


@api.post("/process-instances/<int:instance_id>/terminate")
def terminate_instance(instance_id: int) -> Any:
    body = _body()
    return jsonify(_huhua().execute(TerminateInstance(_path_id(instance_id, "instance"), _admin(),
                                                      _str_field(body, "reason"))))


@api.post("/process-instances/<int:instance_id>/migrate")
def migrate_instance(instance_id: int) -> Any:
    """Move the instance to a newer version of its process; ``dry_run`` returns the report and changes nothing."""
    actor = _admin()
    body = _body()
    target = body.get("target_definition_id")
    if target is None:
        raise InvalidInput("target_definition_id is required", [Problem("missing", field="target_definition_id")])
    if isinstance(target, bool) or not isinstance(target, int) or not 0 <= target <= LARGEST_ID:
        raise InvalidInput("target_definition_id must be a process definition id (a whole number)",
                           [Problem("expected an id", field="target_definition_id")])
    dry_run = body.get("dry_run", False)
    if not isinstance(dry_run, bool):
        raise InvalidInput("dry_run must be true or false", [Problem("expected a boolean", field="dry_run")])
    return jsonify(_huhua().execute(MigrateInstance(_path_id(instance_id, "instance"), target, actor, dry_run)))


@api.get("/process-instances/<int:instance_id>/jobs")
def instance_jobs(instance_id: int) -> Any:
    """The instance's background jobs (timers, service calls), with attempts and the last error (administrator)."""
    _admin()
    return jsonify(_huhua().queries.jobs(instance_id=_path_id(instance_id, "instance"),
                                         limit=_int_arg("limit", 100)))


@api.get("/process-instances/<int:instance_id>/history")
def instance_history(instance_id: int) -> Any:
    """The instance's audit events, a page at a time."""
    return jsonify(_huhua().queries.history(_visible_instance(instance_id), limit=_int_arg("limit", 50),
                                            offset=_int_arg("offset", 0)))


def _admin() -> str:
    """The caller, if an administrator (who alone runs the engine: instances, jobs, calendar, directory); else 403."""
    actor = _actor()
    if not is_administrator(actor):
        raise Forbidden("only the administrator may do this")
    return actor


def _visible_instance(instance_id: int) -> int:
    """The instance id, if the caller may read it (its data may be about minors); else 403."""
    instance_id = _path_id(instance_id, "instance")
    if not _huhua().queries.may_see_instance(_actor(), instance_id):
        raise Forbidden(f"process instance {instance_id} is not yours to see")
    return instance_id


def _visible_task(task_id: int) -> int:
    """The task id, if the caller may see the task (and so its instance); else 403."""
    task_id = _path_id(task_id, "task")
    if not _huhua().queries.may_see_task(_actor(), task_id):
        raise Forbidden(f"task {task_id} is not yours to see")
    return task_id
