"""SIGTERM, as systemd or a Procfile runner sends it, to real ``huhua worker`` and ``huhua scheduler`` processes on
PostgreSQL: the worker finishes the job it is running, hands back the jobs it claimed but did not run, and exits 0;
the scheduler leader releases its lock to the standby, and a standby stops while it waits."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from engine.bootstrap import bootstrap
from engine.commands import ENGINE, StartInstance
from engine.config import Settings
from tests.conftest import PROJECT
from tests.helpers import deploy_fixtures
from tests.receiver import serving

pytestmark = pytest.mark.slow  # servers and workers started as processes of their own and stopped

DATABASES = ["postgresql"]  # several processes on one database: PostgreSQL's advisory lock and SKIP LOCKED
WAIT = 60  # seconds any one step may take on a busy machine before the test gives up


class Huhua:
    """A ``huhua`` subprocess whose log lines (stderr) the test can wait for."""

    def __init__(self, settings: Settings, *args: str, env: dict[str, str] | None = None) -> None:
        environment = {**os.environ, "HUHUA_DATABASE_URL": settings.database_url,
                       "HUHUA_DATA_DIR": str(settings.data_dir), "PYTHONPATH": str(PROJECT), **(env or {})}
        self.process = subprocess.Popen([sys.executable, "-m", "engine.cli", "-v", *args], env=environment,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.put(line)
        self.lines.put("")  # the end: nothing more will be logged

    def wait_for(self, text: str) -> None:
        """Until a log line holds ``text``; fails with what was logged if the process ends or time runs out."""
        while not any(text in line for line in self.seen):
            try:
                line = self.lines.get(timeout=WAIT)
            except queue.Empty:
                line = ""
            if not line:
                self.lines.put("")  # still the end for whoever asks next
                raise AssertionError(f"never logged {text!r}:\n{''.join(self.seen)}")
            self.seen.append(line)

    def terminate(self) -> int:
        """SIGTERM, then the exit status."""
        self.process.send_signal(signal.SIGTERM)
        return self.exit_status()

    def exit_status(self) -> int:
        """The exit status, within WAIT seconds or the test fails."""
        try:
            return self.process.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"still running {WAIT} s after SIGTERM:\n{''.join(self.seen)}") from None

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@contextmanager
def held_receiver() -> Iterator[tuple[str, threading.Event, threading.Event, list[Any]]]:
    """A receiver on 127.0.0.1 that holds each call until ``release`` is set; ``arrived`` says a call is held."""
    arrived, release, received = threading.Event(), threading.Event(), []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0))))
            arrived.set()
            release.wait(WAIT)
            body = b'{"accepted": true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with serving(server):
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}", arrived, release, received
        finally:
            release.set()


def test_a_worker_finishes_its_job_hands_back_the_rest_and_exits_0_on_sigterm(settings: Settings,
                                                                               tmp_path: Path) -> None:
    allowed = tmp_path / "connectors.toml"
    allowed.write_text(f'[http]\nallow = ["127.0.0.1"]\ntimeout_seconds = {WAIT}\n', encoding="utf-8")
    engine = bootstrap(replace(settings, connectors_file=allowed), upgrade=False)  # the wall clock, as the worker's
    worker = None
    try:
        deploy_fixtures(engine, "push_scores.bpmn")
        with held_receiver() as (url, arrived, release, received):
            started = [engine.execute(StartInstance("push_scores", "admin", origin=ENGINE, variables={
                "receiver": url + "/scores", "school": school}))["id"] for school in ("第一中学", "第二中学")]
            worker = Huhua(settings, "worker", "--poll", "0.2",
                           env={"HUHUA_CONNECTORS": str(allowed), "HUHUA_OUTBOUND_ALLOW": "127.0.0.1"})
            assert arrived.wait(WAIT), "the worker never called the service"  # both calls claimed, the first held
            worker.process.send_signal(signal.SIGTERM)  # mid-call: the handler runs before the call returns
            release.set()
            assert worker.exit_status() == 0
            worker.wait_for("handed back 1 job(s)")
        assert len(received) == 1  # the second call was never made by this worker
        service = {job["instance_id"]: job for job in engine.queries.jobs(kind="service")}
        done = [i for i in started if service[i]["state"] == "done"]
        waiting = [service[i] for i in started if service[i]["state"] == "pending"]
        assert len(done) == 1 and len(waiting) == 1
        assert [t["element_id"] for t in engine.queries.instance(done[0])["open_tasks"]] == ["confirm"]
        assert (waiting[0]["lease_owner"], waiting[0]["lease_until"], waiting[0]["attempts"]) == (None, None, 0)
    finally:
        if worker is not None:
            worker.kill()
        engine.close()


def test_the_scheduler_leader_hands_over_to_the_standby_and_each_exits_0_on_sigterm(settings: Settings) -> None:
    leader = Huhua(settings, "scheduler", "--interval", "1")
    standby = None
    try:
        leader.wait_for("this scheduler leads")
        standby = Huhua(settings, "scheduler", "--interval", "1")
        standby.wait_for("another scheduler is running; waiting")
        assert leader.terminate() == 0
        leader.wait_for("this scheduler stopped leading")
        standby.wait_for("this scheduler leads")  # the lock it waited on is free
        assert standby.terminate() == 0
        standby.wait_for("this scheduler stopped leading")
    finally:
        leader.kill()
        if standby is not None:
            standby.kill()


def test_a_standby_scheduler_stops_while_it_waits(settings: Settings) -> None:
    leader = Huhua(settings, "scheduler", "--interval", "1")
    standby = None
    try:
        leader.wait_for("this scheduler leads")
        standby = Huhua(settings, "scheduler", "--interval", "1")
        standby.wait_for("another scheduler is running; waiting")
        assert standby.terminate() == 0  # it waited on the lock, and never led
        assert not any("this scheduler leads" in line for line in standby.seen)
        assert leader.terminate() == 0
    finally:
        leader.kill()
        if standby is not None:
            standby.kill()
