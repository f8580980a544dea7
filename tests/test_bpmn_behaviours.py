"""BPMN behaviours the betsy suite checks, each on a model of its own, driven through commands."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.bootstrap import Huhua
from engine.clock import VirtualClock
from engine.commands import ENGINE, CompleteTask, DeployModels, StartInstance
from engine.errors import InvalidModel
from tests.helpers import FIXTURES, deploy_fixtures
from workers.job_worker import run_due_jobs

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _completed(huhua: Huhua, instance_id: int) -> list[str]:
    return [element for event in huhua.queries.instance(instance_id, history_limit=1000)["history"]
            if event["kind"] == "activities_completed" for element in event["detail"]["elements"]]


def test_a_complex_behaviour_condition_throws_its_event_and_completes_the_multi_instance_activity(
        huhua: Huhua) -> None:
    deploy_fixtures(huhua, "complex_behaviour.bpmn")
    started = huhua.execute(StartInstance("complex_behaviour", "admin", variables={"inspected": 0}, origin=ENGINE))
    view = huhua.queries.instance(started["id"])
    assert view["state"] == "completed"
    # Two of five instances ran: the condition held after the second, which cancelled the other three.
    assert view["data"]["inspected"] == 2 and view["data"]["reported"] == 2
    completed = _completed(huhua, started["id"])
    assert completed.count("inspect") == 2
    assert completed.count("notify") == 1 and completed.count("report") == 1  # the signal was caught, once


def test_activities_with_a_duration_are_busy_at_the_same_time_on_the_engine_clock(
        huhua: Huhua, clock: VirtualClock) -> None:
    deploy_fixtures(huhua, "busy_activities.bpmn")
    started = huhua.execute(StartInstance("busy_in_parallel", "admin", origin=ENGINE))["id"]
    jobs = {j["element_id"]: j for j in huhua.queries.jobs(instance_id=started, kind="continuation")}
    # Both were reached at once and each is busy for its own duration.
    assert {e: (j["created_at"], j["due_at"]) for e, j in jobs.items()} == {
        "print": (clock.now().isoformat(), (clock.now() + timedelta(hours=2)).isoformat()),
        "bind": (clock.now().isoformat(), (clock.now() + timedelta(hours=1)).isoformat())}
    run_due_jobs(huhua)
    assert _completed(huhua, started) == ["Start", "fork"]  # neither is done before its time
    clock.advance(timedelta(hours=1))
    run_due_jobs(huhua)
    assert "bind" in _completed(huhua, started) and "print" not in _completed(huhua, started)
    clock.advance(timedelta(hours=1))
    run_due_jobs(huhua)
    view = huhua.queries.instance(started)
    assert view["state"] == "completed" and view["data"]["printed"] and view["data"]["bound"]


def test_a_boundary_timer_interrupts_an_activity_still_busy_with_its_duration(huhua: Huhua,
                                                                              clock: VirtualClock) -> None:
    deploy_fixtures(huhua, "busy_activities.bpmn")
    started = huhua.execute(StartInstance("busy_past_deadline", "admin", origin=ENGINE))["id"]
    clock.advance(timedelta(hours=1))
    run_due_jobs(huhua)
    view = huhua.queries.instance(started)
    assert view["state"] == "completed" and view["data"]["late"] is True
    assert "visit" not in _completed(huhua, started)
    assert [j["state"] for j in huhua.queries.jobs(instance_id=started, kind="continuation")] == ["cancelled"]


def test_a_duration_that_is_not_iso_8601_is_refused_at_deploy_naming_the_element(huhua: Huhua) -> None:
    model = (FIXTURES / "busy_activities.bpmn").read_bytes().replace(b'value="PT3H"', b'value="3 hours"')
    with pytest.raises(InvalidModel) as refused:
        huhua.execute(DeployModels(files=(("busy_activities.bpmn", model),), actor="admin"))
    problem = next(p for p in refused.value.problems if p.element_id == "visit")
    assert "'3 hours' is not an ISO 8601 duration" in str(problem.message)


def test_a_non_interrupting_conditional_start_fires_each_time_its_condition_turns_true(huhua: Huhua) -> None:
    deploy_fixtures(huhua, "conditional_starts.bpmn")
    # score is not set at first: the condition cannot hold yet, which is no error.
    started = huhua.execute(StartInstance("watch_scores", "admin", origin=ENGINE))["id"]
    view = huhua.queries.instance(started)
    assert view["state"] == "running" and [t["element_id"] for t in view["open_tasks"]] == ["review"]
    # 95 turned it true (an alert); 98 kept it true (none); 60 turned it false.
    assert _completed(huhua, started).count("alert") == 1
    # A person's answer is a change of data too: 99 turns it true again.
    huhua.execute(CompleteTask(view["open_tasks"][0]["id"], "admin", {"score": 99}))
    assert _completed(huhua, started).count("alert") == 2
    assert huhua.queries.instance(started)["state"] == "completed"


def test_an_interrupting_conditional_start_cancels_the_rest_of_its_sub_process(huhua: Huhua) -> None:
    deploy_fixtures(huhua, "conditional_starts.bpmn")
    started = huhua.execute(StartInstance("withdraw_on_condition", "admin", origin=ENGINE,
                                          variables={"withdrawn": False}))["id"]
    view = huhua.queries.instance(started)
    assert view["state"] == "completed" and view["open_tasks"] == []
    completed = _completed(huhua, started)
    assert "archive" in completed and "handle" not in completed and "End2" in completed


def test_a_transactions_cancel_end_event_compensates_its_activities_before_the_cancel_boundary_event(
        huhua: Huhua) -> None:
    deploy_fixtures(huhua, "cancelled_booking.bpmn")
    started = huhua.execute(StartInstance("cancelled_booking", "admin", origin=ENGINE))["id"]
    assert huhua.queries.instance(started)["state"] == "completed"
    completed = _completed(huhua, started)
    assert "confirm" not in completed and completed.count("release_room") == 1
    assert completed.index("book_room") < completed.index("release_room") < completed.index("tell")


def test_a_completed_sub_process_is_compensated_by_its_compensation_event_sub_process(huhua: Huhua) -> None:
    deploy_fixtures(huhua, "compensated_enrolment.bpmn")
    started = huhua.execute(StartInstance("compensated_enrolment", "admin", origin=ENGINE))["id"]
    assert huhua.queries.instance(started)["state"] == "completed"
    completed = _completed(huhua, started)
    # The event sub-process ran once, inside the completed sub-process, and its throw compensated the seat there;
    # the sub-process did not end a second time.
    assert completed.count("note_undo") == 1 and completed.count("free_seat") == 1
    assert completed.index("take_seat") < completed.index("note_undo") < completed.index("free_seat")
    assert completed.count("enrol") == 1 and completed.count("End") == 1
    assert completed.index("free_seat") < completed.index("End")  # the throw waited for its compensation


def test_a_complex_behaviour_condition_outside_the_sandbox_is_refused_at_deploy(huhua: Huhua) -> None:
    model = (FIXTURES / "complex_behaviour.bpmn").read_bytes().replace(
        b"inspected &gt;= 2", b"__import__('os').getpid() &gt; 0")
    with pytest.raises(InvalidModel) as refused:
        huhua.execute(DeployModels(files=(("complex_behaviour.bpmn", model),), actor="admin"))
    problem = next(p for p in refused.value.problems if p.element_id == "inspect")
    assert "complex behaviour condition" in str(problem.message)
