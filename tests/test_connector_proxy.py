"""Connectors from the spiff-arena world (issue 16): a service task naming a connector proxy's operator runs through
a configured proxy; a connector nobody answers is refused at deployment, naming the element; a failure that would
repeat is an incident at once, one that may pass is retried. The proxy is a stub on 127.0.0.1
(tests/connector_proxy.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from engine.bootstrap import Huhua, bootstrap
from engine.clock import VirtualClock
from engine.commands import ENGINE, CreateApiToken, DeployModels, LoadDirectory, StartInstance
from engine.config import Settings
from engine.connectors import load_connector_settings
from engine.errors import InvalidInput, InvalidModel
from engine.org.profiles import generate
from engine.web import create_app
from engine.web.modeler_settings import modeler_settings
from tests.connector_proxy import Proxy, answered, connector_proxy, refused
from workers.job_worker import run_due_jobs

#: These tests do not depend on the database's dialect.
ON_SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

API_KEY = "proxy-key-for-tests"
_MODEL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="proxy_defs" targetNamespace="http://huhua.example/test">
  <bpmn:process id="register_school" name="登记学校" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="store"/>
    <bpmn:serviceTask id="store" name="写入登记表">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="OPERATOR" resultVariable="stored">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="table_name" type="str" value="'schools'"/>
            <spiffworkflow:parameter id="item_data" type="any" value="{'name': school, 'pupils': pupils}"/>
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f2" sourceRef="store" targetRef="tally"/>
    <bpmn:scriptTask id="tally" name="记下编号">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:script>receipt = stored['body']['item_id']</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f3" sourceRef="tally" targetRef="end"/>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>"""


def _model(operator: str) -> bytes:
    return _MODEL.replace("OPERATOR", operator).encode()


def _stored(params: dict[str, Any]) -> tuple[int, Any]:
    return answered({"item_id": f"{params['table_name']}-0001", "item": params["item_data"]})


COMMANDS = {
    "aws/AddDynamoItem": _stored,
    "aws/RefusedItem": lambda params: refused(400, "ValidationException", "学校名称不能为空（item_data.name）"),
    "aws/UpstreamSays403": lambda params: answered({"message": "token expired"}, http_status=403),
}


def _engine(settings: Settings, clock: VirtualClock, tmp_path: Path, proxy_url: str | None,
            operators: str = '["aws/*"]') -> Huhua:
    path = tmp_path / f"connectors-{len(list(tmp_path.glob('connectors-*')))}.toml"
    table = f'[proxy]\nurl = "{proxy_url}"\noperators = {operators}\ntimeout_seconds = 5\n' if proxy_url else ""
    path.write_text(table, encoding="utf-8")
    return bootstrap(replace(settings, connectors_file=path), clock=clock, upgrade=False)


@pytest.fixture
def proxied(settings: Settings, clock: VirtualClock, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Huhua, Proxy]]:
    """The engine with a connector proxy serving ``aws/*``, its API key in the worker's environment."""
    monkeypatch.setenv("HUHUA_CONNECTOR_PROXY_API_KEY", API_KEY)
    with connector_proxy(dict(COMMANDS), API_KEY) as proxy:
        engine = _engine(settings, clock, tmp_path, proxy.url)
        yield engine, proxy
        engine.close()


def _start(huhua: Huhua, operator: str) -> int:
    huhua.execute(DeployModels(files=(("register_school.bpmn", _model(operator)),), actor="admin"))
    return huhua.execute(StartInstance("register_school", "admin", origin=ENGINE, variables={
        "school": "珠晖区第一中学", "pupils": 1200}))["id"]


@ON_SQLITE
def test_a_proxy_operator_runs_to_the_end_with_the_proxys_answer_in_the_task_data(
        proxied: tuple[Huhua, Proxy]) -> None:
    huhua, proxy = proxied
    instance_id = _start(huhua, "aws/AddDynamoItem")
    run_due_jobs(huhua)
    instance = huhua.queries.instance(instance_id)
    assert instance["state"] == "completed", instance["incidents"]
    assert instance["data"]["stored"] == {  # what spiff-arena puts in the result variable
        "body": {"item_id": "schools-0001", "item": {"name": "珠晖区第一中学", "pupils": 1200}},
        "mimetype": "application/json", "http_status": 200, "operator_identifier": "aws/AddDynamoItem"}
    assert instance["data"]["receipt"] == "schools-0001"
    [call] = proxy.calls("aws/AddDynamoItem")
    assert call.method == "POST" and call.json() == {"table_name": "schools",
                                                     "item_data": {"name": "珠晖区第一中学", "pupils": 1200}}
    assert call.headers["Spiff-Connector-Proxy-Api-Key"] == API_KEY and call.headers["Idempotency-Key"]
    offered = [c["value"] for c in modeler_settings(huhua)["connectors"]]
    assert "http" in offered and "aws/*" not in offered  # a pattern is no choice in the modeler


@ON_SQLITE
def test_an_unknown_connector_is_refused_at_deployment_naming_the_element_and_the_known_ones(
        proxied: tuple[Huhua, Proxy]) -> None:
    huhua, _proxy = proxied
    with pytest.raises(InvalidModel) as refusal:
        huhua.execute(DeployModels(files=(("register_school.bpmn", _model("xml/ParseXml")),), actor="admin"))
    [problem] = [p for p in refusal.value.problems if "HUHUA.CONN.1" in p.message]
    assert (problem.element_id, problem.file, problem.line) == ("store", "register_school.bpmn", 10)
    assert "'xml/ParseXml'" in problem.message and "'写入登记表' (store)" in problem.message
    assert "http" in problem.message and "aws/*" in problem.message and "notify" in problem.message
    assert huhua.queries.definitions() == []

    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    admin = {"Authorization": f"Bearer {huhua.execute(CreateApiToken('admin', '部署', 'admin'))['token']}"}
    client: FlaskClient
    with create_app(huhua, {"SECRET_KEY": "proxy", "TRUST_USER_HEADER": False}).test_client() as client:
        files = {"files": [{"name": "register_school.bpmn", "content": _model("xml/ParseXml").decode()}]}
        for path in ("/api/v1/validate", "/api/v1/deployments"):
            answer = client.post(path, json=files, headers=admin)
            assert answer.status_code == 422, answer.json
            [said] = [p for p in answer.json["problems"] if "HUHUA.CONN.1" in p["message"]]
            assert said["element_id"] == "store" and said["line"] == 10
            assert said["message"].startswith("服务任务 '写入登记表' (store) 调用的连接器“xml/ParseXml”本引擎不认识")
        english = client.post("/api/v1/validate?lang=en", json=files, headers=admin)
        assert "which this engine does not know" in str(english.json["problems"])
        known = {"files": [{"name": "register_school.bpmn", "content": _model("aws/AddDynamoItem").decode()}]}
        assert client.post("/api/v1/validate", json=known, headers=admin).status_code == 200


@ON_SQLITE
@pytest.mark.parametrize(("operator", "said"), [
    ("aws/RefusedItem", "ValidationException: 学校名称不能为空（item_data.name）"),  # the proxy says 400
    ("aws/NotServed", "no such command: aws/NotServed"),  # the proxy answers 404
    ("aws/UpstreamSays403", "the service behind the proxy answered HTTP 403"),
])
def test_a_permanent_failure_is_an_incident_after_one_attempt_with_the_answers_message(
        proxied: tuple[Huhua, Proxy], clock: VirtualClock, operator: str, said: str) -> None:
    huhua, proxy = proxied
    instance_id = _start(huhua, operator)
    run_due_jobs(huhua)
    [failed] = huhua.queries.jobs(state="failed")
    assert failed["attempts"] == 1 and said in failed["last_error"]
    [incident] = huhua.queries.instance(instance_id)["incidents"]
    assert incident["kind"] == "job_failed" and incident["element_id"] == "store" and said in incident["message"]
    clock.advance(timedelta(hours=1))
    run_due_jobs(huhua)
    assert len(proxy.calls(operator)) == 1  # never tried again on its own


#: The model with the service task's failures caught: a boundary error event per code, each to its own step.
_END = '<bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>'
_CAUGHT = _MODEL.replace(_END, _END + """
    <bpmn:boundaryEvent id="refused" attachedToRef="store"><bpmn:outgoing>r1</bpmn:outgoing>
      <bpmn:errorEventDefinition errorRef="validation"/></bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="r1" sourceRef="refused" targetRef="fix"/>
    <bpmn:scriptTask id="fix" name="退回修改"><bpmn:incoming>r1</bpmn:incoming><bpmn:outgoing>r2</bpmn:outgoing>
      <bpmn:script>outcome = "refused"</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="r2" sourceRef="fix" targetRef="fixed"/>
    <bpmn:endEvent id="fixed"><bpmn:incoming>r2</bpmn:incoming></bpmn:endEvent>
    <bpmn:boundaryEvent id="forbidden" attachedToRef="store"><bpmn:outgoing>h1</bpmn:outgoing>
      <bpmn:errorEventDefinition errorRef="http403"/></bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="h1" sourceRef="forbidden" targetRef="renew"/>
    <bpmn:scriptTask id="renew" name="更新凭据"><bpmn:incoming>h1</bpmn:incoming><bpmn:outgoing>h2</bpmn:outgoing>
      <bpmn:script>outcome = "forbidden"</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="h2" sourceRef="renew" targetRef="renewed"/>
    <bpmn:endEvent id="renewed"><bpmn:incoming>h2</bpmn:incoming></bpmn:endEvent>""").replace(
    '  <bpmn:process id="register_school"', '  <bpmn:error id="validation" errorCode="ValidationException"/>\n'
    '  <bpmn:error id="http403" errorCode="ServiceTaskHttpError403"/>\n  <bpmn:process id="register_school"')


@ON_SQLITE
@pytest.mark.parametrize(("operator", "outcome"), [("aws/RefusedItem", "refused"),
                                                    ("aws/UpstreamSays403", "forbidden")])
def test_a_failure_whose_code_the_model_catches_takes_the_error_path_instead_of_an_incident(
        proxied: tuple[Huhua, Proxy], operator: str, outcome: str) -> None:
    huhua, proxy = proxied
    huhua.execute(DeployModels(files=(("register_school.bpmn", _CAUGHT.replace("OPERATOR", operator).encode()),),
                               actor="admin"))
    instance_id = huhua.execute(StartInstance("register_school", "admin", origin=ENGINE, variables={
        "school": "", "pupils": 0}))["id"]

    run_due_jobs(huhua)

    instance = huhua.queries.instance(instance_id)
    assert (instance["state"], instance["incidents"], instance["data"]["outcome"]) == ("completed", [], outcome)
    assert "service_error_caught" in [e["kind"] for e in instance["history"]]
    assert huhua.queries.jobs(state="failed") == [] and len(proxy.calls(operator)) == 1


@ON_SQLITE
@pytest.mark.parametrize("status", [503, 429])
def test_a_busy_proxy_is_tried_again_with_backoff(proxied: tuple[Huhua, Proxy], clock: VirtualClock,
                                                  status: int) -> None:
    huhua, proxy = proxied
    proxy.busy = [status]
    instance_id = _start(huhua, "aws/AddDynamoItem")
    run_due_jobs(huhua)
    [waiting] = huhua.queries.jobs(state="pending", kind="service")
    assert waiting["attempts"] == 1 and f"HTTP {status}" in waiting["last_error"]
    assert huhua.queries.instance(instance_id)["incidents"] == []
    clock.advance(timedelta(seconds=3))  # past the first backoff
    run_due_jobs(huhua)
    assert huhua.queries.instance(instance_id)["state"] == "completed"
    first, second = proxy.calls("aws/AddDynamoItem")
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]  # a retry, not a second call


@ON_SQLITE
def test_a_connector_unknown_when_the_job_runs_is_an_incident_at_once(
        proxied: tuple[Huhua, Proxy], settings: Settings, clock: VirtualClock, tmp_path: Path) -> None:
    huhua, proxy = proxied
    instance_id = _start(huhua, "aws/AddDynamoItem")  # deployed while the proxy served it
    without = _engine(settings, clock, tmp_path, None)  # a worker configured without the proxy since
    try:
        run_due_jobs(without)
    finally:
        without.close()
    [failed] = huhua.queries.jobs(state="failed")
    assert failed["attempts"] == 1 and "there is no connector 'aws/AddDynamoItem'" in failed["last_error"]
    [incident] = huhua.queries.instance(instance_id)["incidents"]
    assert "not retried" in incident["message"] and "config/connectors.toml" in incident["message"]
    assert proxy.requests == []


@ON_SQLITE
def test_a_refused_proxy_address_is_permanent(settings: Settings, clock: VirtualClock, tmp_path: Path) -> None:
    huhua = _engine(settings, clock, tmp_path, "http://10.1.2.3:8200")  # private, and not allow-listed
    try:
        instance_id = _start(huhua, "aws/AddDynamoItem")
        run_due_jobs(huhua)
        [failed] = huhua.queries.jobs(state="failed")
        assert failed["attempts"] == 1 and "private address" in failed["last_error"]
        assert [i["kind"] for i in huhua.queries.instance(instance_id)["incidents"]] == ["job_failed"]
    finally:
        huhua.close()


def test_the_proxy_settings_come_from_the_file_or_the_environment_and_keep_secrets_out(tmp_path: Path) -> None:
    path = tmp_path / "connectors.toml"
    path.write_text('[proxy]\nurl = "https://proxy.edu.example.cn/"\noperators = ["aws/*", "smtp/SendEmail"]\n',
                    encoding="utf-8")
    read = load_connector_settings(path, environ={})
    assert read.proxy is not None and read.proxy.url == "https://proxy.edu.example.cn"
    assert read.registry.knows("aws/AddDynamoItem") and read.registry.knows("smtp/SendEmail")
    assert not read.registry.knows("smtp/SendSms") and not read.registry.knows("aws/../admin")
    overridden = load_connector_settings(path, environ={"HUHUA_CONNECTOR_PROXY_URL": "http://127.0.0.1:9",
                                                        "HUHUA_CONNECTOR_PROXY_OPERATORS": "xml/ParseXml"})
    assert overridden.proxy is not None and overridden.proxy.url == "http://127.0.0.1:9"
    assert overridden.registry.names()[-1:] == ["xml/ParseXml"] and not overridden.registry.knows("aws/X")
    assert load_connector_settings(tmp_path / "none.toml", environ={}).proxy is None
    for table, field in [('[proxy]\nurl = "https://p.example.cn"\napi_key = "abc"\n', "proxy.api_key"),
                         ('[proxy]\nurl = "https://p.example.cn"\noperators = ["http"]\n', "proxy.operators"),
                         ('[proxy]\noperators = ["aws/*"]\n', "proxy.url"),
                         ('[proxy]\nurl = "https://key:secret@p.example.cn"\n', "proxy.url"),
                         ('[proxy]\nurl = "https://p.example.cn"\ntimeout_seconds = 0\n', "proxy.timeout_seconds")]:
        path.write_text(table, encoding="utf-8")
        with pytest.raises(InvalidInput) as refusal:
            load_connector_settings(path, environ={})
        assert [p.field for p in refusal.value.problems] == [field], table
