"""Job workers: leases, retries, one instance at a time, and exactly-once effects when a worker is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine.bootstrap import Huhua
from engine.clock import VirtualClock
from engine.commands import ClaimDueJobs, RecordJobFailure, StartInstance
from engine.commands.jobs import MAX_JOB_ATTEMPTS
from engine.config import Settings
from engine.metrics import COMMANDS
from engine.store import tables
from tests.conftest import PROJECT
from tests.helpers import deploy_fixtures
from workers.job_worker import JobWorker, run_due_jobs


def test_a_claimed_job_is_not_claimed_again_until_its_lease_ends(huhua: Huhua, clock: VirtualClock) -> None:
    deploy_fixtures(huhua, "quick_timer.bpmn")
    huhua.execute(StartInstance("quick_timer", "admin"))
    clock.advance(timedelta(seconds=2))
    first = huhua.execute(ClaimDueJobs("worker-a", lease_seconds=30))
    assert len(first) == 1
    assert huhua.execute(ClaimDueJobs("worker-b", lease_seconds=30)) == []
    clock.advance(timedelta(seconds=31))  # worker-a died: its lease runs out
    assert huhua.execute(ClaimDueJobs("worker-b", lease_seconds=30)) == first


def test_an_idle_worker_polls_by_reading_and_claims_once_a_job_falls_due(huhua: Huhua, clock: VirtualClock) -> None:
    """An idle poll takes no write transaction (on SQLite the one lock every change waits for): no claim runs
    until a job is due and leased to nobody."""
    deploy_fixtures(huhua, "quick_timer.bpmn")
    started = huhua.execute(StartInstance("quick_timer", "admin"))
    worker = JobWorker(huhua, "idle")

    def claims() -> float:
        return sum(sample.value for metric in COMMANDS.collect() for sample in metric.samples
                   if sample.name == "huhua_commands_total" and sample.labels["command"] == "ClaimDueJobs")

    before = claims()
    assert [worker.run_once() for _ in range(3)] == [0, 0, 0] and claims() == before  # the timer waits a second
    clock.advance(timedelta(seconds=2))
    held = huhua.execute(ClaimDueJobs("another", lease_seconds=30))  # due, but another worker holds it
    assert len(held) == 1 and worker.run_once() == 0 and claims() == before + 1
    clock.advance(timedelta(seconds=31))  # that worker's lease ran out: this one claims and runs the timer
    assert worker.run_once() == 1 and claims() == before + 2
    assert huhua.queries.instance(started["id"])["state"] == "completed"


def test_two_jobs_of_one_instance_are_never_leased_together(huhua: Huhua, clock: VirtualClock) -> None:
    deploy_fixtures(huhua, "deadline.bpmn")
    started = huhua.execute(StartInstance("deadline", "admin"))
    run_due_jobs(huhua)  # the task's people are told (a job of no instance); the timer waits
    with huhua.services.database.engine.begin() as connection:  # a second due job for the same instance
        connection.execute(tables.job.insert().values(
            kind="timer", instance_id=started["id"], spiff_task_id="x", element_id="extra", state="pending",
            attempts=0, due_at=clock.now(), created_at=clock.now()))
    clock.advance(timedelta(days=3))
    assert len(huhua.execute(ClaimDueJobs("worker-a", limit=10))) == 1
    assert huhua.execute(ClaimDueJobs("worker-b", limit=10)) == []


def test_retries_back_off_and_end_in_an_incident(huhua: Huhua, clock: VirtualClock) -> None:
    deploy_fixtures(huhua, "quick_timer.bpmn")
    started = huhua.execute(StartInstance("quick_timer", "admin"))
    job_id = huhua.queries.jobs()[0]["id"]
    for attempt in range(1, MAX_JOB_ATTEMPTS + 1):
        result = huhua.execute(RecordJobFailure(job_id, "service unavailable"))
        assert result["attempts"] == attempt
    job = huhua.queries.jobs()[0]
    assert job["state"] == "failed" and job["last_error"] == "service unavailable"
    incidents = huhua.queries.instance(started["id"])["incidents"]
    assert [i["kind"] for i in incidents] == ["job_failed"]
    clock.advance(timedelta(days=1))
    assert run_due_jobs(huhua) == 0  # a failed job is not run again


def _start_worker(settings: Settings, name: str) -> subprocess.Popen:
    env = {**os.environ, "HUHUA_DATABASE_URL": settings.database_url, "HUHUA_DATA_DIR": str(settings.data_dir),
           "PYTHONPATH": str(PROJECT)}
    return subprocess.Popen([sys.executable, "-m", "engine.cli", "worker", "--name", name, "--batch", "10",
                             "--lease", "3", "--poll", "0.1"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_three_workers_one_killed_every_job_runs_exactly_once(huhua: Huhua, settings: Settings) -> None:
    deploy_fixtures(huhua, "quick_timer.bpmn")
    count = 2000
    for _ in range(count):  # started on the virtual clock in March: already due on the workers' clock
        huhua.execute(StartInstance("quick_timer", "admin"))
    assert len(huhua.queries.jobs(state="pending", kind="timer", limit=500)) == 500

    workers = [_start_worker(settings, f"w{n}") for n in range(3)]
    deadline = time.monotonic() + 30
    while len(huhua.queries.jobs(state="done", limit=500)) < 200 and time.monotonic() < deadline:
        time.sleep(0.05)
    workers[0].send_signal(signal.SIGKILL)  # in the middle of the run
    workers[0].wait(10)
    still_pending = len(huhua.queries.jobs(state="pending", kind="timer", limit=500))
    workers[0] = _start_worker(settings, "w0-restarted")
    deadline = time.monotonic() + 180
    # the timers' jobs: the morning's notification sweep stays pending for its working morning
    while huhua.queries.jobs(state="pending", kind="timer", limit=1) and time.monotonic() < deadline:
        time.sleep(0.2)
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        assert worker.wait(30) in (0, -signal.SIGTERM), worker.stderr.read() if worker.stderr else ""

    assert still_pending > 0  # the kill really happened mid-run
    with huhua.services.database.engine.connect() as connection:
        e, i = tables.event, tables.process_instance
        fired = dict(connection.execute(select(e.c.instance_id, func.count()).where(e.c.kind == "timer_fired")
                                        .group_by(e.c.instance_id)).all())
        states = dict(connection.execute(select(i.c.state, func.count()).group_by(i.c.state)).all())
    assert len(fired) == count and set(fired.values()) == {1}
    assert states == {"completed": count}
