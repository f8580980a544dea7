"""Messages thrown before their receiver waits, kept until it does.

BPMN lets a message with no receiver be lost; spiff-arena keeps it as a queued message instance and Zeebe keeps it
for a time to live. Conversations between instances need that: a receiver started by a request may reply before
the requester reaches the catch event that waits for the reply. So a message an instance throws with a key (its
correlation properties' values, or the business key) that no instance waits for and no process starts with is
kept for :data:`KEEP_FOR`; when an instance comes to wait for that name and key within the sender's reach, the
oldest such message is taken out and delivered to it, exactly once, in the same transaction. A message without a
key is not kept: it was for whoever takes keyless messages, and nobody did.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, insert, select

from engine.commands.unit_of_work import UnitOfWork
from engine.store import tables

#: How long a kept message waits for its receiver.
KEEP_FOR = timedelta(days=30)
#: The uow memo entry in which :func:`note_fresh_waits` collects instances that came to wait for messages.
FRESH_WAITS = "fresh_message_waits"

_k, _m, _i, _u = tables.kept_message, tables.message_subscription, tables.process_instance, tables.org_unit


@dataclass(frozen=True)
class KeptDelivery:
    """A kept message that a subscription of an instance that has just come to wait may receive."""

    kept_id: int
    subscription_id: int
    instance_id: int
    spiff_task_id: str
    element_id: str
    message_name: str
    payload: dict[str, Any]


def keep(uow: UnitOfWork, name: str, key: str, payload: Any, sender_instance_id: int,
         sender_scope: str | None) -> str:
    """Keep a message nobody waits for; the instant until which it is kept, as ISO text. Expired ones go."""
    uow.execute(delete(_k).where(_k.c.expires_at <= uow.now))
    until = uow.now + KEEP_FOR
    uow.execute(insert(_k), {"message_name": name, "correlation_key": key,
                             "payload": json.dumps(payload if isinstance(payload, dict) else {}, ensure_ascii=False),
                             "sender_instance_id": sender_instance_id, "sender_scope": sender_scope,
                             "created_at": uow.now, "expires_at": until})
    return until.isoformat()


def note_fresh_waits(uow: UnitOfWork, instance_id: int) -> None:
    """Say that an instance has just come to wait for a message (called where its subscriptions are written)."""
    uow.memo.setdefault(FRESH_WAITS, set()).add(instance_id)


def waiting_for_kept(uow: UnitOfWork, instance_id: int, in_reach: Any) -> list[KeptDelivery]:
    """The kept messages that instance ``instance_id``, which has just come to wait in this transaction, may
    receive: for each of its subscriptions the oldest, each message once (none when it did not come to wait).
    ``in_reach(sender_scope)`` is the SQL condition that a subscription may receive from that scope."""
    fresh: set[int] = uow.memo.get(FRESH_WAITS, set())
    if instance_id not in fresh:
        return []
    fresh.discard(instance_id)
    candidates = uow.read(
        select(_k.c.id, _k.c.message_name, _k.c.payload, _k.c.sender_scope, _m.c.id.label("subscription_id"),
               _m.c.spiff_task_id, _m.c.element_id)
        .join(_m, and_(_m.c.message_name == _k.c.message_name, _m.c.correlation_key == _k.c.correlation_key))
        .where(_m.c.instance_id == instance_id, _m.c.kind == "message", _k.c.expires_at > uow.now,
               _k.c.sender_instance_id != instance_id)
        .order_by(_k.c.id).limit(100)).all()
    found: list[KeptDelivery] = []
    for row in candidates:
        if any(f.kept_id == row.id or f.subscription_id == row.subscription_id for f in found):
            continue
        if _reaches(uow, row.subscription_id, in_reach(row.sender_scope)):
            found.append(KeptDelivery(row.id, row.subscription_id, instance_id, row.spiff_task_id, row.element_id,
                                      row.message_name, json.loads(row.payload)))
    return found


def take(uow: UnitOfWork, delivery: KeptDelivery) -> bool:
    """Take a kept message out of keeping for its delivery: False when its subscription is gone (an earlier
    delivery moved the instance on) or another transaction took the message first."""
    still_waits = uow.read(select(_m.c.id).where(_m.c.id == delivery.subscription_id)).first() is not None
    return still_waits and uow.execute(delete(_k).where(_k.c.id == delivery.kept_id)).rowcount == 1


def _reaches(uow: UnitOfWork, subscription_id: int, condition: ColumnElement[bool]) -> bool:
    return uow.read(select(_m.c.id).join(_i, _i.c.id == _m.c.instance_id).outerjoin(_u, _u.c.id == _i.c.org_scope)
                    .where(_m.c.id == subscription_id, condition)).first() is not None
