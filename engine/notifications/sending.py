"""One attempt at a delivery, outside any transaction: read it, keep to quiet hours and the channel's per-minute
limit, send it, and say which command records the outcome (the worker and ``huhua notify test`` both run it).

Per-minute limits: a group robot takes about 20 messages a minute, so :func:`~.planning.notify` already batches
a unit's notifications into one message a minute, and ``wecom.per_minute`` / ``dingtalk.per_minute`` only hold
back replays and leftovers. E-mail and SMS have ``email.per_minute`` / ``sms.per_minute``: when that many went
out in the last minute, the delivery waits until the oldest of them is a minute old (:class:`DeferDelivery`,
not an attempt), so a burst is spread out and nothing is dropped. Several workers may each send the last one
before the count catches up: the limit is kept to within one message per worker.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from engine.commands.requests import DeferDelivery, FinishDelivery, FinishJob, RecordDeliveryFailure
from engine.notifications.channels import ChannelError, send
from engine.notifications.channels.compose import Outgoing, compose
from engine.notifications.kinds import GROUP_CHANNELS
from engine.notifications.planning import settle

if TYPE_CHECKING:
    from engine.bootstrap import Huhua

log = logging.getLogger("huhua.notifications")
Outcome = FinishDelivery | RecordDeliveryFailure | DeferDelivery | FinishJob


def attempt(huhua: Huhua, job_id: int, delivery_id: int, *, limited: bool = True) -> tuple[Outcome, Outgoing | None]:
    """Send delivery ``delivery_id`` (its job ``job_id``) once; the command that records how it went."""
    delivery = huhua.queries.delivery_to_send(delivery_id)
    if delivery is None or delivery["state"] != "pending" or not delivery["items"]:
        return FinishJob(job_id), None  # replayed, sent by another worker, or nothing left to say
    settings = huhua.services.notifications
    if limited:
        wait = _held_until(huhua, delivery) or _over_limit(huhua, delivery["channel"], delivery["target"])
        if wait is not None:
            return DeferDelivery(job_id, delivery_id, wait), None
    outgoing = None
    try:
        outgoing = compose(delivery, settings.public_url)
        answer = send(outgoing, settings, huhua.services.outbound)
    except ChannelError as err:
        log.warning("delivery %s (%s) failed: %s", delivery_id, delivery["channel"], err)
        return RecordDeliveryFailure(job_id, delivery_id, str(err), err.answer), outgoing
    except Exception as err:  # a fault of ours, not the provider's: the delivery shows it too, and is retried
        log.exception("delivery %s (%s) failed", delivery_id, delivery["channel"])
        return RecordDeliveryFailure(job_id, delivery_id, f"{type(err).__name__}: {err}"), outgoing
    return FinishDelivery(job_id, delivery_id, answer, outgoing.notification_ids), outgoing


def _held_until(huhua: Huhua, delivery: dict) -> datetime | None:
    """When a delivery that is not urgent may go, if now is inside quiet hours or on a held rest day; None when it
    may go now. Planning already chose a quiet-free time; this holds what falls due otherwise: the backlog of a
    worker that was down, a retry's backoff or a robot's next minute that ran into the night. A group robot's
    message keeps the deployment's quiet hours (a whole group hears it), an e-mail or SMS its person's."""
    if any(item["urgent"] for item in delivery["items"]):
        return None
    settings = huhua.services.notifications
    hours = settings.quiet_hours
    first = delivery["items"][0]
    if delivery["channel"] not in GROUP_CHANNELS and first["quiet_starts"] is not None:
        hours = (first["quiet_starts"], first["quiet_ends"])
    now = huhua.clock.now()
    settled = settle(now, hours, settings, huhua.queries.calendar.working_calendar())
    return settled if settled > now else None


def _over_limit(huhua: Huhua, channel: str, target: str) -> datetime | None:
    """When the delivery may go, if the channel's last minute is full; None when it may go now."""
    settings = huhua.services.notifications
    channel_settings = {"email": settings.email, "sms": settings.sms, "wecom": settings.wecom,
                        "dingtalk": settings.dingtalk}.get(channel)
    per_minute = channel_settings.per_minute if channel_settings is not None else 0
    if not per_minute:
        return None
    now = huhua.clock.now()
    count, first = huhua.queries.deliveries_sent_since(channel, now - timedelta(minutes=1),
                                                      target if channel in GROUP_CHANNELS else None)
    if count < per_minute or first is None:
        return None
    return max(first + timedelta(minutes=1), now + timedelta(seconds=1))
