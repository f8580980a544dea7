"""JSON API under /api/v1: every call is a command or a query of the engine, nothing more."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Blueprint, current_app, jsonify, request

from engine.access.confidential import RECORD
from engine.clock import BUSINESS_TZ
from engine.commands import (
    AddWebhook,
    CorrelateMessage,
    DeployEditedDecision,
    DeployEditedForm,
    DeployEditedProcess,
    DeployModels,
    MigrateInstance,
    ReceiveWebhook,
    RemoveWebhook,
    ResumeInstance,
    RetryIncidents,
    RotateWebhookSecret,
    StartInstance,
    SuspendInstance,
    TerminateInstance,
    ThrowSignal,
)
from engine.errors import HuhuaError, InvalidInput, NotFound, Problem
from engine.model_archives import unpacked_archive
from engine.model_folders import deploy_each
from engine.phrases import Phrase
from engine.web import calls, openapi, problem_texts
from engine.web.auth import is_administrator
from engine.web.error_language import localised

api = Blueprint("api", __name__, url_prefix="/api/v1")


@api.get("/health")
def health() -> Any:
    huhua = calls.engine()
    return jsonify({"status": "ok", "clock": huhua.clock.now().isoformat(), "virtual_clock": huhua.clock.virtual})


@api.get("/openapi.json")
def openapi_document() -> Any:
    return jsonify(openapi.document())


@api.get("/process-definitions")
def list_definitions() -> Any:
    """Every deployed version for the administrator; for anyone else only each process's key and name (the
    inbox's filter): the models are the administrators'."""
    huhua, key = calls.engine(), request.args.get("key")
    if is_administrator(calls.actor()):
        return jsonify(huhua.queries.definitions(key=key))
    return jsonify([{"key": k, "name": name} for k, name in huhua.queries.process_names() if key in (None, k)])


@api.get("/process-definitions/<int:definition_id>/xml")
def definition_xml(definition_id: int) -> Any:
    """A version's BPMN file, for the modeler and the instance view (administrator only)."""
    calls.administrator()
    name, xml = calls.engine().queries.definition_model(calls.path_id(definition_id, "definition"))
    return jsonify({"name": name, "xml": xml})


@api.post("/process-definitions/<int:definition_id>/deploy")
def deploy_edited(definition_id: int) -> Any:
    """Deploy an edited version of a process: its deployment's other files (DMN, called processes) go along.

    Only an edit of the process's newest version is accepted (409 names the newest), so none is undone.
    """
    actor = calls.administrator()
    xml = calls.str_field(calls.json_body(), "xml", required=True) or ""
    result = calls.engine().execute(DeployEditedProcess(calls.path_id(definition_id, "definition"), xml, actor))
    return jsonify(result), 201 if result["deployment_id"] else 200


@api.get("/process-definitions/<int:definition_id>/artifacts")
def definition_artifacts(definition_id: int) -> Any:
    """The DMN decisions and forms a version uses (forms with the version pinned to it); administrator only."""
    calls.administrator()
    return jsonify(calls.engine().queries.definition_artifacts(calls.path_id(definition_id, "definition")))


@api.get("/process-definitions/<int:definition_id>/decisions/<decision_id>")
def definition_decision(definition_id: int, decision_id: str) -> Any:
    """A decision's DMN file as deployed with the version, for the DMN editor (administrator only)."""
    calls.administrator()
    name, xml = calls.engine().queries.definition_decision(calls.path_id(definition_id, "definition"), decision_id)
    return jsonify({"decision_id": decision_id, "name": name, "xml": xml})


@api.post("/process-definitions/<int:definition_id>/decisions/<decision_id>/deploy")
def deploy_edited_decision(definition_id: int, decision_id: str) -> Any:
    """Deploy an edited decision table: the processes using it get new versions; running instances keep theirs."""
    actor = calls.administrator()
    xml = calls.str_field(calls.json_body(), "xml", required=True) or ""
    definition = calls.path_id(definition_id, "definition")
    result = calls.engine().execute(DeployEditedDecision(definition, decision_id, xml, actor))
    return jsonify(result), 201 if result["deployment_id"] else 200


@api.get("/process-definitions/<int:definition_id>/forms/<form_key>")
def definition_form(definition_id: int, form_key: str) -> Any:
    """A form as pinned to the version (key, version, name, form-js schema), for the form editor (admin only)."""
    calls.administrator()
    return jsonify(calls.engine().queries.definition_form(calls.path_id(definition_id, "definition"), form_key))


@api.post("/process-definitions/<int:definition_id>/forms/<form_key>/deploy")
def deploy_edited_form(definition_id: int, form_key: str) -> Any:
    """Deploy an edited form: a new form version, and new versions of the processes showing it."""
    actor = calls.administrator()
    schema = calls.json_body().get("schema")
    if not isinstance(schema, dict):
        raise InvalidInput(Phrase("schema must be a JSON object (a form-js schema)"),
                           [Problem(Phrase("missing") if schema is None else Phrase("not an object"), field="schema")])
    definition = calls.path_id(definition_id, "definition")
    result = calls.engine().execute(DeployEditedForm(definition, form_key, schema, actor))
    return jsonify(result), 201 if result["deployment_id"] else 200


def _uploaded_files() -> tuple[tuple[str, bytes], ...]:
    if request.files:
        return tuple((f.filename or "upload.bpmn", f.read()) for f in request.files.getlist("file"))
    body = calls.json_body()
    files = body.get("files")
    if not isinstance(files, list) or not files:
        raise InvalidInput(Phrase("send the model files as multipart field 'file', "
                                  "or JSON {\"files\": [{name, content}]}"))
    parsed = []
    for index, entry in enumerate(files):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) \
                or not isinstance(entry.get("content"), str):
            raise InvalidInput(Phrase("each file needs a string name and content"),
                               [Problem(Phrase("expected {name, content}"), field=f"files[{index}]")])
        parsed.append((entry["name"], entry["content"].encode("utf-8")))
    return tuple(parsed)


@api.post("/deployments")
def deploy() -> Any:
    """Deploy BPMN, DMN and form files as a new version of each process they change (the administrator's)."""
    actor = calls.administrator()
    result = calls.engine().execute(DeployModels(files=_uploaded_files(), actor=actor, source="api",
                                                 name=request.args.get("name")))
    return jsonify(result), 201 if result["deployment_id"] else 200


@api.post("/process-models")
def deploy_process_models() -> Any:
    """Deploy a zip of spiff-arena process model folders (a model, or a process group), model by model as
    ``huhua deploy DIR`` does: each under its folder path; the refused ones named, the others deployed."""
    actor = calls.administrator()
    uploads = request.files.getlist("file")
    if len(uploads) != 1:
        raise InvalidInput(Phrase("send one zip archive as multipart field 'file'"),
                           [Problem(Phrase("expected one file"), field="file")])
    huhua = calls.engine()
    deployed, refused = [], []
    max_bytes = huhua.services.settings.max_model_bytes
    with unpacked_archive(uploads[0].read(), uploads[0].filename or "models.zip", max_bytes) as archive:
        for path, outcome in deploy_each(huhua.execute, archive.directory, actor, max_bytes, "api"):
            if isinstance(outcome, HuhuaError):
                refused.append({"path": path, **localised(problem_texts.answer(outcome))})
            else:
                deployed.append({"path": path, **outcome})
    if not deployed and not refused:
        raise InvalidInput(Phrase("the archive holds no process model (no process_model.json)"),
                           [Problem(Phrase("no process_model.json"), field="file")])
    status = 201 if deployed else 422
    return jsonify({"models": deployed, "refused": refused, "skipped": list(archive.skipped)}), status


@api.post("/validate")
def validate() -> Any:
    """Check models as a deployment would (the administrator's: models are theirs, and checking one costs time)."""
    calls.administrator()
    return jsonify({"valid": True, "processes": calls.engine().queries.validate_models(_uploaded_files())})


@api.post("/process-instances")
def start_instance() -> Any:
    body = calls.json_body()
    result = calls.engine().execute(StartInstance(
        process_key=calls.str_field(body, "process_key", required=True) or "",
        actor=calls.actor(),
        variables=body.get("variables", {}),
        org_scope=calls.str_field(body, "org_scope"),
        business_key=calls.str_field(body, "business_key"),
    ))
    return jsonify(result), 201


@api.get("/process-instances")
def list_instances() -> Any:
    """Instances filtered by process, state, org unit (or under one), business key and start date, paged."""
    calls.administrator()
    return jsonify(calls.engine().queries.instances(**calls.instance_filters(), limit=calls.int_arg("limit", 50),
                                              offset=calls.int_arg("offset", 0)))


@api.get("/process-instances/<int:instance_id>")
def get_instance(instance_id: int) -> Any:
    instance_id = calls.visible_instance(instance_id)
    calls.logged_case_read(instance_id, "instance")
    return jsonify(calls.engine().queries.instance(instance_id, viewer=calls.actor()))


@api.post("/messages")
def correlate_message() -> Any:
    body = calls.json_body()
    deliver_to_all = body.get("all", False)
    if not isinstance(deliver_to_all, bool):
        raise InvalidInput(Phrase("all must be true or false"), [Problem(Phrase("expected a boolean"), field="all")])
    return jsonify(calls.engine().execute(CorrelateMessage(
        message_name=calls.str_field(body, "name", required=True) or "",
        actor=calls.actor(),
        correlation_key=calls.str_field(body, "correlation_key"),
        variables=body.get("variables", {}),
        deliver_to_all=deliver_to_all,
    )))


@api.post("/signals")
def throw_signal() -> Any:
    """Throw a signal from outside: it reaches the waiting instances and starts the processes the caller may."""
    body = calls.json_body()
    return jsonify(calls.engine().execute(ThrowSignal(
        signal_name=calls.str_field(body, "name", required=True) or "",
        actor=calls.actor(),
        variables=body.get("variables", {}),
        org_scope=calls.str_field(body, "org_scope"),
    )))


@api.get("/jobs")
def list_jobs() -> Any:
    """Background jobs by state and kind; ``due=true``: only those due by now."""
    calls.administrator()
    huhua = calls.engine()
    due = request.args.get("due")
    if due not in (None, "true", "false"):
        raise InvalidInput(Phrase("due must be true or false"),
                           [Problem(Phrase("expected true or false"), field="due")])
    return jsonify(huhua.queries.jobs(
        state=request.args.get("state") or None, kind=request.args.get("kind") or None,
        due_before=huhua.clock.now() if due == "true" else None, instance_id=calls.optional_int_arg("instance_id"),
        limit=calls.int_arg("limit", 100), offset=calls.int_arg("offset", 0)))


@api.post("/webhooks/messages/<name>")
def receive_webhook(name: str) -> Any:
    """An outside system delivers message ``name``; its Idempotency-Key makes a repeat harmless."""
    body = calls.json_body()
    return jsonify(calls.engine().execute(ReceiveWebhook(
        idempotency_key=(request.headers.get("Idempotency-Key") or "").strip(), message_name=name, actor=calls.actor(),
        correlation_key=calls.str_field(body, "correlation_key"), variables=body.get("variables", {}))))


@api.get("/webhooks")
def list_webhooks() -> Any:
    calls.administrator()
    return jsonify(calls.engine().queries.webhooks())


@api.post("/webhooks")
def add_webhook() -> Any:
    body = calls.json_body()
    created = calls.engine().execute(AddWebhook(
        url=calls.str_field(body, "url", required=True) or "", actor=calls.actor(),
        events=calls.str_field(body, "events") or "*", secret=calls.str_field(body, "secret")))
    return jsonify(created), 201


@api.delete("/webhooks/<int:subscription_id>")
def remove_webhook(subscription_id: int) -> Any:
    return jsonify(calls.engine().execute(RemoveWebhook(calls.path_id(subscription_id, "webhook"), calls.actor())))


@api.post("/webhooks/<int:subscription_id>/rotate-secret")
def rotate_webhook_secret(subscription_id: int) -> Any:
    """A new secret for the subscription (returned once); the old one also signs for ``grace_hours`` (24)."""
    body = calls.json_body()
    grace = body.get("grace_hours", 24)
    if isinstance(grace, bool) or not isinstance(grace, int | float):
        raise InvalidInput(Phrase("grace_hours must be a number"), [Problem(Phrase("expected a number"),
                                                                            field="grace_hours")])
    return jsonify(calls.engine().execute(RotateWebhookSecret(
        calls.path_id(subscription_id, "webhook"), calls.actor(), secret=calls.str_field(body, "secret"),
        grace_hours=float(grace))))


@api.get("/process-instances/<int:instance_id>/coverage")
def instance_coverage(instance_id: int) -> Any:
    """不漏一校、不漏一人 for a rollout; ``?missing=true`` lists only what is not done."""
    missing = request.args.get("missing", "false").lower() in ("1", "true", "yes")
    huhua = calls.engine()
    instance = calls.path_id(instance_id, "instance")
    calls.logged_case_read(instance, "coverage")
    return jsonify(huhua.queries.coverage(instance, huhua.clock.now(), missing_only=missing))


@api.get("/process-instances/<int:instance_id>/documents")
def instance_documents(instance_id: int) -> Any:
    instance_id = calls.visible_instance(instance_id)
    if calls.logged_case_read(instance_id, "documents") not in (None, RECORD):
        return jsonify([])  # a confidential case's documents are part of its record
    return jsonify(calls.engine().queries.documents(instance_id))


@api.get("/documents/<int:document_id>")
def download_document(document_id: int) -> Any:
    """A generated document's file (.xlsx or .pdf), named for saving."""
    huhua = calls.engine()
    document_id = calls.path_id(document_id, "document")
    instance_id = huhua.queries.document_instance(document_id)
    if instance_id is not None:
        calls.visible_instance(instance_id)
        if calls.logged_case_read(instance_id, "document") not in (None, RECORD):
            raise NotFound(Phrase("document %(id)s does not exist", id=document_id))
    name, content_type, content = huhua.queries.document(document_id)
    response = current_app.response_class(content, mimetype=content_type)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return response


@api.get("/units/<unit_id>/documents")
def document_register(unit_id: str) -> Any:
    """发文登记簿: the documents the unit issued in ``?year=`` (default: this year), in the order of their 文号."""
    huhua = calls.engine()
    year = request.args.get("year") or str(huhua.clock.now().astimezone(BUSINESS_TZ).year)
    return jsonify(huhua.queries.document_register(unit_id, year))


@api.post("/process-instances/<int:instance_id>/retry")
def retry_incidents(instance_id: int) -> Any:
    """Run the failed step again, with ``variables`` (the corrected data) added first."""
    actor, variables = calls.administrator(), calls.json_body().get("variables", {})
    return jsonify(calls.engine().execute(RetryIncidents(calls.path_id(instance_id, "instance"), actor, variables)))


@api.post("/process-instances/<int:instance_id>/suspend")
def suspend_instance(instance_id: int) -> Any:
    body = calls.json_body()
    return jsonify(calls.engine().execute(SuspendInstance(calls.path_id(instance_id, "instance"), calls.administrator(),
                                                    calls.str_field(body, "reason"))))


@api.post("/process-instances/<int:instance_id>/resume")
def resume_instance(instance_id: int) -> Any:
    actor = calls.administrator()
    return jsonify(calls.engine().execute(ResumeInstance(calls.path_id(instance_id, "instance"), actor)))


@api.post("/process-instances/<int:instance_id>/terminate")
def terminate_instance(instance_id: int) -> Any:
    actor, reason = calls.administrator(), calls.str_field(calls.json_body(), "reason")
    return jsonify(calls.engine().execute(TerminateInstance(calls.path_id(instance_id, "instance"), actor, reason)))


@api.post("/process-instances/<int:instance_id>/migrate")
def migrate_instance(instance_id: int) -> Any:
    """Move the instance to a newer version of its process; ``dry_run`` returns the report and changes nothing."""
    actor = calls.administrator()
    body = calls.json_body()
    target = body.get("target_definition_id")
    if target is None:
        raise InvalidInput(Phrase("target_definition_id is required"),
                           [Problem(Phrase("missing"), field="target_definition_id")])
    if isinstance(target, bool) or not isinstance(target, int) or not 0 <= target <= calls.LARGEST_ID:
        raise InvalidInput(Phrase("target_definition_id must be a process definition id (a whole number)"),
                           [Problem(Phrase("expected an id"), field="target_definition_id")])
    dry_run = body.get("dry_run", False)
    if not isinstance(dry_run, bool):
        raise InvalidInput(Phrase("dry_run must be true or false"),
                           [Problem(Phrase("expected a boolean"), field="dry_run")])
    instance = calls.path_id(instance_id, "instance")
    return jsonify(calls.engine().execute(MigrateInstance(instance, target, actor, dry_run)))


@api.get("/process-instances/<int:instance_id>/jobs")
def instance_jobs(instance_id: int) -> Any:
    """The instance's background jobs (timers, service calls), with attempts and the last error (administrator)."""
    calls.administrator()
    return jsonify(calls.engine().queries.jobs(instance_id=calls.path_id(instance_id, "instance"),
                                         limit=calls.int_arg("limit", 100)))


@api.get("/process-instances/<int:instance_id>/history")
def instance_history(instance_id: int) -> Any:
    """The instance's audit events, a page at a time."""
    instance_id = calls.visible_instance(instance_id)
    calls.logged_case_read(instance_id, "history")
    return jsonify(calls.engine().queries.history(instance_id, limit=calls.int_arg("limit", 50),
                                                  offset=calls.int_arg("offset", 0), viewer=calls.actor()))

