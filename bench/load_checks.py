"""What the database must hold after the load test, whatever faults it had: the ledger of what the people saw.

* Every completion a person saw succeed (200) is in the database exactly once: the task completed by that person,
  and one ``task_completed`` event for it in the history. No task was answered 200 twice.
* Every start answered 201 exists exactly once: one instance of its process with its business key, the id the
  answer gave (an instance it starts in turn by a message carries the same business key, of another process).
* A 503 says "not applied" (engine.web.error_pages): a call answered 503 must have changed nothing — a completion
  answered 503 that the database holds as done by that person (with no 200 for it), or a start answered 503 whose
  business key exists.
* The scheduler fired no occurrence twice (schedule_fire and the instances it started), and the jobs a killed
  worker held under its lease were run afterwards.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import Engine, func, select

from bench.load_staff import Ledger
from engine.store import tables

_t, _e, _i, _f, _j = tables.human_task, tables.event, tables.process_instance, tables.schedule_fire, tables.job


@dataclass
class LedgerReport:
    completions: int = 0
    starts: int = 0
    violations: list[str] = field(default_factory=list)
    refused_yet_applied: list[str] = field(default_factory=list)  # answered 503, found applied


def check_ledger(engine: Engine, ledger: Ledger) -> LedgerReport:
    """Compare what the people saw with what the database holds."""
    report = LedgerReport(completions=len(ledger.completed), starts=len(ledger.started))
    twice = [task for task, n in Counter(task for task, _person in ledger.completed).items() if n > 1]
    report.violations += [f"task {task} was answered 200 to a completion more than once" for task in twice]
    task_ids = [task for task, _person in ledger.completed] + [task for task, _ in ledger.completions_refused_503]
    keys = [key for key, _process, _id in ledger.started] + [key for key, _process in ledger.starts_refused_503]
    with engine.connect() as connection:
        tasks = {row.id: row for row in _chunked(connection, select(_t.c.id, _t.c.state, _t.c.completed_by),
                                                _t.c.id, task_ids)}
        events = Counter(row.task_id for row in _chunked(
            connection, select(_e.c.task_id).where(_e.c.kind == "task_completed"), _e.c.task_id, task_ids))
        instances: dict[tuple[str, str], list[int]] = {}
        for row in _chunked(connection, select(_i.c.business_key, _i.c.process_key, _i.c.id), _i.c.business_key,
                            keys):
            instances.setdefault((row.business_key, row.process_key), []).append(row.id)
    for task_id, person in ledger.completed:
        task = tasks.get(task_id)
        if task is None or task.state != "completed" or task.completed_by != person:
            found = "no such task" if task is None else f"{task.state}, completed by {task.completed_by}"
            report.violations.append(f"task {task_id}: {person} was answered 200, the database holds {found}")
        if events[task_id] != 1:
            report.violations.append(f"task {task_id}: {events[task_id]} task_completed events, not 1")
    for key, process, instance_id in ledger.started:
        if instances.get((key, process)) != [instance_id]:
            report.violations.append(f"start {key} of {process} was answered 201 with instance {instance_id}; the "
                                     f"database holds {instances.get((key, process), [])}")
    succeeded = {task for task, _person in ledger.completed}
    for task_id, person in ledger.completions_refused_503:
        task = tasks.get(task_id)
        if task_id not in succeeded and task is not None and task.state == "completed" and task.completed_by == person:
            report.refused_yet_applied.append(f"task {task_id} completed by {person} although answered 503")
    report.refused_yet_applied += [f"start {key} of {process} exists although answered 503"
                                   for key, process in ledger.starts_refused_503 if instances.get((key, process))]
    return report


def _chunked(connection, query, column, values):  # type: ignore[no-untyped-def]
    """Rows of ``query`` where ``column`` is among ``values``, asked a thousand at a time."""
    values = sorted(set(values))
    for start in range(0, len(values), 1000):
        yield from connection.execute(query.where(column.in_(values[start:start + 1000])))


@dataclass
class ScheduleReport:
    fires: int
    duplicate_fires: int  # occurrences in schedule_fire more than once
    duplicate_starts: int  # occurrences started as more than one instance
    unstarted: int  # occurrences logged as fired without an instance
    skipped: int  # minutes between the first and the last fire that have none (the take-over lost one)


def check_schedule_fires(engine: Engine, schedule_key: str, process_key: str) -> ScheduleReport:
    """Whether any occurrence of ``schedule_key`` fired twice: in the fire log, or as a second instance (a scheduled
    start's business key is the schedule's key and the occurrence's time)."""
    with engine.connect() as connection:
        fired = connection.execute(select(_f.c.fire_time, _f.c.instance_id).where(_f.c.schedule_key == schedule_key)
                                   ).all()
        twice = connection.execute(select(_i.c.business_key).where(_i.c.process_key == process_key)
                                   .group_by(_i.c.business_key).having(func.count() > 1)).all()
    times = sorted({row.fire_time for row in fired})
    minutes = round((times[-1] - times[0]).total_seconds() / 60) + 1 if times else 0
    return ScheduleReport(len(fired), len(fired) - len(times), len(twice),
                          sum(1 for row in fired if row.instance_id is None), minutes - len(times))


def fires_of(engine: Engine, schedule_key: str) -> int:
    """How many occurrences of ``schedule_key`` the fire log holds."""
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(_f).where(_f.c.schedule_key == schedule_key)) or 0


def jobs_still_held(engine: Engine, job_ids: list[int]) -> list[int]:
    """Of ``job_ids`` (those a killed worker held), the ones still pending: not run by another worker."""
    if not job_ids:
        return []
    with engine.connect() as connection:
        return list(connection.scalars(select(_j.c.id).where(_j.c.id.in_(job_ids), _j.c.state == "pending")))


def jobs_leased_by(engine: Engine, worker: str) -> list[int]:
    """The pending jobs ``worker`` holds a lease on now."""
    with engine.connect() as connection:
        return list(connection.scalars(select(_j.c.id).where(_j.c.lease_owner == worker, _j.c.state == "pending")))
