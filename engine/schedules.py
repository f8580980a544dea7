"""Schedules: when the engine starts work by itself, read from ``config/schedules.toml``.

A schedule names a process and either a cron expression (five fields, Beijing time) or the rule
``first_working_day`` (the first working day of every month, by China's working-day calendar, at a
time of day). Occurrences are computed here, without side effects; the scheduler fires them.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from apscheduler.triggers.cron import CronTrigger

from engine.clock import BUSINESS_TZ
from engine.errors import InvalidInput, Problem

RULES = ("first_working_day",)


@dataclass(frozen=True)
class Schedule:
    key: str
    process_key: str
    cron: str | None = None
    rule: str | None = None
    at: time = time(8, 0)

    def occurrences(self, after: datetime, until: datetime,
                    first_working_day: Callable[[int, int], date]) -> Iterator[datetime]:
        """Every fire time in (``after``, ``until``], oldest first, as aware UTC-comparable instants."""
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
        if not isinstance(key, str) or not key or key in keys:
            raise InvalidInput(f"{where} needs a unique key", [Problem("missing or repeated key", field=where)])
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
        keys.add(key)
        schedules.append(Schedule(key, process, cron, rule, at))
    return schedules
