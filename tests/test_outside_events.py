"""Events from outside the engine: signals thrown by the CLI and the API (a broadcast that reaches every waiting
catch, boundary event and event sub-process start, and starts every process that starts with it, within what
the caller may), and messages routed by the model's correlation properties read from their payload."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from engine.bootstrap import Huhua
from engine.commands import (
    ENGINE,
    CorrelateMessage,
    DeployModels,
    LoadDirectory,
    SetServiceAccount,
    StartInstance,
    ThrowSignal,
)
from engine.errors import InvalidInput, NotFound
from engine.org.profiles import generate
from engine.web import create_app
from tests.helpers import deploy_fixtures, history_kinds, token_headers

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def org(huhua: Huhua) -> Huhua:
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    deploy_fixtures(huhua, "outside_events.bpmn")
    return huhua


@pytest.fixture
def client(org: Huhua) -> Iterator[FlaskClient]:
    with create_app(org, {"TESTING": True}).test_client() as client:
        yield client



def _start(huhua: Huhua, process: str, scope: str = "zhuhui-s001", **variables: object) -> int:
    """An instance set up as the engine would start it (the fixture models have no start forms)."""
    return huhua.execute(StartInstance(process, "admin", org_scope=scope, variables=variables, origin=ENGINE))["id"]


def _instance(huhua: Huhua, instance_id: int) -> dict:
    return huhua.queries.instance(instance_id)


def _open_tasks(huhua: Huhua, instance_id: int) -> list[str]:
    return [task["name"] for task in _instance(huhua, instance_id)["open_tasks"]]


def _waiting_for_the_drill(huhua: Huhua, scope: str = "zhuhui-s001") -> dict[str, int]:
    """One instance of each way to wait for the signal: an intermediate catch, a boundary event on a person's
    task, and an event sub-process beside a person's task."""
    return {process: _start(huhua, process, scope) for process in ("drill_catch", "drill_interrupts",
                                                                    "drill_on_the_side")}


# --- messages correlated by their properties ---------------------------------------------------------------------

def test_a_message_from_outside_goes_to_the_instance_whose_correlation_properties_match_its_payload(
        org: Huhua, client: FlaskClient) -> None:
    first, second = _start(org, "wait_payment", order_id=1), _start(org, "wait_payment", order_id=2)

    paid = org.execute(CorrelateMessage("order_paid", "admin", variables={"order_id": 2, "amount": 30}))
    assert [i["id"] for i in paid["delivered_to"]] == [second]
    assert (_instance(org, first)["state"], _instance(org, second)["state"]) == ("running", "completed")
    assert _instance(org, second)["data"] == {"order_id": 2, "amount": 30}

    by_api = client.post("/api/v1/messages", json={"name": "order_paid", "variables": {"order_id": 1, "amount": 12}},
                         headers=token_headers(org, "admin"))
    assert by_api.status_code == 200 and [i["id"] for i in by_api.json["delivered_to"]] == [first]
    assert _instance(org, first)["data"] == {"order_id": 1, "amount": 12}
    assert "message_received" in history_kinds(org, first)


def test_a_payload_that_matches_no_waiting_instance_or_lacks_the_properties_is_answered_clearly(
        org: Huhua, client: FlaskClient) -> None:
    waiting = _start(org, "wait_payment", order_id=1)
    with pytest.raises(NotFound) as unmatched:
        org.execute(CorrelateMessage("order_paid", "admin", variables={"order_id": 9, "amount": 1}))
    assert "whose correlation properties match the payload ('9')" in unmatched.value.message
    with pytest.raises(InvalidInput) as lacking:
        org.execute(CorrelateMessage("order_paid", "admin", variables={"amount": 1}))
    assert "correlation property 'order_id'" in lacking.value.message
    assert lacking.value.problems[0].field == "variables"
    by_api = client.post("/api/v1/messages", json={"name": "order_paid", "variables": {"order_id": 9}},
                         headers=token_headers(org, "admin"))
    assert by_api.status_code == 404 and "'9'" in by_api.json["message"]
    assert _instance(org, waiting)["state"] == "running"  # nothing moved

    # a key given by the caller still routes, and the receiver's own values stand for the properties
    keyed = org.execute(CorrelateMessage("order_paid", "admin", "1", {"amount": 5}))
    assert [i["id"] for i in keyed["delivered_to"]] == [waiting]
    assert _instance(org, waiting)["state"] == "completed"


def test_a_reply_reaches_the_instance_whose_earlier_message_fixed_the_correlation_values(org: Huhua) -> None:
    # each sent a request with {"order_id": number}; their data has no order_id, the conversation fixes it
    five, six = _start(org, "request_payment", number=5), _start(org, "request_payment", number=6)
    assert "message_unrouted" in history_kinds(org, five)  # nobody takes the request in this test
    paid = org.execute(CorrelateMessage("order_paid", "admin", variables={"order_id": 6, "amount": 60}))
    assert [i["id"] for i in paid["delivered_to"]] == [six]
    assert _instance(org, six)["data"] == {"number": 6, "amount": 60}  # order_id only chose the receiver
    assert _instance(org, five)["state"] == "running"


# --- signals ---------------------------------------------------------------------------------------------------

def test_a_signal_from_the_cli_reaches_every_waiting_catch_and_starts_the_signal_start_process(
        org: Huhua, cli) -> None:  # type: ignore[no-untyped-def]
    waiting = _waiting_for_the_drill(org)
    done = cli("signal", "fire_drill", "--data", '{"drill_note": "十点整"}', "--json")
    assert done.exit_code == 0, done.output
    answer = json.loads(done.stdout)
    assert (answer["reached"], answer["started"]) == (3, 1)
    assert _instance(org, waiting["drill_catch"])["state"] == "completed"
    assert _open_tasks(org, waiting["drill_interrupts"]) == ["疏散"]  # the boundary event interrupted 准备
    side = _instance(org, waiting["drill_on_the_side"])
    assert side["data"]["drilled"] is True and _open_tasks(org, waiting["drill_on_the_side"]) == ["日常工作"]
    report = answer["started_instances"][0]["id"]
    assert _instance(org, report)["process_key"] == "drill_report"
    assert _instance(org, report)["data"] == {"drill_note": "十点整"}

    again = cli("signal", "fire_drill")
    assert again.exit_code == 0 and "reached 1 waiting instance(s), started 1" in again.stdout  # the side process
    nothing = cli("signal", "no_such_signal")
    assert nothing.exit_code == 2 and "no instance waits for signal 'no_such_signal'" in nothing.stderr
    refused = cli("signal", "fire_drill", "--data", '{"people": ["x"]}')
    assert refused.exit_code != 0 and "people" in refused.stderr


def test_a_signal_from_the_api_reaches_what_the_caller_may_and_nothing_else(org: Huhua, client: FlaskClient) -> None:
    own = _waiting_for_the_drill(org)  # its tasks are zhuhui-s001-bzr1's and zhuhui-s002-bzr1's
    other = _waiting_for_the_drill(org, "yanfeng-s001")
    signal = {"name": "fire_drill", "variables": {"drill_note": "演练"}}

    # a person without an open task in any waiting instance reaches nothing, as if nothing waited
    stranger = client.post("/api/v1/signals", json=signal, headers=token_headers(org, "yanfeng-s001-xz"))
    missing = client.post("/api/v1/signals", json={**signal, "name": "no_such_signal"},
                          headers=token_headers(org, "yanfeng-s001-xz"))
    assert stranger.status_code == missing.status_code == 404
    assert stranger.json["message"] == missing.json["message"].replace("no_such_signal", "fire_drill")
    # a person reaches the instances in which they act now (the model gives both 准备 tasks to this teacher), and
    # starts no process they could not start by hand
    teacher = client.post("/api/v1/signals", json=signal, headers=token_headers(org, "zhuhui-s001-bzr1"))
    assert teacher.status_code == 200
    assert (teacher.json["reached"], teacher.json["started"]) == (2, 0)
    assert [i["id"] for i in teacher.json["reached_instances"]] == [own["drill_interrupts"], other["drill_interrupts"]]
    assert _open_tasks(org, other["drill_interrupts"]) == ["疏散"]
    assert _instance(org, other["drill_catch"])["state"] == "running"

    # a service account throws only its signals, within its unit, and reads no instance
    org.execute(SetServiceAccount("zhuhui-alarm", ("fire_drill",), "admin", scope_unit="zhuhui"))
    org.execute(SetServiceAccount("hotline", ("counselling_appointment",), "admin"))
    assert client.post("/api/v1/signals", json=signal, headers=token_headers(org, "hotline")).status_code == 404
    alarm = client.post("/api/v1/signals", json=signal, headers=token_headers(org, "zhuhui-alarm"))
    assert alarm.status_code == 200 and (alarm.json["reached"], alarm.json["started"]) == (2, 1)
    assert alarm.json["reached_instances"] == alarm.json["started_instances"] == []
    assert _instance(org, own["drill_catch"])["state"] == "completed"
    assert _instance(org, other["drill_catch"])["state"] == "running"
    started = org.queries.instances(process_key="drill_report")
    assert [(i["org_scope"], i["state"]) for i in started] == [("zhuhui", "running")]

    # the administrator reaches the rest; a unit narrows the broadcast
    admin = client.post("/api/v1/signals", json={**signal, "org_scope": "yanfeng-s001"},
                        headers=token_headers(org, "admin"))
    assert admin.status_code == 200 and (admin.json["reached"], admin.json["started"]) == (2, 1)
    assert _instance(org, other["drill_catch"])["state"] == "completed"
    bad = client.post("/api/v1/signals", json={"name": "fire_drill", "variables": {"secret": 1}},
                      headers=token_headers(org, "admin"))
    assert bad.status_code == 400 and bad.json["problems"][0]["field"] == "variables.secret"
    unauthenticated = client.post("/api/v1/signals", json=signal)
    assert unauthenticated.status_code == 401


def test_a_signal_thrown_by_an_instance_starts_an_event_sub_process_of_another(org: Huhua) -> None:
    side = _start(org, "drill_on_the_side")
    reached = org.execute(ThrowSignal("fire_drill", "admin", {"drill_note": "一"}, org_scope="zhuhui-s001"))
    assert reached["reached"] == 1 and _instance(org, side)["data"]["drill_note"] == "一"
    assert "signal_received" in history_kinds(org, side)


#: A process started by a message, as spiff-arena models it: the whole payload goes into one variable
#: (messageVariable), and a none start event stands beside the message start for starting it by hand.
_INTAKE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="http://huhua.example/t">
  <bpmn:message id="referral_in" name="referral_in"/>
  <bpmn:process id="referral_intake" name="接收转介" isExecutable="true">
    <bpmn:startEvent id="by_hand"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="by_hand" targetRef="manual_entry"/>
    <bpmn:scriptTask id="manual_entry"><bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing>
      <bpmn:script>route = "by hand"</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f1" sourceRef="manual_entry" targetRef="end_by_hand"/>
    <bpmn:endEvent id="end_by_hand"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
    <bpmn:startEvent id="by_message"><bpmn:outgoing>m1</bpmn:outgoing>
      <bpmn:messageEventDefinition messageRef="referral_in">
        <bpmn:extensionElements><spiffworkflow:messageVariable>referral</spiffworkflow:messageVariable>
        </bpmn:extensionElements>
      </bpmn:messageEventDefinition>
    </bpmn:startEvent>
    <bpmn:sequenceFlow id="m1" sourceRef="by_message" targetRef="file"/>
    <bpmn:scriptTask id="file"><bpmn:incoming>m1</bpmn:incoming><bpmn:outgoing>m2</bpmn:outgoing>
      <bpmn:script>route = "message"
case_number = referral["case"]</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="m2" sourceRef="file" targetRef="end_by_message"/>
    <bpmn:endEvent id="end_by_message"><bpmn:incoming>m2</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>"""


def test_a_message_no_instance_waits_for_starts_the_process_whose_start_event_catches_it(
        org: Huhua, client: FlaskClient) -> None:
    deploy = org.execute(DeployModels(files=(("intake.bpmn", _INTAKE.encode()),), actor="admin"))
    assert deploy["processes"]
    message = {"name": "referral_in", "variables": {"case": "Z-17"}, "correlation_key": "Z-17"}

    # a service account not allowed the message starts nothing, and is told only that nothing waits
    org.execute(SetServiceAccount("hotline", ("counselling_appointment",), "admin"))
    refused = client.post("/api/v1/messages", json=message, headers=token_headers(org, "hotline"))
    assert refused.status_code == 404 and org.queries.instances(process_key="referral_intake") == []

    # one that is starts one instance through the message start event (not the none start beside it), the key
    # its business key, the payload in the start event's variable; as a system it reads no instance back
    org.execute(SetServiceAccount("referrals", ("referral_in",), "admin"))
    sent = client.post("/api/v1/messages", json=message, headers=token_headers(org, "referrals"))
    assert sent.status_code == 200, sent.json
    assert (sent.json["delivered"], sent.json["started"], sent.json["started_instances"]) == (0, 1, [])
    [started] = org.queries.instances(process_key="referral_intake")
    instance = _instance(org, started["id"])
    assert (instance["state"], instance["business_key"]) == ("completed", "Z-17")
    assert (instance["data"]["route"], instance["data"]["case_number"]) == ("message", "Z-17")
    assert "message_received" in history_kinds(org, started["id"])

    # the administrator's start names the instance; a message nobody starts with or waits for is still 404
    again = client.post("/api/v1/messages", json={**message, "correlation_key": "Z-18"},
                        headers=token_headers(org, "admin"))
    assert again.status_code == 200 and again.json["started_instances"][0]["state"] == "completed"
    nobody = client.post("/api/v1/messages", json={**message, "name": "no_such_message"},
                         headers=token_headers(org, "admin"))
    assert nobody.status_code == 404


def test_the_message_command_says_which_instance_a_message_started(org: Huhua, cli) -> None:  # type: ignore[no-untyped-def]
    org.execute(DeployModels(files=(("intake.bpmn", _INTAKE.encode()),), actor="admin"))

    said = cli("message", "referral_in", "--key", "Z-19", "--vars", '{"case": "Z-19"}')

    [started] = org.queries.instances(process_key="referral_intake")
    assert said.exit_code == 0 and said.output.strip() == f"started instance {started['id']} (completed)"
