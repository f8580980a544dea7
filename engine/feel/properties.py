"""The properties a path reads from values that are not contexts: ``d.year``, ``t.time offset``,
``duration.days``, ``range.start included``."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from engine.feel.errors import FeelNull
from engine.feel.temporal import year_of
from engine.feel.values import DaysTimeDuration, Range, YearsMonthsDuration


def property_of(value: Any, name: str) -> Any:
    if isinstance(value, (date, time)):
        return _temporal(value, name)
    if isinstance(value, YearsMonthsDuration):
        sign = -1 if value.months < 0 else 1
        if name == "years":
            return Decimal(sign * (abs(value.months) // 12))
        if name == "months":
            return Decimal(sign * (abs(value.months) % 12))
        return _unknown(value, name)
    if isinstance(value, DaysTimeDuration):
        sign, days, hours, minutes, seconds = value.parts()
        parts = {"days": days, "hours": hours, "minutes": minutes, "seconds": int(seconds)}
        if name in parts:
            return Decimal(sign * parts[name])
        return _unknown(value, name)
    if isinstance(value, Range):
        parts = {"start": value.start, "end": value.end, "start included": value.start_included,
                 "end included": value.end_included}
        if name in parts:
            return parts[name]
    return _unknown(value, name)


def _temporal(value: date | time, name: str) -> Any:
    if isinstance(value, date) and name == "year":
        return Decimal(year_of(value))
    if isinstance(value, date) and name in ("month", "day"):
        return Decimal(getattr(value, name))
    if isinstance(value, date) and name == "weekday":
        return Decimal(value.isoweekday())
    if isinstance(value, (datetime, time)):
        if name in ("hour", "minute", "second"):
            return Decimal(getattr(value, name))
        if name == "time offset":
            offset = value.utcoffset() if not isinstance(value.tzinfo, ZoneInfo) or isinstance(value, datetime) \
                else None
            return None if offset is None else DaysTimeDuration(offset)
        if name == "timezone":
            return value.tzinfo.key if isinstance(value.tzinfo, ZoneInfo) else None
    return _unknown(value, name)


def _unknown(value: Any, name: str) -> Any:
    raise FeelNull(f"no property {name!r} on {type(value).__name__}")

