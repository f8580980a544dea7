"""The administrator's API for notifications that leave the app: how each delivery went (and replaying one),
and sending a notice to people or to the holders of a role at a unit."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from engine.commands import ReplayDelivery, SendNotice
from engine.errors import InvalidInput, Problem
from engine.phrases import Phrase
from engine.web import calls

delivery_api = Blueprint("delivery_api", __name__, url_prefix="/api/v1")


@delivery_api.get("/notification-deliveries")
def list_deliveries() -> Any:
    """Deliveries newest first, filtered by ``state`` and ``channel``; mobile numbers partly masked."""
    calls.administrator()
    return jsonify(calls.engine().queries.notification_deliveries(
        state=request.args.get("state") or None, channel=request.args.get("channel") or None,
        limit=calls.int_arg("limit", 100), offset=calls.int_arg("offset", 0)))


@delivery_api.post("/notification-deliveries/<int:delivery_id>/replay")
def replay_delivery(delivery_id: int) -> Any:
    """Send a sent or failed delivery again, with the same message id (the receiver may drop it as seen)."""
    actor = calls.administrator()
    return jsonify(calls.engine().execute(ReplayDelivery(calls.path_id(delivery_id, "delivery"), actor)))


@delivery_api.post("/notifications")
def send_notice() -> Any:
    """The administrator's notice: ``recipients`` (person ids or ``role@unit``), ``subject``, ``body``, ``link``
    and, to send through given channels whatever people chose, ``channels``."""
    actor = calls.administrator()
    body = calls.json_body()
    told = calls.engine().execute(SendNotice(
        actor=actor, recipients=_texts(body, "recipients", required=True),
        subject=calls.str_field(body, "subject", required=True) or "", body=calls.str_field(body, "body") or "",
        link=calls.str_field(body, "link"), channels=_texts(body, "channels")))
    return jsonify(told), 201


def _texts(body: dict[str, Any], name: str, *, required: bool = False) -> tuple[str, ...]:
    value = body.get(name)
    if value is None and not required:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidInput(Phrase("%(name)s must be a list of strings", name=name),
                           [Problem(Phrase("expected a list of strings"), field=name)])
    return tuple(value)
