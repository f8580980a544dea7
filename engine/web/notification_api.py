"""The notification centre for programs under /api/v1: the caller's notifications (``?unread=true``, paged), the
unread count, marking one read (another person's answers 404, as a missing one) or all of them."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from engine.commands import MarkNotificationsRead
from engine.errors import InvalidInput, Problem
from engine.phrases import Phrase
from engine.queries.notifications import COUNT_CAP
from engine.web import calls

notification_api = Blueprint("notification_api", __name__, url_prefix="/api/v1")


@notification_api.get("/notifications")
def list_notifications() -> Any:
    """Newest first; the total over all pages in X-Total-Count."""
    unread = request.args.get("unread", "false")
    if unread not in ("true", "false"):
        raise InvalidInput(Phrase("query parameter %(name)s must be true or false", name="unread"),
                           [Problem(Phrase("not true or false"), field="unread")])
    found = calls.engine().queries.notifications.page(calls.actor(), unread_only=unread == "true",
                                                      limit=calls.int_arg("limit", 50),
                                                      offset=calls.int_arg("offset", 0))
    response = jsonify(found["notifications"])
    response.headers["X-Total-Count"] = str(found["total"])
    return response


@notification_api.get("/notifications/unread-count")
def unread_count() -> Any:
    """Counted up to 100 (the bell shows "99+" beyond 99): ``{"unread": 3, "more": false}``."""
    count = calls.engine().queries.notifications.unread_count(calls.actor())
    return jsonify({"unread": count, "more": count >= COUNT_CAP})


@notification_api.post("/notifications/<int:notification_id>/read")
def mark_read(notification_id: int) -> Any:
    caller = calls.actor()
    return jsonify(calls.engine().execute(MarkNotificationsRead(caller, calls.path_id(notification_id,
                                                                                      "notification_id"))))


@notification_api.post("/notifications/read-all")
def mark_all_read() -> Any:
    return jsonify(calls.engine().execute(MarkNotificationsRead(calls.actor())))
