"""The JSON API over HTTP (Flask's test client): the same engine, the same errors, never a 500."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from engine.bootstrap import Huhua
from engine.commands import LoadDirectory
from engine.org.profiles import generate
from engine.web import create_app
from tests.helpers import FIXTURES
from tests.test_model_safety import BILLION_LAUGHS

AS_WANG = {"X-Huhua-User": "wang"}
AS_ADMIN = {"X-Huhua-User": "admin"}


@pytest.fixture
def client(huhua: Huhua) -> Iterator[FlaskClient]:
    app = create_app(huhua, {"TESTING": True})
    with app.test_client() as client:
        yield client


def _deploy(client: FlaskClient, *names: str) -> dict:
    data = {"file": [(io.BytesIO((FIXTURES / n).read_bytes()), n) for n in names]}
    response = client.post("/api/v1/deployments", data=data, headers=AS_ADMIN, content_type="multipart/form-data")
    assert response.status_code == 201, response.json
    return response.json


def test_deploy_start_complete_over_http(client: FlaskClient, huhua: Huhua) -> None:
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    assert [p["key"] for p in _deploy(client, "review.bpmn", "review_start.form.json")["processes"]] == ["review"]
    assert client.get("/api/v1/process-definitions", headers=AS_ADMIN).json[0]["version"] == 1
    # models are the administrators': anyone else learns each process's key and name, nothing more
    assert client.get("/api/v1/process-definitions", headers=AS_WANG).json == [{"key": "review", "name": "材料审核"}]

    started = client.post("/api/v1/process-instances", headers=AS_ADMIN,
                          json={"process_key": "review", "variables": {"reviewers": ["wang"]}, "org_scope": "nanyue"})
    assert started.status_code == 201 and started.json["state"] == "running"
    inbox = client.get("/api/v1/tasks", headers=AS_WANG).json  # one's own tasks
    assert client.get("/api/v1/tasks", query_string={"user": "wang"}, headers={"X-Huhua-User": "li"}).json == []
    assert [t["name"] for t in inbox] == ["审核材料"] and inbox[0]["org_scope"] == "nanyue"

    done = client.post(f"/api/v1/tasks/{inbox[0]['id']}/complete", headers=AS_WANG, json={"data": {"approve": True}})
    assert done.status_code == 200 and done.json["instance"]["state"] == "completed"
    again = client.post(f"/api/v1/tasks/{inbox[0]['id']}/complete", headers=AS_WANG, json={"data": {}})
    assert again.status_code == 409 and again.json["error"] == "conflict"

    hidden = client.get(f"/api/v1/process-instances/{started.json['id']}", headers={"X-Huhua-User": "li"})
    missing = client.get("/api/v1/process-instances/987654", headers={"X-Huhua-User": "li"})
    assert hidden.status_code == missing.status_code == 404  # li has nothing to do with it: as if it did not exist
    assert hidden.json["message"].replace(str(started.json["id"]), "N") == \
        missing.json["message"].replace("987654", "N")
    instance = client.get(f"/api/v1/process-instances/{started.json['id']}", headers=AS_WANG).json
    assert instance["data"]["outcome"] == "通过"
    listed = client.get("/api/v1/process-instances", query_string={"state": "completed"}, headers=AS_ADMIN)
    assert listed.json[0]["id"] == instance["id"]
    assert client.get("/api/v1/process-instances", headers=AS_WANG).status_code == 403


def test_messages_over_http(client: FlaskClient) -> None:
    _deploy(client, "await_message.bpmn")
    started = client.post("/api/v1/process-instances", headers=AS_ADMIN,
                          json={"process_key": "await_message", "business_key": "常宁市"}).json
    message = {"name": "plan_submitted", "correlation_key": "常宁市", "variables": {"plan_title": "方案"}}
    response = client.post("/api/v1/messages", headers=AS_ADMIN, json=message)
    assert response.status_code == 200 and response.json["delivered_to"][0]["id"] == started["id"]


@pytest.mark.parametrize("method, path, kwargs, status, error", [
    ("post", "/api/v1/process-instances", {"data": "{oops", "content_type": "application/json"}, 400, "invalid_input"),
    ("post", "/api/v1/process-instances", {"json": ["not", "an", "object"]}, 400, "invalid_input"),
    ("post", "/api/v1/process-instances", {"json": {}}, 400, "invalid_input"),
    ("post", "/api/v1/process-instances", {"json": {"process_key": 7}}, 400, "invalid_input"),
    ("post", "/api/v1/process-instances", {"json": {"process_key": "ghost"}}, 404, "not_found"),
    ("get", "/api/v1/process-instances/999", {}, 404, "not_found"),
    ("get", "/api/v1/tasks", {"query_string": {"limit": "many"}}, 400, "invalid_input"),
    ("get", "/api/v1/tasks", {"query_string": {"limit": "100000"}}, 400, "invalid_input"),
    ("get", "/api/v1/tasks", {"query_string": {"state": "bogus"}}, 400, "invalid_input"),
    ("post", "/api/v1/tasks/5/complete", {"json": {"data": "text"}}, 404, "not_found"),  # the task is asked first
    ("post", "/api/v1/messages", {"json": {"name": "x", "all": "yes"}}, 400, "invalid_input"),
    ("post", "/api/v1/deployments", {"json": {"files": [{"name": "a.bpmn"}]}}, 400, "invalid_input"),
    ("get", "/api/v1/nothing-here", {}, 404, "not_found"),
    ("delete", "/api/v1/tasks", {}, 405, "method_not_allowed"),
])
def test_bad_requests_get_clear_errors(client: FlaskClient, method: str, path: str, kwargs: dict, status: int,
                                       error: str) -> None:
    response = getattr(client, method)(path, headers=AS_ADMIN, **kwargs)
    assert response.status_code == status, response.json
    assert response.json["error"] == error and response.json["message"]


def test_acting_user_is_required_for_changes(client: FlaskClient) -> None:
    response = client.post("/api/v1/process-instances", json={"process_key": "review"})
    assert response.status_code == 401 and response.json["error"] == "unauthorized"


def test_hostile_upload_is_refused_with_422(client: FlaskClient) -> None:
    response = client.post("/api/v1/deployments", headers=AS_ADMIN, content_type="multipart/form-data",
                           data={"file": [(io.BytesIO(BILLION_LAUGHS), "laughs.bpmn")]})
    assert response.status_code == 422 and response.json["problems"][0]["file"] == "laughs.bpmn"
    assert client.get("/api/v1/process-definitions", headers=AS_ADMIN).json == []


def test_validate_does_not_deploy(client: FlaskClient) -> None:
    content = (FIXTURES / "straight.bpmn").read_text()
    response = client.post("/api/v1/validate", json={"files": [{"name": "straight.bpmn", "content": content}]},
                           headers=AS_ADMIN)
    assert response.status_code == 200 and response.json["processes"][0]["key"] == "straight"
    assert client.get("/api/v1/process-definitions", headers=AS_ADMIN).json == []


@pytest.mark.parametrize("method, path, kwargs", [
    ("post", "/api/v1/process-instances", {"json": {"process_key": "review", "org_scope": "县" * 101}}),
    ("post", "/api/v1/process-instances", {"json": {"process_key": "review", "variables": []}}),
    ("get", "/api/v1/tasks", {"query_string": {"offset": "-5"}}),
    ("get", "/api/v1/tasks", {"query_string": {"limit": "0"}}),
    ("get", "/api/v1/tasks", {"query_string": {"instance_id": str(2**63)}}),
    ("get", f"/api/v1/process-instances/{2**63}", {}),
    ("post", "/api/v1/process-instances", {"data": "[" * 100_000 + "]" * 100_000,
                                           "content_type": "application/json"}),
])
def test_input_the_database_cannot_hold_is_refused(client: FlaskClient, method: str, path: str, kwargs: dict) -> None:
    _deploy(client, "review.bpmn")
    response = getattr(client, method)(path, headers=AS_ADMIN, **kwargs)
    assert response.status_code == 400, response.json


def test_an_overlong_acting_user_is_refused(client: FlaskClient) -> None:
    _deploy(client, "review.bpmn")
    response = client.post("/api/v1/process-instances", headers={"X-Huhua-User": "x" * 101},
                           json={"process_key": "review", "variables": {"reviewers": ["wang"]}})
    assert response.status_code == 400 and response.json["problems"][0]["field"] == "actor"


def test_instance_control_over_http_is_the_administrators(client: FlaskClient) -> None:
    _deploy(client, "review.bpmn", "review_start.form.json")
    started = client.post("/api/v1/process-instances", headers=AS_ADMIN,
                          json={"process_key": "review", "variables": {"reviewers": ["wang"]}}).json
    assert client.post(f"/api/v1/process-instances/{started['id']}/suspend", headers=AS_WANG).status_code == 403
    assert client.post(f"/api/v1/process-instances/{started['id']}/suspend", headers=AS_ADMIN,
                       json={"reason": "核实中"}).json["state"] == "suspended"
    assert client.post(f"/api/v1/process-instances/{started['id']}/resume", headers=AS_ADMIN).json["state"] == "running"
    ended = client.post(f"/api/v1/process-instances/{started['id']}/terminate", headers=AS_ADMIN, json={})
    assert ended.json["state"] == "terminated"
    assert client.post(f"/api/v1/process-instances/{started['id']}/resume", headers=AS_ADMIN).status_code == 409
