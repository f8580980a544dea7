"""Outbound webhooks: each engine event a subscription wants becomes a ``webhook`` job, in the same transaction.

The job is written with the event, or not at all, so a subscriber hears of everything that happened
and of nothing that was rolled back; workers deliver the jobs, retrying with backoff. Subscriptions
are read at most every few seconds (a change made in another process arrives within that time), so
a command with nobody listening pays nothing but a look at a list in memory.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from engine.store import tables

_s = tables.webhook_subscription
#: Seconds a process keeps its list of subscriptions before reading it again.
REFRESH_SECONDS = 5.0


@dataclass(frozen=True)
class Subscription:
    id: int
    events: frozenset[str] | None  # None: every event

    def wants(self, kind: str) -> bool:
        return self.events is None or kind in self.events


class SubscriptionCache:
    def __init__(self, refresh_seconds: float = REFRESH_SECONDS) -> None:
        self.refresh_seconds = refresh_seconds
        self._loaded_at = -float("inf")
        self._subscriptions: list[Subscription] = []
        self._lock = threading.Lock()

    def current(self, read: Callable[[Any], Any]) -> list[Subscription]:
        with self._lock:
            if time.monotonic() - self._loaded_at > self.refresh_seconds:
                rows = read(select(_s.c.id, _s.c.events).where(_s.c.active.is_(True)).order_by(_s.c.id)).all()
                self._subscriptions = [Subscription(row.id, parse_events(row.events)) for row in rows]
                self._loaded_at = time.monotonic()
            return self._subscriptions

    def forget(self) -> None:
        """Read again next time (this process just changed the subscriptions)."""
        with self._lock:
            self._loaded_at = -float("inf")


def parse_events(text: str) -> frozenset[str] | None:
    kinds = frozenset(part.strip() for part in text.split(",") if part.strip())
    return None if not kinds or "*" in kinds else kinds


def webhook_jobs(subscriptions: list[Subscription], events: list[dict[str, Any]], now: datetime,
                 confidential: frozenset[int] = frozenset()) -> list[dict]:
    """One job per (event, subscription that wants it); the payload is what the receiver gets.

    An event of a ``confidential`` instance (a counselling case) goes out bare: what happened, to which instance
    and step, but not who did it nor any detail (a reason, an incident's message, a task's name)."""
    jobs = []
    for event in events:
        for subscription in subscriptions:
            if not subscription.wants(event["kind"]):
                continue
            body = {"delivery": str(uuid.uuid4()), "event": event["kind"], "at": event["at"].isoformat(),
                    "instance_id": event["instance_id"], "element_id": event["element_id"],
                    "task_id": event["task_id"], "actor": event["actor"],
                    "detail": json.loads(event["detail"]) if event["detail"] else {}}
            if event["instance_id"] in confidential:
                body.update(actor=None, detail={}, confidential=True)
            jobs.append({"kind": "webhook", "instance_id": None, "spiff_task_id": None, "element_id": None,
                         "due_at": now, "state": "pending", "attempts": 0, "created_at": now,
                         "payload": json.dumps({"subscription": subscription.id, "body": body}, ensure_ascii=False)})
    return jobs
