"""Credentials never live in models: connector credentials come from configuration and the environment.

Issue 11: "Every logged-in person can read every model's XML, including headers of service tasks." A model is
shared, exported, versioned and shown in editors, so a deployment that writes a credential into a service task
is refused naming the element, a header a model sets at run time is dropped, and the header the receiver
needs comes from ``config/connectors.toml``'s ``[[http.credentials]]`` with its value from an environment
variable of the worker. The receivers listen on 127.0.0.1 only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from engine.bootstrap import Huhua, bootstrap
from engine.clock import VirtualClock
from engine.commands import ENGINE, CreateApiToken, DeployModels, LoadDirectory, StartInstance
from engine.config import Settings
from engine.errors import InvalidInput, InvalidModel
from engine.org.profiles import generate
from engine.web import create_app
from tests.receiver import http_receiver
from workers.job_worker import run_due_jobs

#: One database: credentials are checked in the model and the worker, not in SQL.
DATABASES = ("sqlite",)

SECRET = "s3cr3t-platform-token-2026"
_MODEL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="push_defs" targetNamespace="http://huhua.example/test">
  <bpmn:process id="push_roster" name="推送名册" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="push"/>
    <bpmn:serviceTask id="push" name="推送到教育局平台">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="http" resultVariable="receipt">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="url" type="str" value="{url}"/>
            <spiffworkflow:parameter id="headers" type="any" value="{headers}"/>
            <spiffworkflow:parameter id="json" type="any" value="{{'school': school}}"/>
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f2" sourceRef="push" targetRef="end"/>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>"""
#: A script task before the call, which could build the headers the call takes.
_SCRIPTED = _MODEL.format(url="receiver", headers="request_headers").replace(
    '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="push"/>',
    '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="sign"/><bpmn:scriptTask id="sign" name="签名">'
    "<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f1b</bpmn:outgoing><bpmn:script>SCRIPT</bpmn:script>"
    '</bpmn:scriptTask><bpmn:sequenceFlow id="f1b" sourceRef="sign" targetRef="push"/>').replace(
    "<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2", "<bpmn:incoming>f1b</bpmn:incoming><bpmn:outgoing>f2")


def _model(*, url: str = "receiver", headers: str = "request_headers") -> bytes:
    return _MODEL.format(url=url, headers=headers).encode()


def _deploy(huhua: Huhua, model: bytes) -> dict:
    return huhua.execute(DeployModels(files=(("push_roster.bpmn", model),), actor="admin"))


def _with_connectors(settings: Settings, clock: VirtualClock, tmp_path: Path, toml: str) -> Huhua:
    path = tmp_path / "connectors.toml"
    path.write_text('[http]\nallow = ["127.0.0.1"]\ntimeout_seconds = 5\n' + toml, encoding="utf-8")
    return bootstrap(replace(settings, connectors_file=path), clock=clock, upgrade=False)


@pytest.fixture
def credentialed(settings: Settings, clock: VirtualClock, tmp_path: Path) -> Iterator[Huhua]:
    """Service tasks may call this machine, and calls to it carry the platform's token from the environment."""
    engine = _with_connectors(settings, clock, tmp_path, """
[[http.credentials]]
host = "127.0.0.1"
header = "Authorization"
env = "HUHUA_SECRET_TEST_PLATFORM"
""")
    yield engine
    engine.close()


@pytest.mark.parametrize(("url", "headers", "said"), [
    ("receiver", "{'Authorization': 'Bearer ' + token}", "header 'Authorization' in its parameter 'headers'"),
    ("receiver", "{'X-Api-Key': api_key, 'X-Trace': 'roster'}", "credential header 'X-Api-Key'"),
    ("receiver", "dict(Authorization=token)", "credential header 'Authorization'"),
    ("receiver", "{'X-Trace': 'Bearer eyJhbGciOiJIUzI1NiJ9'}", "Authorization value (scheme and token)"),
    ("receiver + '?access_token=abc123'", "{}", "given as name=value written in its parameter 'url'"),
    ("'https://roster:hunter2@platform.example.org/api'", "{}", "a password in a URL"),
])
def test_a_model_that_carries_a_credential_is_refused_naming_the_element(
        huhua: Huhua, url: str, headers: str, said: str) -> None:
    with pytest.raises(InvalidModel) as refused:
        _deploy(huhua, _model(url=url, headers=headers))
    found = [p for p in refused.value.problems if "HUHUA.CRED.1" in p.message]
    assert found and {p.element_id for p in found} == {"push"}, refused.value.problems
    assert any(said in p.message for p in found), found
    assert all("[[http.credentials]]" in p.message and "凭据" in p.message for p in found)
    assert huhua.queries.definitions() == []  # nothing of it was stored


def test_a_script_that_writes_a_credential_is_refused_naming_the_element(huhua: Huhua) -> None:
    scripted = _SCRIPTED.replace("SCRIPT", "request_headers = {'X-Trace': 'Bearer ' + 'eyJhbGciOiJIUzI1NiJ9'}")
    with pytest.raises(InvalidModel) as refused:
        _deploy(huhua, scripted.encode())
    assert [(p.element_id, "its script" in p.message) for p in refused.value.problems] == [("sign", True)]
    _deploy(huhua, _SCRIPTED.replace("SCRIPT", "request_headers = {'X-Trace': 'roster'}").encode())


def test_the_same_model_without_the_credential_deploys(huhua: Huhua) -> None:
    deployed = _deploy(huhua, _model(headers="{'X-Trace': 'roster', 'Accept': 'application/json'}"))
    assert [p["key"] for p in deployed["processes"]] == ["push_roster"]
    assert [p["key"] for p in _deploy(huhua, _model())["processes"]] == ["push_roster"]  # headers from a variable


def test_validation_and_deployment_over_http_are_refused_naming_element_and_parameter(huhua: Huhua) -> None:
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    admin = {"Authorization": f"Bearer {huhua.execute(CreateApiToken('admin', '部署', 'admin'))['token']}"}
    app = create_app(huhua, {"SECRET_KEY": "credentials", "TRUST_USER_HEADER": False})
    client: FlaskClient
    with app.test_client() as client:
        carrying = {"files": [{"name": "push_roster.bpmn",
                               "content": _model(headers=f"{{'Authorization': 'Bearer {SECRET}'}}").decode()}]}
        checked = client.post("/api/v1/validate", json=carrying, headers=admin)
        assert checked.status_code == 422 and "HUHUA.CRED.1" in str(checked.json["problems"]), checked.json
        refused = client.post("/api/v1/deployments", json=carrying, headers=admin)
        assert refused.status_code == 422, refused.json
        problems = [p for p in refused.json["problems"] if "HUHUA.CRED.1" in p["message"]]
        assert problems and {p["element_id"] for p in problems} == {"push"}
        assert "'headers'" in problems[0]["message"]
        clean = {"files": [{"name": "push_roster.bpmn", "content": _model().decode()}]}
        assert client.post("/api/v1/deployments", json=clean, headers=admin).status_code == 201


def test_the_configured_credential_is_sent_and_the_models_own_is_dropped(
        credentialed: Huhua, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUHUA_SECRET_TEST_PLATFORM", f"Bearer {SECRET}")
    _deploy(credentialed, _model())
    with http_receiver() as receiver:
        receiver.answer = {"accepted": True, "you_sent": f"Bearer {SECRET}", "token": SECRET}  # a careless echo
        started = credentialed.execute(StartInstance("push_roster", "admin", origin=ENGINE, variables={
            "receiver": receiver.url + "/roster", "school": "珠晖区第一中学",
            "request_headers": {"authorization": "Bearer planted-by-the-model", "X-Api-Key": "planted",
                                "X-Upload-Token": "planted", "Cookie": "session=planted", "X-Trace": "roster"}}))
        run_due_jobs(credentialed)
    [received] = receiver.requests
    sent = {name.lower(): value for name, value in received.headers.items()}
    assert sent["authorization"] == f"Bearer {SECRET}"
    assert sent["x-trace"] == "roster"  # an ordinary header of the model's still goes
    assert not {"x-api-key", "x-upload-token", "cookie"} & set(sent)
    assert "planted" not in str(received.headers)
    instance = credentialed.queries.instance(started["id"])
    assert instance["data"]["receipt"]["body"]["accepted"] is True
    assert SECRET not in str(instance)  # the echoed secret stays out of the task data and the history


def test_the_first_matching_entry_wins_and_a_model_cannot_override_it(
        settings: Settings, clock: VirtualClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = _with_connectors(settings, clock, tmp_path, """
[[http.credentials]]
host = "127.0.0.*"
header = "X-Tenant"
env = "HUHUA_TEST_TENANT"

[[http.credentials]]
host = "*"
header = "Authorization"
env = "HUHUA_TEST_NEVER_READ"
""")
    monkeypatch.setenv("HUHUA_TEST_TENANT", "hengyang-edu")
    monkeypatch.delenv("HUHUA_TEST_NEVER_READ", raising=False)
    try:
        _deploy(engine, _model())
        with http_receiver() as receiver:
            engine.execute(StartInstance("push_roster", "admin", origin=ENGINE, variables={
                "receiver": receiver.url, "school": "某校", "request_headers": {"x-tenant": "another-city"}}))
            run_due_jobs(engine)
        [received] = receiver.requests
        sent = {name.lower(): value for name, value in received.headers.items()}
        assert sent["x-tenant"] == "hengyang-edu" and "authorization" not in sent
        assert "another-city" not in str(received.headers)
    finally:
        engine.close()


def test_an_unset_variable_fails_the_call_naming_the_variable_and_no_value(
        credentialed: Huhua, clock: VirtualClock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HUHUA_SECRET_TEST_PLATFORM", raising=False)
    _deploy(credentialed, _model())
    with http_receiver() as receiver:
        started = credentialed.execute(StartInstance("push_roster", "admin", origin=ENGINE, variables={
            "receiver": receiver.url, "school": "某校", "request_headers": {"Authorization": "Bearer planted"}}))
        for _ in range(8):  # every attempt fails before any request; the last one gives up
            run_due_jobs(credentialed)
            clock.advance(timedelta(minutes=1))
    assert receiver.requests == []  # no call goes out without its credential
    [failed] = credentialed.queries.jobs(state="failed")
    assert "HUHUA_SECRET_TEST_PLATFORM" in failed["last_error"] and "planted" not in failed["last_error"]
    [incident] = credentialed.queries.instance(started["id"])["incidents"]
    assert incident["kind"] == "job_failed" and "HUHUA_SECRET_TEST_PLATFORM" in incident["message"]


@pytest.mark.parametrize(("entry", "field"), [
    ('host = "127.0.0.1"\nheader = "Authorization"\nvalue = "Bearer ' + SECRET + '"', "http.credentials[1].value"),
    ('host = "127.0.0.1"\nheader = "Authorization"', "http.credentials[1].env"),
    ('host = "127.0.0.1"\nheader = "Bad Header:"\nenv = "HUHUA_X"', "http.credentials[1].header"),
    ('host = "127.0.0.1"\nheader = "Content-Length"\nenv = "HUHUA_X"', "http.credentials[1].header"),
    ('host = "127.0.0.1"\nheader = "Authorization"\nenv = "NOT A NAME"', "http.credentials[1].env"),
])
def test_a_wrong_credentials_entry_stops_the_engine_naming_file_and_field(
        settings: Settings, clock: VirtualClock, tmp_path: Path, entry: str, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:  # read when the engine starts: deployments need it too
        _with_connectors(settings, clock, tmp_path, f"\n[[http.credentials]]\n{entry}\n").close()
    assert "connectors.toml" in str(refused.value) and field in str(refused.value)
    assert [p.field for p in refused.value.problems] == [field]
    assert SECRET not in str(refused.value)
