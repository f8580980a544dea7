"""The notification centre's reads: a person's unread count (on every page, so one indexed query), their
notifications paged, their choices as they apply now (their own, their roles' defaults, the kind's) with the
channels this server can use for them, and the administrator's defaults per role.

Each read is the person's own: nothing here takes another person's id from a caller without the web layer having
decided it is the caller's.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from engine.notifications.kinds import DINGTALK, EMAIL, KINDS, SMS, WECOM, parse_channels
from engine.notifications.settings import NotificationSettings
from engine.org.contacts import is_mobile
from engine.queries.rows import iso, page_limit
from engine.store import tables
from engine.store.database import Database

_n, _p, _r = tables.notification, tables.person, tables.role_assignment
_pref, _default, _quiet = (tables.notification_preference, tables.notification_role_default,
                           tables.notification_quiet_hours)
#: The bell counts up to here and shows "99+" beyond: counting further would read rows nobody looks at.
COUNT_CAP = 100


class NotificationQueries:
    def __init__(self, database: Database) -> None:
        self.database = database

    def unread_count(self, person: str, cap: int = COUNT_CAP) -> int:
        """The person's unread notifications, counted up to ``cap`` (the index ix_notification_person answers it)."""
        unread = select(_n.c.id).where(_n.c.person_id == person, _n.c.read_at.is_(None)).limit(cap).subquery()
        with self.database.read() as session:
            return int(session.scalar(select(func.count()).select_from(unread)) or 0)

    def page(self, person: str, *, unread_only: bool = False, limit: int = 20, offset: int = 0) -> dict[str, Any]:
        """The person's notifications, newest first, and how many there are in all (unread only, if asked)."""
        page_limit(limit)
        where = [_n.c.person_id == person, *([_n.c.read_at.is_(None)] if unread_only else [])]
        columns = (_n.c.id, _n.c.kind, _n.c.subject, _n.c.body, _n.c.link, _n.c.task_id, _n.c.instance_id,
                   _n.c.unit_id, _n.c.urgent, _n.c.created_at, _n.c.read_at)
        with self.database.read() as session:
            total = session.scalar(select(func.count()).select_from(_n).where(*where)) or 0
            rows = session.execute(select(*columns).where(*where).order_by(_n.c.id.desc())
                                   .limit(limit).offset(offset)).all()
        return {"notifications": [{"id": row.id, "kind": row.kind, "subject": row.subject, "body": row.body,
                                   "link": row.link, "task_id": row.task_id, "instance_id": row.instance_id,
                                   "unit_id": row.unit_id, "urgent": bool(row.urgent),
                                   "created_at": iso(row.created_at), "read_at": iso(row.read_at),
                                   "unread": row.read_at is None} for row in rows],
                "total": int(total), "limit": limit, "offset": offset}

    def choices(self, person: str, settings: NotificationSettings) -> dict[str, Any] | None:
        """What the person hears of each kind and why (``own``, ``role`` or ``kind``), the channels the server can
        reach them by (with why not), their address and mobile on file, and their quiet hours; None: no such
        person."""
        with self.database.read() as session:
            found = session.execute(select(_p.c.id, _p.c.name, _p.c.unit_id, _p.c.phone, _p.c.email)
                                    .where(_p.c.id == person)).first()
            if found is None:
                return None
            own = dict(session.execute(select(_pref.c.kind, _pref.c.channels)
                                       .where(_pref.c.person_id == person)).all())
            roles = sorted(set(session.scalars(select(_r.c.role).where(_r.c.person_id == person))))
            by_role: dict[str, dict[str, str]] = {}
            for role, kind, channels in session.execute(select(_default.c.role, _default.c.kind, _default.c.channels)
                                                        .where(_default.c.role.in_(roles))).all():
                by_role.setdefault(kind, {})[role] = channels
            quiet = session.execute(select(_quiet.c.starts, _quiet.c.ends)
                                    .where(_quiet.c.person_id == person)).first()
        kinds = []
        for kind in KINDS.values():
            if kind.code in own:
                channels, source, because = parse_channels(own[kind.code]), "own", []
            elif kind.code in by_role:
                held = sorted(by_role[kind.code])
                channels, source, because = parse_channels(",".join(by_role[kind.code][r] for r in held)), "role", held
            else:
                channels, source, because = parse_channels(",".join(kind.channels)), "kind", []
            kinds.append({"kind": kind.code, "urgent": kind.urgent, "channels": list(channels), "source": source,
                          "roles": because, "default": list(parse_channels(",".join(kind.channels)))})
        if quiet is None:
            hours, quiet_source = settings.quiet_hours, "server"
        elif quiet.starts == quiet.ends:
            hours, quiet_source = None, "none"
        else:
            hours, quiet_source = (quiet.starts, quiet.ends), "own"
        return {"person": {"id": found.id, "name": found.name, "unit_id": found.unit_id, "email": found.email,
                           "phone": found.phone},
                "kinds": kinds, "unavailable": unavailable_channels(settings, found),
                "sms_templates": sorted(settings.sms.templates) if settings.sms is not None else [],
                "quiet_hours": {"source": quiet_source, "hours": list(hours) if hours else None,
                                "server": list(settings.quiet_hours) if settings.quiet_hours else None}}

    def role_defaults(self) -> dict[str, dict[str, list[str]]]:
        """role → kind → the administrator's default channels (only where one is set)."""
        with self.database.read() as session:
            rows = session.execute(select(_default.c.role, _default.c.kind, _default.c.channels)).all()
        found: dict[str, dict[str, list[str]]] = {}
        for role, kind, channels in rows:
            if kind in KINDS:
                found.setdefault(role, {})[kind] = list(parse_channels(channels))
        return found


def unavailable_channels(settings: NotificationSettings, person: Any) -> dict[str, str]:
    """channel → why this server cannot reach the person by it (a code the pages word): ``not_set_up`` (no SMTP,
    no SMS gateway), ``no_robot`` (no group robot for their unit), ``no_email``, ``no_phone``."""
    why: dict[str, str] = {}
    if settings.email is None:
        why[EMAIL] = "not_set_up"
    elif not person.email:
        why[EMAIL] = "no_email"
    for channel in (WECOM, DINGTALK):
        if settings.robot(channel, person.unit_id) is None:
            why[channel] = "no_robot"
    if settings.sms is None:
        why[SMS] = "not_set_up"
    elif not is_mobile(person.phone):
        why[SMS] = "no_phone"
    return why
