"""Editing a decision table, a form or a BPMN file never undoes another process's later version.

Processes P (score_review) and Q (score_check) share the decision score_band and the form score_confirm
in one deployment; Q changes later in a deployment of its own. An edit started from P's newest version
gives Q a new version built from Q's newest BPMN; an edit started from a version that is no longer the
newest is refused (409 naming the newest) with nothing deployed; only the administrator reads the
decisions and forms a version uses.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from engine.bootstrap import Huhua
from engine.commands import ENGINE, DeployModels, StartInstance
from engine.web import create_app
from tests.helpers import FIXTURES

AS_ADMIN = {"X-Huhua-User": "admin"}
AS_WANG = {"X-Huhua-User": "wang"}
P_XML = (FIXTURES / "score_review.bpmn").read_text()
DMN = (FIXTURES / "score_band.dmn").read_bytes()
FORM = (FIXTURES / "score_confirm.form.json").read_bytes()
STRICTER = DMN.decode().replace("&gt;= 60", "&gt;= 80").replace("&lt; 60", "&lt; 80")
PLAIN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="score_note_defs"
                  targetNamespace="http://huhua.example/test">
  <bpmn:process id="score_note" name="考核备注" isExecutable="true">
    <bpmn:startEvent id="note_start"><bpmn:outgoing>note_f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="note_f1" sourceRef="note_start" targetRef="note_end"/>
    <bpmn:endEvent id="note_end"><bpmn:incoming>note_f1</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>"""


def _process(key: str, task: str = "确认评定结果") -> bytes:
    """The score review fixture as process ``key``, its user task named ``task`` (a visible change)."""
    return (P_XML.replace('id="score_review"', f'id="{key}"').replace("score_review_defs", f"{key}_defs")
            .replace('name="确认评定结果"', f'name="{task}"').encode())


@pytest.fixture
def client(huhua: Huhua) -> Iterator[FlaskClient]:
    app = create_app(huhua, {"TESTING": True})
    with app.test_client() as client:
        yield client


@pytest.fixture
def shared(huhua: Huhua) -> dict[str, int]:
    """P, Q and R share the decision and form in deployment 1; then Q changes (v2) and R stops using them (v2)."""
    first = huhua.execute(DeployModels(files=(
        ("score_review.bpmn", _process("score_review")), ("score_check.bpmn", _process("score_check")),
        ("score_note.bpmn", _process("score_note")), ("score_band.dmn", DMN), ("score_confirm.form.json", FORM)),
        actor="admin"))
    ids = {p["key"]: p["definition_id"] for p in first["processes"]}
    later = huhua.execute(DeployModels(files=(
        ("score_check.bpmn", _process("score_check", "复核评定结果")), ("score_band.dmn", DMN)), actor="admin"))
    plain = huhua.execute(DeployModels(files=(("score_note.bpmn", PLAIN.encode()),), actor="admin"))
    return {"p1": ids["score_review"], "q1": ids["score_check"], "r1": ids["score_note"],
            "q2": later["processes"][0]["definition_id"], "r2": plain["processes"][0]["definition_id"]}


def _versions(client: FlaskClient) -> list[tuple[str, int]]:
    return [(d["key"], d["version"]) for d in client.get("/api/v1/process-definitions", headers=AS_ADMIN).json]


def _xml(client: FlaskClient, definition_id: int) -> str:
    return client.get(f"/api/v1/process-definitions/{definition_id}/xml", headers=AS_ADMIN).json["xml"]


def test_a_decision_edited_from_p_keeps_qs_later_change(client: FlaskClient, huhua: Huhua,
                                                        shared: dict[str, int]) -> None:
    deployed = client.post(f"/api/v1/process-definitions/{shared['p1']}/decisions/score_band/deploy",
                           headers=AS_ADMIN, json={"xml": STRICTER})

    assert deployed.status_code == 201, deployed.json
    made = {p["key"]: p for p in deployed.json["processes"]}
    assert {k: (p["version"], p["changed"]) for k, p in made.items()} == {
        "score_review": (2, True), "score_check": (3, True)}
    assert len(deployed.json["deployment_ids"]) == 2 and deployed.json["deployment_id"] in deployed.json[
        "deployment_ids"]
    # Q's new version is built from Q's version 2, not from the version-1 BPMN of P's deployment
    q3 = made["score_check"]["definition_id"]
    assert "复核评定结果" in _xml(client, q3) and "复核评定结果" in _xml(client, shared["q2"])
    assert "确认评定结果" in _xml(client, made["score_review"]["definition_id"])
    for definition_id in (q3, made["score_review"]["definition_id"]):
        assert "&gt;= 80" in client.get(f"/api/v1/process-definitions/{definition_id}/decisions/score_band",
                                        headers=AS_ADMIN).json["xml"]
    # R's newest version no longer uses the decision: no new version for it
    assert _versions(client) == [("score_check", 1), ("score_check", 2), ("score_check", 3), ("score_note", 1),
                                 ("score_note", 2), ("score_review", 1), ("score_review", 2)]
    started = huhua.execute(StartInstance("score_check", "admin", variables={"score": 70}, origin=ENGINE))
    view = huhua.queries.instance(started["id"])
    assert (view["definition"]["version"], view["data"]["band"]) == (3, "不合格")
    assert huhua.queries.tasks(instance_id=started["id"])[0]["name"] == "复核评定结果"
    # saving the same table again from the new newest version deploys nothing
    again = client.post(f"/api/v1/process-definitions/{q3}/decisions/score_band/deploy", headers=AS_ADMIN,
                        json={"xml": STRICTER})
    assert again.status_code == 200 and again.json["deployment_id"] is None and again.json["deployment_ids"] == []


def test_a_form_edited_from_p_keeps_qs_later_change(client: FlaskClient, shared: dict[str, int]) -> None:
    schema = json.loads(FORM)
    schema["components"].append({"type": "textfield", "key": "signature", "label": "签名"})

    deployed = client.post(f"/api/v1/process-definitions/{shared['p1']}/forms/score_confirm/deploy",
                           headers=AS_ADMIN, json={"schema": schema})

    assert deployed.status_code == 201, deployed.json
    assert deployed.json["forms"] == [{"key": "score_confirm", "version": 2, "changed": True}]
    made = {p["key"]: p for p in deployed.json["processes"]}
    assert {k: (p["version"], p["changed"]) for k, p in made.items()} == {
        "score_review": (2, True), "score_check": (3, True)}
    assert "复核评定结果" in _xml(client, made["score_check"]["definition_id"])
    for made_id in (p["definition_id"] for p in made.values()):
        assert client.get(f"/api/v1/process-definitions/{made_id}/forms/score_confirm",
                          headers=AS_ADMIN).json["version"] == 2
    assert ("score_note", 3) not in _versions(client)


@pytest.mark.parametrize("edit", ["decision", "form", "modeler"])
def test_an_edit_of_a_version_that_is_not_the_newest_is_refused(client: FlaskClient, shared: dict[str, int],
                                                                 edit: str) -> None:
    before = _versions(client)
    base = f"/api/v1/process-definitions/{shared['q1']}"
    refused = {"decision": lambda: client.post(f"{base}/decisions/score_band/deploy", headers=AS_ADMIN,
                                               json={"xml": STRICTER}),
               "form": lambda: client.post(f"{base}/forms/score_confirm/deploy", headers=AS_ADMIN,
                                           json={"schema": {"id": "score_confirm", "components": []}}),
               "modeler": lambda: client.post(f"{base}/deploy", headers=AS_ADMIN,
                                              json={"xml": _process("score_check", "再次评定").decode()})}[edit]()

    assert refused.status_code == 409, refused.json
    assert refused.json["error"] == "conflict"
    assert refused.json["newest"] == {"definition_id": shared["q2"], "key": "score_check", "name": "考核评定",
                                      "version": 2}
    assert f"process definition {shared['q2']}" in refused.json["message"]
    assert refused.json["problems"] == [{"message": "not the newest version", "field": "definition_id"}]
    assert _versions(client) == before
    assert client.get(f"{base}/forms/score_confirm", headers=AS_ADMIN).json["version"] == 1


def test_the_modeler_keeps_the_newest_decision_and_leaves_other_processes_alone(
        client: FlaskClient, huhua: Huhua, shared: dict[str, int]) -> None:
    # the decision edit gives P version 2 (with the stricter table); Q then changes again elsewhere (v4)
    edited = client.post(f"/api/v1/process-definitions/{shared['p1']}/decisions/score_band/deploy",
                         headers=AS_ADMIN, json={"xml": STRICTER}).json
    p2 = next(p["definition_id"] for p in edited["processes"] if p["key"] == "score_review")
    huhua.execute(DeployModels(files=(("score_check.bpmn", _process("score_check", "三审评定结果")),
                                      ("score_band.dmn", DMN)), actor="admin"))
    stale = client.post(f"/api/v1/process-definitions/{shared['p1']}/deploy", headers=AS_ADMIN,
                        json={"xml": _process("score_review", "终审评定结果").decode()})
    assert stale.status_code == 409 and stale.json["newest"]["definition_id"] == p2

    deployed = client.post(f"/api/v1/process-definitions/{p2}/deploy", headers=AS_ADMIN,
                           json={"xml": _process("score_review", "终审评定结果").decode()})

    assert deployed.status_code == 201, deployed.json
    assert [(p["key"], p["version"], p["changed"]) for p in deployed.json["processes"]] == [
        ("score_review", 3, True)]
    p3 = deployed.json["processes"][0]["definition_id"]
    assert "终审评定结果" in _xml(client, p3)
    # P's newest table went along, not the one of P's first deployment; Q got no version from P's old copy
    assert "&gt;= 80" in client.get(f"/api/v1/process-definitions/{p3}/decisions/score_band",
                                    headers=AS_ADMIN).json["xml"]
    assert [v for k, v in _versions(client) if k == "score_check"] == [1, 2, 3, 4]
    started = huhua.execute(StartInstance("score_review", "admin", variables={"score": 70}, origin=ENGINE))
    assert huhua.queries.instance(started["id"])["data"]["band"] == "不合格"


def test_a_file_defining_two_processes_versions_only_those_not_changed_elsewhere(
        client: FlaskClient, huhua: Huhua) -> None:
    note = PLAIN[PLAIN.index("<bpmn:process"):PLAIN.index("</bpmn:process>")] + "</bpmn:process>\n"
    both = P_XML.replace("</bpmn:definitions>", note + "</bpmn:definitions>")
    first = huhua.execute(DeployModels(files=(("both.bpmn", both.encode()), ("score_band.dmn", DMN),
                                              ("score_confirm.form.json", FORM)), actor="admin"))
    review = next(p["definition_id"] for p in first["processes"] if p["key"] == "score_review")
    huhua.execute(DeployModels(files=(("note.bpmn", PLAIN.replace("考核备注", "考核附注").encode()),), actor="admin"))

    deployed = client.post(f"/api/v1/process-definitions/{review}/deploy", headers=AS_ADMIN,
                           json={"xml": both.replace("确认评定结果", "终审评定结果")})

    assert deployed.status_code == 201, deployed.json
    assert [(p["key"], p["version"]) for p in deployed.json["processes"]] == [("score_review", 2)]
    assert _versions(client) == [("score_note", 1), ("score_note", 2), ("score_review", 1), ("score_review", 2)]


@pytest.mark.parametrize("path", ["artifacts", "decisions/score_band", "forms/score_confirm"])
def test_only_the_administrator_reads_a_versions_decisions_and_forms(client: FlaskClient, shared: dict[str, int],
                                                                     path: str) -> None:
    url = f"/api/v1/process-definitions/{shared['p1']}/{path}"
    refused = client.get(url, headers=AS_WANG)
    assert refused.status_code == 403 and refused.json["error"] == "forbidden"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=AS_ADMIN).status_code == 200


def test_a_decision_changed_later_with_another_process_must_be_edited_from_there(
        client: FlaskClient, huhua: Huhua, shared: dict[str, int]) -> None:
    renamed = DMN.decode().replace('"合格"', '"达标"')
    q3 = huhua.execute(DeployModels(files=(("score_check.bpmn", _process("score_check", "复核评定结果")),
                                           ("score_band.dmn", renamed.encode())), actor="admin"))
    q3_id = q3["processes"][0]["definition_id"]
    before = _versions(client)

    refused = client.post(f"/api/v1/process-definitions/{shared['p1']}/decisions/score_band/deploy",
                          headers=AS_ADMIN, json={"xml": STRICTER})

    assert refused.status_code == 409, refused.json
    assert refused.json["newest"]["definition_id"] == q3_id
    assert refused.json["problems"][0]["field"] == "decision_id"
    assert _versions(client) == before
    # edited from the newest table, the edit reaches P too, with Q's later change in it
    edited = client.post(f"/api/v1/process-definitions/{q3_id}/decisions/score_band/deploy", headers=AS_ADMIN,
                         json={"xml": renamed.replace("&gt;= 60", "&gt;= 80").replace("&lt; 60", "&lt; 80")})
    assert edited.status_code == 201, edited.json
    made = {p["key"]: p["definition_id"] for p in edited.json["processes"]}
    assert set(made) == {"score_review", "score_check"}
    for definition_id in made.values():
        xml = client.get(f"/api/v1/process-definitions/{definition_id}/decisions/score_band",
                         headers=AS_ADMIN).json["xml"]
        assert '"达标"' in xml and "&gt;= 80" in xml


def test_a_form_shown_in_a_later_version_by_another_process_must_be_edited_from_there(
        client: FlaskClient, huhua: Huhua, shared: dict[str, int]) -> None:
    schema = json.loads(FORM)
    schema["components"].append({"type": "number", "key": "points", "label": "加分"})
    huhua.execute(DeployModels(files=(("score_confirm.form.json", json.dumps(schema).encode()),), actor="admin"))
    q3 = huhua.execute(DeployModels(files=(("score_check.bpmn", _process("score_check", "三审评定结果")),
                                           ("score_band.dmn", DMN)), actor="admin"))["processes"][0]
    assert client.get(f"/api/v1/process-definitions/{q3['definition_id']}/forms/score_confirm",
                      headers=AS_ADMIN).json["version"] == 2
    before = _versions(client)

    refused = client.post(f"/api/v1/process-definitions/{shared['p1']}/forms/score_confirm/deploy",
                          headers=AS_ADMIN, json={"schema": json.loads(FORM)})

    assert refused.status_code == 409, refused.json
    assert refused.json["newest"]["definition_id"] == q3["definition_id"]
    assert refused.json["problems"][0]["field"] == "form_key"
    assert _versions(client) == before
    newest = client.get(f"/api/v1/process-definitions/{q3['definition_id']}/forms/score_confirm", headers=AS_ADMIN)
    assert [c["key"] for c in newest.json["schema"]["components"]][-1] == "points"
