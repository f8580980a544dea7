"""`huhua serve` as the run command starts it, the timer runner, and a start that races a deployment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import timedelta

from engine.bootstrap import Huhua, bootstrap
from engine.clock import VirtualClock
from engine.commands import CreateApiToken, DeployModels, StartInstance
from engine.config import Settings
from tests.conftest import PROJECT
from tests.helpers import FIXTURES, deploy_fixtures, only_task
from tests.pg_server import free_port
from workers.timer_runner import TimerRunner


def _get(url: str, token: str | None = None) -> object:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as response:
        return json.loads(response.read())


def test_serve_deploys_the_library_and_answers(settings: Settings) -> None:
    engine = bootstrap(settings, upgrade=False)
    token = engine.execute(CreateApiToken("admin", "serving test", "admin"))["token"]
    engine.close()
    port = free_port()
    env = {**os.environ, "HUHUA_DATABASE_URL": settings.database_url, "HUHUA_DATA_DIR": str(settings.data_dir),
           "PYTHONPATH": str(PROJECT)}
    server = subprocess.Popen([sys.executable, "-m", "engine.cli", "serve", "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}/api/v1"
        for _ in range(100):
            try:
                health = _get(base + "/health")
                break
            except OSError:
                time.sleep(0.1)
        else:
            server.kill()
            raise AssertionError(server.communicate()[0])
        assert health["status"] == "ok"  # type: ignore[index]
        keys = {d["key"] for d in _get(base + "/process-definitions", token)}  # type: ignore[union-attr]
        assert "work_plan_review" in keys
        try:
            _get(base + "/process-definitions")
            raise AssertionError("an anonymous caller was answered")
        except urllib.error.HTTPError as refused:
            assert refused.code == 401
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert f"http://127.0.0.1:{port}/api/v1" in output


def test_the_timer_runner_fires_due_timers_by_itself(huhua: Huhua, clock: VirtualClock) -> None:
    deploy_fixtures(huhua, "deadline.bpmn")
    started = huhua.execute(StartInstance("deadline", "admin"))
    runner = TimerRunner(huhua, interval=0.05)
    runner.start()
    try:
        clock.advance(timedelta(days=3))
        for _ in range(200):
            if only_task(huhua, started["id"])["name"] == "上级督办":
                break
            time.sleep(0.05)
    finally:
        runner.stop()
    assert only_task(huhua, started["id"])["name"] == "上级督办"


def test_a_start_that_raced_a_deployment_takes_the_new_version(huhua: Huhua, settings: Settings,
                                                                clock: VirtualClock) -> None:
    deploy_fixtures(huhua, "review.bpmn")
    huhua.execute(StartInstance("review", "admin", variables={"reviewers": ["wang"]}))  # caches version 1
    other = bootstrap(settings, clock=clock, upgrade=False)  # another process deploys version 2
    changed = (FIXTURES / "review.bpmn").read_bytes().replace("审核材料".encode(), "复核材料".encode())
    other.execute(DeployModels(files=(("review.bpmn", changed),), actor="zhang"))
    other.close()

    started = huhua.execute(StartInstance("review", "admin", variables={"reviewers": ["wang"]}))
    assert huhua.queries.instance(started["id"])["definition"]["version"] == 2
    assert only_task(huhua, started["id"])["name"] == "复核材料"


def test_gunicorn_serves_the_app(settings: Settings) -> None:
    port = free_port()
    env = {**os.environ, "HUHUA_DATABASE_URL": settings.database_url, "HUHUA_DATA_DIR": str(settings.data_dir),
           "PYTHONPATH": str(PROJECT)}
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}",
                               "engine.web.wsgi:app"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
    try:
        for _ in range(150):
            try:
                health = _get(f"http://127.0.0.1:{port}/api/v1/health")
                break
            except OSError:
                time.sleep(0.1)
        else:
            server.kill()
            raise AssertionError(server.communicate()[0])
        assert health["status"] == "ok"  # type: ignore[index]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5) as page:
            assert "心育护花" in page.read().decode("utf-8")
    finally:
        server.terminate()
        server.communicate(timeout=30)
