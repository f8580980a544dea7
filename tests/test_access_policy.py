"""Who may see what (issue 11): read access from a relation to the work and declared oversight, never from having
started something; what one may not see answers exactly as a missing id; models and validation are the
administrators'; delegation stays within the task's pool or unit and ends with the task. Over HTTP with API
tokens, on SQLite and PostgreSQL, on the demo org with the shipped library."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from sqlalchemy import update

from engine.bootstrap import Huhua
from engine.commands import PERSON
from engine.store import tables
from tests.helpers import one_task_model, served_client, start_at, token_headers
from workers.job_worker import run_due_jobs

ATTACKER = "yanfeng-s001-bzr1"  # a class teacher of 雁峰区
VICTIM = "zhuhui-s002-bzr1"  # a class teacher of a 珠晖区 school


@pytest.fixture
def client(demo: Huhua) -> Iterator[FlaskClient]:
    with served_client(demo, SECRET_KEY="access") as client:
        yield client


def _same_as_missing(client: FlaskClient, path: str, existing: int, headers: dict[str, str]) -> None:
    """The answer for an id one may not see is the answer for an id that does not exist, word for word."""
    hidden = client.get(path.format(existing), headers=headers)
    missing = client.get(path.format(9_000_000), headers=headers)
    assert hidden.status_code == missing.status_code == 404, (path, hidden.json)
    assert hidden.json == {**missing.json, "message": missing.json["message"].replace("9000000", str(existing))}


def test_having_started_an_instance_grants_no_read_access(demo: Huhua, client: FlaskClient) -> None:
    """'started_by grants read access forever': a 雁峰区 teacher's start at a 珠晖区 school, the victim's early-warning
    form filled in, and the attacker reads nothing of it."""
    instance = start_at(demo, "ct_routine_school", "zhuhui-s002", semester="2026春",
                        people=[{"id": VICTIM, "name": "受害班主任"}])
    # as if the attacker had started it (who may start is another rule's business)
    with demo.services.database.engine.begin() as connection:
        connection.execute(update(tables.process_instance).where(tables.process_instance.c.id == instance)
                           .values(started_by=ATTACKER))
    attacker, victim = token_headers(demo, ATTACKER), token_headers(demo, VICTIM)
    assert client.get(f"/api/v1/process-instances/{instance}", headers=victim).status_code == 200  # their work
    for path in ("/api/v1/process-instances/{}", "/api/v1/process-instances/{}/history",
                 "/api/v1/process-instances/{}/documents", "/api/v1/process-instances/{}/coverage"):
        _same_as_missing(client, path, instance, attacker)
    task = demo.queries.instance(instance)["open_tasks"][0]["id"]
    for path in ("/api/v1/tasks/{}", "/api/v1/tasks/{}/form", "/api/v1/tasks/{}/history", "/api/v1/tasks/{}/comments",
                 "/api/v1/tasks/{}/attachments"):
        _same_as_missing(client, path, task, attacker)
    assert client.get("/api/v1/tasks", query_string={"instance_id": instance}, headers=attacker).status_code == 404


def test_overseers_with_a_reason_read_a_school_process_and_nobody_else_does(demo: Huhua,
                                                                           client: FlaskClient) -> None:
    """The monthly check of a 珠晖区 school: its own leaders, 珠晖区's officer and head and the city's read it; another
    county's officer, another school's officer and an uninvolved teacher do not."""
    check = start_at(demo, "monthly_school_check", "zhuhui-s001")
    path = f"/api/v1/process-instances/{check}"
    for reader in ("zhuhui-s001-zr", "zhuhui-s001-xz", "zhuhui-s001-dy", "zhuhui-zr", "zhuhui-jz", "hy-zr", "hy-jz"):
        assert client.get(path, headers=token_headers(demo, reader)).status_code == 200, reader
    for outsider in ("yanfeng-zr", "yanfeng-jz", "zhuhui-s002-zr", "zhuhui-s001-bzr1", "zj01"):
        _same_as_missing(client, "/api/v1/process-instances/{}", check, token_headers(demo, outsider))


def test_counselling_is_overseen_by_nobody_above_the_work(demo: Huhua, client: FlaskClient) -> None:
    """'The school programme officer, county officer and head, and city officers and heads can read every case':
    now none of them reads a counselling case they have no task in."""
    case = start_at(demo, "counselling_case", "zhuhui-s001")
    for officer in ("zhuhui-s001-zr", "zhuhui-zr", "zhuhui-jz", "hy-zr", "hy-jz"):
        _same_as_missing(client, "/api/v1/process-instances/{}", case, token_headers(demo, officer))
    assert client.get(f"/api/v1/process-instances/{case}", headers=token_headers(demo, "admin")).status_code == 200


def _notice(declaration: str) -> str:
    """A notice the principal reads, declaring ``declaration`` (its oversight, if any)."""
    return one_task_model("school_notice", "学校通知", "阅读通知", "candidateRoles", "principal", declaration)


_DECLARED = """
    <bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="oversight_roles" value="专项负责人@county, bureau_head@nowhere"/>
    </spiffworkflow:properties></bpmn:extensionElements>"""


def test_a_process_is_overseen_only_as_its_newest_version_declares(demo: Huhua, client: FlaskClient) -> None:
    """A model that declares nobody is overseen by nobody; a new version's declaration reaches running instances."""
    admin, county = token_headers(demo, "admin"), token_headers(demo, "zhuhui-zr")

    def deploy(declaration: str) -> None:
        files = {"files": [{"name": "school_notice.bpmn", "content": _notice(declaration)}]}
        assert client.post("/api/v1/deployments", json=files, headers=admin).status_code == 201

    deploy("")
    notice = start_at(demo, "school_notice", "zhuhui-s001", origin=PERSON)  # it declares no starter: the admin's
    principal = token_headers(demo, "zhuhui-s001-xz")
    assert client.get(f"/api/v1/process-instances/{notice}", headers=principal).status_code \
        == 200  # the principal it is offered to
    _same_as_missing(client, "/api/v1/process-instances/{}", notice, county)
    deploy(_DECLARED)  # the county's programme officer (by its Chinese name); an unknown tier matches nobody
    assert client.get(f"/api/v1/process-instances/{notice}", headers=county).status_code == 200
    _same_as_missing(client, "/api/v1/process-instances/{}", notice, token_headers(demo, "zhuhui-jz"))
    _same_as_missing(client, "/api/v1/process-instances/{}", notice, token_headers(demo, "yanfeng-zr"))


def test_models_and_validation_are_the_administrators(demo: Huhua, client: FlaskClient) -> None:
    """'Every logged-in person can read every model's XML'; '/api/v1/validate (open to everyone)'."""
    admin, teacher = token_headers(demo, "admin"), token_headers(demo, "zhuhui-s001-bzr1")
    definitions = client.get("/api/v1/process-definitions", headers=admin).json
    check = next(d for d in definitions if d["key"] == "monthly_school_check")
    assert client.get(f"/api/v1/process-definitions/{check['id']}/xml", headers=admin).status_code == 200
    for path in (f"/api/v1/process-definitions/{check['id']}/xml", "/api/v1/process-definitions/9000000/xml",
                 f"/api/v1/process-definitions/{check['id']}/artifacts",
                 f"/api/v1/process-definitions/{check['id']}/decisions/monthly_check_items",
                 f"/api/v1/process-definitions/{check['id']}/forms/monthly_check_class_teachers"):
        refused = client.get(path, headers=teacher)
        assert refused.status_code == 403 and "xml" not in refused.json, path
    names = client.get("/api/v1/process-definitions", headers=teacher).json
    assert {"key": "monthly_school_check", "name": check["name"]} in names
    assert all(set(entry) == {"key", "name"} for entry in names)  # no versions, files or deployments
    files = {"files": [{"name": "a.bpmn", "content": "<x/>"}]}
    assert client.post("/api/v1/validate", json=files, headers=teacher).status_code == 403
    assert client.post("/api/v1/validate", json=files, headers=admin).status_code == 422  # checked for them


def test_delegation_stays_in_the_pool_or_unit_and_ends_with_the_task(demo: Huhua, client: FlaskClient) -> None:
    """'A delegatee of any task keeps read access to the whole case': delegation goes only to the task's
    candidates or its unit, and a delegatee who did not complete the task reads nothing once it left them."""
    check = start_at(demo, "monthly_school_check", "zhuhui-s001")
    run_due_jobs(demo)  # the roster is read: the checking sheets open
    task = next(t["id"] for t in demo.queries.instance(check)["open_tasks"]
                if t["element_id"] == "check_class_teachers")  # offered to the school's 德育处主任
    officer = token_headers(demo, "zhuhui-s001-dy")
    assert demo.queries.task(task)["assignee"] == "zhuhui-s001-dy"  # the only holder: assigned, nothing to claim
    outside = client.post(f"/api/v1/tasks/{task}/delegate", headers=officer, json={"to": "yanfeng-s001-bzr1"})
    assert outside.status_code == 403 and outside.json["problems"][0]["field"] == "to"
    delegatee = "zhuhui-s001-bzr2"  # a colleague at the same school
    assert client.post(f"/api/v1/tasks/{task}/delegate", headers=officer,
                       json={"to": delegatee, "reason": "出差"}).status_code == 200
    assert client.get(f"/api/v1/process-instances/{check}", headers=token_headers(demo, delegatee)).status_code == 200
    assert client.post(f"/api/v1/tasks/{task}/reassign", headers=token_headers(demo, "zhuhui-zr"),
                       json={"to": "zhuhui-s001-dy", "reason": "收回"}).status_code == 200
    _same_as_missing(client, "/api/v1/process-instances/{}", check, token_headers(demo, delegatee))
    _same_as_missing(client, "/api/v1/tasks/{}", task, token_headers(demo, delegatee))
