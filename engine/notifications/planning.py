"""Telling people: one call turns an occasion into notifications and the deliveries that carry them.

:func:`notify` runs inside a command's transaction, so a notification exists exactly when the change that caused
it does. For each recipient it writes one row to the in-app centre (once per occasion: ``dedupe_key``), then,
for the outside channels the person chose (:func:`channels_for`), one delivery each with a ``notify_send`` job;
group robots get one delivery per unit and minute that carries every notification of that minute (concurrent
commands join the same one). Quiet hours and rest days move a delivery's time, never drop it; a group robot
keeps the server's quiet hours, as it speaks to a whole group; urgent kinds go at once.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from engine.clock import BUSINESS_TZ
from engine.notifications.kinds import EMAIL, GROUP_CHANNELS, INBOX, KINDS, SMS, allowed_channels, parse_channels
from engine.notifications.settings import NotificationSettings
from engine.org.calendar import WorkingCalendar
from engine.org.contacts import is_mobile
from engine.store import tables

if TYPE_CHECKING:
    from engine.commands.unit_of_work import UnitOfWork

_n, _d, _di = tables.notification, tables.notification_delivery, tables.notification_delivery_item
_p, _r = tables.person, tables.role_assignment
#: The job kind that sends one delivery.
SEND_JOB = "notify_send"


@dataclass(frozen=True)
class Occasion:
    """What to tell: the kind, the words, where it leads, and the key that makes it once per person."""

    kind: str
    subject: str
    #: Markdown; rendered safely in the centre.
    body: str
    dedupe_key: str
    link: str | None = None
    task_id: int | None = None
    instance_id: int | None = None
    unit_id: str | None = None
    #: None: as the kind says.
    urgent: bool | None = None
    #: These channels for everyone (an administrator's notice that must go by SMS, say); None: as each chose.
    channels: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Told:
    """What :func:`notify` did: the notifications written (new ones only) and the deliveries they joined."""

    notifications: dict[str, int]
    deliveries: list[int]


def notify(uow: UnitOfWork, occasion: Occasion, people: list[str] | tuple[str, ...]) -> Told:
    """Tell ``people`` (person ids; inactive or unknown ones are skipped) of ``occasion``, once each."""
    kind = KINDS[occasion.kind]
    urgent = kind.urgent if occasion.urgent is None else occasion.urgent
    wanted = sorted(set(people))
    if not wanted:
        return Told({}, [])
    persons = {row.id: row for row in uow.read(
        select(_p.c.id, _p.c.name, _p.c.unit_id, _p.c.phone, _p.c.email)
        .where(_p.c.id.in_(wanted), _p.c.active.is_(True))).all()}
    told_before = set(uow.read(select(_n.c.person_id).where(
        _n.c.dedupe_key == occasion.dedupe_key, _n.c.person_id.in_(list(persons)))).scalars())
    fresh = [person for person in wanted if person in persons and person not in told_before]
    if not fresh:
        return Told({}, [])
    chosen = channels_for(uow, fresh, occasion.kind) if occasion.channels is None else {
        person: allowed_channels(kind, (INBOX, *(c for c in occasion.channels if c != INBOX))) for person in fresh}
    settings: NotificationSettings = uow.services.notifications
    now = uow.now
    quiet = tables.notification_quiet_hours
    own_hours = {row.person_id: (row.starts, row.ends) for row in uow.read(
        select(quiet.c.person_id, quiet.c.starts, quiet.c.ends).where(quiet.c.person_id.in_(fresh)))}
    settled: dict[tuple[str, str] | None, datetime] = {}

    def undisturbed_from(hours: tuple[str, str] | None) -> datetime:
        """The first moment from now outside ``hours`` (and, if held, on a working day): the same for everyone
        with the same hours, so found once for each."""
        if hours not in settled:
            settled[hours] = settle(now, hours, settings, uow.calendar)
        return settled[hours]

    inserted = uow.execute(insert(_n).returning(_n.c.id, sort_by_parameter_order=True), [{
        "person_id": person_id, "kind": occasion.kind, "subject": occasion.subject[:300], "body": occasion.body,
        "link": occasion.link, "task_id": occasion.task_id, "instance_id": occasion.instance_id,
        "unit_id": occasion.unit_id, "urgent": urgent, "dedupe_key": occasion.dedupe_key[:300], "created_at": now,
        "read_at": None if INBOX in chosen[person_id] else now} for person_id in fresh])
    ids = dict(zip(fresh, inserted.scalars(), strict=True))
    deliveries: list[int] = []
    for person_id in fresh:
        person = persons[person_id]
        due = now if urgent else undisturbed_from(own_hours.get(person_id, settings.quiet_hours))
        for channel in chosen[person_id]:
            target = _target(settings, channel, occasion.kind, person)
            if target is None:
                continue  # the channel is not set up here, or the person has no address for it
            # a group robot speaks to the whole group: the server's quiet hours, not one member's
            when = due if urgent or channel not in GROUP_CHANNELS else undisturbed_from(settings.quiet_hours)
            deliveries.append(_deliver(uow, channel, target, ids[person_id], when))
    return Told(ids, deliveries)


def channels_for(uow: UnitOfWork, people: list[str], kind: str) -> dict[str, tuple[str, ...]]:
    """Each person's channels for ``kind``: their own choice, else their roles' defaults, else the kind's."""
    pref = tables.notification_preference
    own = dict(uow.read(select(pref.c.person_id, pref.c.channels)
                        .where(pref.c.kind == kind, pref.c.person_id.in_(people))).all())
    default = tables.notification_role_default
    by_role = dict(uow.read(select(default.c.role, default.c.channels).where(default.c.kind == kind)).all())
    roles: dict[str, set[str]] = {}
    if by_role:
        for person_id, role in uow.read(select(_r.c.person_id, _r.c.role)
                                        .where(_r.c.person_id.in_(people), _r.c.role.in_(list(by_role)))).all():
            roles.setdefault(person_id, set()).add(role)
    chosen = {}
    for person_id in people:
        if person_id in own:
            chosen[person_id] = parse_channels(own[person_id])
        elif person_id in roles:
            union = ",".join(by_role[role] for role in sorted(roles[person_id]))
            chosen[person_id] = parse_channels(union)
        else:
            chosen[person_id] = KINDS[kind].channels
        chosen[person_id] = allowed_channels(KINDS[kind], chosen[person_id])
    return chosen


def settle(now: datetime, hours: tuple[str, str] | None, settings: NotificationSettings,
           calendar: WorkingCalendar) -> datetime:
    """The first moment from ``now`` outside quiet ``hours`` and, if the settings hold them, rest days (planning
    uses it, and sending again: a worker that was down must not send yesterday's messages at night)."""
    local = now.astimezone(BUSINESS_TZ)
    for _ in range(40):  # a quiet night, then a holiday of up to a few weeks: each step moves forward
        moved = local
        if hours is not None and hours[0] != hours[1]:
            moved = _after_quiet(moved, _at(hours[0]), _at(hours[1]))
        if settings.hold_on_rest_days and not calendar.is_working_day(moved.date()):
            day = calendar.next_working_day(moved.date())
            moved = datetime.combine(day, _at(settings.morning), BUSINESS_TZ)
        if moved == local:
            break
        local = moved
    return local.astimezone(now.tzinfo)


def _after_quiet(local: datetime, starts: time, ends: time) -> datetime:
    clock = local.timetz().replace(tzinfo=None)
    if starts < ends:  # 12:00-14:00
        inside = starts <= clock < ends
        return datetime.combine(local.date(), ends, BUSINESS_TZ) if inside else local
    if clock >= starts:  # 22:00-07:00, late evening: tomorrow morning
        return datetime.combine(local.date() + timedelta(days=1), ends, BUSINESS_TZ)
    if clock < ends:  # early morning: this morning
        return datetime.combine(local.date(), ends, BUSINESS_TZ)
    return local


def _at(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def _target(settings: NotificationSettings, channel: str, kind: str, person: Any) -> str | None:
    if channel == EMAIL:
        return person.email if settings.email is not None and person.email else None
    if channel == SMS:  # providers send approved templates only: a kind without one does not go by SMS
        usable = settings.sms is not None and settings.sms.template(kind) is not None
        return person.phone if usable and is_mobile(person.phone) else None
    if channel in GROUP_CHANNELS:
        return person.unit_id if settings.robot(channel, person.unit_id) is not None else None
    return None


def _deliver(uow: UnitOfWork, channel: str, target: str, notification_id: int, due: datetime) -> int:
    """Add the notification to a delivery: its own (e-mail, SMS) or its unit's for the minute (group robots)."""
    if channel not in GROUP_CHANNELS:  # a notification's own key: new with it, never taken
        delivery_id = _new_delivery(uow, channel, target, f"{channel}:{notification_id}", due)
        if delivery_id is None:
            raise RuntimeError(f"notification {notification_id} already has its {channel} delivery")
    else:
        minute = (due + timedelta(minutes=1)).replace(second=0, microsecond=0)  # still open when later ones join
        delivery_id = _join_batch(uow, channel, target, f"{channel}:{target}:{minute.isoformat()}", minute)
    uow.execute(insert(_di).values(delivery_id=delivery_id, notification_id=notification_id))
    return delivery_id


def _join_batch(uow: UnitOfWork, channel: str, target: str, key: str, due: datetime) -> int:
    """The unit's pending robot delivery of the minute, made if there is none, and locked until this commits.

    Two commands may plan the same minute at once: the second one's insert meets the first one's key (PostgreSQL
    waits for the first to commit), does nothing, and joins the first one's delivery. The lock (``FOR UPDATE``)
    orders joining against a worker finishing the delivery: either the worker's ``FinishDelivery`` sees this
    notification (and moves it to a message of its own) or this command sees the delivery sent (its key spent) and
    starts a new one; SQLite has one writer, so both happen in turn anyway.
    """
    pending = select(_d.c.id).where(_d.c.batch_key == key, _d.c.state == "pending").with_for_update()
    for _ in range(3):  # a batch found gone (sent meanwhile) frees its key: the insert then makes the new one
        existing = uow.read(pending).scalar()
        if existing is not None:
            return int(existing)
        made = _new_delivery(uow, channel, target, key, due)
        if made is not None:
            return made
    raise RuntimeError(f"robot batch {key} kept changing while notifications joined it")


def _new_delivery(uow: UnitOfWork, channel: str, target: str, key: str, due: datetime) -> int | None:
    """A pending delivery under ``key`` and its ``notify_send`` job; None if ``key`` is taken (by a batch another
    command just made)."""
    insert_ = (sqlite_insert if uow.services.database.is_sqlite else postgres_insert)(_d)
    delivery_id = uow.execute(insert_.values(
        channel=channel, target=target, batch_key=key, message_id=uuid.uuid4().hex, state="pending", attempts=0,
        due_at=due, created_at=uow.now).on_conflict_do_nothing(index_elements=[_d.c.batch_key])
        .returning(_d.c.id)).scalar()
    if delivery_id is None:
        return None
    uow.execute(insert(tables.job).values(
        kind=SEND_JOB, instance_id=None, spiff_task_id=None, element_id=None, due_at=due, state="pending",
        attempts=0, created_at=uow.now, payload=json.dumps({"delivery": delivery_id})))
    return int(delivery_id)
