"""Moving running instances to a newer version of their process: through the command, the CLI and HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from flask.testing import FlaskClient

from engine.bootstrap import Huhua
from engine.clock import VirtualClock
from engine.commands import (
    ENGINE,
    AddComment,
    ClaimTask,
    CompleteTask,
    CorrelateMessage,
    IncompatibleMigration,
    MigrateInstance,
    RetryIncidents,
    StartInstance,
    SuspendInstance,
)
from engine.errors import Conflict, InvalidInput, NotFound
from engine.web import create_app
from tests.helpers import cli_json, deploy_fixtures, fired_timers, history_kinds, only_task

AS_ADMIN = {"X-Huhua-User": "admin"}
AS_WANG = {"X-Huhua-User": "wang"}


def _versions(huhua: Huhua, key: str) -> dict[int, int]:
    """Definition id by version number."""
    return {d["version"]: d["id"] for d in huhua.queries.definitions(key=key)}


def _leave_on_v1(huhua: Huhua, second: str = "leave_v2.bpmn") -> tuple[int, dict[int, int]]:
    """A leave request started on version 1 (its script step done, waiting at 'fill'), then ``second`` deployed."""
    deploy_fixtures(huhua, "migration/leave_v1.bpmn")
    started = huhua.execute(StartInstance("leave", "admin", variables={"days": 3, "reason": "探亲"}, origin=ENGINE))
    deploy_fixtures(huhua, f"migration/{second}")
    return started["id"], _versions(huhua, "leave")


def _snapshot(huhua: Huhua, instance_id: int) -> tuple:
    instance = huhua.queries.instance(instance_id)
    return (instance["definition_id"], instance["version"], instance["state"], instance["data"],
            [(t["id"], t["name"], t["assignee"]) for t in instance["open_tasks"]],
            [(j["id"], j["state"], j["due_at"]) for j in huhua.queries.jobs(instance_id=instance_id)],
            len(instance["history"]))


def test_a_migrated_instance_keeps_its_task_claim_and_data_and_goes_on_by_the_new_flow(huhua: Huhua) -> None:
    instance_id, versions = _leave_on_v1(huhua)
    task = only_task(huhua, instance_id)
    huhua.execute(ClaimTask(task["id"], "wang"))
    huhua.execute(AddComment(task["id"], "wang", "下周一交"))

    report = huhua.execute(MigrateInstance(instance_id, versions[2], "admin"))

    assert report["migrated"] and report["compatible"] and report["problems"] == []
    assert (report["from"]["version"], report["to"]["version"]) == (1, 2)
    assert report["at_elements"] == ["fill", "overdue"]
    assert report["added_elements"] == ["approve"] and report["removed_elements"] == ["prepare"]
    assert report["element_names"] == {"approve": "主管审批", "fill": "填写请假申请", "overdue": "逾期",
                                       "prepare": "准备材料"}
    instance = huhua.queries.instance(instance_id)
    assert instance["definition"]["version"] == 2 and instance["state"] == "running"
    kept = only_task(huhua, instance_id)
    assert (kept["id"], kept["assignee"], kept["element_id"]) == (task["id"], "wang", "fill")
    assert kept["name"] == "填写请假申请"  # the new version's name for the same element
    assert [c["body"] for c in huhua.queries.comments(task["id"])] == ["下周一交"]
    migrated = [e for e in instance["history"] if e["kind"] == "instance_migrated"]
    assert len(migrated) == 1 and migrated[0]["actor"] == "admin"
    assert (migrated[0]["detail"]["from_version"], migrated[0]["detail"]["to_version"]) == (1, 2)
    assert "task_created" in history_kinds(huhua, instance_id)  # the history before the move is all there

    huhua.execute(CompleteTask(task["id"], "wang", {"note": "已填"}))
    approve = only_task(huhua, instance_id)
    assert (approve["element_id"], approve["name"]) == ("approve", "主管审批")  # only version 2 has it
    huhua.execute(CompleteTask(approve["id"], "admin"))
    done = huhua.queries.instance(instance_id)
    assert done["state"] == "completed"
    assert done["data"] == {"days": 3, "reason": "探亲", "prepared": True, "note": "已填"}
    assert huhua.queries.jobs(instance_id=instance_id, state="pending") == []


def test_a_pending_timer_job_survives_the_move_and_fires_on_the_new_version(huhua: Huhua,
                                                                            clock: VirtualClock) -> None:
    instance_id, versions = _leave_on_v1(huhua)
    before = huhua.queries.jobs(instance_id=instance_id, state="pending")
    huhua.execute(MigrateInstance(instance_id, versions[2], "admin"))
    after = huhua.queries.jobs(instance_id=instance_id, state="pending")
    assert [(j["id"], j["element_id"], j["due_at"]) for j in after] == \
        [(j["id"], j["element_id"], j["due_at"]) for j in before]
    clock.advance(timedelta(days=2, hours=1))
    assert fired_timers(huhua) == 1
    assert only_task(huhua, instance_id)["element_id"] == "escalate"
    assert [t["element_id"] for t in huhua.queries.tasks(instance_id=instance_id, state="cancelled")] == ["fill"]


def test_an_instance_inside_a_subprocess_moves_and_continues_inside_and_after_it(huhua: Huhua) -> None:
    deploy_fixtures(huhua, "migration/visit_v1.bpmn")
    started = huhua.execute(StartInstance("visit", "admin"))
    deploy_fixtures(huhua, "migration/visit_v2.bpmn")
    versions = _versions(huhua, "visit")
    report = huhua.execute(MigrateInstance(started["id"], versions[2], "admin"))
    assert "talk" in report["at_elements"] and report["added_elements"] == ["record", "summary"]
    huhua.execute(CompleteTask(only_task(huhua, started["id"])["id"], "admin"))
    record = only_task(huhua, started["id"])
    assert record["element_id"] == "record"  # new inside the sub-process
    huhua.execute(CompleteTask(record["id"], "admin"))
    summary = only_task(huhua, started["id"])
    assert summary["element_id"] == "summary"  # new after it
    huhua.execute(CompleteTask(summary["id"], "admin"))
    assert huhua.queries.instance(started["id"])["state"] == "completed"


def test_a_sequential_multi_instance_task_moves_mid_way(huhua: Huhua) -> None:
    deploy_fixtures(huhua, "migration/multi_v1.bpmn")
    started = huhua.execute(StartInstance("multi", "admin"))
    huhua.execute(CompleteTask(only_task(huhua, started["id"])["id"], "admin"))  # the first of two checks
    deploy_fixtures(huhua, "migration/multi_v2.bpmn")
    huhua.execute(MigrateInstance(started["id"], _versions(huhua, "multi")[2], "admin"))
    second = only_task(huhua, started["id"])
    assert second["element_id"] == "check"
    huhua.execute(CompleteTask(second["id"], "admin"))
    sign = only_task(huhua, started["id"])
    assert sign["element_id"] == "sign"
    huhua.execute(CompleteTask(sign["id"], "admin"))
    assert huhua.queries.instance(started["id"])["state"] == "completed"


def test_a_parallel_join_half_reached_moves_and_joins_on_the_new_version(huhua: Huhua) -> None:
    deploy_fixtures(huhua, "migration/parallel_v1.bpmn")
    started = huhua.execute(StartInstance("parallel", "admin"))
    first = next(t for t in huhua.queries.tasks(instance_id=started["id"]) if t["element_id"] == "sign_a")
    huhua.execute(CompleteTask(first["id"], "admin"))  # one branch waits at the join
    deploy_fixtures(huhua, "migration/parallel_v2.bpmn")
    report = huhua.execute(MigrateInstance(started["id"], _versions(huhua, "parallel")[2], "admin"))
    assert set(report["at_elements"]) == {"sign_b", "join"}
    huhua.execute(CompleteTask(only_task(huhua, started["id"])["id"], "admin"))
    archive = only_task(huhua, started["id"])
    assert archive["element_id"] == "archive"
    huhua.execute(CompleteTask(archive["id"], "admin"))
    assert huhua.queries.instance(started["id"])["state"] == "completed"


def test_a_failed_step_is_fixed_by_moving_to_a_corrected_version_and_retrying(huhua: Huhua) -> None:
    deploy_fixtures(huhua, "failing_script.bpmn")
    started = huhua.execute(StartInstance("failing_script", "admin", variables={"done": 3, "total": 0}, origin=ENGINE))
    assert started["state"] == "incident"
    deploy_fixtures(huhua, "migration/failing_script_fixed.bpmn")
    report = huhua.execute(MigrateInstance(started["id"], _versions(huhua, "failing_script")[2], "admin"))
    assert report["at_elements"] == ["divide"] and report["instance"]["state"] == "incident"  # still to be retried
    assert huhua.queries.instance(started["id"])["state"] == "incident"
    retried = huhua.execute(RetryIncidents(started["id"], "admin"))
    assert retried["instance"]["state"] == "completed"
    assert huhua.queries.instance(started["id"])["data"]["ratio"] == 0


def test_a_waiting_message_keeps_its_subscription_unless_the_target_waits_for_another(huhua: Huhua) -> None:
    deploy_fixtures(huhua, "await_message.bpmn")
    kept = huhua.execute(StartInstance("await_message", "admin", business_key="常宁市"))["id"]
    renamed = huhua.execute(StartInstance("await_message", "admin", business_key="耒阳市"))["id"]
    deploy_fixtures(huhua, "migration/await_message_v2.bpmn")
    huhua.execute(MigrateInstance(kept, _versions(huhua, "await_message")[2], "admin"))
    huhua.execute(CorrelateMessage("plan_submitted", "admin", "常宁市", {"plan_title": "方案"}))
    assert huhua.queries.instance(kept)["data"]["registered"] == "方案（第二版登记）"  # the new version's script

    deploy_fixtures(huhua, "migration/await_message_renamed.bpmn")
    dry = huhua.execute(MigrateInstance(renamed, _versions(huhua, "await_message")[3], "admin", dry_run=True))
    assert [p["element_id"] for p in dry["problems"]] == ["wait_plan"]
    assert "plan_submitted" in dry["problems"][0]["reason"] and "plan_revised" in dry["problems"][0]["reason"]


def test_a_waiting_timer_event_moves_and_fires_into_the_new_flow(huhua: Huhua, clock: VirtualClock) -> None:
    deploy_fixtures(huhua, "quick_timer.bpmn")
    started = huhua.execute(StartInstance("quick_timer", "admin"))["id"]
    deploy_fixtures(huhua, "migration/quick_timer_v2.bpmn")
    report = huhua.execute(MigrateInstance(started, _versions(huhua, "quick_timer")[2], "admin"))
    assert report["at_elements"] == ["wait"]
    clock.advance(timedelta(seconds=2))
    assert fired_timers(huhua) == 1
    assert only_task(huhua, started)["element_id"] == "confirm"
    assert huhua.queries.instance(started)["data"]["reminded"] is True


def test_a_gateway_ahead_of_the_current_task_decides_on_the_new_version(huhua: Huhua) -> None:
    deploy_fixtures(huhua, "review.bpmn")
    approved = huhua.execute(StartInstance("review", "admin", variables={"reviewers": ["wang"]}, origin=ENGINE))["id"]
    rejected = huhua.execute(StartInstance("review", "admin", variables={"reviewers": ["wang"]}, origin=ENGINE))["id"]
    deploy_fixtures(huhua, "migration/review_v2.bpmn")
    for instance_id in (approved, rejected):
        huhua.execute(MigrateInstance(instance_id, _versions(huhua, "review")[2], "admin"))
    huhua.execute(CompleteTask(only_task(huhua, approved)["id"], "wang", {"approve": True}))
    assert only_task(huhua, approved)["element_id"] == "notify"  # the approved branch is longer in version 2
    huhua.execute(CompleteTask(only_task(huhua, rejected)["id"], "wang", {"approve": False}))
    assert huhua.queries.instance(rejected)["state"] == "completed"


@pytest.mark.parametrize("fixture, element, reason", [
    ("leave_removed.bpmn", "fill", "has no element 'fill'"),
    ("leave_changed.bpmn", "fill", "UserTask here but a ManualTask in version 2"),
])
def test_an_incompatible_target_is_refused_naming_the_element_and_nothing_changes(
        huhua: Huhua, fixture: str, element: str, reason: str) -> None:
    instance_id, versions = _leave_on_v1(huhua, fixture)
    before = _snapshot(huhua, instance_id)

    dry = huhua.execute(MigrateInstance(instance_id, versions[2], "admin", dry_run=True))
    assert not dry["compatible"] and not dry["migrated"]
    assert any(p["element_id"] == element and reason in p["reason"] for p in dry["problems"]), dry["problems"]

    with pytest.raises(IncompatibleMigration) as refused:
        huhua.execute(MigrateInstance(instance_id, versions[2], "admin"))
    assert refused.value.status == 409 and element in str(refused.value) and reason in str(refused.value)
    assert any(p.element_id == element for p in refused.value.problems)
    assert _snapshot(huhua, instance_id) == before
    assert "instance_migrated" not in history_kinds(huhua, instance_id)
    huhua.execute(CompleteTask(only_task(huhua, instance_id)["id"], "admin"))  # still runs on version 1
    assert huhua.queries.instance(instance_id)["state"] == "completed"


def test_the_boundary_events_around_the_current_task_must_stay_as_they_are(huhua: Huhua) -> None:
    instance_id, versions = _leave_on_v1(huhua, "leave_no_timer.bpmn")  # v2 drops the boundary timer
    dropped = huhua.execute(MigrateInstance(instance_id, versions[2], "admin", dry_run=True))
    assert {p["element_id"] for p in dropped["problems"]} == {"fill", "overdue"}
    assert "overdue" in dropped["removed_elements"]

    on_v2 = huhua.execute(StartInstance("leave", "admin"))["id"]
    huhua.execute(CompleteTask(only_task(huhua, on_v2)["id"], "admin"))  # v2's fill is done: at approve
    before_fill = huhua.execute(StartInstance("leave", "admin"))["id"]
    deploy_fixtures(huhua, "migration/leave_v2.bpmn")  # v3 has the timer again; v2's instances have none set up
    v3 = _versions(huhua, "leave")[3]
    assert huhua.execute(MigrateInstance(on_v2, v3, "admin", dry_run=True))["compatible"]
    added = huhua.execute(MigrateInstance(before_fill, v3, "admin", dry_run=True))
    assert [p["element_id"] for p in added["problems"]] == ["fill"]
    assert "boundary events are none here but overdue" in added["problems"][0]["reason"]


def test_a_subprocess_the_target_lacks_is_named(huhua: Huhua) -> None:
    deploy_fixtures(huhua, "migration/visit_v1.bpmn")
    started = huhua.execute(StartInstance("visit", "admin"))
    deploy_fixtures(huhua, "migration/visit_sub_renamed.bpmn")
    dry = huhua.execute(MigrateInstance(started["id"], _versions(huhua, "visit")[2], "admin", dry_run=True))
    assert not dry["compatible"]
    assert {p["element_id"] for p in dry["problems"]} >= {"home_visit"}


def test_wrong_process_older_version_finished_and_suspended_instances_are_refused(huhua: Huhua) -> None:
    instance_id, versions = _leave_on_v1(huhua)
    deploy_fixtures(huhua, "straight.bpmn")
    other = _versions(huhua, "straight")[1]
    with pytest.raises(InvalidInput, match="same process") as wrong:
        huhua.execute(MigrateInstance(instance_id, other, "admin"))
    assert wrong.value.problems[0].field == "target_definition_id"
    with pytest.raises(InvalidInput, match="must be a newer version"):
        huhua.execute(MigrateInstance(instance_id, versions[1], "admin"))  # its own version
    with pytest.raises(NotFound):
        huhua.execute(MigrateInstance(instance_id, 999, "admin"))
    with pytest.raises(NotFound):
        huhua.execute(MigrateInstance(999, versions[2], "admin"))

    on_v2 = huhua.execute(StartInstance("leave", "admin"))["id"]
    with pytest.raises(InvalidInput, match="not version 1"):
        huhua.execute(MigrateInstance(on_v2, versions[1], "admin"))  # older

    huhua.execute(SuspendInstance(instance_id, "admin"))
    with pytest.raises(Conflict, match="suspended; resume it"):
        huhua.execute(MigrateInstance(instance_id, versions[2], "admin"))

    finished = huhua.execute(StartInstance("leave", "admin"))["id"]
    huhua.execute(CompleteTask(only_task(huhua, finished)["id"], "admin"))
    huhua.execute(CompleteTask(only_task(huhua, finished)["id"], "admin"))
    with pytest.raises(Conflict, match="completed; only a running instance"):
        huhua.execute(MigrateInstance(finished, versions[2], "admin"))


def test_a_dry_run_reports_and_changes_nothing(huhua: Huhua) -> None:
    instance_id, versions = _leave_on_v1(huhua)
    before = _snapshot(huhua, instance_id)
    report = huhua.execute(MigrateInstance(instance_id, versions[2], "admin", dry_run=True))
    assert report["compatible"] and not report["migrated"] and report["dry_run"]
    assert _snapshot(huhua, instance_id) == before


def test_the_command_line_migrates_with_a_dry_run_first(huhua: Huhua, cli: Callable) -> None:
    instance_id, versions = _leave_on_v1(huhua)
    dry = cli_json(cli("migrate", str(instance_id), "--to", str(versions[2]), "--dry-run", "--json"))
    assert dry["compatible"] and not dry["migrated"]
    text = cli("migrate", str(instance_id), "--to", str(versions[2]), "--dry-run")
    assert text.exit_code == 0 and "compatible" in text.output and "approve" in text.output
    done = cli_json(cli("migrate", str(instance_id), "--to", str(versions[2]), "--json"))
    assert done["migrated"] and huhua.queries.instance(instance_id)["definition"]["version"] == 2
    again = cli("migrate", str(instance_id), "--to", str(versions[2]), "--json")
    assert again.exit_code == 2 and "newer version" in json.loads(again.stderr)["message"]


def test_the_command_line_names_incompatible_elements(huhua: Huhua, cli: Callable) -> None:
    instance_id, versions = _leave_on_v1(huhua, "leave_removed.bpmn")
    dry = cli("migrate", str(instance_id), "--to", str(versions[2]), "--dry-run")
    assert dry.exit_code == 1 and "NOT compatible" in dry.output and "✗ fill" in dry.output
    refused = cli("migrate", str(instance_id), "--to", str(versions[2]))
    assert refused.exit_code == 2 and "fill" in refused.stderr


@pytest.fixture
def client(huhua: Huhua) -> Iterator[FlaskClient]:
    app = create_app(huhua, {"TESTING": True})
    with app.test_client() as client:
        yield client


def test_the_api_migrates_for_the_administrator_only(huhua: Huhua, client: FlaskClient) -> None:
    instance_id, versions = _leave_on_v1(huhua)
    path = f"/api/v1/process-instances/{instance_id}/migrate"
    body = {"target_definition_id": versions[2]}
    assert client.post(path, json=body, headers=AS_WANG).status_code == 403
    dry = client.post(path, json={**body, "dry_run": True}, headers=AS_ADMIN)
    assert dry.status_code == 200 and dry.json["compatible"] and not dry.json["migrated"]
    assert huhua.queries.instance(instance_id)["definition"]["version"] == 1
    done = client.post(path, json=body, headers=AS_ADMIN)
    assert done.status_code == 200 and done.json["migrated"] and done.json["instance"]["definition_id"] == versions[2]
    assert huhua.queries.instance(instance_id)["definition"]["version"] == 2


@pytest.mark.parametrize("body, field", [
    ({}, "target_definition_id"),
    ({"target_definition_id": "2"}, "target_definition_id"),
    ({"target_definition_id": True}, "target_definition_id"),
    ({"target_definition_id": -1}, "target_definition_id"),
    ({"target_definition_id": 2, "dry_run": "yes"}, "dry_run"),
])
def test_the_api_names_the_bad_field(huhua: Huhua, client: FlaskClient, body: dict, field: str) -> None:
    instance_id = _leave_on_v1(huhua)[0]
    response = client.post(f"/api/v1/process-instances/{instance_id}/migrate", json=body, headers=AS_ADMIN)
    assert response.status_code == 400 and response.json["problems"][0]["field"] == field


def test_the_api_refuses_an_incompatible_move_with_the_elements(huhua: Huhua, client: FlaskClient) -> None:
    instance_id, versions = _leave_on_v1(huhua, "leave_changed.bpmn")
    response = client.post(f"/api/v1/process-instances/{instance_id}/migrate",
                           json={"target_definition_id": versions[2]}, headers=AS_ADMIN)
    assert response.status_code == 409 and response.json["error"] == "incompatible_migration"
    assert [p["element_id"] for p in response.json["problems"]] == ["fill"]


def test_an_instances_jobs_and_paged_history_over_http(huhua: Huhua, client: FlaskClient) -> None:
    instance_id = _leave_on_v1(huhua)[0]
    jobs = client.get(f"/api/v1/process-instances/{instance_id}/jobs", headers=AS_ADMIN)
    assert jobs.status_code == 200 and [(j["kind"], j["element_id"], j["state"]) for j in jobs.json] == \
        [("timer", "overdue", "pending")]
    assert client.get(f"/api/v1/process-instances/{instance_id}/jobs", headers=AS_WANG).status_code == 403
    assert client.get("/api/v1/process-instances/999/jobs", headers=AS_ADMIN).status_code == 404
    first = client.get(f"/api/v1/process-instances/{instance_id}/history", query_string={"limit": 2},
                       headers=AS_ADMIN).json
    assert first["total"] > 2 and len(first["events"]) == 2 and first["events"][0]["kind"] == "instance_started"
    rest = client.get(f"/api/v1/process-instances/{instance_id}/history", query_string={"offset": 2},
                      headers=AS_ADMIN).json
    assert len(rest["events"]) == first["total"] - 2
    outsider = {"X-Huhua-User": "zhao"}  # no task of this instance
    assert client.get(f"/api/v1/process-instances/{instance_id}/history", headers=outsider).status_code == 404
    assert client.get(f"/api/v1/process-instances/{instance_id}/history", headers=AS_WANG).status_code == 200
