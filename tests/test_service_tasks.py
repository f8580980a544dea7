"""Service tasks and asynchronous continuations run as jobs: outside the engine's transaction, retried."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from engine.bootstrap import Huhua, bootstrap
from engine.clock import VirtualClock
from engine.commands import ENGINE, StartInstance
from engine.config import Settings
from tests.helpers import deploy_fixtures
from tests.receiver import http_receiver
from workers.job_worker import run_due_jobs


@pytest.fixture
def connected(settings: Settings, clock: VirtualClock, tmp_path: Path) -> Iterator[Huhua]:
    """The engine with service tasks allowed to call this machine (the shipped configuration allows nothing)."""
    allowed = tmp_path / "connectors.toml"
    allowed.write_text('[http]\nallow = ["127.0.0.1"]\ntimeout_seconds = 5\n', encoding="utf-8")
    engine = bootstrap(replace(settings, connectors_file=allowed), clock=clock, upgrade=False)
    yield engine
    engine.close()


def _waiting_on(huhua: Huhua, instance_id: int) -> list[tuple[str, str]]:
    return [(j["kind"], j["element_id"]) for j in huhua.queries.jobs(state="pending")
            if j["instance_id"] == instance_id]


def test_a_service_task_calls_out_through_a_worker_and_retries_a_failed_call(
        connected: Huhua, clock: VirtualClock) -> None:
    huhua = connected
    deploy_fixtures(huhua, "push_scores.bpmn")
    with http_receiver() as receiver:
        receiver.statuses = [503]  # busy the first time
        receiver.answer = {"accepted": True, "receipt": "HY-2026-0042"}
        started = huhua.execute(StartInstance("push_scores", "admin", variables={
            "receiver": receiver.url + "/scores", "school": "珠晖区第一中学"}, origin=ENGINE))
        assert _waiting_on(huhua, started["id"]) == [("continuation", "tally")]  # the start only wrote a job
        assert receiver.requests == []
        run_due_jobs(huhua)  # the continuation runs the script; the service call fails once
        assert len(receiver.requests) == 1
        failed = huhua.queries.jobs(state="pending")[0]
        assert (failed["kind"], failed["attempts"]) == ("service", 1) and "HTTP 503" in failed["last_error"]
        clock.advance(timedelta(seconds=3))  # past the backoff
        run_due_jobs(huhua)
        instance = huhua.queries.instance(started["id"])
    assert [t["element_id"] for t in instance["open_tasks"]] == ["confirm"]
    assert instance["data"]["receipt"] == {"status": 200, "body": {"accepted": True, "receipt": "HY-2026-0042"}}
    first, second = receiver.requests
    assert first.json() == second.json() == {"school": "珠晖区第一中学", "total": 87}
    assert (first.method, first.path) == ("POST", "/scores")
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]  # a retry, not a second call
    kinds = [e["kind"] for e in instance["history"]]
    assert kinds.index("continuation_ran") < kinds.index("service_called")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_answer_that_would_come_again_is_an_incident_at_once(connected: Huhua, clock: VirtualClock) -> None:
    huhua = connected
    deploy_fixtures(huhua, "push_scores.bpmn")
    with http_receiver() as receiver:
        receiver.statuses = [404]  # the receiver does not know the address: no retry would change that
        started = huhua.execute(StartInstance("push_scores", "admin", variables={
            "receiver": receiver.url + "/gone", "school": "珠晖区第一中学"}, origin=ENGINE))
        run_due_jobs(huhua)
        clock.advance(timedelta(hours=1))
        run_due_jobs(huhua)
    assert len(receiver.requests) == 1
    [failed] = huhua.queries.jobs(state="failed")
    assert failed["attempts"] == 1 and "answered HTTP 404" in failed["last_error"]
    [incident] = huhua.queries.instance(started["id"])["incidents"]
    assert incident["kind"] == "job_failed" and "not retried" in incident["message"]


def test_a_service_task_may_only_reach_allowed_hosts(connected: Huhua, clock: VirtualClock) -> None:
    huhua = connected
    deploy_fixtures(huhua, "push_scores.bpmn")
    started = huhua.execute(StartInstance("push_scores", "admin", variables={
        "receiver": "http://files.example.org/upload", "school": "石鼓区第二小学"}, origin=ENGINE))
    run_due_jobs(huhua)  # refused before any request, which no retry would change: an incident at once
    failed = huhua.queries.jobs(state="failed")
    assert [(j["kind"], j["attempts"]) for j in failed] == [("service", 1)]
    assert "host 'files.example.org' is not allowed" in failed[0]["last_error"]
    incidents = huhua.queries.instance(started["id"])["incidents"]
    assert [i["kind"] for i in incidents] == ["job_failed"]


def test_the_shipped_configuration_lets_a_model_call_nowhere(huhua: Huhua, clock: VirtualClock) -> None:
    deploy_fixtures(huhua, "push_scores.bpmn")
    with http_receiver() as receiver:
        huhua.execute(StartInstance("push_scores", "admin", variables={"receiver": receiver.url, "school": "某校"},
                                    origin=ENGINE))
        run_due_jobs(huhua)
    assert receiver.requests == []
    assert "is not allowed" in huhua.queries.jobs(state="failed")[0]["last_error"]
