"""Working days: which days are working days and what date lies n working days on, from the official calendar
(or, for a year it does not carry yet, the statutory days off) and the administrators' overrides."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from engine.org.calendar import (
    MAX_WORKING_DAYS,
    OFFICIAL_SOURCE,
    Override,
    SpecialDay,
    WorkingCalendar,
    parse_date,
    parse_whole_number,
    parse_year,
)
from engine.org.statutory_holidays import STATUTORY_SOURCE
from engine.queries.rows import iso
from engine.store.database import Database
from engine.store.models import WorkdayOverride


class CalendarQueries:
    """Working-day answers: the official calendar with the administrators' overrides stored now.

    Each answer builds its own :class:`WorkingCalendar`, which reads each year it touches once (one
    indexed range read however many days are counted). Several processes share the database and a
    ruling set in one must count in all of them at once, which a long-lived cache could not promise.
    """

    def __init__(self, database: Database) -> None:
        self.database = database

    def working_calendar(self) -> WorkingCalendar:
        """A calendar snapshot reading overrides from the database, once per year it is asked about."""
        return WorkingCalendar(self._overrides_of)

    def _overrides_of(self, year: int) -> list[Override]:
        query = select(WorkdayOverride).where(WorkdayOverride.day >= date(year, 1, 1),
                                              WorkdayOverride.day <= date(year, 12, 31))
        with self.database.read() as session:
            return [Override(r.day, r.working, r.note, r.set_by, r.set_at)
                    for r in session.scalars(query.order_by(WorkdayOverride.day))]

    def working_days_after(self, day: date | str, n: int | str) -> dict[str, Any]:
        """The date ``n`` working days after ``day`` (see :meth:`WorkingCalendar.add_working_days`)."""
        start = parse_date(day, "date")
        count = parse_whole_number(n, "n", 0, MAX_WORKING_DAYS)
        calendar = self.working_calendar()
        result = calendar.add_working_days(start, count)
        return {"from": start.isoformat(), "n": count, "date": result.isoformat(),
                "weekday": _WEEKDAYS[result.weekday()], "warnings": calendar.warnings()}

    def is_working_day(self, day: date | str) -> dict[str, Any]:
        """Whether ``day`` is a working day, and why."""
        when = parse_date(day, "date")
        calendar = self.working_calendar()
        special = calendar.special_day(when)
        return {"date": when.isoformat(), "weekday": _WEEKDAYS[when.weekday()],
                "working": calendar.is_working_day(when), "basis": str(calendar.basis(when.year)),
                "reason": _reason(special) if special else "weekday" if when.weekday() < 5 else "weekend",
                "warnings": calendar.warnings()}

    def overrides(self, year: int | str) -> list[dict[str, Any]]:
        """The administrators' rulings stored for ``year``, in date order."""
        return [_override(o) for o in self._overrides_of(parse_year(year))]

    def year(self, year: int | str) -> dict[str, Any]:
        """Every day of ``year`` that is not plain Monday to Friday or that an administrator ruled on."""
        number = parse_year(year)
        calendar = self.working_calendar()
        days = calendar.special_days(number)
        return {"year": number, "basis": str(calendar.basis(number)), "official_source": OFFICIAL_SOURCE,
                "statutory_source": STATUTORY_SOURCE,
                "official_years": [calendar.known_years().start, calendar.known_years().stop - 1],
                "overrides": sum(1 for d in days if d.override is not None),
                "warnings": calendar.warnings(),
                "days": [{"date": d.day.isoformat(), "weekday": _WEEKDAYS[d.day.weekday()], "working": d.working,
                          "official_working": d.official_working, "name": d.official_name or d.statutory_name,
                          "statutory": d.statutory_name is not None,
                          "override": _override(d.override) if d.override else None} for d in days]}


_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _reason(day: SpecialDay) -> str:
    if day.override is None:
        if day.statutory_name:
            return f"{day.statutory_name} (statutory, computed from {STATUTORY_SOURCE}; 调休 not yet published)"
        return day.official_name or ""
    note = f": {day.override.note}" if day.override.note else ""
    return f"set by {day.override.set_by}{note}"


def _override(override: Override) -> dict[str, Any]:
    return {"date": override.day.isoformat(), "working": override.working, "note": override.note,
            "set_by": override.set_by, "set_at": iso(override.set_at)}

