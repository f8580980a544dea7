"""The dates a form's date field accepts: a range the form declares, or a sensible default.

A typo such as 2609 for 2026 must not be stored as a rectification date. A ``datetime`` component may declare
``properties.earliestDate`` and ``properties.latestDate`` (form-js custom properties, so the form editor shows
them), each an ISO date (``2024-09-01``), ``today``, or a distance from today in days or years (``-30d``,
``+1y``). Without them a date lies between 1 Jan 2000 and 31 Dec of the fifth year from now. The server checks
the range; the task page receives it resolved to ISO dates and checks it in the browser too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from engine.clock import BUSINESS_TZ

EARLIEST_YEAR = 2000
YEARS_AHEAD = 5
_RELATIVE = re.compile(r"(?:today)?\s*([+-])\s*(\d{1,4})\s*([dy])")


@dataclass(frozen=True)
class DateRange:
    earliest: str | None  # as declared; None for the default
    latest: str | None

    def resolved(self, today: date) -> tuple[date, date]:
        """The first and last date accepted, on ``today``."""
        low = _bound(self.earliest, today) if self.earliest else date(EARLIEST_YEAR, 1, 1)
        high = _bound(self.latest, today) if self.latest else date(today.year + YEARS_AHEAD, 12, 31)
        return low, high


def declared_range(component: dict[str, Any]) -> DateRange:
    properties = component.get("properties") if isinstance(component.get("properties"), dict) else {}
    earliest, latest = properties.get("earliestDate"), properties.get("latestDate")
    return DateRange(str(earliest).strip() if earliest else None, str(latest).strip() if latest else None)


def range_problems(component: dict[str, Any]) -> list[str]:
    """What is wrong with a date field's declared range, checked once at deployment."""
    declared = declared_range(component)
    problems = []
    for name, value in (("earliestDate", declared.earliest), ("latestDate", declared.latest)):
        if value is not None and _parsed(value, date(2026, 1, 1)) is None:
            problems.append(f"properties.{name} must be a date (2024-09-01), today, or like +1y or -30d")
    return problems


def date_of(value: str) -> date | None:
    """The calendar date of a form value (a date or a date-time, as form-js sends them); None if it is neither."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.date()
    try:
        return moment.astimezone(BUSINESS_TZ).date()
    except OverflowError:  # 0001-01-01T00:00+14:00 is in year 0 in Beijing: its own date is out of range too
        return moment.date()


def _bound(value: str, today: date) -> date:
    return _parsed(value, today) or today


def _parsed(value: str, today: date) -> date | None:
    if value == "today":
        return today
    relative = _RELATIVE.fullmatch(value)
    if relative:
        sign, amount, unit = relative.groups()
        count = int(amount) * (1 if sign == "+" else -1)
        if unit == "d":
            return today + timedelta(days=count)
        year = min(max(today.year + count, 1), 9999)
        return today.replace(year=year, day=28) if (today.month, today.day) == (2, 29) else today.replace(year=year)
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def with_resolved_ranges(schema: dict[str, Any] | None, today: date) -> dict[str, Any] | None:
    """The schema with each date field's range written as ISO dates (``properties.earliestDate``/``latestDate``),
    so the browser refuses what the server would, without parsing ``+1y`` itself."""
    if not isinstance(schema, dict):
        return schema

    def resolved(components: Any) -> Any:
        if not isinstance(components, list):
            return components
        out = []
        for component in components:
            if not isinstance(component, dict):
                out.append(component)
                continue
            component = {**component, "components": resolved(component["components"])} \
                if "components" in component else dict(component)
            if component.get("type") == "datetime" and component.get("subtype", "date") in ("date", "datetime"):
                low, high = declared_range(component).resolved(today)
                properties = component.get("properties") if isinstance(component.get("properties"), dict) else {}
                component["properties"] = {**properties, "earliestDate": low.isoformat(),
                                           "latestDate": high.isoformat()}
            out.append(component)
        return out

    return {**schema, "components": resolved(schema.get("components"))}
