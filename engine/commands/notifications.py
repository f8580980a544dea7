"""What people choose to hear, and what they have read: a person's channels per kind of notification and quiet
hours, the administrator's defaults per role, marking notifications read, and telling people by hand.

A refusal names the field (``choices.task_assigned``, ``quiet_hours``, ``role``) and nothing is saved: every check
runs before the first write. An urgent kind (crisis) keeps the centre and e-mail or SMS; a private one goes to no
group robot (see :mod:`engine.notifications.kinds`). :func:`engine.notifications.planning.notify` reads what is
stored here.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, insert, select, update

from engine.commands.administrators import is_administrator
from engine.commands.instance_state import require_label
from engine.commands.requests import (
    MarkNotificationsRead,
    NotifyPeople,
    SetNotificationChoices,
    SetRoleNotificationDefaults,
)
from engine.commands.unit_of_work import UnitOfWork
from engine.errors import Forbidden, InvalidInput, NotFound, Problem
from engine.notifications.kinds import CHANNELS, GROUP_CHANNELS, INBOX, KINDS, PERSONAL_CHANNELS
from engine.notifications.planning import Occasion, notify
from engine.org.directory import ROLES
from engine.phrases import Phrase
from engine.store import tables

_n, _pref, _default, _quiet = (tables.notification, tables.notification_preference,
                               tables.notification_role_default, tables.notification_quiet_hours)
#: How quiet hours are stored for a person who wants none (planning treats equal ends as no quiet hours).
NEVER_QUIET = ("00:00", "00:00")
MAX_BODY = 20_000


def set_notification_choices(command: SetNotificationChoices, uow: UnitOfWork) -> dict[str, Any]:
    """Set the caller's own choices; a kind given None follows the defaults again."""
    require_label(command.actor, "actor", 100)
    if uow.read(select(tables.person.c.id).where(tables.person.c.id == command.actor)).first() is None:
        raise Forbidden(Phrase("only a person in the directory has notification choices"))
    choices = _channels_by_kind(command.choices, "choices")
    quiet = _quiet_hours(command.quiet_hours)
    for kind, channels in choices.items():
        uow.execute(delete(_pref).where(_pref.c.person_id == command.actor, _pref.c.kind == kind))
        if channels is not None:
            uow.execute(insert(_pref).values(person_id=command.actor, kind=kind, channels=channels))
    if command.quiet_hours is not None:
        uow.execute(delete(_quiet).where(_quiet.c.person_id == command.actor))
        if quiet is not None:
            uow.execute(insert(_quiet).values(person_id=command.actor, starts=quiet[0], ends=quiet[1]))
    uow.record("notification_choices_set", actor=command.actor, to_webhooks=False, choices=choices,
               quiet_hours=command.quiet_hours)
    return {"person": command.actor, "choices": choices, "quiet_hours": command.quiet_hours}


def set_role_notification_defaults(command: SetRoleNotificationDefaults, uow: UnitOfWork) -> dict[str, Any]:
    """The administrator's defaults for one role; a kind given None follows the kind's own default again."""
    require_label(command.actor, "actor", 100)
    if not is_administrator(uow, command.actor):
        raise Forbidden(Phrase("only the administrator may do this"))
    if command.role not in ROLES:
        raise InvalidInput(Phrase("unknown role '%(role)s'", role=str(command.role)[:100]),
                           [Problem(Phrase("not a role of the directory"), field="role")])
    defaults = _channels_by_kind(command.defaults, "defaults")
    for kind, channels in defaults.items():
        uow.execute(delete(_default).where(_default.c.role == command.role, _default.c.kind == kind))
        if channels is not None:
            uow.execute(insert(_default).values(role=command.role, kind=kind, channels=channels))
    uow.record("notification_defaults_set", actor=command.actor, to_webhooks=False, role=command.role,
               defaults=defaults)
    return {"role": command.role, "defaults": defaults}


def mark_notifications_read(command: MarkNotificationsRead, uow: UnitOfWork) -> dict[str, Any]:
    """Another person's notification answers as a missing one. Answers where the notification leads."""
    require_label(command.actor, "actor", 100)
    mine = _n.c.person_id == command.actor
    if command.notification_id is None:
        count = uow.execute(update(_n).where(mine, _n.c.read_at.is_(None)).values(read_at=uow.now)).rowcount
        return {"read": count}
    found = uow.read(select(_n.c.id, _n.c.link, _n.c.read_at).where(
        mine, _n.c.id == command.notification_id)).first()
    if found is None:
        raise NotFound(Phrase("notification %(id)s does not exist", id=command.notification_id))
    if found.read_at is None:
        uow.execute(update(_n).where(_n.c.id == found.id).values(read_at=uow.now))
    return {"id": found.id, "read": 1 if found.read_at is None else 0, "link": found.link}


def notify_people(command: NotifyPeople, uow: UnitOfWork) -> dict[str, Any]:
    """The administrator tells people something through each one's channels (a test message, a notice)."""
    require_label(command.actor, "actor", 100)
    if not is_administrator(uow, command.actor):
        raise Forbidden(Phrase("only the administrator may do this"))
    if command.kind not in KINDS:
        raise InvalidInput(Phrase("unknown kind of notification '%(kind)s'", kind=str(command.kind)[:40]),
                           [Problem(Phrase("not a kind of notification"), field="kind")])
    require_label(command.subject, "subject", 300)
    if len(command.body) > MAX_BODY:
        raise InvalidInput(Phrase("%(field)s must be 1 to %(n)s characters", field="body", n=MAX_BODY),
                           [Problem(Phrase("bad length"), field="body")])
    if command.link is not None and not is_local_path(command.link):
        raise InvalidInput(Phrase("a notification's link is a path of this site, such as /inbox/tasks/42"),
                           [Problem(Phrase("not a path of this site"), field="link")])
    key = command.dedupe_key or f"by_hand:{uuid.uuid4().hex}"
    told = notify(uow, Occasion(command.kind, command.subject, command.body, key, link=command.link,
                                task_id=command.task_id), list(command.people))
    uow.record("people_notified", actor=command.actor, to_webhooks=False, notification_kind=command.kind,
               people=sorted(told.notifications))
    return {"notifications": told.notifications, "deliveries": told.deliveries}


def is_local_path(link: str) -> bool:
    """A path of this site (``/inbox/tasks/42``), never another site's address (``//evil``, ``/\\evil``)."""
    return len(link) <= 500 and link.startswith("/") and not link.startswith(("//", "/\\")) \
        and not any(ord(c) < 32 or c == "\\" for c in link)


def _channels_by_kind(given: Any, field: str) -> dict[str, str | None]:
    """kind → stored channels ("inbox,email") or None, each checked; a refusal names ``field.kind``."""
    if not isinstance(given, dict):
        raise InvalidInput(Phrase("%(field)s must be an object of kind → channels", field=field),
                           [Problem(Phrase("expected an object"), field=field)])
    checked: dict[str, str | None] = {}
    for kind, channels in given.items():
        where = f"{field}.{str(kind)[:40]}"
        if kind not in KINDS:
            raise InvalidInput(Phrase("unknown kind of notification '%(kind)s'", kind=str(kind)[:40]),
                               [Problem(Phrase("not a kind of notification"), field=where)])
        if channels is None:
            checked[kind] = None
            continue
        names = _known_channels(channels, where, KINDS[kind].label)
        _kind_rules(kind, names, where)
        checked[kind] = ",".join(names)
    return checked


def _kind_rules(kind: str, names: list[str], where: str) -> None:
    """A private kind names no group channel; an urgent one keeps the centre and a personal outside channel."""
    described = KINDS[kind]
    group = [name for name in names if name in GROUP_CHANNELS]
    if described.private and group:
        raise InvalidInput(Phrase("%(kind)s is never sent to a group (%(channel)s): the whole group would learn of a "
                                  "child's case", kind=described.label, channel=group[0]),
                           [Problem(Phrase("not for a group channel"), field=where)])
    if described.urgent and (INBOX not in names or not any(name in PERSONAL_CHANNELS for name in names)):
        raise InvalidInput(Phrase("%(kind)s cannot be switched off: keep the notification centre and e-mail or SMS",
                                  kind=described.label),
                           [Problem(Phrase("an urgent notification needs the centre and e-mail or SMS"),
                                    field=where)])


def _known_channels(channels: Any, where: str, label: str) -> list[str]:
    if isinstance(channels, str) or not isinstance(channels, Iterable):
        raise InvalidInput(Phrase("%(field)s must be a list of channels", field=where),
                           [Problem(Phrase("expected a list"), field=where)])
    names = list(channels)
    unknown = [str(name)[:40] for name in names if name not in CHANNELS]
    if unknown:
        raise InvalidInput(Phrase("%(kind)s: unknown channel %(channel)s (known: %(known)s)", kind=label,
                                  channel=unknown[0], known=", ".join(CHANNELS)),
                           [Problem(Phrase("not a channel"), field=where)])
    return [channel for channel in CHANNELS if channel in names]


def _quiet_hours(value: str | None) -> tuple[str, str] | None:
    """("22:00", "07:00") for own hours, :data:`NEVER_QUIET` for none, None for the server's (or unchanged)."""
    if value is None or value == "default":
        return None
    if value == "none":
        return NEVER_QUIET
    text = value if isinstance(value, str) else ""
    starts, dash, ends = text.partition("-")
    times = (_time_of_day(starts.strip()), _time_of_day(ends.strip())) if dash else (None, None)
    if times[0] is None or times[1] is None:
        raise InvalidInput(Phrase("quiet hours: '%(value)s' is not two times of day such as 22:00-07:00",
                                  value=str(value)[:40]),
                           [Problem(Phrase("expected from-until, 'default' or 'none'"), field="quiet_hours")])
    if times[0] == times[1]:
        raise InvalidInput(Phrase("quiet hours: from and until are both %(time)s; choose no quiet hours instead",
                                  time=times[0]),
                           [Problem(Phrase("from equals until"), field="quiet_hours")])
    return times[0], times[1]


def _time_of_day(text: str) -> str | None:
    hours, colon, minutes = text.partition(":")
    if not (colon and hours.isdigit() and minutes.isdigit() and len(hours) <= 2 and len(minutes) == 2
            and int(hours) < 24 and int(minutes) < 60):
        return None
    return f"{int(hours):02d}:{minutes}"
