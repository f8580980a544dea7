"""Reading what people were told, for the notification tests: the in-app notifications and the deliveries."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine.bootstrap import Huhua
from engine.store import tables

_n, _d, _di = tables.notification, tables.notification_delivery, tables.notification_delivery_item


def notifications(huhua: Huhua, *, kind: str | None = None, person: str | None = None) -> list[Any]:
    """Every notification (of ``kind``, to ``person``), in the order written."""
    query = select(_n).order_by(_n.c.id)
    if kind is not None:
        query = query.where(_n.c.kind == kind)
    if person is not None:
        query = query.where(_n.c.person_id == person)
    with huhua.services.database.read() as session:
        return list(session.execute(query).all())


def told(huhua: Huhua, kind: str) -> list[str]:
    """Who was told of ``kind``, sorted (a name twice: told twice)."""
    return sorted(row.person_id for row in notifications(huhua, kind=kind))


def deliveries(huhua: Huhua) -> list[Any]:
    """Every delivery with the person its first notification went to."""
    with huhua.services.database.read() as session:
        return list(session.execute(
            select(_d, _n.c.person_id, _n.c.kind).join(_di, _di.c.delivery_id == _d.c.id)
            .join(_n, _n.c.id == _di.c.notification_id).order_by(_d.c.id)).all())
