"""Background jobs: claiming due ones under a lease, and recording failures with retry and backoff.

A worker claims a batch of due jobs by writing its name and a lease end into them (on PostgreSQL
with ``FOR UPDATE SKIP LOCKED``, so workers never wait for each other; on SQLite the claim is one
write under the single writer lock). A job whose worker died is claimed again once its lease ends;
running it again is safe because the job's own command is guarded (``state='pending'`` and the
instance version), so its effect happens exactly once. Two jobs of one instance are never leased
at the same time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, exists, insert, select, update
from sqlalchemy.orm import aliased

from engine.commands.notification_sweep import SWEEP_JOB, plan_notification_sweep
from engine.commands.requests import ClaimDueJobs, PlanNotificationSweep, RecordJobFailure, ReleaseLeases, RenewLeases
from engine.commands.unit_of_work import UnitOfWork
from engine.errors import InvalidInput, NotFound, Problem
from engine.store import tables

#: Attempts before a failing job is marked failed (and an incident raised) instead of retried.
MAX_JOB_ATTEMPTS = 5


@dataclass(frozen=True)
class RetryPolicy:
    """How often a kind of job is tried and how long it waits between tries: ``first`` seconds after the first
    failure, doubling each time, at most ``longest``."""

    attempts: int
    first: float
    longest: float

    def delay(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failure."""
        return timedelta(seconds=min(self.first * 2 ** (attempts - 1), self.longest))


#: Steps of a process: a model's fault shows soon, as an incident (2, 4, 8, 16 s).
DEFAULT_RETRY = RetryPolicy(MAX_JOB_ATTEMPTS, 2, 3600)
#: Messages to people outlive a provider's outage or rate limit (DingTalk's 130101, WeCom's 45009): 30 s,
#: 1, 2, 4 … minutes, then every 3 hours, about half a day of tries before the delivery shows as failed.
DELIVERY_RETRY = RetryPolicy(12, 30, 3 * 3600)
#: Working out who is told (a commit's events, the morning's sweep): the database being away a while must not
#: lose them; every 10 minutes at most.
TELLING_RETRY = RetryPolicy(10, 5, 600)
RETRY_POLICIES = {"notify_send": DELIVERY_RETRY, "notify_event": TELLING_RETRY, "notify_sweep": TELLING_RETRY}
#: Job kinds whose failures stay out of webhooks: their errors name recipients (an SMTP refusal quotes the
#: address), and a failing delivery must not beget deliveries.
_KEPT_FROM_WEBHOOKS = frozenset({"webhook", "notify_send", "notify_event", "notify_sweep"})


def retry_policy(kind: str) -> RetryPolicy:
    return RETRY_POLICIES.get(kind, DEFAULT_RETRY)

_j = tables.job
_other = aliased(_j)
_LOAD_JOB = select(_j).where(_j.c.id == bindparam("id"))


def claim_due_jobs(command: ClaimDueJobs, uow: UnitOfWork) -> list[tuple[int, str]]:
    """Lease up to ``limit`` due jobs to ``worker``; returns their ids and kinds, oldest due first."""
    if not 1 <= command.limit <= 1000 or not 1 <= command.lease_seconds <= 3600:
        raise InvalidInput("limit must be 1..1000 and lease_seconds 1..3600",
                           [Problem("out of range", field="limit/lease_seconds")])
    now = uow.now
    free = (_j.c.lease_until.is_(None)) | (_j.c.lease_until < now)
    sibling_running = exists().where(
        _other.c.instance_id == _j.c.instance_id, _other.c.id != _j.c.id, _other.c.state == "pending",
        _other.c.lease_until.is_not(None), _other.c.lease_until >= now)
    due = (select(_j.c.id).where(_j.c.state == "pending", _j.c.due_at <= now, free, ~sibling_running)
           .order_by(_j.c.due_at, _j.c.id).limit(command.limit))
    if not uow.services.database.is_sqlite:
        due = due.with_for_update(skip_locked=True, of=_j)
    claimed = uow.execute(
        update(_j).where(_j.c.id.in_(due.scalar_subquery()), _j.c.state == "pending")
        .values(lease_owner=command.worker, lease_until=now + timedelta(seconds=command.lease_seconds))
        .returning(_j.c.id, _j.c.instance_id, _j.c.due_at, _j.c.kind)).all()
    # Two jobs of one instance in the same batch: keep the oldest, hand the other back.
    seen: set[int | None] = set()
    keep: list[tuple[int, str]] = []
    give_back = []
    for job_id, instance_id, _due, kind in sorted(claimed, key=lambda row: (row.due_at, row.id)):
        if instance_id is not None and instance_id in seen:
            give_back.append(job_id)
        else:
            keep.append((job_id, kind))
        seen.add(instance_id)
    if give_back:
        uow.execute(update(_j).where(_j.c.id.in_(give_back)).values(lease_owner=None, lease_until=None))
    return keep


def record_job_failure(command: RecordJobFailure, uow: UnitOfWork) -> dict[str, Any]:
    job = uow.read(_LOAD_JOB, {"id": command.job_id}).first()
    if job is None:
        raise NotFound(f"job {command.job_id} does not exist")
    attempts = job.attempts + 1
    policy = retry_policy(job.kind)
    failed = command.permanent or attempts >= policy.attempts
    recorded = uow.execute(update(_j).where(_j.c.id == job.id, _j.c.state == "pending").values(
        attempts=attempts, last_error=command.error[:4000], state="failed" if failed else "pending",
        due_at=uow.now + policy.delay(attempts), lease_owner=None, lease_until=None)).rowcount
    if not recorded:  # another worker finished it after this one's lease ran out: its failure is moot
        return {"job_id": job.id, "attempts": job.attempts, "state": job.state}
    if failed and job.instance_id is not None:
        uow.execute(insert(tables.incident).values(
            instance_id=job.instance_id, element_id=job.element_id, kind="job_failed",
            message=(f"{job.kind} job failed for good, not retried: {command.error[:1000]}" if command.permanent
                     else f"{job.kind} job failed {attempts} times: {command.error[:1000]}"), created_at=uow.now))
    elif failed and job.kind == "child_start":
        _child_never_started(uow, job, command.error)
    elif failed and job.kind == SWEEP_JOB:  # the sweep plans its successor when it runs: failing, it must too
        plan_notification_sweep(PlanNotificationSweep(command.actor), uow)
    uow.record("job_failed" if failed else "job_retry_scheduled", instance_id=job.instance_id,
               element_id=job.element_id, actor=command.actor, to_webhooks=job.kind not in _KEPT_FROM_WEBHOOKS,
               job_id=job.id,
               job_kind=job.kind, attempts=attempts, error=command.error[:500], permanent=command.permanent)
    return {"job_id": job.id, "attempts": attempts, "state": "failed" if failed else "pending"}



def _child_never_started(uow: UnitOfWork, job: Any, error: str) -> None:
    """A fan-out's child that cannot start: the parent must not wait for it unknowingly."""
    work = json.loads(job.payload or "{}")
    fan_out = uow.read(select(tables.fan_out.c.parent_instance_id).where(tables.fan_out.c.id == work.get("fan_out")))
    parent = fan_out.scalar()
    fc = tables.fan_out_child
    uow.execute(update(fc).where(fc.c.fan_out_id == work.get("fan_out"), fc.c.unit_id == work.get("unit"))
                .values(state="failed"))
    if parent is not None:
        uow.execute(insert(tables.incident).values(
            instance_id=parent, element_id=job.element_id, kind="child_start_failed",
            message=f"the child instance for {work.get('unit')} could not start: {error[:1000]}", created_at=uow.now))
        uow.record("incident_raised", instance_id=parent, element_id=job.element_id, incident_kind="child_start_failed",
                   unit=work.get("unit"))


def renew_leases(command: RenewLeases, uow: UnitOfWork) -> list[int]:
    """Extend this worker's leases on ``job_ids``; returns those still its own (a lapsed lease may be gone)."""
    if len(command.job_ids) > 1000 or not 1 <= command.lease_seconds <= 3600:
        raise InvalidInput("at most 1000 jobs, for 1..3600 seconds", [Problem("out of range", field="job_ids")])
    if not command.job_ids:
        return []
    kept = uow.execute(update(_j).where(_j.c.id.in_(command.job_ids), _j.c.lease_owner == command.worker,
                                        _j.c.state == "pending")
                       .values(lease_until=uow.now + timedelta(seconds=command.lease_seconds)).returning(_j.c.id))
    return sorted(kept.scalars().all())


def release_leases(command: ReleaseLeases, uow: UnitOfWork) -> list[int]:
    """Clear this worker's leases on ``job_ids`` (those still its own and pending); returns the ids released."""
    if len(command.job_ids) > 1000:
        raise InvalidInput("at most 1000 jobs", [Problem("out of range", field="job_ids")])
    if not command.job_ids:
        return []
    released = uow.execute(update(_j).where(_j.c.id.in_(command.job_ids), _j.c.lease_owner == command.worker,
                                            _j.c.state == "pending")
                           .values(lease_owner=None, lease_until=None).returning(_j.c.id))
    return sorted(released.scalars().all())
