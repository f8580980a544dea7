"""Editing a process version's DMN tables and forms over the API, deployed as new versions.

New instances answer with the edited decision and show the edited form; running instances keep
their version's. Hostile or broken edits are refused with the problem named, and nothing is stored.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from engine.bootstrap import Huhua
from engine.commands import ENGINE, DeployShippedProcesses, StartInstance
from engine.web import create_app
from tests.helpers import FIXTURES, deploy_fixtures, only_task

#: One database: the editors' pages and checks; their storage is test_deployment's, on both.
DATABASES = ("sqlite",)

AS_ADMIN = {"X-Huhua-User": "admin"}
AS_WANG = {"X-Huhua-User": "wang"}
FILES = ("score_review.bpmn", "score_band.dmn", "score_confirm.form.json")


@pytest.fixture
def client(huhua: Huhua) -> Iterator[FlaskClient]:
    app = create_app(huhua, {"TESTING": True})
    with app.test_client() as client:
        yield client


@pytest.fixture
def first(huhua: Huhua) -> int:
    """The first version of the score review process, with its decision table and form."""
    deployed = deploy_fixtures(huhua, *FILES)
    return deployed["processes"][0]["definition_id"]


def _start(huhua: Huhua, score: int) -> int:
    """An instance with its score given, as the step before it (a scoring task, say) would hand it on."""
    return huhua.execute(StartInstance("score_review", "admin", variables={"score": score}, origin=ENGINE))["id"]


def _band(client: FlaskClient, instance_id: int) -> str:
    return client.get(f"/api/v1/process-instances/{instance_id}", headers=AS_ADMIN).json["data"]["band"]


def test_a_version_lists_the_decisions_and_forms_it_uses(client: FlaskClient, first: int) -> None:
    listed = client.get(f"/api/v1/process-definitions/{first}/artifacts", headers=AS_ADMIN)
    assert listed.status_code == 200
    assert listed.json == {
        "decisions": [{"decision_id": "score_band", "resource": "score_band.dmn", "name": "考核等级"}],
        "forms": [{"form_key": "score_confirm", "version": 1, "name": "确认评定结果"}]}
    decision = client.get(f"/api/v1/process-definitions/{first}/decisions/score_band", headers=AS_ADMIN).json
    assert decision["name"] == "score_band.dmn" and 'id="rule_pass"' in decision["xml"]
    form = client.get(f"/api/v1/process-definitions/{first}/forms/score_confirm", headers=AS_ADMIN).json
    assert form["version"] == 1 and form["schema"]["components"][0]["key"] == "remark"
    assert client.get(f"/api/v1/process-definitions/{first}/decisions/other", headers=AS_ADMIN).status_code == 404
    assert client.get(f"/api/v1/process-definitions/{first}/forms/other", headers=AS_ADMIN).status_code == 404
    assert client.get("/api/v1/process-definitions/999/artifacts", headers=AS_ADMIN).status_code == 404
    assert client.get(f"/api/v1/process-definitions/{first}/artifacts").status_code == 401


def test_an_edited_decision_answers_new_instances_while_old_ones_keep_theirs(
        client: FlaskClient, huhua: Huhua, first: int) -> None:
    old = _start(huhua, 70)
    assert _band(client, old) == "合格"
    xml = (FIXTURES / "score_band.dmn").read_text().replace("&gt;= 60", "&gt;= 80").replace("&lt; 60", "&lt; 80")

    deployed = client.post(f"/api/v1/process-definitions/{first}/decisions/score_band/deploy", headers=AS_ADMIN,
                           json={"xml": xml})

    assert deployed.status_code == 201, deployed.json
    assert [(p["key"], p["version"], p["changed"]) for p in deployed.json["processes"]] == [("score_review", 2, True)]
    second = deployed.json["processes"][0]["definition_id"]
    assert "&gt;= 80" in client.get(f"/api/v1/process-definitions/{second}/decisions/score_band",
                                    headers=AS_ADMIN).json["xml"]
    assert "&gt;= 60" in client.get(f"/api/v1/process-definitions/{first}/decisions/score_band",
                                    headers=AS_ADMIN).json["xml"]
    new = _start(huhua, 70)
    assert _band(client, new) == "不合格"
    # the version's other files went along: its form is still there, unchanged
    assert client.get(f"/api/v1/process-definitions/{second}/forms/score_confirm",
                      headers=AS_ADMIN).json["version"] == 1
    # the old instance still runs on version 1 (its own DMN); the admin may finish it
    task = only_task(huhua, old)
    assert client.post(f"/api/v1/tasks/{task['id']}/complete", headers=AS_ADMIN, json={"data": {}}).status_code == 200
    # saving the same table again deploys nothing new
    again = client.post(f"/api/v1/process-definitions/{second}/decisions/score_band/deploy", headers=AS_ADMIN,
                        json={"xml": xml})
    assert again.status_code == 200 and again.json["deployment_id"] is None


def test_an_edited_form_reaches_new_instances_while_old_ones_keep_theirs(
        client: FlaskClient, huhua: Huhua, first: int) -> None:
    old = _start(huhua, 90)
    schema = json.loads((FIXTURES / "score_confirm.form.json").read_text())
    schema["components"].append({"type": "textfield", "key": "signature", "label": "签名",
                                 "validate": {"required": True}})

    deployed = client.post(f"/api/v1/process-definitions/{first}/forms/score_confirm/deploy", headers=AS_ADMIN,
                           json={"schema": schema})

    assert deployed.status_code == 201, deployed.json
    assert deployed.json["forms"] == [{"key": "score_confirm", "version": 2, "changed": True}]
    assert [(p["version"], p["changed"]) for p in deployed.json["processes"]] == [(2, True)]
    second = deployed.json["processes"][0]["definition_id"]
    assert client.get(f"/api/v1/process-definitions/{second}/forms/score_confirm",
                      headers=AS_ADMIN).json["version"] == 2
    new = _start(huhua, 90)
    old_task, new_task = only_task(huhua, old), only_task(huhua, new)
    keys = lambda task: [c["key"] for c in client.get(f"/api/v1/tasks/{task['id']}/form",  # noqa: E731
                                                       headers=AS_ADMIN).json["schema"]["components"]]
    assert keys(old_task) == ["remark"] and keys(new_task) == ["remark", "signature"]
    refused = client.post(f"/api/v1/tasks/{new_task['id']}/complete", headers=AS_ADMIN, json={"data": {}})
    assert refused.status_code == 400 and refused.json["problems"][0]["field"] == "signature"
    assert client.post(f"/api/v1/tasks/{old_task['id']}/complete", headers=AS_ADMIN,
                       json={"data": {"remark": "好"}}).status_code == 200
    assert client.post(f"/api/v1/tasks/{new_task['id']}/complete", headers=AS_ADMIN,
                       json={"data": {"signature": "王"}}).status_code == 200


def _nothing_deployed(client: FlaskClient) -> None:
    versions = client.get("/api/v1/process-definitions", headers=AS_ADMIN).json
    assert [(d["key"], d["version"]) for d in versions] == [("score_review", 1)]


@pytest.mark.parametrize(("xml", "status", "said"), [
    ('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x "y">]><definitions/>', 422, "DOCTYPE"),
    ("<definitions><decision id='score_band'>", 422, "not well-formed"),
    ("", 422, "empty"),
    ((FIXTURES / "score_band.dmn").read_text().replace('id="score_band"', 'id="other"'), 400, "must keep"),
    ((FIXTURES / "score_review.bpmn").read_text(), 400, "not a DMN document"),
])
def test_broken_or_hostile_decision_tables_are_refused(client: FlaskClient, first: int, xml: str, status: int,
                                                       said: str) -> None:
    refused = client.post(f"/api/v1/process-definitions/{first}/decisions/score_band/deploy", headers=AS_ADMIN,
                          json={"xml": xml})
    assert refused.status_code == status and said in json.dumps(refused.json), refused.json
    _nothing_deployed(client)


def test_lint_findings_name_the_decision_rule_and_column(client: FlaskClient, first: int) -> None:
    xml = (FIXTURES / "score_band.dmn").read_text().replace('"不合格"', "不 合格").replace("&lt; 60", "less than 60")
    refused = client.post(f"/api/v1/process-definitions/{first}/decisions/score_band/deploy", headers=AS_ADMIN,
                          json={"xml": xml})
    assert refused.status_code == 422
    problems = {p["element_id"]: p["message"] for p in refused.json["problems"]}
    assert "第 2 条规则，输入列“得分”，单元格「less than 60」" in problems["rule_fail_score"]
    assert "考核等级" in problems["rule_fail_score"]
    assert "第 2 条规则，输出列“等级”，单元格「不 合格」" in problems["rule_fail_band"]
    _nothing_deployed(client)


def test_a_rule_missing_a_cell_is_refused(client: FlaskClient, first: int) -> None:
    xml = (FIXTURES / "score_band.dmn").read_text().replace(
        '<inputEntry id="rule_pass_score"><text>&gt;= 60</text></inputEntry>', "")
    refused = client.post(f"/api/v1/process-definitions/{first}/decisions/score_band/deploy", headers=AS_ADMIN,
                          json={"xml": xml})
    assert refused.status_code == 422
    assert {p["element_id"]: p["message"] for p in refused.json["problems"]}["rule_pass"] == (
        "score_band.dmn，决策“考核等级”（score_band）：第 1 条规则有 0 个输入和 1 个输出单元格，"
        "而表有 1 个输入列和 1 个输出列")
    _nothing_deployed(client)


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"schema": [1, 2]}, 400, "schema"),
    ({"schema": "{}"}, 400, "schema"),
    ({}, 400, "schema"),
    ({"schema": {"id": "score_confirm", "components": [{"type": "rocket", "key": "x"}]}}, 422, "components[0]"),
    ({"schema": {"id": "score_confirm", "components": "none"}}, 422, None),
    ({"schema": {"id": "renamed", "components": []}}, 400, "schema.id"),
    ({"schema": {"id": "score_confirm", "components": [{"type": "textfield"}]}}, 422, "components[0]"),
])
def test_broken_forms_are_refused(client: FlaskClient, first: int, body: dict, status: int, field: str | None) -> None:
    refused = client.post(f"/api/v1/process-definitions/{first}/forms/score_confirm/deploy", headers=AS_ADMIN,
                          json=body)
    assert refused.status_code == status, refused.json
    if field:
        assert field in [p.get("field") for p in refused.json["problems"]], refused.json
    _nothing_deployed(client)
    assert client.get(f"/api/v1/process-definitions/{first}/forms/score_confirm",
                      headers=AS_ADMIN).json["version"] == 1


def test_only_the_administrator_deploys_edits(client: FlaskClient, first: int) -> None:
    xml = (FIXTURES / "score_band.dmn").read_text()
    assert client.post(f"/api/v1/process-definitions/{first}/decisions/score_band/deploy", headers=AS_WANG,
                       json={"xml": xml}).status_code == 403
    assert client.post(f"/api/v1/process-definitions/{first}/forms/score_confirm/deploy", headers=AS_WANG,
                       json={"schema": {"components": []}}).status_code == 403
    assert client.post(f"/api/v1/process-definitions/{first}/decisions/nope/deploy", headers=AS_ADMIN,
                       json={"xml": xml}).status_code == 404
    _nothing_deployed(client)


def test_what_a_version_does_not_have_is_not_found_in_chinese(client: FlaskClient, first: int) -> None:
    answers = {path: client.get(path, headers=AS_ADMIN) for path in (
        f"/api/v1/process-definitions/{first}/decisions/nope", f"/api/v1/process-definitions/{first}/forms/nope",
        "/api/v1/process-definitions/987654/decisions/score_band", "/api/v1/attachments/987654")}
    assert {path: (answer.status_code, answer.json["message"]) for path, answer in answers.items()} == {
        f"/api/v1/process-definitions/{first}/decisions/nope": (404, f"流程版本 {first} 未使用决策表“nope”"),
        f"/api/v1/process-definitions/{first}/forms/nope": (404, f"流程版本 {first} 未使用表单“nope”"),
        "/api/v1/process-definitions/987654/decisions/score_band": (404, "流程版本 987654 未使用决策表“score_band”"),
        "/api/v1/attachments/987654": (404, "附件 987654 不存在")}


def test_a_changed_shipped_form_or_table_reaches_new_instances_of_the_processes_using_it(
        huhua: Huhua, tmp_path: Path) -> None:
    for name in FILES:
        shutil.copy(FIXTURES / name, tmp_path / name)
    huhua.execute(DeployShippedProcesses(str(tmp_path)))
    old = huhua.execute(StartInstance("score_review", "admin", variables={"score": 70}, origin=ENGINE))
    schema = json.loads((tmp_path / "score_confirm.form.json").read_text())
    schema["components"].append({"type": "number", "key": "points", "label": "加分"})
    (tmp_path / "score_confirm.form.json").write_text(json.dumps(schema, ensure_ascii=False))

    shipped = huhua.execute(DeployShippedProcesses(str(tmp_path)))

    assert shipped["changed_files"] == ["score_confirm.form.json"]
    assert [(p["version"], p["changed"]) for p in shipped["processes"]] == [(2, True)]
    new = huhua.execute(StartInstance("score_review", "admin", variables={"score": 70}, origin=ENGINE))
    fields = lambda i: [c["key"] for c in huhua.queries.task_form(only_task(huhua, i["id"])["id"])["components"]]  # noqa: E731
    assert fields(old) == ["remark"] and fields(new) == ["remark", "points"]

    (tmp_path / "score_band.dmn").write_text((tmp_path / "score_band.dmn").read_text().replace('"合格"', '"达标"'))
    shipped = huhua.execute(DeployShippedProcesses(str(tmp_path)))
    assert [(p["version"], p["changed"]) for p in shipped["processes"]] == [(3, True)]
    newest = huhua.execute(StartInstance("score_review", "admin", variables={"score": 70}, origin=ENGINE))
    assert huhua.queries.instance(newest["id"])["data"]["band"] == "达标"
    assert huhua.queries.instance(old["id"])["data"]["band"] == "合格"
