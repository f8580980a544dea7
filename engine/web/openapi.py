"""The OpenAPI 3.1 description of ``/api/v1`` (and of the probes ``/healthz`` and ``/readyz`` at the site's root),
served at ``/api/v1/openapi.json``.

Written out rather than generated: every route of the API blueprints (``api``, ``task_api``, ``dashboard_api``,
``operations_api`` and ``account_api`` in :mod:`engine.web`) appears here with its parameters, body and the errors
it answers with; a test checks that the two agree.
"""

from __future__ import annotations

from typing import Any

from engine.task_filters import DUES, MAX_WITHIN_DAYS, SORTS, VIEWS

_ERROR = {"$ref": "#/components/responses/Error"}
_ID = {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}
_OBJECT = {"type": "object"}
_LIST = {"type": "array", "items": _OBJECT}


def _path(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description, "schema": _ID}


def _text_path(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "string", "minLength": 1, "maxLength": 200}}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


def _body(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return {"required": bool(required), "content": {"application/json": {"schema": schema}}}


def _op(summary: str, *, ok: int = 200, result: dict[str, Any] | None = None, parameters: list | None = None,
        body: dict[str, Any] | None = None, errors: tuple[int, ...] = (400, 401, 403, 404, 409),
        public: bool = False) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "responses": {str(ok): {"description": "OK", "content": {"application/json": {"schema": result or _OBJECT}}},
                      **{str(code): _ERROR for code in errors}},
    }
    if parameters:
        operation["parameters"] = parameters
    if body:
        operation["requestBody"] = body
    if public:
        operation["security"] = []
    return operation


_PAGE = [_query("limit", {"type": "integer", "minimum": 1, "maximum": 500}, "page size"),
         _query("offset", {"type": "integer", "minimum": 0}, "rows to skip")]
_TASK = _path("task_id", "the task")
_INSTANCE_FILTERS = [
    _query("process_key", {"type": "string"}, "one process"),
    _query("state", {"type": "string", "enum": ["running", "suspended", "incident", "completed", "terminated"]},
           "incident: waiting on an open incident"),
    _query("business_key", {"type": "string"}, ""),
    _query("org_unit", {"type": "string"}, "scoped to this unit"),
    _query("under", {"type": "string"}, "scoped to this unit or below it (a county, say)"),
    _query("started_from", {"type": "string", "format": "date"}, "started on or after (Beijing date)"),
    _query("started_to", {"type": "string", "format": "date"}, "started on or before (Beijing date)")]


_COUNTY = _query("county", {"type": "string", "maxLength": 200}, "one county (a county officer: their own)")
_UNIT = _query("unit", {"type": "string", "maxLength": 200}, "a county or school of the rollout; none: the top")
_PROCESS = _query("process", {"type": "string", "maxLength": 200}, "one process key")
_DASHBOARD_ERRORS = (400, 401, 403, 404)
_MONTH = _query("month", {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"}, "the month, e.g. 2026-10 (default: now)")
_YEAR = _query("year", {"type": "integer", "minimum": 2000, "maximum": 2100}, "the year (default: this year)")
_COMPARED_MONTH = _query("month", {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"},
                         "the month compared, e.g. 2026-10 (default: the newest with a score)")
_MONTH_NUMBER = _query("month", {"type": "integer", "minimum": 1, "maximum": 12}, "one month; none: the whole year")


def _export(summary: str, parameters: list[dict[str, Any]]) -> dict[str, Any]:
    return {"summary": summary, "parameters": parameters, "responses": {
        "200": {"description": "The workbook", "content": {
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                "schema": {"type": "string", "format": "binary"}}}},
        **{str(code): _ERROR for code in _DASHBOARD_ERRORS}}}

_INSTANCE = _path("instance_id", "the process instance")
_ROOT = [{"url": "/"}]
_PROBE_ANSWER = {"description": "OK", "content": {"application/json": {"schema": {
    "type": "object", "required": ["status"], "properties": {
        "status": {"type": "string", "enum": ["alive", "ready", "unavailable"]}, "reason": {"type": "string"},
        "revision": {"type": "string"}}}}}}


def _probe(summary: str) -> dict[str, Any]:
    return {"summary": summary, "security": [], "responses": {"200": _PROBE_ANSWER}}


def document() -> dict[str, Any]:
    """The OpenAPI document."""
    return _changes_may_find_storage_full(_document())


def _changes_may_find_storage_full(described: dict[str, Any]) -> dict[str, Any]:
    """Every call that changes something may find the database or its disk full: 507, nothing stored."""
    for operations in described["paths"].values():
        for method, operation in operations.items():
            if method in ("post", "put", "patch", "delete"):
                operation["responses"].setdefault("507", _ERROR)
    return described


def _document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "心育护花 Huhua API", "version": "1",
                 "description": "Every call is a command or a query of the engine. Callers are people logged in "
                                "at /login (with the page's CSRF token in X-CSRFToken for changes) or programs "
                                "with a token (Authorization: Bearer)."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}, {"session": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                "session": {"type": "apiKey", "in": "cookie", "name": "session"}},
            "schemas": {
                "Problem": {"type": "object", "properties": {
                    "message": {"type": "string"}, "file": {"type": "string"}, "line": {"type": "integer"},
                    "element_id": {"type": "string"}, "field": {"type": "string"},
                    "location": {"type": "object", "description": (
                        "Where exactly, for programs, and why (reason): for a DMN cell decision_id, decision_name, "
                        "rule_id, rule_number (1-based, as the editor shows it), input_id or output_id (the column), "
                        "entry_id (the cell), column (its label), cell (its text), reason (dmn_unknown_names, "
                        "dmn_input_syntax, dmn_output_syntax, dmn_refused, ...) and names or detail"),
                        "additionalProperties": True}}},
                "Error": {"type": "object", "required": ["error", "message", "problems"], "properties": {
                    "error": {"type": "string"}, "message": {"type": "string"},
                    "problems": {"type": "array", "items": {"$ref": "#/components/schemas/Problem"}}}},
            },
            "responses": {"Error": {"description": "What is wrong and where", "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}},
        },
        "paths": {
            "/health": {"get": _op("Is the engine up, and its clock", public=True, errors=())},
            # the probes are served at the site's root, beside /api/v1 (hence their own servers)
            "/healthz": {"servers": _ROOT, "get": _probe("The process answers (asks nothing of the database)")},
            "/readyz": {"servers": _ROOT, "get": {**_probe(
                "The process can serve: the database answers within seconds and its schema is current"),
                "responses": {"200": _PROBE_ANSWER, "503": {**_PROBE_ANSWER, "description": "Not ready, and why",
                                                              "headers": {"Retry-After": {"schema": {
                                                                  "type": "integer"}}}}}}},
            "/openapi.json": {"get": _op("This document", public=True, errors=())},
            "/process-definitions": {"get": _op("Deployed process versions (anyone but the administrator: each "
                                                "process's key and name only)", result=_LIST,
                                                parameters=[_query("key", {"type": "string"}, "one process")])},
            "/process-definitions/{definition_id}/xml": {"get": _op(
                "A version's BPMN file (administrator)", parameters=[_path("definition_id", "the process version")])},
            "/process-definitions/{definition_id}/deploy": {"post": _op(
                "Deploy an edit of the newest version (administrator; 409 names the newest)", ok=201, parameters=[
                    _path("definition_id", "the version edited")], body=_body({"xml": {"type": "string"}}, ["xml"]),
                errors=(400, 401, 403, 404, 409, 422))},
            "/process-definitions/{definition_id}/artifacts": {"get": _op(
                "The DMN decisions and forms a version uses (administrator)",
                parameters=[_path("definition_id", "the process version")])},
            "/process-definitions/{definition_id}/decisions/{decision_id}": {"get": _op(
                "A decision's DMN file as deployed with the version (administrator)", parameters=[
                    _path("definition_id", "the process version"), _text_path("decision_id", "the decision's id")])},
            "/process-definitions/{definition_id}/decisions/{decision_id}/deploy": {"post": _op(
                "Deploy an edited decision table; the newest versions using it get new ones (administrator)", ok=201,
                parameters=[_path("definition_id", "the process version"),
                            _text_path("decision_id", "the decision's id")],
                body=_body({"xml": {"type": "string"}}, ["xml"]), errors=(400, 401, 403, 404, 409, 422))},
            "/process-definitions/{definition_id}/forms/{form_key}": {"get": _op(
                "A form as pinned to the version, with its form-js schema (administrator)", parameters=[
                    _path("definition_id", "the process version"), _text_path("form_key", "the form's key")])},
            "/process-definitions/{definition_id}/forms/{form_key}/deploy": {"post": _op(
                "Deploy an edited form; the newest versions showing it get new ones (administrator)", ok=201,
                parameters=[_path("definition_id", "the process version"), _text_path("form_key", "the form's key")],
                body=_body({"schema": _OBJECT}, ["schema"]), errors=(400, 401, 403, 404, 409, 422))},
            "/deployments": {"post": _op("Deploy models (multipart 'file' fields, or JSON files)", ok=201,
                                         body=_body({"files": {"type": "array", "items": {
                                             "type": "object", "properties": {"name": {"type": "string"},
                                                                              "content": {"type": "string"}}}}}),
                                         errors=(400, 401, 403, 409, 422))},
            "/process-models": {"post": _op(
                "Deploy a zip of spiff-arena process model folders, model by model (administrator); 422 when none "
                "deploys", ok=201, body={"required": True, "content": {"multipart/form-data": {"schema": {
                    "type": "object", "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}}}}}},
                errors=(400, 401, 403, 413, 422))},
            "/validate": {"post": _op("Check models without deploying (administrator)",
                                      body=_body({"files": {"type": "array"}}), errors=(400, 401, 403, 413, 422))},
            "/process-instances": {
                "get": _op("Instances, filtered and paged, newest first (administrator)", result=_LIST,
                           parameters=[*_INSTANCE_FILTERS, *_PAGE]),
                "post": _op("Start an instance: as its process's start declaration allows (its roles, at units "
                            "within their reach; administrators only when it declares none), with only its start "
                            "form's variables", ok=201, body=_body({
                    "process_key": {"type": "string"}, "variables": _OBJECT, "org_scope": {"type": "string"},
                    "business_key": {"type": "string"}}, ["process_key"]), errors=(400, 401, 403, 404, 409, 422)),
            },
            "/process-instances/{instance_id}": {"get": _op("State, data, open tasks, incidents and history",
                                                            parameters=[_INSTANCE])},
            "/process-instances/{instance_id}/coverage": {"get": _op(
                "不漏一校、不漏一人: who has and has not completed", parameters=[
                    _INSTANCE, _query("missing", {"type": "string", "enum": ["true", "false"]}, "only the missing")])},
            "/dashboard/rollouts": {"get": _op(
                "Tiered rollouts with their completion (the administrator, or an officer of the city or a county: "
                "those reaching their county)", result=_LIST, errors=(401, 403))},
            "/dashboard/rollouts/{instance_id}": {"get": _op(
                "A rollout's coverage, one level: counties, a county's schools, a school's people",
                parameters=[_INSTANCE, _UNIT], errors=_DASHBOARD_ERRORS)},
            "/dashboard/rollouts/{instance_id}/export": {"get": _export(
                "That level as an .xlsx workbook", [_INSTANCE, _UNIT])},
            "/dashboard/monthly-checks": {"get": _op(
                "一月一查 per month: submitted on time, late, missing; bands, box plot and histogram of scores; and "
                "one month's scores compared per county (a county: per school), each box with how many were scored "
                "of how many expected, ranked by average",
                parameters=[_COUNTY, _COMPARED_MONTH],
                errors=_DASHBOARD_ERRORS)},
            "/dashboard/monthly-checks/export": {"get": _export(
                "The monthly checks as an .xlsx workbook, with the month's comparison", [_COUNTY, _COMPARED_MONTH])},
            "/oversight/monthly": {"get": _op(
                "一月一查 oversight: per county the caller oversees, the month's completion (teachers scored of the "
                "directory's, circulars, summaries, late schools) and the bands and mean of the teachers' scores",
                parameters=[_MONTH], errors=_DASHBOARD_ERRORS)},
            "/oversight/monthly/{county}": {"get": _op(
                "一月一查 oversight of one county: per school its completion, score distribution, overdue steps, "
                "chases and spot-check (another county's officer: 404)",
                parameters=[_text_path("county", "the county's unit id"), _MONTH], errors=_DASHBOARD_ERRORS)},
            "/appraisal/{school}": {"get": _op(
                "The school's teacher appraisal ledger (教师考评台账): per teacher and month, and per teacher for the "
                "year (the school's leaders, the officers and heads above it; others 404)",
                parameters=[_text_path("school", "the school's unit id"), _YEAR, _MONTH_NUMBER],
                errors=_DASHBOARD_ERRORS)},
            "/appraisal/{school}/export": {"get": _export(
                "The school's teacher appraisal ledger as an .xlsx workbook (月度台账 and 年度汇总)",
                [_text_path("school", "the school's unit id"), _YEAR, _MONTH_NUMBER])},
            "/dashboard/counselling": {"get": _op(
                "Counselling cases by risk level per county (or per school of one county) and the crisis escalations, "
                "naming a student only where the escalation lets the caller read the case",
                parameters=[_COUNTY], errors=_DASHBOARD_ERRORS)},
            "/dashboard/counselling/export": {"get": _export(
                "Counselling cases by risk level and the crisis escalations as an .xlsx workbook", [_COUNTY])},
            "/audit": {"get": _op("The audit log, newest first: administrators' commands and reads of confidential "
                                  "records (administrator)", parameters=[
                _query("actor", {"type": "string"}, ""), _query("action", {"type": "string"}, "e.g. SuspendInstance"),
                _query("resource", {"type": "string"}, "e.g. instance:12"),
                _query("kind", {"type": "string", "enum": ["command", "refused", "read"]}, ""),
                _query("school", {"type": "string"}, "reads of this school's records"),
                _query("from", {"type": "string", "format": "date"}, "on or after (Beijing date)"),
                _query("to", {"type": "string", "format": "date"}, "on or before (Beijing date)"), *_PAGE])},
            "/audit/case-reads": {"get": _op("Reads of the counselling cases of the schools whose mental-health lead "
                                             "the caller is, newest first", parameters=[
                _query("from", {"type": "string", "format": "date"}, "on or after (Beijing date)"),
                _query("to", {"type": "string", "format": "date"}, "on or before (Beijing date)"), *_PAGE])},
            "/counselling-rooms/{unit_id}": {"get": _op(
                "A school's counselling room registers, newest school year first: rooms, area, functions, opening "
                "hours with the duty roster, standard met, the new students' visit (the school's leaders and "
                "mental-health teachers, the officers and heads above it; 404 for others)",
                parameters=[_text_path("unit_id", "the school's code")], errors=(401, 403, 404))},
            "/counselling-rooms": {"get": _op(
                "A county's schools with their counselling room register (recorded, accepted, standard met, new "
                "students' visit), or without a county the counts per county (the dashboard's holders)",
                parameters=[_COUNTY, _query("school_year", {"type": "string", "maxLength": 20},
                                            "e.g. 2026-2027; none: the newest")], errors=_DASHBOARD_ERRORS)},
            "/dashboard/overdue": {"get": _op("Overdue open tasks per county, or per school of one county, by process",
                                              parameters=[_COUNTY, _PROCESS], errors=_DASHBOARD_ERRORS)},
            "/dashboard/overdue/export": {"get": _export("Overdue work as an .xlsx workbook", [_COUNTY, _PROCESS])},
            "/process-instances/{instance_id}/documents": {"get": _op("Generated documents", result=_LIST,
                                                                      parameters=[_INSTANCE])},
            "/process-instances/{instance_id}/retry": {"post": _op("Retry the failed step", parameters=[_INSTANCE],
                                                                   body=_body({"variables": _OBJECT}))},
            "/process-instances/{instance_id}/suspend": {"post": _op("Suspend (administrator)", parameters=[_INSTANCE],
                                                                     body=_body({"reason": {"type": "string"}}))},
            "/process-instances/{instance_id}/resume": {"post": _op("Resume (administrator)", parameters=[_INSTANCE])},
            "/process-instances/{instance_id}/terminate": {"post": _op(
                "Terminate, with its fan-out's children (administrator)", parameters=[_INSTANCE],
                body=_body({"reason": {"type": "string"}}))},
            "/process-instances/{instance_id}/migrate": {"post": _op(
                "Move to a newer version of its process, or with dry_run only report whether it can (administrator)",
                parameters=[_INSTANCE], body=_body({"target_definition_id": _ID, "dry_run": {"type": "boolean"}},
                                                   ["target_definition_id"]))},
            "/process-instances/{instance_id}/jobs": {"get": _op(
                "The instance's background jobs: kind, due, attempts, state, last error (administrator)",
                result=_LIST, parameters=[_INSTANCE, _query("limit", {"type": "integer", "minimum": 1, "maximum": 500},
                                                            "")])},
            "/process-instances/{instance_id}/history": {"get": _op(
                "The instance's audit events, oldest first, a page at a time (with the total)",
                parameters=[_INSTANCE, *_PAGE])},
            "/units/{unit_id}/documents": {"get": _op(
                "发文登记簿: the official documents the unit issued in a year, in the order of their 文号 (its "
                "officers, heads and principal, those of the units above it, the administrator)",
                parameters=[_text_path("unit_id", "the issuing unit"),
                            _query("year", {"type": "integer", "minimum": 2000, "maximum": 2100},
                                   "the year (default: this year)")])},
            "/documents/{document_id}": {"get": {
                "summary": "A generated document's file", "parameters": [_path("document_id", "the document")],
                "responses": {"200": {"description": "The file", "content": {
                    "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                        "schema": {"type": "string", "format": "binary"}}}},
                    **{str(code): _ERROR for code in (400, 401, 403, 404)}}}},
            "/tasks": {"get": {**_op("The caller's tasks, filtered and paged (the administrator: anyone's)",
                                     result=_LIST, parameters=[
                _query("user", {"type": "string"}, "whose (administrator)"),
                _query("instance_id", _ID, "of one instance"),
                _query("state", {"type": "string", "enum": ["open", "completed", "cancelled", "all"]}, ""),
                _query("view", {"type": "string", "enum": list(VIEWS)},
                       "open: mine and offered to me; mine; offered (unclaimed, to me or my roles); done: "
                       "completed by me"),
                _query("process", {"type": "string", "maxLength": 100}, "process key"),
                _query("unit", {"type": "string", "maxLength": 100}, "org unit the task is scoped to"),
                _query("due", {"type": "string", "enum": list(DUES)},
                       "overdue; due today; due within within_days working days; no due date"),
                _query("within_days", {"type": "integer", "minimum": 1, "maximum": MAX_WITHIN_DAYS},
                       "working days, for due=within"),
                _query("q", {"type": "string", "maxLength": 100}, "words in the task name"),
                _query("sort", {"type": "string", "enum": list(SORTS)}, "order"), *_PAGE]),
                "responses": {"200": {"description": "One page; X-Total-Count is the total over all pages",
                                      "headers": {"X-Total-Count": {"schema": {"type": "integer"}}},
                                      "content": {"application/json": {"schema": _LIST}}},
                              **{str(code): _ERROR for code in (400, 401, 403, 404, 409)}}}},
            "/saved-filters": {
                "get": _op("The caller's saved inbox filters", result=_LIST),
                "post": _op("Save an inbox filter under a name (the same name again replaces it)", ok=201, body=_body(
                    {"name": {"type": "string", "maxLength": 40}, "filters": _OBJECT}, ["name"]))},
            "/saved-filters/{filter_id}": {"delete": _op("Delete one of one's saved filters",
                                                         parameters=[_path("filter_id", "the saved filter")])},
            "/tasks/{task_id}/attachments": {
                "get": _op("A task's attachments", result=_LIST, parameters=[_TASK]),
                "post": _op("Attach a file to a task (PDF, images, Office, text; size limit by config)", ok=201,
                            parameters=[_TASK], errors=(400, 401, 403, 404, 409, 413), body={
                                "required": True, "content": {"multipart/form-data": {"schema": {
                                    "type": "object", "required": ["file"], "properties": {
                                        "file": {"type": "string", "format": "binary"}}}}}})},
            "/attachments/{attachment_id}": {"get": {
                "summary": "An attachment's file (for whoever may read its task, or an instance above it whose data "
                           "references it)", "parameters": [_path("attachment_id", "the attachment")],
                "responses": {"200": {"description": "The file", "content": {
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
                    **{str(code): _ERROR for code in (400, 401, 403, 404)}}}},
            "/tasks/{task_id}/history": {"get": _op("The newest events of the task's instance", parameters=[
                _TASK, _query("limit", {"type": "integer", "minimum": 1, "maximum": 200}, "how many")])},
            "/tasks/{task_id}": {"get": _op(
                "One task, with its instructions (instructionsForEndUser) rendered over its data: markdown and safe "
                "html, or an error saying why they cannot be shown", parameters=[_TASK])},
            "/tasks/{task_id}/form": {"get": _op(
                "The task's form-js schema and the data it opens with: exactly the process data the form names for "
                "showing (read-only fields, shown lists, text templates) and the rows of its fixed lists",
                parameters=[_TASK])},
            "/tasks/{task_id}/comments": {
                "get": _op("A task's comments", result=_LIST, parameters=[_TASK]),
                "post": _op("Comment on a task", ok=201, parameters=[_TASK],
                            body=_body({"body": {"type": "string", "maxLength": 2000}}, ["body"]))},
            "/tasks/{task_id}/complete": {"post": _op("Complete a task with its form's data", parameters=[_TASK],
                                                      body=_body({"data": _OBJECT}))},
            "/tasks/{task_id}/claim": {"post": _op("Claim a task one is a candidate for", parameters=[_TASK])},
            "/tasks/{task_id}/unclaim": {"post": _op("Give a claimed task back", parameters=[_TASK])},
            "/tasks/{task_id}/delegate": {"post": _op("Delegate one's task", parameters=[_TASK], body=_body(
                {"to": {"type": "string"}, "reason": {"type": "string"}}, ["to"]))},
            "/tasks/{task_id}/delegates": {"get": _op(
                "Whom one may delegate the task to, by name: the people it is offered to and the people of its unit "
                "(its assignee, or a candidate who may claim it; 403 for other readers)",
                result=_LIST, parameters=[_TASK])},
            "/tasks/{task_id}/reassign": {"post": _op("Reassign a task (a tier above, or the administrator)",
                                                      parameters=[_TASK], body=_body(
                                                          {"to": {"type": "string"}, "reason": {"type": "string"}}))},
            "/messages": {"post": _op("Deliver a message to the instances waiting with its key (administrator; a "
                                      "service account allowed it; a person with an open task there)", body=_body({
                "name": {"type": "string"}, "correlation_key": {"type": "string"}, "variables": _OBJECT,
                "all": {"type": "boolean"}}, ["name"]))},
            "/signals": {"post": _op("Throw a signal: it reaches the waiting instances and starts the processes that "
                                     "start with it, within what the caller may (administrator; a service account "
                                     "allowed it; a person with an open task there, or who may start the process); "
                                     "org_scope narrows it to a unit and below", body=_body({
                "name": {"type": "string"}, "variables": _OBJECT, "org_scope": {"type": "string"}}, ["name"]))},
            "/process-instances/summary": {"get": _op(
                "How many instances match the filters, and per state (administrator)",
                parameters=_INSTANCE_FILTERS)},
            "/jobs": {"get": _op("Background jobs, soonest due first (administrator)", result=_LIST, parameters=[
                _query("state", {"type": "string", "enum": ["pending", "done", "failed", "cancelled"]}, ""),
                _query("kind", {"type": "string"}, "timer, scheduled_start, service_task, webhook, ..."),
                _query("due", {"type": "string", "enum": ["true", "false"]}, "only jobs due by now"),
                _query("instance_id", _ID, "of one instance"), *_PAGE])},
            "/jobs/summary": {"get": _op("Jobs per state and kind, due now, open incidents (administrator)")},
            "/incidents": {"get": _op("Incidents, newest first (administrator)", result=_LIST, parameters=[
                _query("state", {"type": "string", "enum": ["open", "resolved", "all"]}, "default open"),
                _query("process_key", {"type": "string"}, ""), *_PAGE])},
            "/schedules": {"get": _op("Schedules with their rule, next and last fire, Beijing time (administrator)",
                                      result=_LIST)},
            "/schedules/{key}/fires": {"get": _op("A schedule's fire log, newest first (administrator)",
                                                  result=_LIST, parameters=[
                                                      _text_path("key", "the schedule's key"), *_PAGE])},
            "/schedules/{key}": {"put": _op(
                "Pause or enable a schedule, or change its rule, months, time or start variables (administrator)",
                parameters=[_text_path("key", "the schedule's key")], body=_body({
                    "enabled": {"type": "boolean"}, "cron": {"type": ["string", "null"]},
                    "rule": {"type": ["string", "null"],
                             "enum": ["first_working_day", "nth_working_day", "day_of_month", None]},
                    "n": {"type": ["integer", "null"], "minimum": 1, "maximum": 23},
                    "day": {"type": ["integer", "null"], "minimum": 1, "maximum": 31},
                    "months": {"type": ["array", "null"], "items": {"type": "integer", "minimum": 1, "maximum": 12}},
                    "term_only": {"type": "boolean"}, "at": {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"},
                    "for_each": {"type": ["string", "null"]}, "variables": {"type": ["object", "null"]},
                    "note": {"type": ["string", "null"], "maxLength": 300}}, []))},
            "/schedule-occurrences/{year}": {"get": _op(
                "Every occurrence of a year, Beijing time, with for_each and its units (administrator)",
                parameters=[_text_path("year", "the year, 1900 to 2199")])},
            "/term-calendar": {
                "get": _op("The school term calendar: holiday months and semester dates (administrator)"),
                "put": _op("Set holiday months and semester dates; fields left out keep their value (administrator)",
                           body=_body({"holiday_months": {"type": "array", "items": {"type": "integer"}},
                                       "spring_start": {"type": "string", "pattern": "^[0-9]{2}-[0-9]{2}$"},
                                       "spring_end": {"type": "string", "pattern": "^[0-9]{2}-[0-9]{2}$"},
                                       "autumn_start": {"type": "string", "pattern": "^[0-9]{2}-[0-9]{2}$"},
                                       "autumn_end": {"type": "string", "pattern": "^[0-9]{2}-[0-9]{2}$"}}, []))},
            "/calendar/{year}": {"get": _op("A year's holidays, adjusted working days and overrides (administrator)",
                                            parameters=[_text_path("year", "the year, 1900 to 2199")])},
            "/calendar/overrides/{day}": {
                "put": _op("Make a date a working day or a holiday, with the reason (administrator)",
                           parameters=[_text_path("day", "YYYY-MM-DD")], body=_body({
                               "working": {"type": "boolean"}, "note": {"type": "string", "maxLength": 300}},
                               ["working", "note"])),
                "delete": _op("Remove a date's override (administrator)",
                              parameters=[_text_path("day", "YYYY-MM-DD")])},
            "/org/units": {"get": _op("Units directly below a unit (or the top), with counts (administrator)",
                                      parameters=[_query("parent", {"type": "string"}, "the unit above")])},
            "/org/units/{unit_id}": {"get": _op("A unit, the units above it and its people (administrator)",
                                                parameters=[_text_path("unit_id", "the unit's code"),
                                                            _PAGE[0]])},
            "/org/people": {"get": _op("People by part of name or id (administrator)", result=_LIST, parameters=[
                _query("q", {"type": "string"}, "part of a name or id"),
                _query("unit", {"type": "string"}, "holding a role at this unit"),
                _query("under", {"type": "string"}, "holding a role at this unit or below it"),
                _query("role", {"type": "string"}, "role code or Chinese name"), *_PAGE])},
            "/org/people/{person_id}": {"patch": _op(
                "Correct one person's e-mail address and mobile number (administrator); a field left out stays, "
                "an empty one is removed", parameters=[_text_path("person_id", "the person (工号)")],
                body=_body({"email": {"type": "string", "maxLength": 200},
                            "phone": {"type": "string", "maxLength": 30}}))},
            "/org/imports": {"post": {
                **_op("Load the directory from an .xlsx workbook or CSV files; any bad row: nothing loaded "
                      "(administrator)", ok=201),
                "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                    "type": "object", "properties": {"file": {"type": "array", "items": {
                        "type": "string", "format": "binary"}}}, "required": ["file"]}}}}}},
            "/org/export.xlsx": {"get": {
                "summary": "The directory as a workbook (administrator)",
                "responses": {"200": {"description": "The workbook", "content": {
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                        "schema": {"type": "string", "format": "binary"}}}},
                    **{str(code): _ERROR for code in (401, 403)}}}},
            "/webhooks": {
                "get": _op("Webhook subscriptions (administrator)", result=_LIST),
                "post": _op("Subscribe a URL to engine events (administrator)", ok=201, body=_body({
                    "url": {"type": "string"}, "events": {"type": "string"}, "secret": {"type": "string"}}, ["url"])),
            },
            "/notification-deliveries": {"get": _op(
                "Notification deliveries (e-mail, WeCom, DingTalk, SMS) newest first, with the notifications each "
                "carried; mobile numbers partly masked (administrator)", result=_LIST, parameters=[
                    _query("state", {"type": "string", "enum": ["pending", "sent", "failed"]}, "only these"),
                    _query("channel", {"type": "string", "enum": ["email", "wecom", "dingtalk", "sms"]}, "only these"),
                    _query("limit", {"type": "integer", "minimum": 1, "maximum": 500}, "at most this many"),
                    _query("offset", {"type": "integer", "minimum": 0}, "skip this many")])},
            "/notification-deliveries/{delivery_id}/replay": {"post": _op(
                "Send a sent or failed delivery again with the same message id (administrator)",
                parameters=[_path("delivery_id", "the delivery")])},
            "/notifications": {"get": _op(
                "The caller's notifications, newest first (the total in X-Total-Count)", result=_LIST,
                parameters=[_query("unread", {"type": "string", "enum": ["true", "false"]}, "unread ones only"),
                            *_PAGE], errors=(400, 401)), "post": _op(
                "Send a notice (kind message) to people by id or to holders of a role at a unit, role@unit "
                "(administrator)", ok=201, body=_body({
                    "recipients": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 5000},
                    "subject": {"type": "string", "minLength": 1, "maxLength": 200},
                    "body": {"type": "string", "maxLength": 4000}, "link": {"type": "string", "maxLength": 500},
                    "channels": {"type": "array", "items": {"type": "string", "enum": [
                        "inbox", "email", "wecom", "dingtalk", "sms"]}}}, ["recipients", "subject"]))},
            "/tokens": {
                "get": _op("The caller's API tokens, newest first, never the tokens themselves (the administrator: "
                           "?user='s); someone else's answers 404", result=_LIST, parameters=[
                               _query("user", {"type": "string", "maxLength": 100}, "whose (administrator)")],
                           errors=(401, 404)),
                "post": _op("Make an API token for oneself (logged in, not with a token); shown in this answer only",
                            ok=201, body=_body({"name": {"type": "string", "minLength": 1, "maxLength": 200},
                                                "days": {"type": "integer", "minimum": 1}}, ["name"]),
                            errors=(400, 401, 403))},
            "/tokens/{token_id}": {"delete": _op(
                "Revoke one's own API token (the administrator: anyone's); someone else's answers 404",
                parameters=[_path("token_id", "the token")], errors=(400, 401, 404))},
            "/notifications/unread-count": {"get": _op(
                "How many of the caller's notifications are unread, counted up to 100 (more: 100 or more)",
                result={"type": "object", "properties": {"unread": {"type": "integer"}, "more": {"type": "boolean"}}},
                errors=(401,))},
            "/notifications/{notification_id}/read": {"post": _op(
                "Mark one of the caller's notifications read; someone else's answers 404",
                parameters=[_path("notification_id", "the notification")], errors=(400, 401, 404))},
            "/notifications/read-all": {"post": _op("Mark all the caller's notifications read", errors=(401,))},
            "/webhooks/{subscription_id}": {"delete": _op("Unsubscribe (administrator)",
                                                          parameters=[_path("subscription_id", "the subscription")])},
            "/webhooks/{subscription_id}/rotate-secret": {"post": _op(
                "A new whsec_ secret (given, or made and shown in this answer only); the old one also signs "
                "deliveries for grace_hours (default 24), then stops (administrator)",
                parameters=[_path("subscription_id", "the subscription")], body=_body({
                    "secret": {"type": "string", "description": "whsec_ + base64 of 24 to 64 bytes"},
                    "grace_hours": {"type": "number", "minimum": 0, "maximum": 744}}))},
            "/webhooks/messages/{name}": {"post": {
                **_op("Deliver a message once per caller's Idempotency-Key (the same callers as /messages)",
                      body=_body({
                    "correlation_key": {"type": "string"}, "variables": _OBJECT})),
                "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}},
                               {"name": "Idempotency-Key", "in": "header", "required": True,
                                "schema": {"type": "string", "maxLength": 200}}]}},
        },
    }
