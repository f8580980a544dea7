"""Schedules: when the engine starts work by itself.

Two sources: schedules (shipped in ``config/schedules.toml``, kept and changed by administrators in the
database: :mod:`engine.commands.schedule_admin`) and the timer start events of deployed processes (an ISO
date, a duration counted from the deployment, or a cycle ``R[n]/start/period``).

A schedule fires by a cron expression in Beijing time or by a rule of the bureau's calendar, which keeps
circulars and deadlines on working days by China's calendar: ``first_working_day`` of the month,
``nth_working_day`` (``n``), or ``day_of_month`` (``day``, moved to the next working day when it is not one).
``months`` restricts it to some months (``[3, 9]``), ``term_only`` keeps it out of the school holiday months
of the term calendar (:mod:`engine.org.term_calendar`). It may start one instance per org unit of a kind
(``for_each = "school"``), with start variables rendered from the fire time (``{ year = "{year}" }``).
Occurrences are computed here, without side effects; the scheduler fires them.
"""

from __future__ import annotations

import calendar
import hashlib
import re
import tomllib
from calendar import monthrange
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from string import Formatter
from typing import Any, Protocol

from apscheduler.triggers.cron import CronTrigger
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.access.starting import ENGINE_KEYS
from engine.bpmn.timevalues import parse_instant
from engine.clock import BUSINESS_TZ
from engine.errors import InvalidInput, Problem
from engine.org.directory import UNIT_KINDS
from engine.org.term_calendar import TermCalendar

#: The calendar rules, each with the field it needs besides ``at`` (None: none).
RULES: dict[str, str | None] = {
    "first_working_day": None,  # the month's first working day
    "nth_working_day": "n",     # the month's n-th working day
    "day_of_month": "day",      # that day of the month, or the next working day when it is not one
}
#: The longest schedule key: it and an ISO fire time and a unit id make an instance's business key (200).
MAX_KEY = 100
#: What a schedule entry may say (a file's ``[[schedule]]`` table, or an administrator's edit).
FIELDS = ("key", "process", "cron", "rule", "n", "day", "months", "term_only", "at", "for_each", "variables",
          "enabled", "note")
#: What ``{...}`` in a start variable may name; each is read from the fire time (Beijing time).
PLACEHOLDERS = ("year", "month", "day", "date", "semester", "semester_start", "semester_end")
_WHOLE_NUMBERS = frozenset({"year", "month", "day"})
_SPEC = re.compile(r"0?\d{0,2}d?")
MAX_VARIABLES = 20
MAX_TEXT = 300
#: The most occurrences one schedule lists for a year (a cron of every minute would list half a million).
MAX_YEAR_OCCURRENCES = 400


class ScheduleCalendar(Protocol):
    """What a rule asks of the working-day calendar (:class:`engine.org.calendar.WorkingCalendar`)."""

    def first_working_day_of_month(self, year: int, month: int) -> date: ...

    def add_working_days(self, day: date, n: int) -> date: ...


@dataclass(frozen=True)
class Schedule:
    key: str
    process_key: str
    cron: str | None = None
    rule: str | None = None
    at: time = time(8, 0)
    #: Start one instance per org unit of this kind (scoped to it) instead of one instance.
    for_each: str | None = None
    #: From a timer start event: its kind (date, duration, cycle) and ISO value.
    timer: tuple[str, str] | None = None
    #: The instant a duration timer counts from (when its process was deployed).
    anchor: datetime | None = None
    #: The timer start event an occurrence starts the instance through.
    start_event: str | None = None
    #: The rule's number: the n of ``nth_working_day``, the day of ``day_of_month``.
    n: int | None = None
    #: Only in these months (empty: every month).
    months: tuple[int, ...] = ()
    #: Never in a school holiday month (the term calendar's).
    term_only: bool = False
    #: Start variables; text may name placeholders (``{year}``) filled from the fire time.
    variables: Mapping[str, Any] = field(default_factory=dict)
    #: A paused schedule fires nothing; its missed occurrences are not caught up when it resumes.
    enabled: bool = True
    #: Why it exists (the notice's words), for the administrator reading it.
    note: str | None = None

    def occurrences(self, after: datetime, until: datetime, calendar: ScheduleCalendar,
                    term: TermCalendar | None = None) -> Iterator[datetime]:
        """Every fire time in (``after``, ``until``], oldest first, as aware UTC-comparable instants.

        ``term`` is the school term calendar a ``term_only`` schedule keeps to (the defaults when None).
        """
        if self.timer is not None:
            yield from _timer_occurrences(*self.timer, self.anchor, after, until)
            return
        if self.cron is not None:
            trigger = CronTrigger.from_crontab(self.cron, timezone=BUSINESS_TZ)
            previous = after.astimezone(BUSINESS_TZ)
            while True:
                upcoming = trigger.get_next_fire_time(previous, previous + timedelta(microseconds=1))
                if upcoming is None or upcoming > until:
                    return
                if self._in_season(upcoming.month, term):
                    yield upcoming
                previous = upcoming
        month = after.astimezone(BUSINESS_TZ).date().replace(day=1)
        last = until.astimezone(BUSINESS_TZ).date()
        while month <= last:
            if self._in_season(month.month, term):
                fire = datetime.combine(self._rule_date(month.year, month.month, calendar), self.at,
                                        tzinfo=BUSINESS_TZ)
                if fire > until:
                    return
                if fire > after:
                    yield fire
            month = (month + timedelta(days=32)).replace(day=1)

    def _in_season(self, month: int, term: TermCalendar | None) -> bool:
        if self.months and month not in self.months:
            return False
        return not self.term_only or (term or TermCalendar()).in_term(month)

    def _rule_date(self, year: int, month: int, calendar: ScheduleCalendar) -> date:
        first = calendar.first_working_day_of_month(year, month)
        if self.rule == "nth_working_day":
            return calendar.add_working_days(first, (self.n or 1) - 1)
        if self.rule == "day_of_month":
            day = date(year, month, min(self.n or 1, monthrange(year, month)[1]))
            return calendar.add_working_days(day, 0)  # a weekend or holiday moves to the next working day
        return first

    def start_variables(self, fire_time: datetime, term: TermCalendar | None = None) -> dict[str, Any]:
        """The start variables of the occurrence at ``fire_time``, placeholders filled in."""
        return render_variables(self.variables, fire_time, term)

    def entry(self) -> dict[str, Any]:
        """The schedule as a file entry (and as stored): only what it says, in :data:`FIELDS` order."""
        values = {"key": self.key, "process": self.process_key, "cron": self.cron, "rule": self.rule,
                  "n": self.n if self.rule == "nth_working_day" else None,
                  "day": self.n if self.rule == "day_of_month" else None,
                  "months": list(self.months) or None, "term_only": self.term_only or None,
                  "at": self.at.strftime("%H:%M") if self.rule else None, "for_each": self.for_each,
                  "variables": dict(self.variables) or None, "enabled": None if self.enabled else False,
                  "note": self.note}
        return {name: value for name, value in values.items() if value is not None}


def render_variables(variables: Mapping[str, Any], fire_time: datetime,
                     term: TermCalendar | None = None) -> dict[str, Any]:
    """Fill each ``{placeholder}`` of the text values from the fire time (Beijing time).

    A value that is exactly ``{year}``, ``{month}`` or ``{day}`` becomes a whole number (a start form's number
    field); other text stays text: ``"{year}年春季学期"``.
    """
    local = fire_time.astimezone(BUSINESS_TZ)
    semester = (term or TermCalendar()).semester_of(local.date())
    values: dict[str, Any] = {"year": local.year, "month": local.month, "day": local.day,
                              "date": local.date().isoformat(), "semester": semester.name,
                              "semester_start": semester.start.isoformat(), "semester_end": semester.end.isoformat()}
    return {name: [_render(v, values) for v in value] if isinstance(value, list) else _render(value, values)
            for name, value in variables.items()}


def _render(value: Any, values: dict[str, Any]) -> Any:
    if not isinstance(value, str):
        return value
    whole = value.strip()
    if whole[1:-1] in _WHOLE_NUMBERS and whole == "{" + whole[1:-1] + "}":
        return values[whole[1:-1]]
    return value.format_map(values)


def load_schedules(path: Path) -> list[Schedule]:
    """The schedules in ``path`` (a missing file means none); raises InvalidInput naming the bad entry."""
    if not path.exists():
        return []
    try:
        entries = tomllib.loads(path.read_text(encoding="utf-8")).get("schedule", [])
    except tomllib.TOMLDecodeError as err:
        raise InvalidInput(f"{path.name} is not valid TOML: {err}", [Problem(str(err), file=str(path))]) from None
    if not isinstance(entries, list):
        raise InvalidInput(f"{path.name}: write each schedule as a [[schedule]] table",
                           [Problem("expected [[schedule]] tables", file=str(path))])
    schedules, keys = [], set()
    for index, entry in enumerate(entries):
        schedule = parse_schedule(entry, f"schedule[{index}]")
        if schedule.key in keys:
            raise InvalidInput(f"schedule[{index}] repeats the key '{schedule.key}'",
                               [Problem("repeated key", field=f"schedule[{index}].key")])
        keys.add(schedule.key)
        schedules.append(schedule)
    return schedules


def parse_schedule(entry: object, where: str = "schedule") -> Schedule:
    """The schedule a file entry or an administrator's edit describes; raises InvalidInput naming the field.

    ``where`` says which entry it is (``schedule[3]``); the error names it, the key and the field.
    """
    if not isinstance(entry, Mapping):
        raise InvalidInput(f"{where} must be a table of fields", [Problem("expected a table", field=where)])
    key = entry.get("key")
    named = f"{where} ({key})" if isinstance(key, str) and key else where

    def bad(name: str, message: str) -> InvalidInput:
        return InvalidInput(f"{named}: {name}: {message}", [Problem(message, field=f"{where}.{name}")])

    unknown = sorted(str(name) for name in entry if name not in FIELDS)
    if unknown:
        raise bad(unknown[0], f"not a field of a schedule (fields: {', '.join(FIELDS)})")
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY:
        raise bad("key", f"give a unique key of at most {MAX_KEY} characters")
    process = entry.get("process")
    if not isinstance(process, str) or not process.strip() or len(process) > MAX_KEY:
        raise bad("process", "give the key of the process to start")
    cron, rule = entry.get("cron"), entry.get("rule")
    if (cron is None) == (rule is None):
        raise bad("rule", f"give either cron or rule (one of {', '.join(RULES)})")
    number = None
    if cron is not None:
        if not isinstance(cron, str):
            raise bad("cron", "give five cron fields: minute hour day month weekday")
        try:
            CronTrigger.from_crontab(cron, timezone=BUSINESS_TZ)
        except ValueError as err:
            raise bad("cron", f"bad cron '{cron}': {err}") from None
        for name in ("n", "day", "at"):
            if entry.get(name) is not None:
                raise bad(name, "a cron expression says the day and time itself; leave this out")
    else:
        if rule not in RULES:
            raise bad("rule", f"'{rule}' is not a rule (one of {', '.join(RULES)})")
        needed = RULES[rule]
        for name in ("n", "day"):
            if name != needed and entry.get(name) is not None:
                raise bad(name, f"the rule {rule} takes no {name}")
        if needed is not None:
            number = entry.get(needed)
            high = 23 if needed == "n" else 31
            if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= high:
                raise bad(needed, f"the rule {rule} needs {needed}, a whole number from 1 to {high}")
    at = time(8, 0)
    if entry.get("at") is not None:
        try:
            at = time.fromisoformat(entry["at"])
        except (TypeError, ValueError):
            at = None  # type: ignore[assignment]
        if at is None or at.second or at.microsecond or at.tzinfo is not None:
            raise bad("at", "give a time of day like 08:30 (Beijing time)")
    months = entry.get("months") or []
    if not isinstance(months, list) or (not months and entry.get("months") is not None) or any(
            isinstance(m, bool) or not isinstance(m, int) or not 1 <= m <= 12 for m in months):
        raise bad("months", "give the months as a list of numbers from 1 to 12, such as [3, 9]")
    term_only, enabled = entry.get("term_only", False), entry.get("enabled", True)
    if not isinstance(term_only, bool):
        raise bad("term_only", "give true (never in a school holiday month) or false")
    if not isinstance(enabled, bool):
        raise bad("enabled", "give true (it fires) or false (paused)")
    for_each = entry.get("for_each")
    if for_each is not None and for_each not in UNIT_KINDS:
        raise bad("for_each", f"'{for_each}' is not a unit kind ({', '.join(UNIT_KINDS)})")
    note = entry.get("note")
    if note is not None and (not isinstance(note, str) or len(note) > MAX_TEXT):
        raise bad("note", f"give a text of at most {MAX_TEXT} characters")
    variables = _variables(entry.get("variables"), bad)
    return Schedule(key.strip(), process.strip(), cron=cron, rule=rule, at=at, for_each=for_each, n=number,
                    months=tuple(sorted(set(months))), term_only=term_only, variables=variables, enabled=enabled,
                    note=note)


def _variables(value: object, bad: Callable[[str, str], InvalidInput]) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or len(value) > MAX_VARIABLES:
        raise bad("variables", f"give a table of at most {MAX_VARIABLES} start variables, such as "
                               '{ year = "{year}" }')
    variables = {}
    for name, item in value.items():
        where = f"variables.{name}"
        if not isinstance(name, str) or not name.isidentifier() or len(name) > MAX_KEY:
            raise bad(where, "a start variable's name is a word of letters, digits and _")
        if name in ENGINE_KEYS:
            raise bad(where, f"'{name}' is set by the engine itself")
        items = item if isinstance(item, list) else [item]
        if len(items) > MAX_VARIABLES:
            raise bad(where, f"a list of at most {MAX_VARIABLES} values")
        for one in items:
            _check_value(one, lambda message, where=where: bad(where, message))
        variables[name] = item
    return variables


def timer_schedule(process_key: str, element_id: str, trigger: str, deployed_at: datetime,
                   for_each: str | None = None) -> Schedule:
    """The schedule of a timer start event, from its stored trigger ``kind:value`` (see :func:`check_timer`)."""
    kind, _, value = trigger.partition(":")
    key = f"{process_key}.{element_id}"
    if len(key) > MAX_KEY:  # the fire log's key column; a business key adds the fire time to it
        key = f"{key[:MAX_KEY - 17]}~{hashlib.sha256(key.encode()).hexdigest()[:16]}"
    return Schedule(key, process_key, timer=(kind, value), anchor=deployed_at, start_event=element_id,
                    for_each=for_each)


#: The shortest cycle a timer start event may have: the scheduler is not a metronome.
MIN_PERIOD = timedelta(minutes=1)


def check_timer(kind: str, value: str) -> None:
    """Raise ValueError unless ``value`` is a timer start event value of ``kind`` a scheduler can follow."""
    now = datetime.now(BUSINESS_TZ)
    try:
        if kind == "date":
            parse_instant(value)
        elif kind == "duration":
            _plus(now, _duration(value))
        elif kind == "cycle":
            _repetitions, start, period = _cycle(value, now)
            if _plus(start, period) - start < MIN_PERIOD:
                raise ValueError(f"the period of '{value}' is shorter than a minute")
            _plus(start, {unit: amount * 1000 for unit, amount in period.items()})  # far occurrences exist too
        else:
            raise ValueError(f"unknown timer kind '{kind}'")
    except OverflowError as err:
        raise ValueError(f"'{value}' reaches beyond the calendar: {err}") from None


def _duration(value: str) -> dict[str, float]:
    if not value.strip().upper().startswith("P"):
        raise ValueError(f"'{value}' is not an ISO-8601 duration such as P1D or PT12H")
    try:
        return TimerEventDefinition.parse_iso_duration(value.strip())
    except Exception as err:  # SpiffWorkflow raises a bare Exception for a bad duration
        raise ValueError(f"'{value}' is not an ISO-8601 duration such as P1D or PT12H") from err


def _cycle(value: str, anchor: datetime) -> tuple[int, datetime, dict[str, float]]:
    """``R[n]/start/period`` or ``R[n]/period`` (from ``anchor``): repetitions (-1: no end), start, period."""
    parts = value.strip().split("/")
    if len(parts) not in (2, 3) or not parts[0].upper().startswith("R"):
        raise ValueError(f"'{value}' is not an ISO-8601 cycle such as R/2026-03-01T08:00/P1M or R12/P1M")
    count = parts[0][1:]
    if count and not count.isdigit():
        raise ValueError(f"'{parts[0]}' must be R or R followed by a number of repetitions")
    start = parse_instant(parts[1]) if len(parts) == 3 else anchor
    period = _duration(parts[-1])
    if not any(period.values()):
        raise ValueError(f"the period of '{value}' is empty")
    return (int(count) if count else -1), start, period


def _check_value(value: object, bad: Callable[[str], InvalidInput]) -> None:
    """A start variable's value: a text (placeholders checked), a number or true/false."""
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise bad(f"at most {MAX_TEXT} characters")
        try:
            fields = list(Formatter().parse(value))
        except ValueError as err:
            raise bad(f"'{value}' is not a text with placeholders: {err} (write {{{{ for a brace)") from None
        for _text, placeholder, spec, conversion in fields:
            if placeholder is None:
                continue
            if placeholder not in PLACEHOLDERS or conversion or not _SPEC.fullmatch(spec or "") \
                    or (spec and placeholder not in _WHOLE_NUMBERS):  # {month:02d}, never {semester:02d}
                raise bad(f"'{{{placeholder}}}' is not a placeholder; use "
                          + ", ".join("{" + p + "}" for p in PLACEHOLDERS))
    elif isinstance(value, bool) or (isinstance(value, (int, float)) and abs(value) < 1e15):
        return
    else:
        raise bad("give a text, a number, true/false, or a list of them")


def _timer_occurrences(kind: str, value: str, anchor: datetime | None, after: datetime,
                       until: datetime) -> Iterator[datetime]:
    anchor = anchor or after
    if kind in ("date", "duration"):
        moment = parse_instant(value) if kind == "date" else _plus(anchor, _duration(value))
        if after < moment <= until:
            yield moment
        return
    repetitions, start, period = _cycle(value, anchor)
    n = 0
    if not period.get("years") and not period.get("months") and start <= after:
        n = (after - start) // (_plus(start, period) - start)  # a cycle of minutes may have run for years
    while repetitions < 0 or n < repetitions:
        moment = _plus(start, {unit: amount * n for unit, amount in period.items()})  # n periods from the start
        if moment > until:
            return
        if moment > after:
            yield moment
        n += 1


def _plus(moment: datetime, period: dict[str, float]) -> datetime:
    """``moment`` plus an ISO period: years and months by the calendar (31 Jan + P1M is 28 or 29 Feb)."""
    local = moment.astimezone(BUSINESS_TZ)
    months = local.month - 1 + int(period.get("months", 0)) + 12 * int(period.get("years", 0))
    year, month = local.year + months // 12, months % 12 + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    rest = timedelta(weeks=period.get("weeks", 0), days=period.get("days", 0), hours=period.get("hours", 0),
                     minutes=period.get("minutes", 0), seconds=period.get("seconds", 0))
    return local.replace(year=year, month=month, day=day) + rest
