"""Deliveries of notifications: what the worker sends, how many went out lately (the per-minute limits), and the
administrators' list of how each went (mobile numbers partly masked)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from engine.errors import InvalidInput, Problem
from engine.notifications.channels.compose import PRIVATE_KINDS
from engine.notifications.kinds import CHANNELS, INBOX, KINDS
from engine.phrases import Phrase
from engine.queries.rows import iso, page_limit
from engine.store import tables
from engine.store.database import Database

_d, _di, _n, _p = (tables.notification_delivery, tables.notification_delivery_item, tables.notification,
                   tables.person)
_q = tables.notification_quiet_hours
#: A mainland mobile number inside a text.
_MOBILE = re.compile(r"(?<!\d)(1\d{2})\d{4}(\d{4})(?!\d)")
DELIVERY_STATES = ("pending", "sent", "failed")
DELIVERY_CHANNELS = tuple(channel for channel in CHANNELS if channel != INBOX)


class NotificationDeliveryFamily:
    database: Database

    def delivery_to_send(self, delivery_id: int) -> dict[str, Any] | None:
        """A delivery with each notification it carries and that notification's person (name, mobile, own quiet
        hours: ``quiet_starts``/``quiet_ends``, None when they keep everyone's); None if there is no such delivery."""
        with self.database.read() as session:
            delivery = session.execute(select(_d).where(_d.c.id == delivery_id)).first()
            if delivery is None:
                return None
            items = session.execute(
                select(_n.c.id.label("notification_id"), _n.c.kind, _n.c.subject, _n.c.body, _n.c.link, _n.c.urgent,
                       _n.c.person_id, _p.c.name.label("person_name"), _p.c.phone,
                       _q.c.starts.label("quiet_starts"), _q.c.ends.label("quiet_ends"))
                .join(_di, _di.c.notification_id == _n.c.id).outerjoin(_p, _p.c.id == _n.c.person_id)
                .outerjoin(_q, _q.c.person_id == _n.c.person_id)
                .where(_di.c.delivery_id == delivery_id).order_by(_n.c.id)).mappings().all()
        return {**delivery._asdict(), "items": [dict(item) for item in items]}

    def deliveries_sent_since(self, channel: str, since: datetime,
                              target: str | None = None) -> tuple[int, datetime | None]:
        """How many deliveries of ``channel`` (to ``target``, if given) went out from ``since`` on, and when the
        first of them did."""
        query = select(func.count(), func.min(_d.c.sent_at)).where(_d.c.channel == channel, _d.c.sent_at >= since)
        if target is not None:
            query = query.where(_d.c.target == target)
        with self.database.read() as session:
            count, first = session.execute(query).one()
        return int(count), first

    def notification_delivery(self, delivery_id: int) -> dict[str, Any] | None:
        """One delivery as the administrators' list shows it, or None."""
        found = self.notification_deliveries(delivery_id=delivery_id, limit=1)
        return found[0] if found else None

    def notification_deliveries(self, *, state: str | None = None, channel: str | None = None, limit: int = 100,
                                offset: int = 0, delivery_id: int | None = None) -> list[dict[str, Any]]:
        """Deliveries, newest first, with the notifications each carried; mobile numbers partly masked."""
        query = select(_d)
        if delivery_id is not None:
            query = query.where(_d.c.id == delivery_id)
        if state:
            query = query.where(_d.c.state == _allowed(state, DELIVERY_STATES, "state"))
        if channel:
            query = query.where(_d.c.channel == _allowed(channel, DELIVERY_CHANNELS, "channel"))
        with self.database.read() as session:
            deliveries = session.execute(query.order_by(_d.c.id.desc()).limit(page_limit(limit))
                                         .offset(offset)).all()
            carried: dict[int, list[dict[str, Any]]] = {}
            if deliveries:
                for row in session.execute(
                        select(_di.c.delivery_id, _n.c.id, _n.c.kind, _n.c.subject, _n.c.person_id,
                               _p.c.name.label("person_name"))
                        .join(_n, _n.c.id == _di.c.notification_id).outerjoin(_p, _p.c.id == _n.c.person_id)
                        .where(_di.c.delivery_id.in_([d.id for d in deliveries])).order_by(_n.c.id)):
                    carried.setdefault(row.delivery_id, []).append({  # a child's case: its kind, not its words
                        "id": row.id, "kind": row.kind,
                        "subject": KINDS[row.kind].label if row.kind in PRIVATE_KINDS else row.subject,
                        "person_id": row.person_id,
                        "person_name": row.person_name})
        return [{"id": d.id, "channel": d.channel, "target": masked(d.channel, d.target), "state": d.state,
                 "attempts": d.attempts, "last_error": d.last_error, "answer": _masked_text(d.answer),
                 "message_id": d.message_id, "due_at": iso(d.due_at), "created_at": iso(d.created_at),
                 "sent_at": iso(d.sent_at), "notifications": carried.get(d.id, [])} for d in deliveries]


def masked(channel: str, target: str) -> str:
    """A mobile number as 138****5678; other targets (an e-mail address, a unit) as they are."""
    return mask_mobile(target) if channel == "sms" else target


def mask_mobile(number: str) -> str:
    digits = number.strip()
    if len(digits) < 7:
        return "*" * len(digits)
    return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"


def _masked_text(text: str | None) -> str | None:
    """A provider's answer may echo mobile numbers (a robot's mention list): mask any run of 11 digits."""
    if text is None:
        return None
    return _MOBILE.sub(r"\1****\2", text)


def _allowed(value: str, allowed: tuple[str, ...], field: str) -> str:
    if value not in allowed:
        raise InvalidInput(Phrase("%(field)s must be one of %(options)s, not '%(value)s'", field=field,
                                  options=", ".join(allowed), value=value[:50]),
                           [Problem(Phrase("must be one of %(options)s", options=", ".join(allowed)), field=field)])
    return value
