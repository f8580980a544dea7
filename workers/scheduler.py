"""The scheduler: fires the occurrences of the schedules (those in force in the database, loaded from
``config/schedules.toml`` and changed by administrators, and the timer start events of deployed processes)
on the engine clock, each with its start variables rendered from the fire time.

Each tick looks, for every schedule, at the occurrences since it last looked (a watermark kept in the
database, so a restart knows) and fires them through the idempotent ``FireSchedule`` command. After
downtime several may be due: the missed ones are run once, as one late occurrence (the newest), and
marked late. On a fresh database only occurrences within the grace period count. A paused schedule fires
nothing and its watermark moves on, so resuming it does not catch up what it skipped. Exactly one
scheduler should run per deployment: ``huhua scheduler`` takes a leader lock (a PostgreSQL advisory
lock, or a file lock beside the SQLite database) and a second one waits for it as a standby; the fire log's
unique key makes a double fire harmless. SIGTERM ends the leader after its current tick, releasing the lock
for the standby, and ends a standby while it waits.
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
from engine.errors import Conflict, HuhuaError
from engine.schedules import Schedule
from workers.job_worker import run_due_jobs

log = logging.getLogger("huhua.scheduler")

#: An occurrence fired later than this after its time is marked late.
GRACE = timedelta(minutes=5)
_LOCK_KEY = 7_370_221  # the advisory lock of the one scheduler of a deployment


class ScheduleRunner:
    """Fires due occurrences; ``schedules`` replaces the database's schedules (a test's or a benchmark's own)."""

    def __init__(self, huhua: Huhua, schedules: list[Schedule] | None = None, grace: timedelta = GRACE) -> None:
        self.huhua = huhua
        self.schedules = schedules
        self.grace = grace

    def all_schedules(self) -> list[Schedule]:
        """The schedules in force (paused ones too) and those of the timer start events deployed now."""
        return self._configured() + self.huhua.queries.timer_schedules()

    def _configured(self) -> list[Schedule]:
        if self.schedules is not None:
            return self.schedules
        try:
            return self.huhua.queries.configured_schedules()
        except HuhuaError:  # the shipped file broke while running: keep to what is stored
            log.exception("config/schedules.toml cannot be read; firing the stored schedules only")
            return [record["schedule"] for record in self.huhua.queries.schedule_records().values()]

    def tick(self) -> list[dict[str, Any]]:
        """Fire whatever occurrence is due now; returns what was fired."""
        now = self.huhua.clock.now()
        calendar = self.huhua.queries.calendar.working_calendar()
        term = self.huhua.queries.term_calendar()
        fired, checked = [], {}
        watermarks = self.huhua.queries.schedules_checked_until()
        for schedule in self.all_schedules():
            if not schedule.enabled:
                checked[schedule.key] = now  # paused: what it skips now is not caught up when it resumes
                continue
            try:
                last = watermarks.get(schedule.key)
                after = last if last is not None else now - self.grace
                due = list(schedule.occurrences(after, now, calendar, term))
                variables = schedule.start_variables(due[-1], term) if due else {}
            except Exception:  # a schedule whose times cannot be computed must not stop the others
                log.exception("schedule %s: its occurrences cannot be computed", schedule.key)
                continue
            if due:
                occurrence = due[-1]  # missed ones run once, as the newest
                late = len(due) > 1 or now - occurrence > self.grace
                try:
                    result = self.huhua.execute(FireSchedule(
                        schedule.key, occurrence, schedule.process_key, late=late, for_each=schedule.for_each,
                        start_event=schedule.start_event, variables=variables))
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
        term = self.huhua.queries.term_calendar()
        upcoming = []
        for schedule in self.all_schedules():
            if not schedule.enabled:
                continue
            try:
                upcoming.append(next(schedule.occurrences(now, until, calendar, term), None))
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
def leadership(huhua: Huhua, wait_seconds: float = 5.0,
               stopping: threading.Event | None = None) -> Iterator[bool]:
    """Hold the deployment's scheduler lock while the block runs (it gets True); wait (and say so) while another
    holds it — a standby. ``stopping`` set while waiting ends the wait: the block then gets False and must not
    fire anything. The lock is a PostgreSQL advisory lock held by one connection (the server drops it with the
    connection if the process dies), or a file lock beside the SQLite database."""
    stopping = stopping or threading.Event()
    database = huhua.services.database
    if database.is_sqlite:
        path = huhua.settings.data_dir / "scheduler.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w") as handle:
            while not stopping.is_set():
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    log.info("another scheduler is running; waiting")
                    stopping.wait(wait_seconds)
            else:
                yield False
                return
            log.info("this scheduler leads")
            yield True
        return
    with database.engine.connect() as connection:
        while not connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": _LOCK_KEY}).scalar():
            connection.rollback()
            log.info("another scheduler is running; waiting")
            if stopping.wait(wait_seconds):
                yield False
                return
        connection.commit()
        log.info("this scheduler leads")
        try:
            yield True
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _LOCK_KEY})
            connection.commit()
            log.info("this scheduler stopped leading")


class SchedulerThread:
    """The scheduler of ``huhua serve``: ticks every ``interval`` seconds in a daemon thread, as leader."""

    def __init__(self, huhua: Huhua, schedules: list[Schedule] | None = None, interval: float = 30.0) -> None:
        self.runner = ScheduleRunner(huhua, schedules)
        self.interval = interval
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=self.run, name="huhua-scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def run(self) -> None:
        """Tick as leader until :meth:`stop` (or SIGTERM in ``huhua scheduler``); a standby stops while waiting."""
        with leadership(self.runner.huhua, stopping=self.stopping) as leading:
            while leading and not self.stopping.is_set():
                try:
                    for fired in self.runner.tick():
                        log.info("fired %s", fired)
                except Exception:
                    log.exception("scheduler tick failed")
                self.stopping.wait(self.interval)

    def stop(self, timeout: float = 10.0) -> None:
        self.stopping.set()
        self._thread.join(timeout)
