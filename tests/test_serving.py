"""`huhua serve` as the run command starts it, the timer runner, and a start that races a deployment."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from datetime import timedelta

import pytest

from engine.bootstrap import Huhua, bootstrap
from engine.clock import VirtualClock
from engine.commands import ENGINE, CreateApiToken, DeployModels, StartInstance
from engine.config import Settings
from tests.helpers import FIXTURES, deploy_fixtures, only_task
from tests.live_server import get_json, live_server
from workers.timer_runner import TimerRunner

pytestmark = pytest.mark.slow  # servers started as processes of their own


def test_serve_deploys_the_library_and_answers(settings: Settings) -> None:
    engine = bootstrap(settings, upgrade=False)
    token = engine.execute(CreateApiToken("admin", "serving test", "admin"))["token"]
    engine.close()
    with live_server(settings) as server:
        base = server.base + "/api/v1"
        assert get_json(base + "/health")["status"] == "ok"  # type: ignore[index]
        keys = {d["key"] for d in get_json(base + "/process-definitions", token)}  # type: ignore[union-attr]
        assert "launch_programme" in keys
        try:
            get_json(base + "/process-definitions")
            raise AssertionError("an anonymous caller was answered")
        except urllib.error.HTTPError as refused:
            assert refused.code == 401
    assert f"{server.base}/api/v1" in server.output


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
    huhua.execute(StartInstance("review", "admin", variables={"reviewers": ["wang"]},
                                origin=ENGINE))  # caches version 1
    other = bootstrap(settings, clock=clock, upgrade=False)  # another process deploys version 2
    changed = (FIXTURES / "review.bpmn").read_bytes().replace("审核材料".encode(), "复核材料".encode())
    other.execute(DeployModels(files=(("review.bpmn", changed),), actor="zhang"))
    other.close()

    started = huhua.execute(StartInstance("review", "admin", variables={"reviewers": ["wang"]}, origin=ENGINE))
    assert huhua.queries.instance(started["id"])["definition"]["version"] == 2
    assert only_task(huhua, started["id"])["name"] == "复核材料"


def test_gunicorn_serves_the_app(settings: Settings) -> None:
    with live_server(settings, gunicorn=True) as server:
        assert get_json(server.base + "/api/v1/health")["status"] == "ok"  # type: ignore[index]
        with urllib.request.urlopen(server.base + "/login", timeout=5) as page:
            assert "心育护花" in page.read().decode("utf-8")
