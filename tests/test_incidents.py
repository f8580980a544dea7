"""Retrying incidents: the failed step runs again with corrected data; failed jobs become due again."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.bootstrap import Huhua
from engine.clock import VirtualClock
from engine.commands import RetryIncidents, StartInstance
from engine.errors import Conflict
from tests.helpers import deploy_fixtures, history_kinds
from workers.job_worker import run_due_jobs


def test_a_failed_script_runs_again_with_the_missing_data(huhua: Huhua) -> None:
    deploy_fixtures(huhua, "failing_script.bpmn")  # ratio = done / total, with neither given
    started = huhua.execute(StartInstance("failing_script", "admin"))
    assert started["state"] == "incident"
    again = huhua.execute(RetryIncidents(started["id"], "admin", {"done": 3}))  # total still missing
    assert again["instance"]["state"] == "incident" and "total" in again["instance"]["incident"]
    fixed = huhua.execute(RetryIncidents(started["id"], "admin", {"done": 3, "total": 4}))
    assert fixed["instance"]["state"] == "completed"
    shown = huhua.queries.instance(started["id"])
    assert shown["data"]["ratio"] == 0.75
    assert len(shown["incidents"]) == 2 and all(i["resolved_at"] for i in shown["incidents"])
    assert history_kinds(huhua, started["id"]).count("incidents_retried") == 2
    with pytest.raises(Conflict):
        huhua.execute(RetryIncidents(started["id"], "admin"))


def test_a_job_that_ran_out_of_retries_is_due_again(huhua: Huhua, clock: VirtualClock) -> None:
    deploy_fixtures(huhua, "push_scores.bpmn")  # the shipped configuration lets its service task call nowhere
    started = huhua.execute(StartInstance("push_scores", "admin", variables={"receiver": "http://x.example/",
                                                                            "school": "某校"}))
    for _ in range(8):
        run_due_jobs(huhua)
        clock.advance(timedelta(minutes=1))
    assert [i["kind"] for i in huhua.queries.instance(started["id"])["incidents"]] == ["job_failed"]
    result = huhua.execute(RetryIncidents(started["id"], "admin"))
    assert result["jobs_due_again"] == 1
    assert [(j["kind"], j["attempts"]) for j in huhua.queries.jobs(state="pending")] == [("service", 0)]
