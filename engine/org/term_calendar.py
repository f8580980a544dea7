"""The school term calendar: which months are school holidays, and when each semester starts and ends.

The notice's monthly check (§四.9 一月一查) is school work, and schools do not run it in the winter and summer
holidays. Which months those are is the bureau's setting, not the code's: February, July and August unless an
administrator says otherwise. The semesters' dates name the semester a scheduled start belongs to
(``{semester}`` in a schedule's start variables) and give its first and last day. Dates are month and day,
repeating every year; an autumn semester whose end comes before its start ends in the next year.

No I/O here: the stored setting is read by :mod:`engine.queries.scheduling` and written by
:mod:`engine.commands.term_calendar`.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from engine.errors import InvalidInput, Problem

#: School holiday months unless an administrator sets others: the winter (February) and summer holidays.
DEFAULT_HOLIDAY_MONTHS = frozenset({2, 7, 8})
_MONTH_DAY = re.compile(r"(\d{2})-(\d{2})")


@dataclass(frozen=True, order=True)
class MonthDay:
    """A day of the year that repeats (no 29 February: it would vanish three years in four)."""

    month: int
    day: int

    def on(self, year: int) -> date:
        return date(year, self.month, self.day)

    def __str__(self) -> str:
        return f"{self.month:02d}-{self.day:02d}"


@dataclass(frozen=True)
class Semester:
    """One semester of one school year: its name (``2027年春季学期``), first and last day."""

    name: str
    start: date
    end: date


@dataclass(frozen=True)
class TermCalendar:
    holiday_months: frozenset[int] = DEFAULT_HOLIDAY_MONTHS
    spring_start: MonthDay = MonthDay(3, 1)
    spring_end: MonthDay = MonthDay(7, 10)
    autumn_start: MonthDay = MonthDay(9, 1)
    autumn_end: MonthDay = MonthDay(1, 20)
    #: Who set it and when (None: the defaults, never set).
    set_by: str | None = field(default=None, compare=False)
    set_at: datetime | None = field(default=None, compare=False)

    def in_term(self, month: int) -> bool:
        """Whether ``month`` is school time (not a holiday month)."""
        return month not in self.holiday_months

    def semesters(self, year: int) -> tuple[Semester, Semester]:
        """The spring and the autumn semester that start in ``year``."""
        autumn_end_year = year + 1 if self.autumn_end < self.autumn_start else year
        return (Semester(f"{year}年春季学期", self.spring_start.on(year), self.spring_end.on(year)),
                Semester(f"{year}年秋季学期", self.autumn_start.on(year), self.autumn_end.on(autumn_end_year)))

    def semester_of(self, day: date) -> Semester:
        """The semester ``day`` falls in; in a holiday between two, the one that comes next."""
        candidates = [*self.semesters(day.year - 1), *self.semesters(day.year), *self.semesters(day.year + 1)]
        for semester in candidates:
            if semester.start <= day <= semester.end:
                return semester
        return min((s for s in candidates if s.start > day), key=lambda s: s.start)

    def as_dict(self) -> dict[str, object]:
        return {"holiday_months": sorted(self.holiday_months),
                "spring_start": str(self.spring_start), "spring_end": str(self.spring_end),
                "autumn_start": str(self.autumn_start), "autumn_end": str(self.autumn_end),
                "set_by": self.set_by, "set_at": self.set_at.isoformat() if self.set_at else None}


def parse_term_calendar(values: dict[str, object], current: TermCalendar | None = None) -> TermCalendar:
    """The term calendar ``values`` describe, fields left out taken from ``current`` (or the defaults).

    Raises InvalidInput naming each bad field: holiday months must be 1 to 12 and leave at least one month of
    school; dates are ``MM-DD``; spring starts before it ends, and the two semesters do not overlap.
    """
    base = current or TermCalendar()
    unknown = sorted(set(values) - {"holiday_months", "spring_start", "spring_end", "autumn_start", "autumn_end"})
    problems = [Problem("not a setting of the term calendar", field=key) for key in unknown]
    months = base.holiday_months
    if "holiday_months" in values:
        parsed = _months(values["holiday_months"])
        if parsed is None:
            problems.append(Problem("give the holiday months as a list of numbers from 1 to 12, at most 11 of them",
                                    field="holiday_months"))
        else:
            months = parsed
    days: dict[str, MonthDay] = {}
    for key in ("spring_start", "spring_end", "autumn_start", "autumn_end"):
        if key not in values:
            days[key] = getattr(base, key)
            continue
        day = parse_month_day(values[key])
        if day is None:
            problems.append(Problem(f"expected a day of the year as MM-DD (such as 03-01), not {values[key]!r}",
                                    field=key))
        else:
            days[key] = day
    if not problems:
        if days["spring_start"] >= days["spring_end"]:
            problems.append(Problem("the spring semester must start before it ends", field="spring_end"))
        if days["autumn_start"] <= days["spring_end"]:
            problems.append(Problem("the autumn semester must start after the spring semester ends",
                                    field="autumn_start"))
        if days["autumn_end"] < days["autumn_start"] and days["autumn_end"] >= days["spring_start"]:
            problems.append(Problem("the autumn semester must end before the next spring semester starts",
                                    field="autumn_end"))
    if problems:
        raise InvalidInput("the term calendar was not changed: " + "; ".join(
            f"{p.field}: {p.message}" for p in problems), problems)
    return TermCalendar(months, days["spring_start"], days["spring_end"], days["autumn_start"], days["autumn_end"])


def term_calendar_from(row: Any) -> TermCalendar:
    """A stored ``term_calendar`` row (any object with its columns as attributes) as a :class:`TermCalendar`;
    None gives the defaults."""
    if row is None:
        return TermCalendar()
    days = [parse_month_day(getattr(row, name)) for name in ("spring_start", "spring_end", "autumn_start",
                                                             "autumn_end")]
    if any(day is None for day in days):  # cannot happen through the command; a hand-edited row falls back
        return TermCalendar(set_by=row.set_by, set_at=row.set_at)
    months = frozenset(int(m) for m in row.holiday_months.split(",") if m.strip())
    return TermCalendar(months, *days, set_by=row.set_by, set_at=row.set_at)  # type: ignore[arg-type]


def parse_month_day(value: object) -> MonthDay | None:
    """``MM-DD`` as a :class:`MonthDay`, or None when it is not a real day of every year."""
    if not isinstance(value, str):
        return None
    found = _MONTH_DAY.fullmatch(value.strip())
    if found is None:
        return None
    month, day = int(found.group(1)), int(found.group(2))
    if not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(2027, month)[1]:  # 2027: not a leap year
        return None
    return MonthDay(month, day)


def _months(value: object) -> frozenset[int] | None:
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, Iterable) or isinstance(value, (bytes, dict)):
        return None
    months = set()
    for item in value:
        if isinstance(item, str) and item.isdigit():
            item = int(item)
        if isinstance(item, bool) or not isinstance(item, int) or not 1 <= item <= 12:
            return None
        months.add(item)
    return frozenset(months) if len(months) <= 11 else None
