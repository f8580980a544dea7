"""Running instances through the command layer: scripts, gateways, people, items, messages, timers, incidents."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ, VirtualClock
from engine.commands import ENGINE, CompleteTask, CorrelateMessage, DeployModels, StartInstance
from engine.errors import Conflict, InvalidInput, NotFound
from tests.helpers import FIXTURES, deploy_fixtures, fired_timers, history_kinds, only_task


def test_straight_through_instance_completes_on_the_right_branch(huhua: Huhua) -> None:
    deploy_fixtures(huhua, "straight.bpmn")
    started = huhua.execute(StartInstance("straight", "admin"))
    assert started["state"] == "completed"
    view = huhua.queries.instance(started["id"])
    assert view["data"] == {"total": 75}
    assert history_kinds(huhua, started["id"]) == ["instance_started", "activities_completed", "instance_completed"]
    steps = next(e for e in view["history"] if e["kind"] == "activities_completed")["detail"]["elements"]
    assert steps == ["start", "score", "gw", "e1"]  # total 75 >= 60: the "high" flow to e1


def test_task_is_offered_to_candidates_only(huhua: Huhua) -> None:
    deploy_fixtures(huhua, "review.bpmn")
    started = huhua.execute(StartInstance("review", "admin", variables={"reviewers": ["wang", "li"]}, origin=ENGINE))
    task = only_task(huhua, started["id"])
    assert sorted(task["candidate_users"]) == ["li", "wang"] and task["candidate_groups"] == ["county_officer"]
    assert task["due_at"] is not None and task["name"] == "审核材料"
    assert [t["id"] for t in huhua.queries.tasks(user="wang")] == [task["id"]]
    assert huhua.queries.tasks(user="zhao") == []
    with pytest.raises(NotFound):  # zhao is not offered it: as if there were no such task
        huhua.execute(CompleteTask(task["id"], "zhao", {"approve": True}))

    done = huhua.execute(CompleteTask(task["id"], "li", {"approve": True}))
    assert done["instance"]["state"] == "completed"
    assert huhua.queries.instance(started["id"])["data"]["outcome"] == "通过"
    with pytest.raises(Conflict, match=r"li finished this task at "):
        huhua.execute(CompleteTask(task["id"], "li", {"approve": False}))


def test_rejection_takes_the_default_branch(huhua: Huhua) -> None:
    deploy_fixtures(huhua, "review.bpmn")
    started = huhua.execute(StartInstance("review", "admin", variables={"reviewers": ["wang"]}, origin=ENGINE))
    huhua.execute(CompleteTask(only_task(huhua, started["id"])["id"], "wang", {"approve": False}))
    view = huhua.queries.instance(started["id"])
    assert view["state"] == "completed" and "outcome" not in view["data"]


def test_multi_instance_items_are_separate_tasks_and_results_keep_their_order(huhua: Huhua) -> None:
    deploy_fixtures(huhua, "school_scores.bpmn")
    schools = ["衡阳市一中", "衡阳市八中", "成章实验中学"]
    started = huhua.execute(StartInstance("school_scores", "admin", variables={"schools": schools}, origin=ENGINE))
    items = huhua.queries.tasks(instance_id=started["id"])
    assert [t["item"]["school"] for t in items] == schools
    version = huhua.queries.instance(started["id"])["version"]
    # Completing items out of order: only the last one moves the workflow (and its version).
    for points, task in zip([80, 95, 70], [items[2], items[0], items[1]], strict=True):
        huhua.execute(CompleteTask(task["id"], "admin", {"score": points}))
        if task is not items[1]:
            assert huhua.queries.instance(started["id"])["version"] == version
    view = huhua.queries.instance(started["id"])
    assert view["state"] == "completed"
    assert view["data"]["scores"] == [95, 70, 80] and view["data"]["total"] == 245


def test_messages_are_correlated_by_business_key(huhua: Huhua) -> None:
    deploy_fixtures(huhua, "await_message.bpmn")
    zhuhui = huhua.execute(StartInstance("await_message", "admin", business_key="珠晖区"))
    yanfeng = huhua.execute(StartInstance("await_message", "admin", business_key="雁峰区"))
    with pytest.raises(NotFound, match="without a key"):  # never "any waiting instance": no catch takes one
        huhua.execute(CorrelateMessage("plan_submitted", "admin", variables={"plan_title": "x"}))
    huhua.execute(StartInstance("await_message", "admin", business_key="雁峰区"))
    with pytest.raises(Conflict, match="2 waiting tasks"):
        huhua.execute(CorrelateMessage("plan_submitted", "admin", "雁峰区", {"plan_title": "x"}))
    huhua.execute(CorrelateMessage("plan_submitted", "admin", "雁峰区", {"plan_title": "x"}, deliver_to_all=True))
    yanfeng = huhua.execute(StartInstance("await_message", "admin", business_key="雁峰区"))
    with pytest.raises(NotFound):
        huhua.execute(CorrelateMessage("plan_submitted", "admin", "石鼓区", {"plan_title": "x"}))

    result = huhua.execute(CorrelateMessage("plan_submitted", "admin", "雁峰区", {"plan_title": "雁峰区方案"}))
    assert [i["id"] for i in result["delivered_to"]] == [yanfeng["id"]]
    assert huhua.queries.instance(yanfeng["id"])["data"]["registered"] == "雁峰区方案（已登记）"
    assert huhua.queries.instance(zhuhui["id"])["state"] == "running"
    with pytest.raises(NotFound):  # the subscription is gone once the message was taken
        huhua.execute(CorrelateMessage("plan_submitted", "admin", "雁峰区", {"plan_title": "again"}))


def test_boundary_timer_fires_on_the_engine_clock(huhua: Huhua, clock: VirtualClock) -> None:
    deploy_fixtures(huhua, "deadline.bpmn")
    started = huhua.execute(StartInstance("deadline", "admin"))
    assert [j["element_id"] for j in huhua.queries.jobs(state="pending", kind="timer")] == ["overdue"]
    clock.advance(timedelta(days=1, hours=23))
    assert fired_timers(huhua) == 0
    assert only_task(huhua, started["id"])["name"] == "报送材料"
    clock.advance(timedelta(hours=2))
    assert fired_timers(huhua) == 1
    assert only_task(huhua, started["id"])["name"] == "上级督办"
    assert [t["name"] for t in huhua.queries.tasks(instance_id=started["id"], state="cancelled")] == ["报送材料"]
    assert "timer_fired" in history_kinds(huhua, started["id"])


def test_completing_before_the_deadline_cancels_the_timer(huhua: Huhua, clock: VirtualClock) -> None:
    deploy_fixtures(huhua, "deadline.bpmn")
    started = huhua.execute(StartInstance("deadline", "admin"))
    huhua.execute(CompleteTask(only_task(huhua, started["id"])["id"], "admin"))
    assert huhua.queries.jobs(state="pending", kind="timer") == []
    clock.advance(timedelta(days=5))
    assert fired_timers(huhua) == 0
    assert huhua.queries.instance(started["id"])["state"] == "completed"


def test_a_failing_script_raises_an_incident_with_its_element(huhua: Huhua) -> None:
    deploy_fixtures(huhua, "failing_script.bpmn")
    started = huhua.execute(StartInstance("failing_script", "admin", variables={"done": 3, "total": 0}, origin=ENGINE))
    assert started["state"] == "incident" and "division by zero" in started["incident"]
    incidents = huhua.queries.instance(started["id"])["incidents"]
    assert [(i["element_id"], i["kind"]) for i in incidents] == [("divide", "failed_task")]


def test_a_loop_deeper_than_spiffworkflow_tracks_is_an_incident_not_a_completion(huhua: Huhua) -> None:
    deploy_fixtures(huhua, "long_loop.bpmn")
    short = huhua.execute(StartInstance("long_loop", "admin", variables={"rounds": 50}, origin=ENGINE))
    assert short["state"] == "running" and only_task(huhua, short["id"])["name"] == "确认结果"
    deep = huhua.execute(StartInstance("long_loop", "admin", variables={"rounds": 600}, origin=ENGINE))
    assert deep["state"] == "incident"
    assert huhua.queries.instance(deep["id"])["incidents"][0]["kind"] == "tree_too_deep"


def test_plain_spiffworkflow_reports_that_deep_loop_as_complete() -> None:
    """The reference behaviour the guard above exists for."""
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
    from SpiffWorkflow.util.task import TaskState

    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(FIXTURES / "long_loop.bpmn"))
    workflow = BpmnWorkflow(parser.get_spec("long_loop"))
    workflow.get_next_task(state=TaskState.READY).data["rounds"] = 600
    workflow.do_engine_steps()
    assert workflow.is_completed() and workflow.data.get("i", 0) < 600


@pytest.mark.parametrize("variables, field", [
    ([1, 2], "variables"),
    ({"__class__": 1}, "variables.__class__"),
    ({"has space": 1}, "variables.has space"),
])
def test_bad_start_variables_are_refused(huhua: Huhua, variables: object, field: str) -> None:
    deploy_fixtures(huhua, "straight.bpmn")
    with pytest.raises(InvalidInput) as refused:
        huhua.execute(StartInstance("straight", "admin", variables=variables, origin=ENGINE))  # type: ignore[arg-type]
    assert refused.value.problems[0].field == field
    assert huhua.queries.instances() == []


def test_unknown_process_and_task_are_not_found(huhua: Huhua) -> None:
    with pytest.raises(NotFound, match="no process with key 'nope'"):
        huhua.execute(StartInstance("nope", "admin"))
    with pytest.raises(NotFound):
        huhua.execute(CompleteTask(424242, "admin"))



def test_a_script_can_throw_a_bpmn_error_for_a_boundary_event(huhua: Huhua) -> None:
    deploy_fixtures(huhua, "error_boundary.bpmn")
    passed = huhua.execute(StartInstance("error_boundary", "admin", variables={"complete": True, "code": "INCOMPLETE"},
                                         origin=ENGINE))
    assert passed["state"] == "completed"
    failed = huhua.execute(StartInstance("error_boundary", "admin",
                                         variables={"complete": False, "code": "INCOMPLETE"}, origin=ENGINE))
    assert failed["state"] == "running" and only_task(huhua, failed["id"])["name"] == "补充材料"
    assert "checked" not in huhua.queries.instance(failed["id"])["data"]
    uncaught = huhua.execute(StartInstance("error_boundary", "admin", variables={"complete": False, "code": "OTHER"},
                                           origin=ENGINE))
    assert uncaught["state"] == "incident" and "OTHER" in uncaught["incident"]


def test_elements_may_be_called_start_and_end(huhua: Huhua) -> None:
    """SpiffWorkflow names internal steps Start and End; elements with those ids still run and keep them."""
    deploy_fixtures(huhua, "error_boundary.bpmn")
    started = huhua.execute(StartInstance("error_boundary", "admin", variables={"complete": True, "code": "X"},
                                          origin=ENGINE))
    steps = next(e for e in huhua.queries.instance(started["id"])["history"]
                 if e["kind"] == "activities_completed")["detail"]["elements"]
    assert steps == ["Start", "check", "End"]


def test_a_multi_instance_task_refuses_absurd_cardinality(huhua: Huhua) -> None:
    deploy_fixtures(huhua, "school_scores.bpmn")
    started = huhua.execute(StartInstance("school_scores", "admin", variables={"schools": list(range(100_001))},
                                          origin=ENGINE))
    assert started["state"] == "incident" and "100000" in started["incident"]
    assert huhua.queries.tasks(instance_id=started["id"]) == []


def test_a_property_expression_that_fails_is_an_incident(huhua: Huhua) -> None:
    deploy_fixtures(huhua, "review.bpmn")
    started = huhua.execute(StartInstance("review", "admin"))  # candidateUsers is "=reviewers", which is missing
    assert started["state"] == "incident" and "reviewers" in started["incident"]


def test_an_unreadable_due_date_is_an_incident(huhua: Huhua) -> None:
    broken = (FIXTURES / "review.bpmn").read_bytes().replace(b'value="P3D"', b'value="=deadline"')
    huhua.execute(DeployModels(files=(("review.bpmn", broken),), actor="admin"))
    started = huhua.execute(StartInstance("review", "admin", variables={"reviewers": ["wang"], "deadline": "soon"},
                                          origin=ENGINE))
    assert started["state"] == "incident" and "soon" in started["incident"]
    ok = huhua.execute(StartInstance("review", "admin", variables={"reviewers": ["wang"],
                                                                   "deadline": "2026-03-09T17:00:00"}, origin=ENGINE))
    assert only_task(huhua, ok["id"])["due_at"] == "2026-03-09T09:00:00+00:00"  # zone-less means Beijing time


def test_a_failing_timer_job_does_not_hold_up_the_others(huhua: Huhua, clock: VirtualClock) -> None:
    from sqlalchemy import update

    from engine.store import tables

    deploy_fixtures(huhua, "deadline.bpmn")
    broken = huhua.execute(StartInstance("deadline", "admin"))
    healthy = huhua.execute(StartInstance("deadline", "admin"))
    with huhua.services.database.engine.begin() as connection:  # simulate a corrupted row (a bug, a bad restore)
        connection.execute(update(tables.process_instance).where(tables.process_instance.c.id == broken["id"])
                           .values(workflow_state="{not json"))
    clock.advance(timedelta(days=3))
    fired_timers(huhua)
    assert only_task(huhua, healthy["id"])["name"] == "上级督办"
    failed = [j for j in huhua.queries.jobs() if j["instance_id"] == broken["id"]]
    assert failed[0]["attempts"] == 1 and failed[0]["state"] == "pending" and failed[0]["last_error"]


def test_a_thrown_message_reaches_the_instance_with_the_same_business_key(huhua: Huhua) -> None:
    deploy_fixtures(huhua, "await_message.bpmn", "send_plan.bpmn")
    no_key = huhua.execute(StartInstance("await_message", "admin"))
    hengnan = huhua.execute(StartInstance("await_message", "admin", business_key="衡南县"))
    sender = huhua.execute(StartInstance("send_plan", "admin", business_key="衡南县",
                                         variables={"title": "衡南县方案"}, origin=ENGINE))
    assert sender["state"] == "completed"
    assert huhua.queries.instance(hengnan["id"])["data"]["registered"] == "衡南县方案（已登记）"
    assert huhua.queries.instance(no_key["id"])["state"] == "running"


def test_a_due_date_in_working_days_follows_the_official_calendar(huhua: Huhua, clock: VirtualClock) -> None:
    counted = (FIXTURES / "review.bpmn").read_bytes().replace(
        b'name="dueDate" value="P3D"', b'name="dueWorkingDays" value="5"')
    huhua.execute(DeployModels(files=(("review.bpmn", counted),), actor="admin"))
    clock.set(datetime(2026, 9, 29, 9, 0, tzinfo=BUSINESS_TZ))  # National Day (1-7 Oct) lies ahead
    started = huhua.execute(StartInstance("review", "admin", variables={"reviewers": ["wang"]}, origin=ENGINE))
    assert only_task(huhua, started["id"])["due_at"] == "2026-10-12T09:30:00+00:00"  # 17:30 Beijing on 12 Oct
    broken = counted.replace(b'name="dueWorkingDays" value="5"', b'name="dueWorkingDays" value="five"')
    huhua.execute(DeployModels(files=(("review.bpmn", broken),), actor="admin"))
    refused = huhua.execute(StartInstance("review", "admin", variables={"reviewers": ["wang"]}, origin=ENGINE))
    assert refused["state"] == "incident" and "dueWorkingDays" in refused["incident"]


def test_an_event_based_gateway_whose_timer_fired_is_saved_and_a_p_named_variable_is_an_expression(
        huhua: Huhua, clock: VirtualClock) -> None:
    deploy_fixtures(huhua, "publicity.bpmn")  # the timer reads the variable publicity_ends, not a literal
    started = huhua.execute(StartInstance("publicity", "admin", variables={"publicity_ends": "2026-03-09T17:30"},
                                          origin=ENGINE))
    assert [j["due_at"] for j in huhua.queries.jobs(state="pending")] == ["2026-03-09T09:30:00+00:00"]
    clock.set(datetime(2026, 3, 9, 17, 31, tzinfo=BUSINESS_TZ))
    fired_timers(huhua)
    assert [t["element_id"] for t in huhua.queries.instance(started["id"])["open_tasks"]] == ["ut"]


def test_a_message_to_a_process_that_also_has_a_plain_start_starts_it_through_the_message_start(
        huhua: Huhua) -> None:
    deploy_fixtures(huhua, "two_starts.bpmn")
    sent = huhua.execute(StartInstance("refer", "admin"))
    assert sent["state"] == "completed"
    [started] = huhua.queries.instances(process_key="two_starts")
    assert started["state"] == "completed"
    activities = [e["detail"] for e in huhua.queries.instance(started["id"])["history"]]
    assert "by_message" in str(activities) and "plain" not in str(activities)
