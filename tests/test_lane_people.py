"""Lanes as spiff-arena models use them: the initiator's lane, a group lane whose people ``lane_owners`` names, and
refusals that say which lane a task is in and who may act on it (engine.commands.lane_people, task_refusals)."""

from __future__ import annotations

import re

import pytest

from engine.bootstrap import Huhua
from engine.commands import (
    ENGINE,
    ClaimTask,
    CompleteTask,
    DeployModels,
    DeployProcessModel,
    LoadDirectory,
    RetryIncidents,
    StartInstance,
)
from engine.errors import Forbidden, NotFound, TaskTaken
from engine.org.directory import Directory, Person, Role, Unit
from tests.helpers import served_client, token_cache

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

_LANED = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="http://huhua.example/t">
  <bpmn:collaboration id="c"><bpmn:participant id="pool" processRef="expenses"/></bpmn:collaboration>
  <bpmn:process id="expenses" name="报销" isExecutable="true">
    <bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="start_roles" value="校长"/>
      <spiffworkflow:property name="oversight_roles" value="校长"/>
    </spiffworkflow:properties></bpmn:extensionElements>
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_initiator" name="Process Initiator">
        <bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>ask</bpmn:flowNodeRef>
      </bpmn:lane>
      <bpmn:lane id="lane_finance" name="Finance">
        <bpmn:flowNodeRef>set_owners</bpmn:flowNodeRef><bpmn:flowNodeRef>approve</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>end</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="ask"/>
    <bpmn:userTask id="ask" name="Ask for money"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="ask" targetRef="set_owners"/>
    <bpmn:scriptTask id="set_owners" name="Who approves"><bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:script>lane_owners = {"Finance": approvers}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f3" sourceRef="set_owners" targetRef="approve"/>
    <bpmn:userTask id="approve" name="Approve"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f4" sourceRef="approve" targetRef="end"/>
    <bpmn:endEvent id="end"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>"""


@pytest.fixture
def school(huhua: Huhua) -> Huhua:
    """A school whose principal (alice) starts expense claims, three colleagues, and the model deployed."""
    huhua.execute(LoadDirectory(Directory(
        units=[Unit("hy", "衡阳市教育局", "city"), Unit("zh", "珠晖区教育局", "county", "hy"),
               Unit("s1", "珠晖一中", "school", "zh")],
        people=[Person("alice", "林校长", "s1", email="alice@s1.example"),
                Person("bob", "白会计", "s1", email="Bob@S1.example"),
                Person("carol", "蔡出纳", "s1"), Person("dave", "邓老师", "s1")],
        roles=[Role("alice", "s1", "principal")]), "admin"))
    huhua.execute(DeployModels(files=(("expenses.bpmn", _LANED.encode()),), actor="admin"))
    return huhua


def _open(huhua: Huhua, instance_id: int) -> dict:
    tasks = huhua.queries.tasks(instance_id=instance_id)
    assert len(tasks) == 1, tasks
    return tasks[0]


def _inbox(huhua: Huhua, user: str) -> list[str]:
    return [task["element_id"] for task in huhua.queries.tasks(user=user)]


def test_the_initiator_lane_and_a_lane_owners_group_reach_exactly_their_people_over_http(school: Huhua) -> None:
    tokens = token_cache(school)
    with served_client(school) as client:
        started = client.post("/api/v1/process-instances", headers=tokens("alice"),
                              json={"process_key": "expenses", "org_scope": "s1"})
        assert started.status_code == 201, started.json
        instance = started.json["id"]
        ask = _open(school, instance)
        assert ask["element_id"] == "ask"
        assert _inbox(school, "alice") == ["ask"] and _inbox(school, "bob") == []
        # nobody else may so much as see the initiator's own task
        assert client.post(f"/api/v1/tasks/{ask['id']}/complete", headers=tokens("bob"),
                           json={"data": {}}).status_code == 404
        done = client.post(f"/api/v1/tasks/{ask['id']}/complete", headers=tokens("alice"),
                           json={"data": {"approvers": ["carol", "bob@s1.example", "carol"]}})
        assert done.status_code == 200, done.json

        approve = _open(school, instance)
        assert approve["element_id"] == "approve"
        assert [_inbox(school, who) for who in ("alice", "bob", "carol", "dave")] == [[], ["approve"], ["approve"], []]
        assert client.get(f"/api/v1/tasks/{approve['id']}", headers=tokens("dave")).status_code == 404

        # alice may read the instance (she worked on it) but not act in Finance: told the lane and who may
        refused = client.post(f"/api/v1/tasks/{approve['id']}/complete", headers=tokens("alice"), json={"data": {}})
        assert refused.status_code == 403
        assert refused.json["message"] == (f"alice 不能办理任务 {approve['id']}：该任务属于泳道“Finance”，"
                                           "由 白会计 (bob), 蔡出纳 (carol) 办理")
        english = client.post(f"/api/v1/tasks/{approve['id']}/claim?lang=en", headers=tokens("alice"))
        assert english.status_code == 403
        assert english.json["message"] == (f"alice is not among the candidates of task {approve['id']}: it is in "
                                           "lane 'Finance' and is offered to 白会计 (bob), 蔡出纳 (carol)")

        assert client.post(f"/api/v1/tasks/{approve['id']}/complete", headers=tokens("carol"),
                           json={"data": {"approved": True}}).status_code == 200
    assert school.queries.instance(instance)["state"] == "completed"


def test_an_unknown_name_in_lane_owners_is_an_incident_naming_it_and_a_retry_with_people_offers_the_task(
        school: Huhua) -> None:
    instance = school.execute(StartInstance("expenses", "alice", org_scope="s1"))["id"]
    ask = _open(school, instance)
    school.execute(CompleteTask(ask["id"], "alice", {"approvers": ["bob", "mallory", "group:会计"]}))
    found = school.queries.instance(instance)
    assert found["state"] == "incident"
    incident = found["incidents"][0]
    assert incident["element_id"] == "approve"
    assert incident["message"] == ("lane 'Finance': lane_owners names mallory, group:会计, who are not people "
                                   "(nor roles) of the org directory")
    assert school.queries.tasks(instance_id=instance) == [] and _inbox(school, "bob") == []

    school.execute(RetryIncidents(instance, "admin", {"lane_owners": {"Finance": ["dave", "group:校长"]}}))
    assert school.queries.instance(instance)["state"] == "running"
    assert [_inbox(school, who) for who in ("alice", "bob", "dave")] == [["approve"], [], ["approve"]]
    approve = _open(school, instance)
    school.execute(ClaimTask(approve["id"], "dave"))
    with pytest.raises(TaskTaken) as taken:  # alice, the principal, was offered it too: she is told who took it
        school.execute(CompleteTask(approve["id"], "alice", {}))
    assert "邓老师" in str(taken.value)


def test_the_initiators_task_is_theirs_alone_and_a_refusal_in_english_names_the_lane(school: Huhua) -> None:
    instance = school.execute(StartInstance("expenses", "alice", org_scope="s1"))["id"]
    ask = _open(school, instance)
    with pytest.raises(NotFound):  # dave has no relation to the instance: it does not exist for him
        school.execute(ClaimTask(ask["id"], "dave"))
    school.execute(CompleteTask(ask["id"], "alice", {"approvers": ["bob"]}))
    approve = _open(school, instance)
    with pytest.raises(Forbidden) as refused:
        school.execute(CompleteTask(approve["id"], "alice", {}))
    assert str(refused.value) == (f"alice may not complete task {approve['id']}: it is in lane 'Finance' and is "
                                  "offered to 白会计 (bob)")

    # the principal oversees the school's claims, so she reads carol's, and is told whose its first task is
    theirs = school.execute(StartInstance("expenses", "carol", org_scope="s1", origin=ENGINE))["id"]
    ask = _open(school, theirs)
    assert _inbox(school, "carol") == ["ask"]
    with pytest.raises(Forbidden) as refused:
        school.execute(CompleteTask(ask["id"], "alice", {}))
    assert str(refused.value) == (f"alice may not complete task {ask['id']}: it is in lane 'Process Initiator' and "
                                  "is offered to the person who started the instance, 蔡出纳 (carol)")
    with pytest.raises(NotFound):
        school.execute(CompleteTask(ask["id"], "dave", {}))
    school.execute(ClaimTask(ask["id"], "carol"))
    with pytest.raises(Forbidden) as refused:
        school.execute(CompleteTask(ask["id"], "alice", {}))
    assert str(refused.value) == (f"alice may not complete task {ask['id']}: it is in lane 'Process Initiator' and "
                                  "is assigned to carol")


def test_a_spiff_arena_models_task_in_no_lane_is_the_initiators_as_in_spiff_arena(school: Huhua) -> None:
    laneless = re.sub(r"<bpmn:collaboration.*?</bpmn:collaboration>|<bpmn:laneSet.*?</bpmn:laneSet>", "", _LANED,
                      flags=re.DOTALL).replace("expenses", "claim")
    school.execute(DeployProcessModel("finance/claim", "Claim", "", "claim.bpmn", "claim",
                                      (("claim.bpmn", laneless.encode()),), "admin"))
    instance = school.execute(StartInstance("claim", "alice", org_scope="s1"))["id"]
    assert [_inbox(school, who) for who in ("alice", "bob")] == [["ask"], []]
    school.execute(CompleteTask(_open(school, instance)["id"], "alice", {"approvers": ["bob"]}))
    assert [_inbox(school, who) for who in ("alice", "bob")] == [["approve"], []]  # lane_owners names no lane here

    # a model deployed on its own keeps Huhua's rule: a task that names nobody, in no lane, is offered to nobody
    school.execute(DeployModels(files=(("loose.bpmn", laneless.replace("claim", "loose").encode()),),
                                actor="admin"))
    loose = school.execute(StartInstance("loose", "alice", org_scope="s1"))["id"]
    assert _inbox(school, "alice") == ["approve"] and _open(school, loose)["element_id"] == "ask"


def test_a_deployment_says_which_lanes_are_groups_without_a_warning(huhua: Huhua, cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    model = tmp_path / "expenses.bpmn"
    model.write_text(_LANED, encoding="utf-8")
    said = cli("deploy", str(model))
    assert said.exit_code == 0 and said.stderr == ""
    assert said.stdout.splitlines() == [
        "expenses: version 1",
        "  lane 'Finance' is a group: its tasks go to the people lane_owners names for it when they open"]
    # the initiator's lane is none, nor a lane whose tasks name their own people
    own = ('<bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property name="candidateRoles" '
           'value="校长"/></spiffworkflow:properties></bpmn:extensionElements>')
    assigned = _LANED.replace('<bpmn:userTask id="approve" name="Approve">',
                              f'<bpmn:userTask id="approve" name="Approve">{own}')
    again = huhua.execute(DeployModels(files=(("expenses.bpmn", assigned.encode()),), actor="admin"))
    assert "group_lanes" not in again["processes"][0] and again["processes"][0]["version"] == 2


def test_each_item_of_a_multi_instance_task_in_a_group_lane_goes_to_its_lane_owners(school: Huhua) -> None:
    each = _LANED.replace('<bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>',
                          '<bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>'
                          '<bpmn:multiInstanceLoopCharacteristics><bpmn:loopDataInputRef>claims</bpmn:loopDataInputRef>'
                          '<bpmn:inputDataItem id="claim" name="claim"/></bpmn:multiInstanceLoopCharacteristics>')
    school.execute(DeployModels(files=(("expenses.bpmn", each.encode()),), actor="admin"))
    instance = school.execute(StartInstance("expenses", "alice", org_scope="s1"))["id"]
    school.execute(CompleteTask(_open(school, instance)["id"], "alice",
                                {"approvers": ["carol", "nobody-here"], "claims": ["taxi", "lunch"]}))
    assert [_inbox(school, who) for who in ("alice", "bob", "carol")] == [[], [], ["approve", "approve"]]
    found = school.queries.instance(instance)
    assert found["state"] == "incident" and found["incidents"][0]["element_id"] == "approve"
    assert "nobody-here" in found["incidents"][0]["message"]
