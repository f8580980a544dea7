"""Webhook subscriptions (who hears of engine events), finishing a delivery, and inbound requests.

An inbound request carries an idempotency key. Its effect and the answer are stored together under
the key, so a sender that retries (it timed out, it crashed, it is simply sending twice) gets the
first answer again and the message is delivered once.
"""

from __future__ import annotations

import json
import math
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import bindparam, insert, select, update

from engine.commands.administrators import is_administrator
from engine.commands.instance_state import require_label
from engine.commands.instances import correlate_message
from engine.commands.requests import (
    AddWebhook,
    CorrelateMessage,
    FinishJob,
    ReceiveWebhook,
    RemoveWebhook,
    RotateWebhookSecret,
)
from engine.commands.unit_of_work import UnitOfWork
from engine.commands.webhook_outbox import parse_events
from engine.errors import Forbidden, InvalidInput, NotFound, Problem, StaleVersion
from engine.outbound import RefusedAddress
from engine.phrases import Phrase
from engine.store import tables
from engine.webhook_secrets import checked, new_secret

_s, _j, _in = tables.webhook_subscription, tables.job, tables.inbound_webhook
#: The longest a replaced secret may keep signing: a month is time enough to update any receiver.
MAX_GRACE_HOURS = 24 * 31
_FINISH = (update(_j).where(_j.c.id == bindparam("job_id"), _j.c.state == "pending")
           .values(state="done", attempts=_j.c.attempts + 1))


def add_webhook(command: AddWebhook, uow: UnitOfWork) -> dict[str, Any]:
    require_label(command.actor, "actor", 100)
    _administrator(uow, command.actor)
    parts = urlsplit(command.url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(command.url) > 1000:
        raise InvalidInput(f"'{command.url}' is not an http(s) URL", [Problem("bad URL", field="url")])
    try:  # checked again at each delivery: a name may point elsewhere later
        uow.services.outbound.target(command.url)
    except RefusedAddress as err:
        raise InvalidInput(f"url: webhooks may not be sent there: {err}", [Problem(str(err), field="url")]) from None
    if len(command.events) > 1000 or any(not k.replace("_", "").isalnum() for k in command.events.split(",")
                                         if k.strip() and k.strip() != "*"):
        raise InvalidInput("events must be '*' or a comma-separated list of event kinds such as task_created",
                           [Problem("bad event list", field="events")])
    secret = checked(command.secret) if command.secret else new_secret()
    subscription_id = uow.execute(insert(_s).values(
        url=command.url, events=command.events.strip() or "*", secret=secret, active=True,
        created_by=command.actor, created_at=uow.now).returning(_s.c.id)).scalar_one()
    uow.record("webhook_added", actor=command.actor, subscription=subscription_id, url=command.url,
               events=command.events)
    uow.services.webhooks.forget()
    events = parse_events(command.events)
    return {"id": subscription_id, "url": command.url, "events": sorted(events) if events else "*",
            "secret": secret}


def remove_webhook(command: RemoveWebhook, uow: UnitOfWork) -> dict[str, Any]:
    _administrator(uow, command.actor)
    removed = uow.execute(update(_s).where(_s.c.id == command.subscription_id, _s.c.active.is_(True))
                          .values(active=False)).rowcount
    if not removed:
        raise NotFound(f"no active webhook subscription {command.subscription_id}")
    uow.record("webhook_removed", actor=command.actor, subscription=command.subscription_id)
    uow.services.webhooks.forget()
    return {"id": command.subscription_id, "active": False}


def rotate_webhook_secret(command: RotateWebhookSecret, uow: UnitOfWork) -> dict[str, Any]:
    """A new secret now; the one it replaces keeps signing (beside it) until the grace period ends.

    Rotating again within a grace period replaces the previous secret with the one current until then: two
    secrets at most are ever valid at once."""
    _administrator(uow, command.actor)
    grace = command.grace_hours
    if isinstance(grace, bool) or not isinstance(grace, int | float) or not math.isfinite(grace) \
            or not 0 <= grace <= MAX_GRACE_HOURS:
        raise InvalidInput(Phrase("grace_hours is a number of hours from 0 to %(n)s", n=MAX_GRACE_HOURS),
                           [Problem(Phrase("out of range"), field="grace_hours")])
    secret = checked(command.secret) if command.secret else new_secret()
    current = uow.read(select(_s.c.secret).where(_s.c.id == command.subscription_id, _s.c.active.is_(True))
                       ).scalar_one_or_none()
    if current is None:
        raise NotFound(Phrase("no active webhook subscription %(id)s", id=command.subscription_id))
    if secret == current:
        raise InvalidInput(Phrase("the new secret must differ from the current one"),
                           [Problem(Phrase("unchanged"), field="secret")])
    until = uow.now + timedelta(hours=grace)
    uow.execute(update(_s).where(_s.c.id == command.subscription_id).values(
        secret=secret, previous_secret=current if grace else None, previous_secret_until=until if grace else None))
    uow.record("webhook_secret_rotated", actor=command.actor, subscription=command.subscription_id,
               grace_hours=grace)
    return {"id": command.subscription_id, "secret": secret,
            "previous_secret_valid_until": until.isoformat() if grace else None}


def finish_job(command: FinishJob, uow: UnitOfWork) -> dict[str, Any]:
    """Mark a job whose work happened outside the engine (a webhook delivered) as done."""
    if uow.execute(_FINISH, {"job_id": command.job_id}).rowcount != 1:
        raise StaleVersion(f"job {command.job_id} is not pending")
    return {"job_id": command.job_id, "state": "done"}


def receive_webhook(command: ReceiveWebhook, uow: UnitOfWork) -> dict[str, Any]:
    """Deliver an inbound message once per idempotency key *of this caller*; a repeat gets the stored answer.

    Keys belong to their caller: another caller's use of the same key neither answers nor blocks this one.
    """
    require_label(command.idempotency_key, "Idempotency-Key", 200)
    if not command.idempotency_key:
        raise InvalidInput("an inbound webhook needs an Idempotency-Key header",
                           [Problem("missing", field="Idempotency-Key")])
    earlier = uow.read(select(_in.c.message_name, _in.c.response)
                       .where(_in.c.caller == command.actor, _in.c.idempotency_key == command.idempotency_key)).first()
    if earlier is not None:
        if earlier.message_name != command.message_name:
            raise InvalidInput(f"Idempotency-Key '{command.idempotency_key}' was used for message "
                               f"'{earlier.message_name}'", [Problem("key reused", field="Idempotency-Key")])
        return {**json.loads(earlier.response), "duplicate": True}
    result = correlate_message(CorrelateMessage(command.message_name, command.actor, command.correlation_key,
                                                command.variables), uow)
    answer = {"message": command.message_name, "delivered": result["delivered"],
              "delivered_to": [{"id": i["id"], "state": i["state"]} for i in result["delivered_to"]]}
    # Two copies racing: the second insert collides, its transaction rolls back, and its retry finds the first.
    uow.execute(insert(_in).values(caller=command.actor, idempotency_key=command.idempotency_key,
                                   message_name=command.message_name, received_at=uow.now,
                                   response=json.dumps(answer, ensure_ascii=False)))
    return {**answer, "duplicate": False}


def _administrator(uow: UnitOfWork, actor: str) -> None:
    """Where engine events go is the administrator's decision: they carry the whole city's work."""
    if not is_administrator(uow, actor):
        raise Forbidden("only the administrator may add or remove webhook subscriptions")
