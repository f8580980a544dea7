"""The gate every request passes before its view: the endpoint's rule from :data:`engine.access.policy.ROUTES`.

An endpoint without a rule is refused outright (404, as an unknown address), so a new route cannot be reached
until someone has decided who may call it. The API answers a caller without a log-in or token with 401, pages
send them to the log-in page; what one may not read answers 404 exactly as a missing id; what only the
administrator (or a dashboard holder) may do answers 403 whatever the id, so it tells nothing either.
"""

from __future__ import annotations

import hmac
from typing import Any

from flask import Flask, abort, current_app, request
from flask_login import current_user

from engine.access.policy import Rule, route_rule
from engine.errors import Forbidden, NotFound, Problem, Unauthorized
from engine.phrases import Phrase
from engine.web import calls
from engine.web.auth import is_administrator, login_manager

#: The blueprints that answer JSON to programs; the others are pages.
API_BLUEPRINTS = frozenset({"api", "task_api", "dashboard_api", "operations_api", "account_api", "audit_api",
                            "counselling_room_api", "monthly_api", "notification_api",
                            "delivery_api"})


def install(app: Flask) -> None:
    app.before_request(enforce_route_rule)


def enforce_route_rule() -> Any:
    """Apply the endpoint's rule; None lets the view run, a response (a redirect to log in) answers instead."""
    endpoint = request.endpoint
    if endpoint is None:  # no route matched: Flask answers 404 or 405 itself
        return None
    rule = route_rule(endpoint)
    if rule is None:
        raise NotFound(Phrase("there is no page or call at %(path)s", path=request.path[:200]))
    if rule is Rule.PUBLIC:
        return None
    if rule is Rule.METRICS_SCRAPER:
        _check_scraper()
        return None
    if request.blueprint in API_BLUEPRINTS:
        _check_call(rule, calls.actor(), request.view_args or {})
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    _check_page(rule, str(current_user.id), request.view_args or {})
    return None


def _check_scraper() -> None:
    """The deployment's metrics token, compared in constant time; /metrics is as missing while none is set."""
    expected = current_app.extensions["huhua"].settings.metrics_token
    if not expected:
        raise NotFound(Phrase("there is no page or call at %(path)s", path=request.path[:200]))
    sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(sent.encode(), expected.encode()):
        raise Unauthorized(Phrase("send the metrics token (HUHUA_METRICS_TOKEN) as 'Authorization: Bearer <token>'"),
                           [Problem(Phrase("not authenticated"), field="Authorization")])


def _check_call(rule: Rule, user: str, args: dict[str, Any]) -> None:
    if rule is Rule.ADMINISTRATOR and not is_administrator(user):
        raise Forbidden(Phrase("only the administrator may do this"))
    if rule is Rule.DASHBOARD and not _has_dashboard(user):
        raise Forbidden(Phrase("the dashboard is for the administrator and the officers of the city and the counties"))
    if rule is Rule.MENTAL_HEALTH_LEAD and not _leads_a_school(user):
        raise Forbidden(Phrase("the log of counselling reads is for a school's mental-health lead"))
    _check_reader(rule, args)


def _check_page(rule: Rule, user: str, args: dict[str, Any]) -> None:
    if rule is Rule.ADMINISTRATOR and not is_administrator(user):
        abort(403)
    if rule is Rule.DASHBOARD and not _has_dashboard(user):
        abort(403)
    if rule is Rule.MENTAL_HEALTH_LEAD and not _leads_a_school(user):
        abort(403)
    _check_reader(rule, args)


def _check_reader(rule: Rule, args: dict[str, Any]) -> None:
    """The rules that read a resource by its id: 404 (as for a missing id) for whoever may not read it."""
    if rule is Rule.INSTANCE_READER:
        calls.visible_instance(args["instance_id"])
    elif rule in (Rule.TASK_READER, Rule.TASK_ACTOR):
        calls.visible_task(args["task_id"])
    elif rule is Rule.ATTACHMENT_READER:
        calls.visible_attachment(args["attachment_id"])
    elif rule is Rule.DOCUMENT_READER:
        calls.visible_document(args["document_id"])
    elif rule is Rule.LEDGER_READER and not calls.engine().queries.may_read_ledger(calls.actor(), args["school"]):
        raise NotFound(Phrase("school '%(school)s' does not exist", school=str(args["school"])[:100]))
    elif rule is Rule.REGISTER_READER:
        calls.visible_register(args["unit_id"])
    elif rule is Rule.COUNSELLING_ROOM_READER and not calls.engine().queries.may_read_counselling_room(
            calls.actor(), str(args["unit_id"])):
        raise NotFound(Phrase("school %(school)s does not exist", school=str(args["unit_id"])[:100]))


def _has_dashboard(user: str) -> bool:
    return bool(current_app.extensions["huhua"].queries.has_dashboard(user))


def _leads_a_school(user: str) -> bool:
    return bool(current_app.extensions["huhua"].queries.audit.leads_a_school(user))
