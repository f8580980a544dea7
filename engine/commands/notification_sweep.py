"""The working morning's sweep: reminders of what falls due, the daily digest, the leaders' weekly digest.

One ``notify_sweep`` job waits for the next working morning (``morning`` in config/notifications.toml, Beijing
time, by the working calendar with its overrides); running it tells, then plans the next one, so the sweep
reschedules itself. ``huhua serve``, ``worker`` and ``scheduler`` make sure one is waiting when they start
(:func:`plan_notification_sweep`); planning twice leaves one.

Reminders go once per task and rule, to the assignee or else everyone the task is offered to:
``task_due_tomorrow`` (due on the next working day, so on the last working day before a holiday a task due
after it), ``task_due_today`` and ``task_overdue``. Tasks are picked by a few set-based queries that leave out
those already reminded of the rule, so the morning after a busy month reads only what is new. ``task_overdue``
looks back :data:`OVERDUE_LOOKBACK_WORKING_DAYS` working days only: the first sweep after going live (or after a
long stop) does not tell everybody of everything overdue for months (the daily digest still counts it).

One pass tells of at most :data:`TASKS_PER_PASS` tasks, in one transaction; when more are left, the same job
runs again at once from where it stopped (its payload holds the rule and the last task id), so a big morning is
many short transactions, and the digests go with the last pass.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, exists, insert, select, text, update

from engine.clock import BUSINESS_TZ
from engine.commands.digests import daily_digests, first_working_day_of_week, weekly_digests
from engine.commands.requests import PlanNotificationSweep, SweepNotifications
from engine.commands.unit_of_work import UnitOfWork
from engine.errors import NotFound
from engine.notifications.planning import notify
from engine.notifications.recipients import responsible, task_facts
from engine.notifications.wording import day_text, moment_text, task_occasion
from engine.phrases import Phrase
from engine.store import tables

_j, _t, _n = tables.job, tables.human_task, tables.notification
#: The job kind of the morning sweep.
SWEEP_JOB = "notify_sweep"
#: Serialises planners on PostgreSQL (SQLite has one writer anyway): "notify" in ASCII.
_PLAN_LOCK = 0x6E6F74696679
#: How far back an overdue task is still reminded of (working days before today).
OVERDUE_LOOKBACK_WORKING_DAYS = 5
#: Tasks told of in one pass (one transaction) of the sweep.
TASKS_PER_PASS = 500


def plan_notification_sweep(command: PlanNotificationSweep, uow: UnitOfWork) -> dict[str, Any]:
    """The waiting sweep, made if there is none (extra ones, from a race of old, are cancelled)."""
    _serialise(uow)
    waiting = uow.read(select(_j.c.id, _j.c.due_at).where(_j.c.kind == SWEEP_JOB, _j.c.state == "pending")
                       .order_by(_j.c.due_at, _j.c.id)).all()
    if waiting:
        if len(waiting) > 1:
            uow.execute(update(_j).where(_j.c.id.in_([row.id for row in waiting[1:]]), _j.c.state == "pending")
                        .values(state="cancelled"))
        return {"job_id": waiting[0].id, "due_at": waiting[0].due_at.isoformat(), "planned": False}
    due = next_morning(uow, uow.now)
    return {"job_id": _add_sweep(uow, due), "due_at": due.isoformat(), "planned": True}


def sweep_notifications(command: SweepNotifications, uow: UnitOfWork) -> dict[str, Any]:
    job = uow.read(select(_j.c.id, _j.c.kind, _j.c.state, _j.c.payload).where(_j.c.id == command.job_id)).first()
    if job is None or job.kind != SWEEP_JOB:
        raise NotFound(Phrase("job %(id)s does not exist", id=command.job_id))
    _serialise(uow)
    today = uow.now.astimezone(BUSINESS_TZ).date()
    told: dict[str, int] = {}
    if uow.calendar.is_working_day(today):  # planned for working mornings; a day an override made a rest day rests
        told["reminders"], left_at = remind_of_due_tasks(uow, today, _resume_point(job.payload))
        if left_at is not None and job.state == "pending":  # more to tell: the same job again, at once
            uow.execute(update(_j).where(_j.c.id == job.id, _j.c.state == "pending").values(
                payload=json.dumps(left_at), due_at=uow.now, lease_owner=None, lease_until=None))
            return {"job_id": job.id, "day": today.isoformat(), "told": told, "next_job": None, "more": True}
        told["daily_digests"] = daily_digests(uow, today)
        if first_working_day_of_week(uow.calendar, today):
            told["weekly_digests"] = weekly_digests(uow, today)
    finished = uow.execute(update(_j).where(_j.c.id == job.id, _j.c.state == "pending")
                           .values(state="done", attempts=_j.c.attempts + 1, payload=None)).rowcount
    next_job = None
    if finished and not uow.read(select(_j.c.id).where(_j.c.kind == SWEEP_JOB, _j.c.state == "pending")).first():
        next_job = _add_sweep(uow, next_morning(uow, uow.now))
    return {"job_id": job.id, "day": today.isoformat(), "told": told, "next_job": next_job}


def remind_of_due_tasks(uow: UnitOfWork, today: date, start: tuple[int, int] = (0, 0)
                        ) -> tuple[int, tuple[int, int] | None]:
    """Tell of the open tasks due on the next working day, due today, and overdue (lately), once per task and rule,
    from ``start`` (the rule's index, the last task id done); how many were told, and where to go on (None: done)."""
    now = uow.now
    tomorrow = _start_of(today + timedelta(days=1))
    next_day = uow.calendar.next_working_day(today)
    horizon = _start_of(next_day + timedelta(days=1))
    since = _start_of(_working_days_before(uow, today, OVERDUE_LOOKBACK_WORKING_DAYS))
    rules = (("task_overdue", and_(_t.c.due_at <= now, _t.c.due_at >= since)),
             ("task_due_today", and_(_t.c.due_at > now, _t.c.due_at < tomorrow)),
             ("task_due_tomorrow", and_(_t.c.due_at >= tomorrow, _t.c.due_at < horizon)))
    public_url = uow.services.notifications.public_url
    told, budget = 0, TASKS_PER_PASS
    for index, (kind, window) in enumerate(rules):
        if index < start[0]:
            continue
        after = start[1] if index == start[0] else 0
        reminded = exists().where(_n.c.task_id == _t.c.id, _n.c.kind == kind)
        ids = uow.read(select(_t.c.id).where(_t.c.state == "open", _t.c.due_at.is_not(None), window, ~reminded,
                                             _t.c.id > after)
                       .order_by(_t.c.id).limit(budget)).scalars().all()
        tasks = task_facts(uow, ids)
        people = responsible(uow, tasks.values())
        for task_id in ids:
            task = tasks[task_id]
            when = _when(kind, task.due_at, today, next_day)  # type: ignore[arg-type]
            occasion = task_occasion(kind, task, public_url, f"{kind}:task:{task_id}", when=when)
            told += len(notify(uow, occasion, people.get(task_id, [])).notifications)
        budget -= len(ids)
        if budget <= 0:
            return told, (index, ids[-1])
    return told, None


def _resume_point(payload: str | None) -> tuple[int, int]:
    """Where an earlier pass of this morning's sweep stopped: (rule index, last task id), or the beginning."""
    try:
        rule, after = json.loads(payload or "null") or (0, 0)
        return int(rule), int(after)
    except (TypeError, ValueError):
        return 0, 0


def _working_days_before(uow: UnitOfWork, today: date, count: int) -> date:
    """The working day ``count`` working days before ``today`` (rest days and holidays skipped)."""
    day = today
    for _ in range(count):
        day -= timedelta(days=1)
        for _ in range(60):  # the longest run of rest days is far shorter
            if uow.calendar.is_working_day(day):
                break
            day -= timedelta(days=1)
    return day


def next_morning(uow: UnitOfWork, after: datetime) -> datetime:
    """The first working morning later than ``after`` (today's, if it is a working day and not past)."""
    hours, minutes = uow.services.notifications.morning.split(":")
    at = time(int(hours), int(minutes))
    local = after.astimezone(BUSINESS_TZ)
    today = local.date()
    if uow.calendar.is_working_day(today) and local < datetime.combine(today, at, BUSINESS_TZ):
        return datetime.combine(today, at, BUSINESS_TZ).astimezone(after.tzinfo)
    return datetime.combine(uow.calendar.next_working_day(today), at, BUSINESS_TZ).astimezone(after.tzinfo)


def _when(kind: str, due_at: datetime, today: date, next_day: date) -> str:
    local = due_at.astimezone(BUSINESS_TZ)
    if kind == "task_due_today":
        return f"今天 {local:%H:%M}"
    if kind == "task_due_tomorrow":
        if local.date() == today + timedelta(days=1):
            return f"明天（{day_text(local.date())}）{local:%H:%M}"
        if local.date() == next_day:
            return f"{moment_text(due_at)}（下一个工作日）"
        return f"{moment_text(due_at)}（休息日，请在今天办结）"
    return f"{moment_text(due_at)}（已逾期）"


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), BUSINESS_TZ)


def _add_sweep(uow: UnitOfWork, due: datetime) -> int:
    return int(uow.execute(insert(_j).values(
        kind=SWEEP_JOB, instance_id=None, spiff_task_id=None, element_id=None, due_at=due, state="pending",
        attempts=0, created_at=uow.now, payload=None).returning(_j.c.id)).scalar_one())


def _serialise(uow: UnitOfWork) -> None:
    """Take the write lock before looking at the waiting sweeps, so two planners cannot both see none."""
    uow.begin_writing()
    if not uow.services.database.is_sqlite:
        uow.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PLAN_LOCK})
