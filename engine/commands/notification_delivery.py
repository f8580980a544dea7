"""Notification deliveries after :func:`engine.notifications.planning.notify` wrote them: recording how sending
went (sent, failed and retried with the job's backoff, deferred by a per-minute limit), replaying one, and the
two ways people cause notifications by hand: the administrator's notice and ``huhua notify test``.

A delivery that leaves ``pending`` frees its robot batch key (``…#<id>``), so a notification of the same unit
and minute that comes later starts a new batch instead of colliding with a message already sent.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select, update

from engine.commands.administrators import is_administrator
from engine.commands.jobs import record_job_failure
from engine.commands.requests import (
    DeferDelivery,
    FinishDelivery,
    RecordDeliveryFailure,
    RecordJobFailure,
    ReplayDelivery,
    SendNotice,
    SendTestNotification,
)
from engine.commands.unit_of_work import UnitOfWork
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem
from engine.notifications.kinds import CHANNELS, EMAIL, GROUP_CHANNELS, INBOX, SMS
from engine.notifications.planning import SEND_JOB, Occasion, notify
from engine.org.contacts import is_mobile
from engine.phrases import Phrase
from engine.store import tables

_d, _di, _j, _n = tables.notification_delivery, tables.notification_delivery_item, tables.job, tables.notification
_p, _r = tables.person, tables.role_assignment
#: How long ``huhua notify test`` holds its delivery's job before a worker may take it (it sends at once).
TEST_LEASE_SECONDS = 300
MAX_RECIPIENTS = 5000
SUBJECT_CHARS, BODY_CHARS, LINK_CHARS = 200, 4000, 500


def finish_delivery(command: FinishDelivery, uow: UnitOfWork) -> dict[str, Any]:
    uow.execute(update(_j).where(_j.c.id == command.job_id, _j.c.state == "pending")
                .values(state="done", attempts=_j.c.attempts + 1, lease_owner=None, lease_until=None))
    # one statement for the common case: still pending (else a worker whose lease had lapsed sent it already)
    sent = uow.execute(update(_d).where(_d.c.id == command.delivery_id, _d.c.state == "pending").values(
        state="sent", answer=command.answer[:2000], sent_at=uow.now, attempts=_d.c.attempts + 1, last_error=None)
        .returning(_d.c.id, _d.c.channel, _d.c.target, _d.c.batch_key)).first()
    if sent is None:
        return {"delivery": command.delivery_id, "state": "not pending", "moved": 0}
    if sent.channel not in GROUP_CHANNELS:  # an e-mail or SMS carries its one notification, nothing joins later
        return {"delivery": sent.id, "state": "sent", "moved": 0}
    uow.execute(update(_d).where(_d.c.id == sent.id).values(batch_key=_spent_key(sent)))
    carried = set(uow.read(select(_di.c.notification_id).where(_di.c.delivery_id == sent.id)).scalars())
    joined_late = sorted(carried - set(command.notification_ids))
    if joined_late:  # joined the batch after the worker read it: they go in a message of their own
        key = f"{sent.batch_key}+{uuid.uuid4().hex[:12]}"
        rest, _job = _new_delivery(uow, sent.channel, sent.target, key, uow.now)
        uow.execute(update(_di).where(_di.c.delivery_id == sent.id, _di.c.notification_id.in_(joined_late))
                    .values(delivery_id=rest))
    return {"delivery": sent.id, "state": "sent", "moved": len(joined_late)}


def record_delivery_failure(command: RecordDeliveryFailure, uow: UnitOfWork) -> dict[str, Any]:
    """The job's failure rules decide (backoff, the last attempt); the delivery shows the outcome and why."""
    job = uow.read(select(_j.c.state).where(_j.c.id == command.job_id)).first()
    if job is None:
        raise NotFound(f"job {command.job_id} does not exist")
    if job.state != "pending":
        return {"delivery": command.delivery_id, "state": job.state}
    outcome = record_job_failure(RecordJobFailure(command.job_id, command.error, command.actor), uow)
    due = uow.read(select(_j.c.due_at).where(_j.c.id == command.job_id)).scalar_one()
    delivery = uow.read(select(_d).where(_d.c.id == command.delivery_id)).first()
    if delivery is None or delivery.state != "pending":
        return {"delivery": command.delivery_id, "state": outcome["state"]}
    failed = outcome["state"] == "failed"
    uow.execute(update(_d).where(_d.c.id == delivery.id).values(
        state="failed" if failed else "pending", attempts=delivery.attempts + 1, last_error=command.error[:2000],
        answer=command.answer[:2000] if command.answer else None, due_at=due,
        batch_key=_spent_key(delivery) if failed else delivery.batch_key))
    return {"delivery": delivery.id, "state": "failed" if failed else "pending", "attempts": outcome["attempts"],
            "due_at": due.isoformat()}


def defer_delivery(command: DeferDelivery, uow: UnitOfWork) -> dict[str, Any]:
    """Not an attempt: the message waits for the channel's next minute, and is not dropped."""
    uow.execute(update(_j).where(_j.c.id == command.job_id, _j.c.state == "pending")
                .values(due_at=command.until, lease_owner=None, lease_until=None))
    uow.execute(update(_d).where(_d.c.id == command.delivery_id, _d.c.state == "pending")
                .values(due_at=command.until))
    return {"delivery": command.delivery_id, "due_at": command.until.isoformat()}


def replay_delivery(command: ReplayDelivery, uow: UnitOfWork) -> dict[str, Any]:
    _administrator(uow, command.actor)
    delivery = uow.read(select(_d).where(_d.c.id == command.delivery_id)).first()
    if delivery is None:
        raise NotFound(Phrase("notification delivery %(id)s does not exist", id=command.delivery_id))
    if delivery.state == "pending":
        raise Conflict(Phrase("notification delivery %(id)s is still pending; only a sent or failed one is replayed",
                              id=delivery.id))
    # A sent message is sent again on purpose: a new message id, or receivers that dedupe would drop it. A failed
    # one may have reached the receiver unrecorded: the same id lets the receiver drop it if so.
    message_id = uuid.uuid4().hex if delivery.state == "sent" else delivery.message_id
    uow.execute(update(_d).where(_d.c.id == delivery.id).values(
        state="pending", attempts=0, last_error=None, due_at=uow.now, sent_at=None, message_id=message_id))
    job_id = _send_job(uow, delivery.id, uow.now)
    uow.record("notification_delivery_replayed", actor=command.actor, delivery=delivery.id, channel=delivery.channel,
               was=delivery.state, job_id=job_id, message_id=message_id, previous_message_id=delivery.message_id)
    return {"id": delivery.id, "state": "pending", "message_id": message_id,
            "previous_message_id": delivery.message_id, "job_id": job_id}


def send_notice(command: SendNotice, uow: UnitOfWork) -> dict[str, Any]:
    _administrator(uow, command.actor)
    subject, body = command.subject.strip(), command.body.strip()
    if not subject or len(subject) > SUBJECT_CHARS:
        raise InvalidInput(Phrase("subject must have 1 to %(n)s characters", n=SUBJECT_CHARS),
                           [Problem(Phrase("missing or too long"), field="subject")])
    if len(body) > BODY_CHARS:
        raise InvalidInput(Phrase("body must have at most %(n)s characters", n=BODY_CHARS),
                           [Problem(Phrase("too long"), field="body")])
    link = (command.link or "").strip() or None
    if link is not None and (not link.startswith("/") or link.startswith("//") or len(link) > LINK_CHARS):
        raise InvalidInput(Phrase("link must be a path inside the web app, such as /tasks/42"),
                           [Problem(Phrase("not a path inside the web app"), field="link")])
    unknown = [channel for channel in command.channels if channel not in CHANNELS]
    if unknown:
        raise InvalidInput(Phrase("channels must be among %(options)s", options=", ".join(CHANNELS)),
                           [Problem(Phrase("unknown channel"), field="channels")])
    people = _recipients(uow, command.recipients)
    key = f"notice:{uuid.uuid4().hex}"
    told = notify(uow, Occasion("message", subject, body, key, link=link, channels=command.channels or None),
                  people)
    uow.record("notice_sent", actor=command.actor, notice=key, subject=subject, people=len(told.notifications),
               to_webhooks=False)
    return {"notice": key, "people": sorted(told.notifications), "notifications": len(told.notifications),
            "deliveries": sorted(set(told.deliveries))}


def send_test_notification(command: SendTestNotification, uow: UnitOfWork) -> dict[str, Any]:
    _administrator(uow, command.actor)
    if command.channel not in CHANNELS:
        raise InvalidInput(Phrase("channel must be one of %(options)s", options=", ".join(CHANNELS)),
                           [Problem(Phrase("unknown channel"), field="channel")])
    person = uow.read(select(_p.c.id, _p.c.name, _p.c.unit_id, _p.c.phone, _p.c.email)
                      .where(_p.c.id == command.person_id, _p.c.active.is_(True))).first()
    if person is None:
        raise NotFound(Phrase("no active person '%(id)s' in the directory", id=command.person_id))
    target = _test_target(uow, command.channel, person)
    stamp = uow.now.isoformat(timespec="seconds")
    notification_id = uow.execute(insert(_n).values(
        person_id=person.id, kind="message", subject="测试消息",
        body=f"这是一条测试消息（{stamp}），收到即说明通道可用。",
        link="/", urgent=False, dedupe_key=f"test:{uuid.uuid4().hex}", created_at=uow.now,
        read_at=None if command.channel == INBOX else uow.now).returning(_n.c.id)).scalar_one()
    uow.record("notification_test_sent", actor=command.actor, person=person.id, channel=command.channel,
               to_webhooks=False)
    if target is None:
        return {"notification": notification_id, "channel": INBOX, "person": person.id}
    delivery_id, job_id = _new_delivery(uow, command.channel, target, f"test:{command.channel}:{notification_id}",
                                        uow.now, lease_owner=command.actor)
    uow.execute(insert(_di).values(delivery_id=delivery_id, notification_id=notification_id))
    return {"notification": notification_id, "channel": command.channel, "person": person.id,
            "delivery": delivery_id, "job": job_id}


def _test_target(uow: UnitOfWork, channel: str, person: Any) -> str | None:
    """Where a test through ``channel`` goes, or a refusal saying what is missing."""
    settings = uow.services.notifications
    if channel == INBOX:
        return None
    if channel == EMAIL:
        missing = settings.email is None and Phrase("e-mail is not set up (email.url, HUHUA_SMTP_URL)")
        target = person.email
    elif channel == SMS:
        missing = settings.sms is None and Phrase("SMS is not set up (sms.url, HUHUA_SMS_URL)")
        target = person.phone if is_mobile(person.phone) else None  # a landline gets no SMS
    else:
        missing = settings.robot(channel, person.unit_id) is None and Phrase(
            "unit %(unit)s has no %(channel)s robot (%(channel)s.robots)", unit=person.unit_id, channel=channel)
        target = person.unit_id
    if missing:
        raise InvalidInput(missing, [Problem(missing, field="channel")])
    if not target:
        raise InvalidInput(Phrase("%(person)s has no %(what)s in the directory", person=person.id,
                                  what=Phrase("e-mail address") if channel == EMAIL else Phrase("mobile number")),
                           [Problem(Phrase("missing address"), field="person")])
    return str(target)


def _recipients(uow: UnitOfWork, recipients: tuple[str, ...]) -> list[str]:
    """Person ids and ``role@unit`` entries → the people meant; unknown ones are refused by name."""
    entries = list(dict.fromkeys(entry.strip() for entry in recipients if entry and entry.strip()))
    if not entries or len(entries) > MAX_RECIPIENTS:
        raise InvalidInput(Phrase("recipients must list 1 to %(n)s people or role@unit entries", n=MAX_RECIPIENTS),
                           [Problem(Phrase("missing or too many"), field="recipients")])
    ids = [entry for entry in entries if "@" not in entry]
    found = set(uow.read(select(_p.c.id).where(_p.c.id.in_(ids), _p.c.active.is_(True))).scalars()) if ids else set()
    unknown = [entry for entry in ids if entry not in found]
    people = set(found)
    for entry in entries:
        if "@" in entry:
            role, _, unit = entry.partition("@")
            holders = set(uow.read(select(_r.c.person_id).join(_p, _p.c.id == _r.c.person_id).where(
                _r.c.role == role.strip(), _r.c.unit_id == unit.strip(), _p.c.active.is_(True))).scalars())
            if not holders:
                unknown.append(entry)
            people |= holders
    if unknown:
        shown = ", ".join(unknown[:10]) + (" …" if len(unknown) > 10 else "")
        raise InvalidInput(Phrase("recipients: nobody active is %(entries)s", entries=shown),
                           [Problem(Phrase("unknown person or nobody holds the role there"), field="recipients")])
    return sorted(people)


def _new_delivery(uow: UnitOfWork, channel: str, target: str, batch_key: str, due: Any, *,
                  lease_owner: str | None = None) -> tuple[int, int]:
    delivery_id = int(uow.execute(insert(_d).values(
        channel=channel, target=target, batch_key=batch_key, message_id=uuid.uuid4().hex, state="pending",
        attempts=0, due_at=due, created_at=uow.now).returning(_d.c.id)).scalar_one())
    return delivery_id, _send_job(uow, delivery_id, due, lease_owner=lease_owner)


def _send_job(uow: UnitOfWork, delivery_id: int, due: Any, *, lease_owner: str | None = None) -> int:
    return int(uow.execute(insert(_j).values(
        kind=SEND_JOB, instance_id=None, spiff_task_id=None, element_id=None, due_at=due, state="pending",
        attempts=0, created_at=uow.now, payload=json.dumps({"delivery": delivery_id}), lease_owner=lease_owner,
        lease_until=uow.now + timedelta(seconds=TEST_LEASE_SECONDS) if lease_owner else None)
        .returning(_j.c.id)).scalar_one())


def _spent_key(delivery: Any) -> str:
    """A robot batch's key once it is no longer pending: the next notification of that minute starts anew."""
    if delivery.channel in GROUP_CHANNELS and "#" not in delivery.batch_key:
        return f"{delivery.batch_key}#{delivery.id}"
    return str(delivery.batch_key)


def _administrator(uow: UnitOfWork, actor: str) -> None:
    if not is_administrator(uow, actor):
        raise Forbidden(Phrase("only the administrator may send notices or replay notification deliveries"))
