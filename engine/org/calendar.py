"""The working-day calendar: China's official calendar, with administrators' overrides on top.

Deadlines in the programme are counted in working days, and China moves working days around its
statutory holidays (调休: some weekends become working days). The official schedule comes from the
``chinese-calendar`` package, which knows a year only once the State Council has published it and a
release carries it. A year it does not carry yet still has the days off the law fixes
(:mod:`engine.org.statutory_holidays`): those are off, weekends too, and the year's 调休 (weekends worked,
days bridged) waits for the State Council. An administrator's override of a single date wins over both,
and overrides are how a published arrangement is entered before a release carries it. A year before the
law and without data falls back to Monday to Friday. Either fallback says so (:class:`YearBasis`) rather
than failing: an estimated deadline beats a dead timer.

No I/O here: overrides come from a loader the caller supplies, called at most once per year for the
life of a :class:`WorkingCalendar`, so counting working days across a year costs one read, not one per
day. All dates are business dates (Asia/Shanghai); turn an instant into one before asking.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

import chinese_calendar

from engine.clock import BUSINESS_TZ
from engine.errors import HuhuaError, InvalidInput, Problem
from engine.org.statutory_holidays import statutory_days_off
from engine.phrases import Phrase

#: Where the official schedule comes from, for people reading a calendar answer.
OFFICIAL_SOURCE = f"chinese-calendar {chinese_calendar.__version__}"
#: Dates outside these are refused as input: nobody plans a deadline there, and it keeps date arithmetic safe.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2199, 12, 31)
#: Most working days one count may span (about fourteen years).
MAX_WORKING_DAYS = 3650
#: More consecutive days off than this means the overrides are wrong, not that a long holiday is coming.
MAX_DAYS_OFF = 366

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ONE_DAY = timedelta(days=1)


class YearBasis(StrEnum):
    """What a year's working days rest on."""

    #: The published State Council schedule, as the package carries it (plus any overrides).
    OFFICIAL = "official"
    #: Not in the package; days an administrator entered, on top of the statutory days off (or, for a year
    #: before the law, of Monday to Friday).
    ENTERED = "entered"
    #: Not in the package and nothing entered: the statutory days off computed from the law, weekends off,
    #: the year's 调休 (weekends worked, days bridged) unknown until the State Council publishes it.
    STATUTORY = "statutory"
    #: None of these (a year before the law): plain Monday to Friday, a guess wrong around every holiday.
    WEEKDAYS = "weekdays"


#: The bases that are an estimate, not a ruling: whoever asked is warned.
ESTIMATED = frozenset({YearBasis.STATUTORY, YearBasis.WEEKDAYS})


@dataclass(frozen=True)
class Override:
    """An administrator's ruling on one date: a working day or a holiday, whatever the official schedule says."""

    day: date
    working: bool
    note: str | None = None
    set_by: str | None = None
    set_at: datetime | None = None


@dataclass(frozen=True)
class SpecialDay:
    """A day the calendar names: an official holiday or adjusted working day, or an administrator's override."""

    day: date
    working: bool
    #: The official schedule's answer and name for the day; None where it has nothing to say.
    official_working: bool | None
    official_name: str | None
    override: Override | None
    #: In a year the official schedule does not know: the statutory day off the law makes of it, if any.
    statutory_name: str | None = None


OverrideLoader = Callable[[int], Iterable[Override]]


@functools.cache
def official_years() -> range:
    """The years whose official schedule the installed ``chinese-calendar`` carries."""
    return range(min(chinese_calendar.holidays).year, max(chinese_calendar.holidays).year + 1)


@functools.cache
def official_days(year: int) -> Mapping[date, tuple[bool, str]]:
    """The days of ``year`` the official schedule names, as (working, name); empty for a year it does not know.

    That is every day of a statutory holiday (weekends inside it too) and every adjusted working day.
    """
    if year not in official_years():
        return {}
    days: dict[date, tuple[bool, str]] = {}
    for table, working in ((chinese_calendar.holidays, False), (chinese_calendar.workdays, True)):
        for day, holiday in table.items():
            if day.year == year:
                name = _holiday_name(holiday)
                days[day] = (working, name if not working else f"调休上班 working day for {name}")
    return days


def official_working(day: date) -> bool | None:
    """Whether the official schedule makes ``day`` a working day; None for a year it does not know."""
    if day.year not in official_years():
        return None
    named = official_days(day.year).get(day)
    return named[0] if named else day.weekday() < 5


def default_working(day: date) -> bool:
    """Whether ``day`` is a working day when no administrator ruled on it: official, else statutory, else weekday."""
    official = official_working(day)
    if official is not None:
        return official
    return day not in statutory_days_off(day.year) and day.weekday() < 5


def statutory_name(day: date) -> str | None:
    """The statutory day off ``day`` is, computed from the law, in a year the official schedule does not know."""
    return None if day.year in official_years() else statutory_days_off(day.year).get(day)


def _holiday_name(english: str) -> str:
    try:
        holiday = chinese_calendar.Holiday(english)
    except ValueError:
        return english
    return f"{holiday.chinese} {english}"


@dataclass(frozen=True)
class _Year:
    basis: YearBasis
    #: Every day whose answer is not plain Monday to Friday's, or that someone stated: date -> working.
    stated: dict[date, bool]
    overrides: dict[date, Override]


class WorkingCalendar:
    """Answers working-day questions; reads each year's overrides once, through ``load_overrides``.

    A calendar is a snapshot: overrides set after a year was read are not seen. Build a new one (or
    :meth:`forget`) to see them; :class:`engine.queries.CalendarQueries` builds one per question.
    """

    def __init__(self, load_overrides: OverrideLoader | None = None) -> None:
        self._load_overrides = load_overrides or (lambda year: ())
        self._years: dict[int, _Year] = {}

    def _year(self, year: int) -> _Year:
        cached = self._years.get(year)
        if cached is not None:
            return cached
        overrides = {o.day: o for o in self._load_overrides(year)}
        if year in official_years():
            basis = YearBasis.OFFICIAL
            stated = {day: working for day, (working, _name) in official_days(year).items()}
        else:
            stated = dict.fromkeys(statutory_days_off(year), False)
            basis = YearBasis.ENTERED if overrides else YearBasis.STATUTORY if stated else YearBasis.WEEKDAYS
        stated.update((day, o.working) for day, o in overrides.items())
        loaded = self._years[year] = _Year(basis, stated, overrides)
        return loaded

    def forget(self) -> None:
        """Drop every year read so far, so the next question reads the overrides again."""
        self._years.clear()

    @staticmethod
    def known_years() -> range:
        """The years the official schedule covers (overrides may add more: see :meth:`basis`)."""
        return official_years()

    def basis(self, year: int) -> YearBasis:
        """What ``year``'s answers rest on: the official schedule, entered days, the law, or a Monday–Friday guess."""
        return self._year(year).basis

    def is_official(self, year: int) -> bool:
        return self.basis(year) is YearBasis.OFFICIAL

    def warnings(self) -> list[str]:
        """What is estimated in the years read so far, one line a year, Chinese then English."""
        return [estimate_warning(year, self._years[year].basis) for year in self.guessed_years()]

    def guessed_years(self) -> list[int]:
        """The years read so far whose answers are an estimate (:data:`ESTIMATED`): warn whoever asked."""
        return sorted(y for y, loaded in self._years.items() if loaded.basis in ESTIMATED)

    def is_working_day(self, day: date) -> bool:
        _require_date(day)
        return self._working(day)

    def _working(self, day: date) -> bool:
        return self._year(day.year).stated.get(day, day.weekday() < 5)

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        _require_date(day)
        return self._first_working(day + _ONE_DAY)

    def add_working_days(self, day: date, n: int) -> date:
        """The ``n``-th working day after ``day`` (``day`` itself not counted); for n = 0, ``day`` or the next one.

        The answer is always a working day, so a deadline never lands on a holiday: counting from a
        holiday starts at the next working day, and n = 0 moves a holiday forward and leaves a working
        day where it is. 5 working days after Tuesday 2026-09-29 is Monday 2026-10-12 (Oct 1–7 off,
        Saturday Oct 10 worked).
        """
        _require_date(day)
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"n must be a whole number of at least 0, not {n!r}")
        current = self._first_working(day)
        for _ in range(n):
            current = self._first_working(current + _ONE_DAY)
        return current

    def working_days_between(self, start: date, end: date) -> int:
        """How many working days fall after ``start`` up to and including ``end`` (0 when end <= start)."""
        _require_date(start)
        _require_date(end)
        if (end - start).days > MAX_WORKING_DAYS * 2:
            raise ValueError("the dates are too far apart")
        count, day = 0, start
        while day < end:
            day += _ONE_DAY
            count += self.is_working_day(day)
        return count

    def first_working_day_of_month(self, year: int, month: int) -> date:
        return self._first_working(date(year, month, 1))

    def _first_working(self, day: date) -> date:
        """``day`` if it is a working day, else the first one after it."""
        start = day
        while not self._working(day):
            day += _ONE_DAY
            if (day - start).days > MAX_DAYS_OFF:
                raise HuhuaError(f"no working day in the {MAX_DAYS_OFF} days from {start.isoformat()}: "
                                 "check the calendar's overrides", code="no_working_day", status=422)
        return day

    def special_days(self, year: int) -> list[SpecialDay]:
        """Every day of ``year`` the official schedule or the law names or an administrator ruled on, in order."""
        return [self._special(day) for day in sorted(self._year(year).stated)]

    def special_day(self, day: date) -> SpecialDay | None:
        """Why ``day`` is what it is, if the official schedule, the law or an administrator says so; else None."""
        _require_date(day)
        return self._special(day) if day in self._year(day.year).stated else None

    def _special(self, day: date) -> SpecialDay:
        loaded = self._year(day.year)
        official_working, official_name = official_days(day.year).get(day, (None, None))
        return SpecialDay(day=day, working=loaded.stated[day], official_working=official_working,
                          official_name=official_name, override=loaded.overrides.get(day),
                          statutory_name=statutory_name(day))


def estimate_warning(year: int, basis: YearBasis) -> str:
    """Why ``year``'s working days are an estimate and what to do, in Chinese and then in English."""
    if basis is YearBasis.STATUTORY:
        return (f"{year} 年尚无国务院放假安排（{OFFICIAL_SOURCE} 未收录）：法定节假日按《全国年节及纪念日放假办法》推算"
                "（含逢周末的补假），周末休息；调休上班日和连休安排待国务院公布后由管理员逐日录入。"
                f" {year} is not in {OFFICIAL_SOURCE} yet: its statutory days off are computed from the national "
                "holidays regulation (make-up days for those on a weekend included) and weekends are off, but the "
                "weekends worked and days bridged (调休) are unknown until the State Council publishes the year's "
                "arrangement; an administrator then enters them day by day (huhua calendar set).")
    return (f"{year} 年不在官方数据（{OFFICIAL_SOURCE}）范围内，也未录入任何调整：暂按周一至周五计算，缺少节假日。"
            f" {year} is not in {OFFICIAL_SOURCE} and no day of it has been entered: its working days are guessed "
            "as Monday to Friday, missing its holidays; an administrator can enter them day by day")


def _require_date(day: object) -> None:
    # A datetime is a date too, but never equal to one: it would silently miss every holiday.
    if isinstance(day, datetime) or not isinstance(day, date):
        raise TypeError(f"expected a business date, not {type(day).__name__}")


def parse_date(value: object, field: str) -> date:
    """A date given as ``YYYY-MM-DD`` (or already a date), within the years the calendar accepts."""
    if isinstance(value, date) and not isinstance(value, datetime):
        day = value
    elif isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        try:
            day = date.fromisoformat(value.strip())
        except ValueError:
            raise _bad(field, f"{field} must be a real day; {value!r} is not one", "no such day") from None
    else:
        raise _bad(field, f"{field} must be a date as YYYY-MM-DD, not {value!r}", "expected YYYY-MM-DD")
    if not FIRST_DAY <= day <= LAST_DAY:
        raise _bad(field, f"{field} must be between {FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()}",
                   "out of range")
    return day


#: How a number out of its range is refused (a Phrase: the web layer says it in the reader's language).
WHOLE_NUMBER = "%(field)s must be a whole number from %(low)s to %(high)s, not %(value)s"


def parse_whole_number(value: object, field: str, low: int, high: int, template: str = WHOLE_NUMBER) -> int:
    """A whole number from ``low`` to ``high``, given as an int or as decimal digits (refused with ``template``, a
    Phrase the web layer says in the reader's language)."""
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and re.fullmatch(r"[+-]?\d{1,9}", value.strip()):
        number = int(value.strip())
    if number is None or not low <= number <= high:
        raise _bad(field, Phrase(template, field=field, low=low, high=high, value=repr(value)[:40]),
                   f"expected {low}..{high}")
    return number


def parse_year(value: object, field: str = "year") -> int:
    return parse_whole_number(value, field, FIRST_DAY.year, LAST_DAY.year,
                              "a year must be a whole number from %(low)s to %(high)s, not %(value)s")


def _bad(field: str, message: str, problem: str) -> InvalidInput:
    return InvalidInput(message, [Problem(problem, field=field)])


#: When a working-day deadline falls due: the end of the office day, Beijing time.
END_OF_WORKING_DAY = time(17, 30)

#: The calendar of the command being run (overrides included), for scripts and timer expressions.
COMMAND_CALENDAR: ContextVar[Callable[[], WorkingCalendar] | None] = ContextVar("command_calendar", default=None)


def calendar_in_effect() -> WorkingCalendar:
    """The running command's calendar; outside a command, the official calendar alone."""
    source = COMMAND_CALENDAR.get()
    return source() if source is not None else WorkingCalendar()


def working_deadline(calendar: WorkingCalendar, today: date, n: int, at: time = END_OF_WORKING_DAY) -> datetime:
    """``at`` o'clock (Beijing time) on the date ``n`` working days after ``today``."""
    return datetime.combine(calendar.add_working_days(today, n), at, tzinfo=BUSINESS_TZ)
