"""What every JSON API call needs: the engine, the caller and what they may see, the body and arguments
checked, each refusal naming its field."""

from __future__ import annotations

from typing import Any

from flask import current_app, request

from engine.access.confidential import RECORD
from engine.bootstrap import Huhua
from engine.commands import RecordCaseRead
from engine.errors import Forbidden, InvalidInput, NotFound, Problem, Unauthorized
from engine.json_bounds import MAX_DEPTH, text_depth
from engine.phrases import Phrase
from engine.web.auth import acting_user, is_administrator


def engine() -> Huhua:
    """The engine the app serves."""
    return current_app.extensions["huhua"]


#: The only calls a service account (a system that sends messages, engine.access.messages) may make.
SERVICE_ENDPOINTS = frozenset({"api.correlate_message", "api.receive_webhook", "api.throw_signal"})


def actor() -> str:
    """Who is calling (a token's owner or the logged-in person); 401 for nobody; 403 for a service account
    calling anything but message delivery."""
    caller = acting_user()
    if not caller:
        raise Unauthorized(Phrase("log in, or send an API token as 'Authorization: Bearer <token>'"),
                           [Problem(Phrase("not authenticated"), field="Authorization")])
    if request.endpoint not in SERVICE_ENDPOINTS and engine().queries.is_service_account(caller):
        raise Forbidden(Phrase("a service account only delivers messages and signals (POST /api/v1/messages, "
                               "/api/v1/webhooks/messages/{name}, /api/v1/signals)"))
    return caller


def json_body() -> dict[str, Any]:
    if text_depth(request.get_data(cache=True)) > MAX_DEPTH:  # before parsing: the parser itself recurses
        raise InvalidInput(Phrase("the request body is nested more than %(n)s levels deep", n=MAX_DEPTH),
                           [Problem(Phrase("nested too deeply"), field="body")])
    try:
        body = request.get_json(silent=True)
    except RecursionError:
        raise InvalidInput(Phrase("the request body is nested too deeply")) from None
    if body is None:
        if request.data:
            raise InvalidInput(Phrase("the request body is not valid JSON"))
        return {}
    if not isinstance(body, dict):
        raise InvalidInput(Phrase("the request body must be a JSON object"))
    try:
        _refuse_lone_surrogates(body, "")
    except RecursionError:
        raise InvalidInput(Phrase("the request body is nested too deeply")) from None
    return body


def _refuse_lone_surrogates(value: Any, where: str) -> None:
    """JSON may escape half of a UTF-16 pair (\\ud800) or a NUL (\\u0000); PostgreSQL stores neither in text, so
    such text is refused by name."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidInput(Phrase("%(where)s holds text that is not valid Unicode (a lone surrogate)",
                                      where=where or Phrase("the body")),
                               [Problem(Phrase("not valid Unicode"), field=where or None)]) from None
        if "\x00" in value:
            raise InvalidInput(Phrase("%(where)s holds a NUL character, which no text may hold",
                                      where=where or Phrase("the body")),
                               [Problem(Phrase("NUL character"), field=where or None)])
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_lone_surrogates(key, where)
            _refuse_lone_surrogates(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_lone_surrogates(item, f"{where}[{index}]")


#: Ids and offsets are 64-bit integers in the database.
LARGEST_ID = 2**63 - 1


def int_arg(name: str, default: int) -> int:
    number = optional_int_arg(name)
    return default if number is None else number


def optional_int_arg(name: str) -> int | None:
    value = request.args.get(name)
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise InvalidInput(Phrase("query parameter %(name)s must be a whole number", name=name),
                           [Problem(Phrase("not an integer"), field=name)]) from None
    if not 0 <= number <= LARGEST_ID:
        raise InvalidInput(Phrase("query parameter %(name)s must be between 0 and %(n)s", name=name, n=LARGEST_ID),
                           [Problem(Phrase("out of range"), field=name)])
    return number


def path_id(value: int, what: str) -> int:
    if value > LARGEST_ID:
        raise InvalidInput(Phrase("%(what)s %(value)s is out of range", what=what, value=value),
                           [Problem(Phrase("out of range"), field=what)])
    return value


def str_field(body: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise InvalidInput(Phrase("%(name)s is required", name=name), [Problem(Phrase("missing"), field=name)])
        return None
    if not isinstance(value, str):
        raise InvalidInput(Phrase("%(name)s must be a string", name=name),
                           [Problem(Phrase("expected a string"), field=name)])
    return value


#: The filters of the instance list (and of its counts), as query parameters.
INSTANCE_FILTERS = ("process_key", "state", "business_key", "org_unit", "under", "started_from", "started_to")


def instance_filters() -> dict[str, str | None]:
    """The instance list's filters from the query string (empty ones left out)."""
    return {name: request.args.get(name) or None for name in INSTANCE_FILTERS}


def administrator() -> str:
    """The caller, if an administrator (who alone runs the engine: instances, jobs, calendar, directory); else 403."""
    caller = actor()
    if not is_administrator(caller):
        raise Forbidden(Phrase("only the administrator may do this"))
    return caller


def visible_instance(instance_id: int) -> int:
    """The instance id, if the caller may read it (engine.access.policy); else 404, as for a missing id."""
    instance_id = path_id(instance_id, "instance")
    if not engine().queries.may_read_instance(actor(), instance_id):
        raise NotFound(Phrase("process instance %(id)s does not exist", id=instance_id))
    return instance_id


def visible_register(unit_id: str) -> str:
    """The unit id, if the caller may read its register of issued documents; else 404, as for a missing unit."""
    if not engine().queries.may_read_register(actor(), unit_id):
        raise NotFound(Phrase("unit %(unit)s does not exist", unit=unit_id[:100]))
    return unit_id


def visible_task(task_id: int) -> int:
    """The task id, if the caller may read the task (and so its instance); else 404, as for a missing id."""
    task_id = path_id(task_id, "task")
    if not engine().queries.may_read_task(actor(), task_id):
        raise NotFound(Phrase("task %(task)s does not exist", task=task_id))
    return task_id



def logged_case_read(instance_id: int, what: str, surface: str = "api") -> str | None:
    """Write a read of a confidential case (a counselling case) to the audit log; the caller's access level,
    or None for an instance that is not confidential (nothing is logged then)."""
    huhua, caller = engine(), actor()
    level = huhua.queries.case_access(caller, instance_id)
    if level is not None:
        huhua.execute(RecordCaseRead(instance_id, caller, surface, what, level))
    return level


def task_detail(task_id: int, what: str) -> int:
    """The task id, if the caller may read its comments, attachments or form: anyone who may see the task, but
    of a confidential case only a reader of its record or whoever has, had or is offered that task (else 404)."""
    task_id = visible_task(task_id)
    huhua, caller = engine(), actor()
    instance_id = huhua.queries.task_instance(task_id)
    level = logged_case_read(instance_id, what)
    if level not in (None, RECORD) and not huhua.queries.holds_task(caller, task_id):
        raise NotFound(Phrase("task %(task)s does not exist", task=task_id))
    return task_id


def visible_attachment(attachment_id: int) -> int:
    """The attachment id, if the caller may read it (engine.access.policy.may_read_attachment); else 404, as for a
    missing id."""
    attachment_id = path_id(attachment_id, "attachment")
    if not engine().queries.may_read_attachment(actor(), attachment_id):
        raise NotFound(Phrase("attachment %(id)s does not exist", id=attachment_id))
    return attachment_id


def visible_document(document_id: int) -> int:
    """The document id, if the caller may read the instance that made it (one made by no instance: the
    administrator); else 404, as for a missing id."""
    document_id = path_id(document_id, "document")
    queries, caller = engine().queries, actor()
    try:
        instance_id = queries.document_instance(document_id)
    except NotFound:
        instance_id, caller = None, None
    readable = is_administrator(caller) if caller and instance_id is None \
        else caller is not None and instance_id is not None and queries.may_read_instance(caller, instance_id)
    if not readable:
        raise NotFound(Phrase("document %(id)s does not exist", id=document_id))
    return document_id
