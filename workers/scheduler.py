"""The scheduler: fires the occurrences of the schedules (``config/schedules.toml`` and the timer start
events of deployed processes) on the engine clock.

Each tick looks, for every schedule, at the occurrences since it last looked (a watermark kept in the
database, so a restart knows) and fires them through the idempotent ``FireSchedule`` command. After
downtime several may be due: the missed ones are run once, as one late occurrence (the newest), and
marked late. On a fresh database only occurrences within the grace period count. Exactly one
scheduler should run per deployment: ``huhua scheduler`` takes a leader lock (a PostgreSQL advisory
lock, or a file lock beside the SQLite database) and a second one waits for it; the fire log's unique
key makes a double fire harmless.
On a virtual clock, :func:`advance_clock` moves time from one due timer or occurrence to the next.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text

from engine.bootstrap import Huhua
from engine.clock import VirtualClock
from engine.commands import FireSchedule, MarkSchedulesChecked
from engine.errors import Conflict
from engine.schedules import Schedule
from workers.job_worker import run_due_jobs

log = logging.getLogger("huhua.scheduler")

#: An occurrence fired later than this after its time is marked late.
GRACE = timedelta(minutes=5)
_LOCK_KEY = 7_370_221  # the advisory lock of the one scheduler of a deployment


class ScheduleRunner:
    def __init__(self, huhua: Huhua, schedules: list[Schedule], grace: timedelta = GRACE) -> None:
        self.huhua = huhua
        self.schedules = schedules
        self.grace = grace

    def all_schedules(self) -> list[Schedule]:
        """The configured schedules and those of the timer start events deployed now."""
        return self.schedules + self.huhua.queries.timer_schedules()

    def tick(self) -> list[dict[str, Any]]:
        """Fire whatever occurrence is due now; returns what was fired."""
        now = self.huhua.clock.now()
        calendar = self.huhua.queries.calendar.working_calendar()
        fired, checked = [], {}
        for schedule in self.all_schedules():
            try:
                last = self.huhua.queries.schedule_checked_until(schedule.key)
                after = last if last is not None else now - self.grace
                due = list(schedule.occurrences(after, now, calendar.first_working_day_of_month))
            except Exception:  # a schedule whose times cannot be computed must not stop the others
                log.exception("schedule %s: its occurrences cannot be computed", schedule.key)
                continue
            if due:
                occurrence = due[-1]  # missed ones run once, as the newest
                late = len(due) > 1 or now - occurrence > self.grace
                try:
                    result = self.huhua.execute(FireSchedule(
                        schedule.key, occurrence, schedule.process_key, late=late, for_each=schedule.for_each,
                        start_event=schedule.start_event))
                except Conflict:
                    # Another scheduler logged it at the same moment, or the database was busy: only the
                    # fire log can tell, and without that entry the occurrence must be tried again.
                    if not self.huhua.queries.schedule_fired(schedule.key, occurrence):
                        continue
                    result = {"fired": False}
                except Exception:  # a broken schedule must not stop the others; it is tried again next tick
                    log.exception("schedule %s could not fire", schedule.key)
                    continue
                if result["fired"]:
                    fired.append({"schedule": schedule.key, "fire_time": occurrence.isoformat(), **result})
            checked[schedule.key] = now
        if checked:
            with contextlib.suppress(Conflict):  # a second scheduler marked them at the same moment
                self.huhua.execute(MarkSchedulesChecked(checked))
        return fired

    def next_occurrence(self, until: datetime) -> datetime | None:
        now = self.huhua.clock.now()
        calendar = self.huhua.queries.calendar.working_calendar()
        upcoming = []
        for schedule in self.all_schedules():
            try:
                upcoming.append(next(schedule.occurrences(now, until, calendar.first_working_day_of_month), None))
            except Exception:  # already logged by tick
                continue
        return min((u for u in upcoming if u is not None), default=None)


def advance_clock(huhua: Huhua, clock: VirtualClock, until: datetime, runner: ScheduleRunner | None = None) -> None:
    """Move a virtual clock to ``until``, stopping at every due timer and schedule occurrence in order."""
    while True:
        run_due_jobs(huhua)
        if runner is not None:
            runner.tick()
        candidates = [huhua.queries.next_job_due(), runner.next_occurrence(until) if runner else None]
        upcoming = min((c for c in candidates if c is not None and c <= until), default=None)
        if upcoming is None:
            clock.set(max(until, clock.now()))
            run_due_jobs(huhua)
            if runner is not None:
                runner.tick()
            return
        clock.set(max(upcoming, clock.now()))


@contextmanager
def leadership(huhua: Huhua, wait_seconds: float = 5.0) -> Iterator[None]:
    """Hold the deployment's scheduler lock while the block runs; wait (and say so) while another holds it."""
    database = huhua.services.database
    if database.is_sqlite:
        path = huhua.settings.data_dir / "scheduler.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w") as handle:
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    log.info("another scheduler is running; waiting")
                    threading.Event().wait(wait_seconds)
            yield
        return
    with database.engine.connect() as connection:
        while not connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": _LOCK_KEY}).scalar():
            connection.rollback()
            log.info("another scheduler is running; waiting")
            threading.Event().wait(wait_seconds)
        connection.commit()
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _LOCK_KEY})
            connection.commit()


class SchedulerThread:
    """The scheduler of ``huhua serve``: ticks every ``interval`` seconds in a daemon thread, as leader."""

    def __init__(self, huhua: Huhua, schedules: list[Schedule], interval: float = 30.0) -> None:
        self.runner = ScheduleRunner(huhua, schedules)
        self.interval = interval
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=self.run, name="huhua-scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def run(self) -> None:
        with leadership(self.runner.huhua):
            while not self.stopping.is_set():
                try:
                    for fired in self.runner.tick():
                        log.info("fired %s", fired)
                except Exception:
                    log.exception("scheduler tick failed")
                self.stopping.wait(self.interval)

    def stop(self, timeout: float = 10.0) -> None:
        self.stopping.set()
        self._thread.join(timeout)
