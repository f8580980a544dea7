"""Schedules: when the engine starts work by itself.

Two sources: ``config/schedules.toml`` (a cron expression in Beijing time, or the rule
``first_working_day``: the first working day of every month by China's calendar, at a time of day)
and the timer start events of deployed processes (an ISO date, a duration counted from the
deployment, or a cycle ``R[n]/start/period``). A schedule may start one instance per org unit of a
kind (``for_each = "school"``). Occurrences are computed here, without side effects; the scheduler
fires them.
"""

from __future__ import annotations

import calendar
import hashlib
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from apscheduler.triggers.cron import CronTrigger
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.bpmn.timevalues import parse_instant
from engine.clock import BUSINESS_TZ
from engine.errors import InvalidInput, Problem
from engine.org.directory import UNIT_KINDS

RULES = ("first_working_day",)
#: The longest schedule key: it and an ISO fire time and a unit id make an instance's business key (200).
MAX_KEY = 100


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

    def occurrences(self, after: datetime, until: datetime,
                    first_working_day: Callable[[int, int], date]) -> Iterator[datetime]:
        """Every fire time in (``after``, ``until``], oldest first, as aware UTC-comparable instants."""
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
                yield upcoming
                previous = upcoming
        month = after.astimezone(BUSINESS_TZ).replace(day=1)
        while True:
            fire = datetime.combine(first_working_day(month.year, month.month), self.at, tzinfo=BUSINESS_TZ)
            if fire > until:
                return
            if fire > after:
                yield fire
            month = (month + timedelta(days=32)).replace(day=1)


def load_schedules(path: Path) -> list[Schedule]:
    """The schedules in ``path`` (a missing file means none); raises InvalidInput naming the bad entry."""
    if not path.exists():
        return []
    try:
        entries = tomllib.loads(path.read_text(encoding="utf-8")).get("schedule", [])
    except tomllib.TOMLDecodeError as err:
        raise InvalidInput(f"{path.name} is not valid TOML: {err}", [Problem(str(err), file=str(path))]) from None
    schedules, keys = [], set()
    for index, entry in enumerate(entries):
        where = f"schedule[{index}]"
        key, process, cron, rule = entry.get("key"), entry.get("process"), entry.get("cron"), entry.get("rule")
        if not isinstance(key, str) or not key or key in keys or len(key) > MAX_KEY:
            raise InvalidInput(f"{where} needs a unique key of at most {MAX_KEY} characters",
                               [Problem("missing, repeated or too long key", field=where)])
        if not isinstance(process, str) or not process:
            raise InvalidInput(f"{where} needs the key of the process to start", [Problem("missing", field=where)])
        if (cron is None) == (rule is None) or (rule is not None and rule not in RULES):
            raise InvalidInput(f"{where} needs either cron or rule (one of {', '.join(RULES)})",
                               [Problem("cron or rule", field=where)])
        if cron is not None:
            try:
                CronTrigger.from_crontab(cron, timezone=BUSINESS_TZ)
            except ValueError as err:
                raise InvalidInput(f"{where}: bad cron '{cron}': {err}", [Problem(str(err), field=where)]) from None
        try:
            at = time.fromisoformat(entry.get("at", "08:00"))
        except (TypeError, ValueError):
            raise InvalidInput(f"{where}: 'at' must be a time of day like 08:30",
                               [Problem("bad time", field=where)]) from None
        for_each = entry.get("for_each")
        if for_each is not None and for_each not in UNIT_KINDS:
            raise InvalidInput(f"{where}: for_each must be a unit kind ({', '.join(UNIT_KINDS)})",
                               [Problem(f"unknown unit kind '{for_each}'", field=where)])
        keys.add(key)
        schedules.append(Schedule(key, process, cron, rule, at, for_each))
    return schedules


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
