"""Retrying incidents: the failed step runs again with corrected data; failed jobs become due again."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.bootstrap import Huhua
from engine.clock import VirtualClock
from engine.commands import (
    ENGINE,
    CompleteTask,
    LoadDirectory,
    ResumeInstance,
    RetryIncidents,
    StartInstance,
    SuspendInstance,
    TerminateInstance,
)
from engine.errors import Conflict
from engine.org.profiles import generate
from tests.helpers import deploy_fixtures, fired_timers, history_kinds
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
                                                                            "school": "某校"}, origin=ENGINE))
    for _ in range(8):
        run_due_jobs(huhua)
        clock.advance(timedelta(minutes=1))
    assert [i["kind"] for i in huhua.queries.instance(started["id"])["incidents"]] == ["job_failed"]
    result = huhua.execute(RetryIncidents(started["id"], "admin"))
    assert result["jobs_due_again"] == 1
    assert [(j["kind"], j["attempts"]) for j in huhua.queries.jobs(state="pending")] == [("service", 0)]


def test_a_suspended_instance_holds_still_and_a_terminated_one_ends_with_its_children(
        huhua: Huhua, clock: VirtualClock) -> None:

    deploy_fixtures(huhua, "deadline.bpmn")  # a task with a boundary timer due two days on
    held = huhua.execute(StartInstance("deadline", "admin"))
    huhua.execute(SuspendInstance(held["id"], "admin", "等待核实"))
    task = huhua.queries.instance(held["id"])["open_tasks"][0]
    with pytest.raises(Conflict):
        huhua.execute(CompleteTask(task["id"], "admin", {}))
    clock.advance(timedelta(days=5))
    assert fired_timers(huhua) == 0  # its timer waits too
    huhua.execute(ResumeInstance(held["id"], "admin"))
    assert fired_timers(huhua) == 1

    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    deploy_fixtures(huhua, "rollout_city.bpmn", "rollout_county.bpmn", "rollout_school.bpmn")
    rollout = huhua.execute(StartInstance("rollout_city", "admin", org_scope="hy", variables={"course": "x"},
                                          origin=ENGINE))
    run_due_jobs(huhua)
    ended = huhua.execute(TerminateInstance(rollout["id"], "admin", "方案调整"))
    assert len(ended["terminated"]) == 1 + 13 + 52
    assert huhua.queries.tasks(limit=500) == [] or all(
        t["process_key"] == "deadline" for t in huhua.queries.tasks(limit=500))
    assert {i["state"] for i in huhua.queries.instances(process_key="rollout_school", limit=100)} == {"terminated"}
