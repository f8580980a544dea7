"""The read side of the audit log: the whole log for administrators, a school's counselling reads for its
mental-health lead. Filtered and paged in SQL over the log's indexes."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select

from engine.access.confidential import led_schools
from engine.clock import BUSINESS_TZ
from engine.errors import Forbidden, InvalidInput, Problem
from engine.org.calendar import parse_date
from engine.queries.rows import unit_names
from engine.store.database import Database
from engine.store.models import AuditEntry, Person

MAX_PAGE = 500
KINDS = ("command", "refused", "read")
#: The longest text filter (the log's widest column).
MAX_TEXT = 300


class AuditQueries:
    def __init__(self, database: Database) -> None:
        self.database = database

    def entries(self, *, actor: str | None = None, action: str | None = None, resource: str | None = None,
                kind: str | None = None, school: str | None = None, date_from: date | str | None = None,
                date_to: date | str | None = None, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        """Log lines matching every filter given, newest first, with the total (``from``/``to``: Beijing dates,
        both included)."""
        conditions = _conditions(actor, action, resource, kind, date_from, date_to)
        if school and (len(school) > MAX_TEXT or any(ord(c) < 32 for c in school)):
            raise InvalidInput("school must be a unit id", [Problem("not a unit id", field="school")])
        if school:
            conditions.append(AuditEntry.school == school)
        return self._page(conditions, limit, offset)

    def leads_a_school(self, user: str) -> bool:
        """Whether ``user`` is a school's mental-health lead (and so reads its counselling-read log)."""
        with self.database.read() as session:
            return bool(led_schools(session, user))

    def case_reads(self, user: str, *, date_from: date | str | None = None, date_to: date | str | None = None,
                   limit: int = 50, offset: int = 0) -> dict[str, Any]:
        """Reads of the counselling records of the schools whose mental-health lead ``user`` is (403 for others)."""
        with self.database.read() as session:
            schools = led_schools(session, user)
            named = unit_names(session, schools)
        if not schools:
            raise Forbidden("the counselling read log is for a school's mental-health lead")
        conditions = _conditions(None, None, None, "read", date_from, date_to)
        conditions.append(AuditEntry.school.in_(schools))
        return {**self._page(conditions, limit, offset), "schools": schools,
                "school_names": [named.get(school, school) for school in schools]}

    def _page(self, conditions: list[Any], limit: int, offset: int) -> dict[str, Any]:
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}", [Problem("out of range", field="limit")])
        with self.database.read() as session:
            total = session.scalar(select(func.count()).select_from(AuditEntry).where(*conditions))
            rows = session.scalars(select(AuditEntry).where(*conditions).order_by(AuditEntry.id.desc())
                                   .limit(limit).offset(offset)).all()
            actors = {r.actor for r in rows}
            names = dict(session.execute(select(Person.id, Person.name).where(Person.id.in_(actors))).all()) \
                if actors else {}
            schools = unit_names(session, {r.school for r in rows if r.school})
            entries = [{"id": r.id, "at": r.at.isoformat(), "kind": r.kind, "actor": r.actor,
                        "actor_name": names.get(r.actor), "action": r.action, "resource": r.resource,
                        "school": r.school, "school_name": schools.get(r.school or ""), "surface": r.surface,
                        "detail": json.loads(r.detail) if r.detail else {}}
                       for r in rows]
        return {"total": int(total or 0), "limit": limit, "offset": offset, "entries": entries}


def _conditions(actor: str | None, action: str | None, resource: str | None, kind: str | None,
                date_from: date | str | None, date_to: date | str | None) -> list[Any]:
    for name, value in (("actor", actor), ("action", action), ("resource", resource), ("kind", kind)):
        if value is not None and (len(value) > MAX_TEXT or any(ord(c) < 32 for c in value)):
            raise InvalidInput(f"{name} must be at most {MAX_TEXT} printable characters",
                               [Problem("too long or not printable", field=name)])
    conditions: list[Any] = []
    if actor:
        conditions.append(AuditEntry.actor == actor)
    if action:
        conditions.append(AuditEntry.action == action)
    if resource:
        conditions.append(AuditEntry.resource == resource)
    if kind:
        if kind not in KINDS:
            raise InvalidInput(f"kind must be one of {', '.join(KINDS)}", [Problem("unknown kind", field="kind")])
        conditions.append(AuditEntry.kind == kind)
    first = parse_date(date_from, "from") if date_from else None
    last = parse_date(date_to, "to") if date_to else None
    if first and last and first > last:
        raise InvalidInput("from must not be after to", [Problem("after to", field="from")])
    if first:
        conditions.append(AuditEntry.at >= datetime.combine(first, time(0), tzinfo=BUSINESS_TZ))
    if last:
        conditions.append(AuditEntry.at < datetime.combine(last + timedelta(days=1), time(0), tzinfo=BUSINESS_TZ))
    return conditions
