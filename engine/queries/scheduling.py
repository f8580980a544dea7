"""What the scheduler and the workers ask: the schedules in force and the term calendar, whether a schedule
fired, how far it was checked, the timer start events' schedules, the jobs due and what a job carries, and where
a webhook delivery goes."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from engine.org.term_calendar import TermCalendar, term_calendar_from
from engine.schedules import Schedule, load_schedules, parse_schedule, timer_schedule
from engine.store.database import Database
from engine.store.models import (
    Job,
    ProcessDefinition,
    ScheduleDefinition,
    ScheduleFire,
    ScheduleWatermark,
    StartTrigger,
    TermCalendarSetting,
    WebhookSubscription,
)


class SchedulingFamily:
    """The scheduling questions of :class:`engine.queries.Queries`."""

    database: Database
    schedules_file: Path | None

    def configured_schedules(self) -> list[Schedule]:
        """The schedules in force, paused ones included: as stored (loaded from the shipped file, or changed by
        an administrator), and the shipped entries not loaded yet (before the scheduler's first start)."""
        stored = self.schedule_records()
        shipped = load_schedules(self.schedules_file) if self.schedules_file is not None else []
        schedules = [record["schedule"] for record in stored.values()]
        return schedules + [s for s in shipped if s.key not in stored]

    def schedule_records(self) -> dict[str, dict[str, Any]]:
        """The stored schedules by key: the schedule, its origin (shipped, edited, withdrawn), who changed it last
        and when."""
        d = ScheduleDefinition
        with self.database.read() as session:
            rows = session.execute(select(d.key, d.entry, d.enabled, d.origin, d.changed_by, d.changed_at)
                                   .order_by(d.key)).all()
        return {row.key: {"schedule": replace(parse_schedule(json.loads(row.entry), f"schedule {row.key}"),
                                              enabled=row.enabled),
                          "origin": row.origin, "changed_by": row.changed_by, "changed_at": row.changed_at}
                for row in rows}

    def term_calendar(self) -> TermCalendar:
        """The school term calendar in force (the defaults until an administrator sets it)."""
        with self.database.read() as session:
            row = session.scalar(select(TermCalendarSetting).where(TermCalendarSetting.id == 1))
            return term_calendar_from(row)

    def schedule_fired(self, schedule_key: str, fire_time: datetime) -> bool:
        """Whether the occurrence is in the fire log (for one instance, or as a fan-out's own entry)."""
        with self.database.read() as session:
            return session.scalar(select(ScheduleFire.id).where(
                ScheduleFire.schedule_key == schedule_key, ScheduleFire.fire_time == fire_time,
                ScheduleFire.org_unit == "").limit(1)) is not None

    def schedule_checked_until(self, schedule_key: str) -> datetime | None:
        """How far the scheduler has looked at a schedule: its watermark, or its newest fire (None: never)."""
        return self.schedules_checked_until().get(schedule_key)

    def schedules_checked_until(self) -> dict[str, datetime]:
        """How far the scheduler has looked at each schedule it ever looked at, in two reads for all of them (a tick
        asks for every schedule: one read each made the scheduler's own work grow with the schedules)."""
        found: dict[str, datetime] = {}
        with self.database.read() as session:
            fired = session.execute(select(ScheduleFire.schedule_key, func.max(ScheduleFire.fire_time))
                                    .group_by(ScheduleFire.schedule_key)).all()
            checked = session.execute(select(ScheduleWatermark.schedule_key, ScheduleWatermark.checked_until)).all()
        for key, instant in [*fired, *checked]:
            if instant is not None and (key not in found or instant > found[key]):
                found[key] = instant
        return found

    def timer_schedules(self) -> list[Schedule]:
        """A schedule for each timer start event of the newest version of every process."""
        d = ProcessDefinition
        newest = select(d.key, func.max(d.version).label("version")).group_by(d.key).subquery()
        query = (select(StartTrigger.process_key, StartTrigger.element_id, StartTrigger.name, d.deployed_at)
                 .join(d, d.id == StartTrigger.definition_id)
                 .join(newest, (newest.c.key == d.key) & (newest.c.version == d.version))
                 .where(StartTrigger.kind == "timer").order_by(StartTrigger.process_key, StartTrigger.element_id))
        with self.database.read() as session:
            return [timer_schedule(row.process_key, row.element_id, row.name, row.deployed_at)
                    for row in session.execute(query)]

    def next_job_due(self) -> datetime | None:
        """When the next pending job falls due."""
        with self.database.read() as session:
            return session.scalar(select(func.min(Job.due_at)).where(Job.state == "pending"))

    def any_job_free_and_due(self, now: datetime) -> bool:
        """Whether some pending job is due at ``now`` and leased to nobody: a worker asks before it claims, so that
        an idle worker's poll is a read and takes no write lock (on SQLite the one lock every change waits for)."""
        with self.database.read() as session:
            return session.scalar(select(Job.id).where(
                Job.state == "pending", Job.due_at <= now, (Job.lease_until.is_(None)) | (Job.lease_until < now))
                .limit(1)) is not None

    def due_jobs(self, now: datetime, limit: int = 100) -> list[int]:
        """Ids of pending jobs due at ``now``, oldest first (read from the due-time index)."""
        with self.database.read() as session:
            return list(session.scalars(select(Job.id).where(Job.state == "pending", Job.due_at <= now)
                                        .order_by(Job.due_at, Job.id).limit(limit)))

    def job_payload(self, job_id: int) -> dict[str, Any]:
        """What a job carries for its worker (a service call's connector and parameters, say)."""
        with self.database.read() as session:
            payload = session.scalar(select(Job.payload).where(Job.id == job_id))
        return json.loads(payload) if payload else {}

    def webhook_target(self, subscription_id: int, now: datetime) -> tuple[str, list[str]] | None:
        """URL and the secrets valid at ``now`` (newest first) of an active subscription, for the worker
        delivering to it; None when it was removed."""
        with self.database.read() as session:
            row = session.execute(select(WebhookSubscription.url, WebhookSubscription.secret,
                                         WebhookSubscription.previous_secret,
                                         WebhookSubscription.previous_secret_until).where(
                WebhookSubscription.id == subscription_id, WebhookSubscription.active.is_(True))).first()
        if row is None:
            return None
        in_grace = row.previous_secret and row.previous_secret_until and row.previous_secret_until > now
        return row.url, [row.secret, row.previous_secret] if in_grace else [row.secret]
