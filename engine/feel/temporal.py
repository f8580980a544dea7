"""FEEL's dates, times, date-times and durations: reading their literal forms, writing them back, and the
calendar arithmetic DMN defines (months added by clamping to the month's last day)."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.feel.errors import FeelNull
from engine.feel.values import DaysTimeDuration, YearsMonthsDuration

_DATE = re.compile(r"(-?(?:[1-9]\d{4,8}|\d{4}))-(\d{2})-(\d{2})")  # XML Schema: no leading zero past 4 digits
_TIME = re.compile(r"(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
                   r"(?:(Z)|([+-])(\d{2}):(\d{2})(?::(\d{2}))?|@([A-Za-z_/+\-0-9]+))?")
_DURATION = re.compile(r"(-)?P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?"
                       r"(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d*)?)S)?)?")


def parse_date(text: str) -> date:
    match = _DATE.fullmatch(text)
    if not match:
        raise FeelNull(f"{text!r} is not a date (YYYY-MM-DD)")
    return make_date(int(match[1]), int(match[2]), int(match[3]))


# Python's calendar ends at the years 1 and 9999; FEEL's does not. The Gregorian calendar repeats every 400
# years (146,097 days, weekdays included), so a date beyond Python's years is held as the date whole cycles
# away inside them, with the number of cycles: arithmetic and weekdays work on the held date unchanged.
CYCLE_YEARS, CYCLE_DAYS = 400, 146_097


class FarDate(date):
    """A date beyond Python's years: ``year`` is the held year, ``cycles`` how many 400 years to add
    (``year_of`` gives the year it stands for; ``str`` and ``repr`` show it)."""

    __slots__ = ("cycles",)

    def __str__(self) -> str:
        return format_date(self)

    def __repr__(self) -> str:
        return f"FarDate({format_date(self)!r})"

    def __reduce__(self) -> Any:
        return parse_date, (format_date(self),)


class FarDateTime(datetime):
    """A date and time beyond Python's years (see ``FarDate``)."""

    __slots__ = ("cycles",)

    def __str__(self) -> str:
        return format_date_time(self)

    def __repr__(self) -> str:
        return f"FarDateTime({format_date_time(self)!r})"

    def __reduce__(self) -> Any:
        return parse_date_time, (format_date_time(self),)


def make_date(year: int, month: int, day: int) -> date:
    """A FEEL date of any year (``-2017-12-31``, ``999999999-12-31``)."""
    if abs(year) > 999_999_999:
        raise FeelNull(f"the year {year} is beyond FEEL's calendar")
    cycles = 0 if 1 <= year <= 9999 else (year - 2000) // CYCLE_YEARS
    try:
        return with_cycles(date(year - cycles * CYCLE_YEARS, month, day), cycles)
    except ValueError as error:
        raise FeelNull(f"{year:04d}-{month:02d}-{day:02d} is not a date: {error}") from None


def cycles_of(value: date) -> int:
    return getattr(value, "cycles", 0)


def year_of(value: date) -> int:
    """The year a date or date-time stands for."""
    return value.year + cycles_of(value) * CYCLE_YEARS


def with_cycles(value: Any, cycles: int) -> Any:
    """``value`` (a Python date or date-time) standing ``cycles`` × 400 years later; plain when no cycles."""
    if isinstance(value, datetime):
        made: Any = (FarDateTime if cycles else datetime)(
            value.year, value.month, value.day, value.hour, value.minute, value.second, value.microsecond,
            tzinfo=value.tzinfo, fold=value.fold)
    else:
        made = (FarDate if cycles else date)(value.year, value.month, value.day)
    if cycles:
        made.cycles = cycles
    return made


def instant_key(value: date) -> tuple[int, ...]:
    """A date or date-time as a tuple that orders like the instants (a zoned date-time counted in UTC)."""
    cycles = cycles_of(value)
    if isinstance(value, datetime):
        moment = value.astimezone(UTC) if value.tzinfo is not None else value
        return (moment.year + cycles * CYCLE_YEARS, moment.month, moment.day, moment.hour, moment.minute,
                moment.second, moment.microsecond)
    return (value.year + cycles * CYCLE_YEARS, value.month, value.day)


def parse_time(text: str) -> time:
    match = _TIME.fullmatch(text)
    if not match:
        raise FeelNull(f"{text!r} is not a time (hh:mm:ss)")
    hour, minute, second = int(match[1]), int(match[2]), int(match[3])
    micros = int((match[4] or "0")[:6].ljust(6, "0"))
    if hour == 24 and minute == second == micros == 0:
        hour = 0  # XML Schema's end of day
    if hour > 23 or minute > 59 or second > 59:
        raise FeelNull(f"{text!r} is not a time")
    return time(hour, minute, second, micros, tzinfo=_zone(match))


def parse_date_time(text: str) -> datetime:
    if "T" not in text:
        return datetime.combine(parse_date(text), time())
    day, _, clock = text.partition("T")
    moment, held = parse_time(clock), parse_date(day)
    result = datetime.combine(held, moment.replace(tzinfo=None), tzinfo=moment.tzinfo)
    if clock.startswith("24"):
        result += timedelta(days=1)
    return with_cycles(result, cycles_of(held))


def _zone(match: re.Match[str]) -> tzinfo | None:
    if match[5]:
        return UTC
    if match[6]:
        hours, minutes = int(match[7]), int(match[8])
        if hours > 14 or minutes > 59:
            raise FeelNull(f"{match[0]!r} has an offset out of range")
        offset = timedelta(hours=hours, minutes=minutes, seconds=int(match[9] or 0))
        return timezone(-offset if match[6] == "-" else offset)
    if match[10]:
        return zone(match[10])
    return None


def zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise FeelNull(f"{name!r} is not a time zone") from None


def parse_duration(text: str) -> YearsMonthsDuration | DaysTimeDuration:
    match = _DURATION.fullmatch(text)
    if not match:
        raise FeelNull(f"{text!r} is not a duration")
    sign = -1 if match[1] else 1
    years, months, days, hours, minutes = (int(part or 0) for part in match.groups()[1:6])
    seconds = Decimal(match[7] or 0)
    if (match[2] or match[3]) and not (match[4] or match[5] or match[6] or match[7]):
        return YearsMonthsDuration(sign * (years * 12 + months))
    if match[2] or match[3]:
        raise FeelNull(f"{text!r} mixes years or months with days or time")
    delta = timedelta(days=days, hours=hours, minutes=minutes, microseconds=int(seconds * 1_000_000))
    return DaysTimeDuration(delta if sign > 0 else -delta)


def parse_literal(text: str) -> Any:
    """The value of an ``@"…"`` literal: a duration, date and time, time or date."""
    if text.startswith(("P", "-P")):
        return parse_duration(text)
    if re.match(r"-?\d{4,}-\d\d-\d\dT", text):
        return parse_date_time(text)
    if re.match(r"\d\d:", text):
        return parse_time(text)
    return parse_date(text)


def format_time(value: time) -> str:
    text = value.strftime("%H:%M:%S") + (f".{value.microsecond:06d}".rstrip("0") if value.microsecond else "")
    return text + _format_zone(value.tzinfo, value.utcoffset() if not isinstance(value.tzinfo, ZoneInfo) else None)


def format_date(value: date) -> str:
    year = year_of(value)
    return ("-" if year < 0 else "") + f"{abs(year):04d}-{value.month:02d}-{value.day:02d}"


def format_date_time(value: datetime) -> str:
    clock = value.strftime("%H:%M:%S") + (f".{value.microsecond:06d}".rstrip("0") if value.microsecond else "")
    return format_date(value) + "T" + clock + _format_zone(value.tzinfo, value.utcoffset())


def _format_zone(zone_info: tzinfo | None, offset: timedelta | None) -> str:
    if zone_info is None:
        return ""
    if isinstance(zone_info, ZoneInfo):
        return "@" + zone_info.key
    if offset is None:
        return ""
    if offset == timedelta(0):
        return "Z"
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(offset) // timedelta(minutes=1)
    seconds = abs(offset).seconds % 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}" + (f":{seconds:02d}" if seconds else "")


def add_months(value: date, months: int) -> date:
    """``value`` moved by whole months, the day clamped to the target month's length (Jan 31 + 1M = Feb 28)."""
    total = value.year * 12 + value.month - 1 + months
    year, month = divmod(total, 12)
    if not 1 <= year <= 9999:
        raise FeelNull("a date out of range")
    day = min(value.day, calendar.monthrange(year, month + 1)[1])
    return with_cycles(value.replace(year=year, month=month + 1, day=day), cycles_of(value))


def months_between(start: date, end: date) -> int:
    """Whole months from ``start`` to ``end`` (negative when ``end`` is earlier), as ``years and months
    duration(from, to)`` counts them."""
    months = (year_of(end) - year_of(start)) * 12 + end.month - start.month
    if months > 0 and end.day < start.day:
        months -= 1
    elif months < 0 and end.day > start.day:
        months += 1
    return months


def utc_offset_of_time(value: time) -> timedelta | None:
    """A time's offset; a time in a named zone takes the zone's offset today (DST makes it ambiguous)."""
    if value.tzinfo is None:
        return None
    if isinstance(value.tzinfo, ZoneInfo):
        return datetime.combine(date.today(), value).utcoffset()
    return value.utcoffset()


def time_seconds(value: time) -> Decimal:
    """Seconds since midnight UTC (or local midnight for a time with no offset), for comparing times."""
    seconds = Decimal(value.hour * 3600 + value.minute * 60 + value.second) + Decimal(value.microsecond) / 1_000_000
    offset = utc_offset_of_time(value)
    if offset is not None:
        seconds -= Decimal(offset // timedelta(microseconds=1)) / 1_000_000
    return seconds % 86400


def days_time(delta: timedelta) -> DaysTimeDuration:
    return DaysTimeDuration(delta)
