"""FEEL values that Python lacks: the two kinds of duration, ranges and functions.

Numbers are ``Decimal``, strings ``str``, booleans ``bool``, contexts ``dict``, lists ``list``, dates, times and
date-times the ``datetime`` types; null is ``None``.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

#: DMN's number: IEEE 754 decimal128 (34 digits), rounding half even.
CONTEXT = decimal.Context(prec=34, rounding=decimal.ROUND_HALF_EVEN, Emax=6144, Emin=-6143,
                          traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow])


@dataclass(frozen=True, order=True)
class YearsMonthsDuration:
    """A years-and-months duration, held as a signed count of months."""

    months: int

    @property
    def years(self) -> int:
        return _sign(self.months) * (abs(self.months) // 12)

    def __str__(self) -> str:
        if self.months == 0:
            return "P0M"
        years, months = divmod(abs(self.months), 12)
        text = (f"{years}Y" if years else "") + (f"{months}M" if months else "")
        return ("-" if self.months < 0 else "") + "P" + text


@dataclass(frozen=True, order=True)
class DaysTimeDuration:
    """A days-and-time duration, held as a ``timedelta`` (microsecond precision)."""

    delta: timedelta

    @property
    def total_seconds(self) -> decimal.Decimal:
        return decimal.Decimal(self.delta // timedelta(microseconds=1)) / 1_000_000

    def parts(self) -> tuple[int, int, int, int, decimal.Decimal]:
        """Sign, days, hours, minutes and seconds of the magnitude."""
        micros = self.delta // timedelta(microseconds=1)
        sign, micros = _sign(micros), abs(micros)
        seconds, micros = divmod(micros, 1_000_000)
        minutes, seconds = divmod(seconds, 60)
        hours, minutes = divmod(minutes, 60)
        days, hours = divmod(hours, 24)
        return sign, days, hours, minutes, decimal.Decimal(seconds) + decimal.Decimal(micros) / 1_000_000

    def __str__(self) -> str:
        sign, days, hours, minutes, seconds = self.parts()
        if not (days or hours or minutes or seconds):
            return "PT0S"
        time = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
        if seconds:
            time += format(seconds.normalize(), "f") + "S"
        return ("-" if sign < 0 else "") + "P" + (f"{days}D" if days else "") + ("T" + time if time else "")


@dataclass(frozen=True)
class Range:
    """An interval. ``(< 10)`` has no start (``unbounded``): only its end is compared; ``(= 10)`` holds one
    value. A null end written out (``(null..10]``) makes membership unknown."""

    start_included: bool
    start: Any
    end: Any
    end_included: bool
    unbounded: bool = False


@dataclass(eq=False)
class Function:
    """A FEEL function value: built in, or defined by a ``function(…)`` expression with its closure."""

    name: str
    params: Sequence[str]
    call: Callable[..., Any]
    #: built-ins taking any number of arguments (``min(1, 2, 3)``, ``concatenate(…)``)
    variadic: bool = False
    #: how many leading parameters are required (the rest default to null)
    required: int = field(default=-1)
    #: other parameter lists the function accepts (``date(from)`` and ``date(year, month, day)``)
    overloads: Sequence[Sequence[str]] = ()

    def __post_init__(self) -> None:
        if self.required < 0:
            self.required = len(self.params)


def _sign(value: int) -> int:
    return -1 if value < 0 else 1


def from_python(value: Any) -> Any:
    """A Python value (task data read from JSON: ``int``, ``float``, tuples) as a FEEL value; FEEL values pass
    through. A float is read by its shortest repr (``0.1`` is 0.1, not its binary neighbour)."""
    if value is None or isinstance(value, (bool, str, decimal.Decimal)):
        return value
    if isinstance(value, int):
        return decimal.Decimal(value)
    if isinstance(value, float):
        return decimal.Decimal(repr(value)) if value == value and abs(value) != float("inf") else None
    if isinstance(value, (list, tuple)):
        return [from_python(item) for item in value]
    if isinstance(value, dict):
        return {str(key): from_python(item) for key, item in value.items()}
    return value
