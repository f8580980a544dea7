"""A worker: claims due jobs under a lease and runs each through its command.

``huhua worker`` runs one in the foreground (several may run at once, on PostgreSQL); ``huhua serve``
runs one in a thread; tests and simulations call :func:`run_due_jobs` after moving a virtual clock.
SIGTERM and SIGINT let the current job finish, hand back the leases of the claimed jobs not yet run (another
worker takes them at once), then stop; a worker killed outright loses nothing either: its leases run out and
another worker takes the jobs then.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from engine import connectors, roster
from engine.bootstrap import Huhua
from engine.commands import (
    ClaimDueJobs,
    FinishJob,
    FireTimer,
    RaiseServiceError,
    RecordJobFailure,
    ReleaseLeases,
    RenewLeases,
    RunHeldTask,
    RunNotifyStep,
    RunOfficialDocumentStep,
    StartChildren,
    StartScheduledUnits,
    SweepNotifications,
    TellOfEvents,
)
from engine.documents.rendered import DocumentError
from engine.documents.templates import render_document
from engine.errors import HuhuaError
from engine.notifications import operator as notify_operator
from engine.notifications import sending
from engine.notifications.planning import SEND_JOB
from webhooks import delivery

log = logging.getLogger("huhua.worker")

#: Starts of many units (a schedule's, a fan-out's) run this many to a transaction: one commit, one calendar read.
STARTS_PER_COMMIT = 25
BATCHED: dict[str, Callable[[tuple[int, ...]], Any]] = {"scheduled_start": StartScheduledUnits,
                                                        "child_start": StartChildren}
#: Jobs that tell people (engine.notifications): a commit's events, the working morning's sweep.
TELLING: dict[str, Callable[[int], Any]] = {"notify_event": TellOfEvents, "notify_sweep": SweepNotifications}


def default_worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 100000}"


class JobWorker:
    def __init__(self, huhua: Huhua, name: str | None = None, *, batch: int = 20, lease_seconds: int = 60,
                 stopping: threading.Event | None = None) -> None:
        self.huhua = huhua
        self.name = name or default_worker_name()
        self.batch = batch
        self.lease_seconds = lease_seconds
        self.stopping = stopping or threading.Event()
        self._claimed_at = 0.0
        self._ours: set[int] = set()
        self.connector_settings = replace(huhua.services.connectors, outbound=huhua.services.outbound)

    def run_once(self) -> int:
        """Claim one batch of due jobs and run them; returns how many ran (successfully or not). Stopping midway,
        the jobs not yet run are handed back (:meth:`_hand_back`)."""
        if not self.huhua.queries.any_job_free_and_due(self.huhua.clock.now()):
            return 0  # nothing to claim: no write transaction for an idle poll
        claimed = self.huhua.execute(ClaimDueJobs(self.name, self.batch, self.lease_seconds))
        self._claimed_at = time.monotonic()
        self._ours = {job_id for job_id, _ in claimed}
        try:
            return self._run_claimed(claimed)
        finally:
            if self.stopping.is_set():
                self._hand_back()

    def _run_claimed(self, claimed: list[tuple[int, str]]) -> int:
        ran = 0
        for kind, batch_command in BATCHED.items():
            starts = [job_id for job_id, job_kind in claimed if job_kind == kind]
            for first in range(0, len(starts), STARTS_PER_COMMIT):
                if self.stopping.is_set():
                    return ran
                chunk = [j for j in starts[first:first + STARTS_PER_COMMIT] if self._still_ours(j)]
                if not chunk:
                    continue
                try:
                    self.huhua.execute(batch_command(tuple(chunk)))
                except Exception:  # one bad unit must not hold up the others: run them one by one to find it
                    for job_id in chunk:
                        self._run(job_id, lambda j=job_id, c=batch_command: c((j,)))
                self._ours.difference_update(chunk)
                ran += len(chunk)
        for job_id, kind in claimed:
            if self.stopping.is_set():
                break  # the jobs not run are handed back (run_once)
            if kind in BATCHED or not self._still_ours(job_id):
                continue  # ran above, in batches; or the lease lapsed and another worker has the job
            if kind == "service":
                self._run(job_id, lambda j=job_id: self._call_service(j))
            elif kind in ("continuation", "fanout_done"):
                self._run(job_id, lambda j=job_id: RunHeldTask(j))
            elif kind == "webhook":
                self._run(job_id, lambda j=job_id: self._deliver_webhook(j))
            elif kind in TELLING:
                self._run(job_id, lambda j=job_id, c=TELLING[kind]: c(j))
            elif kind == SEND_JOB:
                self._run(job_id, lambda j=job_id: self._send_notification(j))
            else:
                self._run(job_id, lambda j=job_id: FireTimer(j))
            self._ours.discard(job_id)
            ran += 1
        return ran

    def _hand_back(self) -> None:
        """Release the leases of the claimed jobs not run (a stopping worker's), so that no job waits for a lease
        to run out; failing that (the database away), the leases simply run out."""
        if not self._ours:
            return
        try:
            released = self.huhua.execute(ReleaseLeases(self.name, tuple(sorted(self._ours))))
            log.info("worker %s handed back %d job(s) it did not run", self.name, len(released))
        except Exception:
            log.exception("worker %s could not hand back its jobs; their leases will run out", self.name)
        self._ours = set()

    def _still_ours(self, job_id: int) -> bool:
        """Renew the batch's leases once half their time is gone; a job whose lease lapsed is left alone."""
        if time.monotonic() - self._claimed_at > self.lease_seconds / 2:
            self._ours = set(self.huhua.execute(RenewLeases(self.name, tuple(sorted(self._ours)),
                                                            self.lease_seconds)))
            self._claimed_at = time.monotonic()
        return job_id in self._ours

    def _call_service(self, job_id: int) -> RunHeldTask | RunOfficialDocumentStep | RunNotifyStep:
        """Call the job's connector (or render its documents), outside any transaction; a failure retries the job."""
        work = self.huhua.queries.job_payload(job_id)
        connector, params = str(work.get("connector")), work.get("params") or {}
        log.info("job %s: calling connector %s", job_id, connector)
        if connector == "fan_out_status":  # the engine's own: where a fan-out stands (after its deadline, say)
            return RunHeldTask(job_id, self.huhua.queries.fan_out_status(job_id, str(params.get("task"))))
        if connector == roster.OPERATOR:  # the engine's own: the people of the instance's unit, from the directory
            return RunHeldTask(job_id, roster.roster(self.huhua.services.database, job_id, params))
        if connector == "official_document":  # drafted or issued inside the command: the 文号 needs one transaction
            return RunOfficialDocumentStep(job_id)
        if connector == notify_operator.OPERATOR:  # told inside the command: the notification exists with the step
            return RunNotifyStep(job_id)
        if connector == "counselling_room":  # the engine's own: the register of the instance's own school
            return RunHeldTask(job_id, self.huhua.queries.counselling_room_for_job(job_id))
        if connector == "document":
            files, summary = render_document(self.huhua.services.database, str(params.get("template")), params,
                                             self.huhua.clock.now())
            return RunHeldTask(job_id, {"template": params.get("template"), **summary}, documents=tuple(files))
        return RunHeldTask(job_id, connectors.call(connector, params, idempotency_key=f"huhua-job-{job_id}",
                                                   settings=self.connector_settings))

    def _deliver_webhook(self, job_id: int) -> FinishJob:
        """POST the event to its subscriber; a subscription removed meanwhile is simply not delivered to."""
        work = self.huhua.queries.job_payload(job_id)
        target = self.huhua.queries.webhook_target(int(work["subscription"]), self.huhua.clock.now())
        if target is not None:
            delivery.deliver(*target, work["body"], self.huhua.services.outbound)
        return FinishJob(job_id)

    def _send_notification(self, job_id: int) -> sending.Outcome:
        """Send one notification delivery (e-mail, robot, SMS); its outcome, failures too, is the command."""
        work = self.huhua.queries.job_payload(job_id)
        return sending.attempt(self.huhua, job_id, int(work["delivery"]))[0]

    def run_forever(self, poll_seconds: float = 1.0) -> None:
        """Run batches until :meth:`stop`; sleeps ``poll_seconds`` whenever nothing was due."""
        log.info("worker %s started", self.name)
        while not self.stopping.is_set():
            try:
                if self.run_once() == 0:
                    self.stopping.wait(poll_seconds)
            except Exception:  # the database went away, say: keep trying rather than die
                log.exception("worker round failed")
                self.stopping.wait(poll_seconds)
        log.info("worker %s stopped", self.name)

    def stop(self) -> None:
        self.stopping.set()

    def _run(self, job_id: int, command: Callable[[], Any]) -> None:
        try:
            self.huhua.execute(command())
        except Exception as err:  # one failing job must not hold up the others
            log.warning("job %s failed: %s", job_id, err,
                        exc_info=not isinstance(err, HuhuaError | connectors.ConnectorError | delivery.DeliveryFailed
                                                     | DocumentError))
            permanent = isinstance(err, connectors.ConnectorError) and err.permanent  # retrying would not help
            if permanent and err.error_code and self.huhua.execute(  # type: ignore[union-attr]
                    RaiseServiceError(job_id, err.error_code, err.details))["caught"]:  # type: ignore[union-attr]
                return  # the model handles this failure itself (an error boundary event with its code)
            self.huhua.execute(RecordJobFailure(job_id, f"{type(err).__name__}: {err}", permanent=permanent))


def run_due_jobs(huhua: Huhua, *, max_rounds: int = 1000) -> int:
    """Run every job due on the engine clock, including ones that fall due by running others."""
    worker = JobWorker(huhua, "inline")
    ran = 0
    for _ in range(max_rounds):
        done = worker.run_once()
        if done == 0:
            break
        ran += done
    return ran
