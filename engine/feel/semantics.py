"""FEEL's operators on values: equality, ordering, arithmetic, membership and type names.

Each raises ``FeelNull`` where DMN 1.5 says the result is null (operands of different kinds, a date beyond the
calendar, a division by zero); the evaluator turns that into ``None`` and a warning.
"""

from __future__ import annotations

import decimal
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from engine.feel import temporal
from engine.feel.errors import FeelNull
from engine.feel.values import CONTEXT, DaysTimeDuration, Function, Range, YearsMonthsDuration

#: bound on the size of a list or string one operation may build
MAX_ITEMS = 1_000_000
MAX_STRING = 10_000_000


def kind(value: Any) -> str:
    """The FEEL type name of a value."""
    if value is None:
        return "Null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, Decimal):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, datetime):
        return "date and time"
    if isinstance(value, date):
        return "date"
    if isinstance(value, time):
        return "time"
    if isinstance(value, DaysTimeDuration):
        return "days and time duration"
    if isinstance(value, YearsMonthsDuration):
        return "years and months duration"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "context"
    if isinstance(value, Range):
        return "range"
    if isinstance(value, Function):
        return "function"
    raise FeelNull(f"{type(value).__name__} is not a FEEL value")


def number(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    raise FeelNull(f"expected a number, got {kind(value)}")


def equal(left: Any, right: Any) -> bool | None:
    """``left = right``: null when the kinds differ, deep for lists and contexts."""
    if left is None or right is None:
        return left is None and right is None
    if type(left) is type(right) and type(left) in _PLAIN:
        return left == right
    left_kind, right_kind = kind(left), kind(right)
    if left_kind != right_kind:
        return None
    if left_kind == "list":
        if len(left) != len(right):
            return False
        return _all(equal(a, b) for a, b in zip(left, right, strict=True))
    if left_kind == "context":
        if left.keys() != right.keys():
            return False
        return _all(equal(left[key], right[key]) for key in left)
    # equality of times and date-times is to the second, as DMN's value of a time counts seconds
    if left_kind == "time":
        return int(temporal.time_seconds(left)) == int(temporal.time_seconds(right)) and (
            (left.tzinfo is None) == (right.tzinfo is None))
    if left_kind == "date and time":
        if (left.tzinfo is None) != (right.tzinfo is None):
            return False
        return temporal.instant_key(left)[:-1] == temporal.instant_key(right)[:-1]
    if left_kind == "date":
        return temporal.instant_key(left) == temporal.instant_key(right)
    if left_kind == "function":
        return left is right
    return left == right


_PLAIN = (Decimal, str, bool)


def _all(results: Any) -> bool | None:
    outcome: bool | None = True
    for result in results:
        if result is False:
            return False
        if result is None:
            outcome = None
    return outcome


def compare(left: Any, right: Any) -> int:
    """-1, 0 or 1 for ordered values of one kind; raises ``FeelNull`` otherwise."""
    if type(left) is type(right) and type(left) in _PLAIN and type(left) is not bool:
        return (left > right) - (left < right)
    left_kind, right_kind = kind(left), kind(right)
    if left_kind != right_kind or left_kind not in _ORDERED:
        raise FeelNull(f"cannot compare {left_kind} with {right_kind}")
    if left_kind == "time":
        left, right = temporal.time_seconds(left), temporal.time_seconds(right)
    elif left_kind == "date and time" and (left.tzinfo is None) != (right.tzinfo is None):
        raise FeelNull("cannot compare a date and time with a zone to one without")
    if left_kind in ("date", "date and time"):
        left, right = temporal.instant_key(left), temporal.instant_key(right)
    return (left > right) - (left < right)


_ORDERED = {"number", "string", "date", "time", "date and time", "days and time duration",
            "years and months duration"}


def add(left: Any, right: Any) -> Any:
    if isinstance(left, Decimal) and isinstance(right, Decimal):
        return _arith(CONTEXT.add, left, right)
    if isinstance(left, str) and isinstance(right, str):
        if len(left) + len(right) > MAX_STRING:
            raise FeelNull("string too long")
        return left + right
    if _is_duration(right) and not _is_duration(left):
        return _shift(left, right, 1)
    if _is_duration(left) and not _is_duration(right):
        return _shift(right, left, 1)
    if isinstance(left, YearsMonthsDuration) and isinstance(right, YearsMonthsDuration):
        return YearsMonthsDuration(left.months + right.months)
    if isinstance(left, DaysTimeDuration) and isinstance(right, DaysTimeDuration):
        return DaysTimeDuration(left.delta + right.delta)
    raise FeelNull(f"cannot add {kind(left)} and {kind(right)}")


def subtract(left: Any, right: Any) -> Any:
    if isinstance(left, Decimal) and isinstance(right, Decimal):
        return _arith(CONTEXT.subtract, left, right)
    if _is_duration(right) and not _is_duration(left):
        return _shift(left, right, -1)
    if isinstance(left, YearsMonthsDuration) and isinstance(right, YearsMonthsDuration):
        return YearsMonthsDuration(left.months - right.months)
    if isinstance(left, DaysTimeDuration) and isinstance(right, DaysTimeDuration):
        return DaysTimeDuration(left.delta - right.delta)
    if isinstance(left, date) and isinstance(right, date):
        cycles = temporal.cycles_of(left) - temporal.cycles_of(right)
        try:
            return DaysTimeDuration(_instant(left, right) - _instant(right, left)
                                    + timedelta(days=cycles * temporal.CYCLE_DAYS))
        except OverflowError:
            raise FeelNull("a duration out of range") from None
    if isinstance(left, time) and isinstance(right, time):
        seconds = temporal.time_seconds(left) - temporal.time_seconds(right)
        return DaysTimeDuration(timedelta(microseconds=int(seconds * 1_000_000)))
    raise FeelNull(f"cannot subtract {kind(right)} from {kind(left)}")


def _instant(value: date, other: date) -> datetime:
    """A date or date-time to subtract from or with ``other``: two dates are midnights; a date beside a
    date-time is midnight UTC, and a date-time without a zone cannot meet one with a zone (or a date)."""
    if not isinstance(value, datetime):
        midnight = datetime.combine(value, time())
        return midnight if not isinstance(other, datetime) else midnight.replace(tzinfo=temporal.UTC)
    value = temporal.with_cycles(value, 0)  # the held date-time; the caller adds the cycles
    if value.tzinfo is None and (not isinstance(other, datetime) or other.tzinfo is not None):
        raise FeelNull("cannot subtract a date and time without a zone and one with a zone")
    if value.tzinfo is not None and isinstance(other, datetime) and other.tzinfo is None:
        raise FeelNull("cannot subtract a date and time with a zone and one without")
    return value


def _is_duration(value: Any) -> bool:
    return isinstance(value, (DaysTimeDuration, YearsMonthsDuration))


def _shift(value: Any, duration: Any, sign: int) -> Any:
    """A date, time or date-time moved by a duration."""
    try:
        if isinstance(duration, YearsMonthsDuration):
            if isinstance(value, date):
                return temporal.add_months(value, sign * duration.months)
        elif isinstance(value, datetime):
            return temporal.with_cycles(value + sign * duration.delta, temporal.cycles_of(value))
        elif isinstance(value, date):
            moved = datetime.combine(value, time()) + sign * duration.delta
            return temporal.with_cycles(moved.date(), temporal.cycles_of(value))
        elif isinstance(value, time):
            moved = datetime.combine(date(2000, 1, 1), value) + sign * duration.delta
            return moved.timetz()
    except OverflowError:
        raise FeelNull("a date out of range") from None
    raise FeelNull(f"cannot add {kind(duration)} to {kind(value)}")


def multiply(left: Any, right: Any) -> Any:
    if isinstance(left, Decimal) and isinstance(right, Decimal):
        return _arith(CONTEXT.multiply, left, right)
    if isinstance(left, Decimal) and _is_duration(right):
        left, right = right, left
    if isinstance(left, YearsMonthsDuration) and isinstance(right, Decimal):
        return YearsMonthsDuration(int((left.months * right).to_integral_value(decimal.ROUND_DOWN)))
    if isinstance(left, DaysTimeDuration) and isinstance(right, Decimal):
        micros = CONTEXT.multiply(Decimal(left.delta // timedelta(microseconds=1)), right)
        return _micros(micros)
    raise FeelNull(f"cannot multiply {kind(left)} by {kind(right)}")


def divide(left: Any, right: Any) -> Any:
    if isinstance(left, Decimal) and isinstance(right, Decimal):
        return _arith(CONTEXT.divide, left, right)
    if isinstance(left, YearsMonthsDuration) and isinstance(right, Decimal):
        if not right:
            raise FeelNull("division by zero")
        return YearsMonthsDuration(int((Decimal(left.months) / right).to_integral_value(decimal.ROUND_DOWN)))
    if isinstance(left, DaysTimeDuration) and isinstance(right, Decimal):
        if not right:
            raise FeelNull("division by zero")
        return _micros(CONTEXT.divide(Decimal(left.delta // timedelta(microseconds=1)), right))
    if isinstance(left, YearsMonthsDuration) and isinstance(right, YearsMonthsDuration):
        return _arith(CONTEXT.divide, Decimal(left.months), Decimal(right.months))
    if isinstance(left, DaysTimeDuration) and isinstance(right, DaysTimeDuration):
        return _arith(CONTEXT.divide, left.total_seconds, right.total_seconds)
    raise FeelNull(f"cannot divide {kind(left)} by {kind(right)}")


def _micros(micros: Decimal) -> DaysTimeDuration:
    try:
        return DaysTimeDuration(timedelta(microseconds=int(micros.to_integral_value())))
    except OverflowError:
        raise FeelNull("a duration out of range") from None


def power(left: Any, right: Any) -> Any:
    base, exponent = number(left), number(right)
    if abs(exponent) > 999_999_999:
        raise FeelNull("exponent out of range")
    return _arith(CONTEXT.power, base, exponent)


def negate(value: Any) -> Any:
    if isinstance(value, Decimal):
        return -value
    if isinstance(value, YearsMonthsDuration):
        return YearsMonthsDuration(-value.months)
    if isinstance(value, DaysTimeDuration):
        return DaysTimeDuration(-value.delta)
    raise FeelNull(f"cannot negate {kind(value)}")


def _arith(operation: Any, left: Decimal, right: Decimal) -> Decimal:
    try:
        return operation(left, right)
    except (decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow) as error:
        raise FeelNull(f"arithmetic: {type(error).__name__}") from None


def in_range(value: Any, interval: Range) -> bool | None:
    """Whether ``value`` lies in ``interval``; null when the kinds do not compare."""
    if not interval.unbounded and (interval.start is None or interval.end is None):
        return None
    if interval.unbounded and interval.start is interval.end:
        return equal(value, interval.start)
    try:
        if interval.start is not None:
            order = compare(value, interval.start)
            if order < 0 or (order == 0 and not interval.start_included):
                return False
        if interval.end is not None:
            order = compare(value, interval.end)
            if order > 0 or (order == 0 and not interval.end_included):
                return False
    except FeelNull:
        return None
    return True


def decimal_text(value: Decimal) -> str:
    """A number as FEEL's ``string()`` writes it: no exponent, no trailing zeros."""
    if value == 0:
        return "0"
    return format(value.normalize(CONTEXT), "f")


def to_text(value: Any) -> str:
    """``string(value)``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return temporal.format_date_time(value)
    if isinstance(value, date):
        return temporal.format_date(value)
    if isinstance(value, time):
        return temporal.format_time(value)
    if isinstance(value, (DaysTimeDuration, YearsMonthsDuration)):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_quoted(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {_quoted(item)}" for key, item in value.items()) + "}"
    if isinstance(value, Range):
        return (("[" if value.start_included else "(") + _quoted(value.start) + ".." + _quoted(value.end)
                + ("]" if value.end_included else ")"))
    return kind(value)


def _quoted(value: Any) -> str:
    return '"' + value + '"' if isinstance(value, str) else to_text(value)
