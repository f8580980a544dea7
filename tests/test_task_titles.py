"""Tasks read with their unit's and subject's names, never raw ids: the title a model declares (or "<task> · <unit>"),
the unit and process names beside the ids, the unit filter by name, delegation picked from the task's pool by name,
and a history that names the task and keeps independent reviewers from seeing each other's work."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.bootstrap import Huhua
from engine.commands import DeployModels, LoadDirectory, SetPassword
from engine.org.profiles import generate
from engine.store import migration, tables
from engine.store.database import Database
from engine.web import create_app
from tests.helpers import start_at

ME, COLLEAGUE, STRANGER = "zhuhui-s001-bzr1", "zhuhui-s001-bzr2", "qidong-s001-bzr1"
_PROPERTIES = '<bpmn:extensionElements><spiffworkflow:properties>{}</spiffworkflow:properties></bpmn:extensionElements>'
_MODEL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="http://huhua.example/t">
  <bpmn:process id="plan_review" name="工作方案审核" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <bpmn:userTask id="review" name="审核工作方案">{review}
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="score"/>
    <bpmn:userTask id="score" name="评审案例">{score}
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:multiInstanceLoopCharacteristics>
        <bpmn:loopDataInputRef>cases</bpmn:loopDataInputRef>
        <bpmn:inputDataItem id="case" name="case"/>
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f3" sourceRef="score" targetRef="plain"/>
    <bpmn:userTask id="plain" name="归档">{plain}
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f4" sourceRef="plain" targetRef="end"/>
    <bpmn:endEvent id="end"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>""".format(
    review=_PROPERTIES.format(
        '<spiffworkflow:property name="candidateRoles" value="class_teacher"/>'
        '<spiffworkflow:property name="title" value="审核 {unit} 工作方案：{plan.title}{nowhere}"/>'),
    score=_PROPERTIES.format('<spiffworkflow:property name="assignee" value="=case[\'reader\']"/>'
                             '<spiffworkflow:property name="title" value="评审：《{case.title}》 {case.author}"/>'),
    plain=_PROPERTIES.format('<spiffworkflow:property name="candidateRoles" value="class_teacher"/>'))


def _as(user: str) -> dict[str, str]:
    return {"X-Huhua-User": user}


@pytest.fixture
def app(huhua: Huhua) -> Flask:
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    huhua.execute(DeployModels((("plan_review.bpmn", _MODEL.encode()),), "admin"))
    huhua.execute(SetPassword(ME, "correct horse", "admin"))
    return create_app(huhua, {"TESTING": True})


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    with app.test_client() as client:
        yield client


def _visible(page: str) -> str:
    """The text a person sees of a page (no tags, scripts or styles)."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def _open(client: FlaskClient, user: str, **query: str) -> list[dict]:
    answer = client.get("/api/v1/tasks", query_string=query, headers=_as(user))
    assert answer.status_code == 200, answer.json
    return answer.json


def test_a_task_reads_with_its_unit_and_subject_and_is_found_and_handed_on_by_name(
        huhua: Huhua, client: FlaskClient) -> None:
    cases = [{"title": "春风化雨", "author": "王老师", "reader": ME},
             {"title": "润物无声", "author": "李老师", "reader": COLLEAGUE}]
    start_at(huhua, "plan_review", "zhuhui-s001", plan={"title": "心育工作方案"}, cases=cases)
    [task] = _open(client, ME)
    school = huhua.queries.units(kind="school", under="zhuhui")[0]
    assert school["id"] == "zhuhui-s001"
    assert task["title"] == f"审核 {school['name']} 工作方案：心育工作方案"  # the unknown {nowhere} is dropped
    assert task["name"] == "审核工作方案" and task["org_scope"] == "zhuhui-s001"
    assert task["unit_name"] == school["name"] and task["process_name"] == "工作方案审核"

    pages = create_app(huhua, {"SECRET_KEY": "pages", "TRUST_USER_HEADER": False,
                               "WTF_CSRF_ENABLED": False}).test_client()
    pages.post("/login", data={"username": ME, "password": "correct horse"})
    page = _visible(pages.get("/inbox").get_data(as_text=True))
    me = huhua.queries.users(ids=[ME])[0]
    assert task["title"] in page and "工作方案审核" in page and f"{me['name']}（班主任 · {school['name']}）" in page
    assert "zhuhui-s001" not in page and "plan_review" not in page  # not 班主任@zhuhui-s001, nor the process key
    assert [t["id"] for t in _open(client, ME, unit=school["name"])] == [task["id"]]  # the unit filter takes a name
    assert _open(client, ME, unit="祁东县") == []
    assert [t["id"] for t in _open(client, ME, q="心育工作方案")] == [task["id"]]  # words of the title find it
    page = pages.get(f"/inbox/tasks/{task['id']}").get_data(as_text=True)
    assert f'id="task-title">{task["title"]}<' in page and ME not in _visible(page)

    # delegation: the pool by name, and nobody outside it
    client.post(f"/api/v1/tasks/{task['id']}/claim", headers=_as(ME))
    pool = client.get(f"/api/v1/tasks/{task['id']}/delegates", headers=_as(ME)).json
    colleague = next(p for p in pool if p["id"] == COLLEAGUE)
    assert colleague["name"] and {"role_name": "班主任", "unit_name": school["name"]} in colleague["roles"]
    assert ME not in [p["id"] for p in pool] and STRANGER not in [p["id"] for p in pool]
    assert client.get(f"/api/v1/tasks/{task['id']}/delegates", headers=_as(STRANGER)).status_code == 404
    outside = client.post(f"/api/v1/tasks/{task['id']}/delegate", json={"to": STRANGER}, headers=_as(ME))
    assert outside.status_code == 403 and outside.json["problems"][0]["field"] == "to"
    assert client.post(f"/api/v1/tasks/{task['id']}/delegate", json={"to": COLLEAGUE},
                       headers=_as(ME)).status_code == 200
    assert client.post(f"/api/v1/tasks/{task['id']}/comments", json={"body": "请尽快"},
                       headers=_as(COLLEAGUE)).status_code == 201
    [comment] = client.get(f"/api/v1/tasks/{task['id']}/comments", headers=_as(COLLEAGUE)).json
    assert comment["author_name"] == colleague["name"]
    assert client.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {}},
                       headers=_as(COLLEAGUE)).status_code == 200

    # each reviewer's item is titled by its case; neither sees the other's work in the history
    [mine] = _open(client, ME)
    [theirs] = _open(client, COLLEAGUE)
    assert mine["title"] == "评审：《春风化雨》 王老师" and theirs["title"] == "评审：《润物无声》 李老师"
    assert client.post(f"/api/v1/tasks/{theirs['id']}/complete", json={"data": {}},
                       headers=_as(COLLEAGUE)).status_code == 200
    history = client.get(f"/api/v1/tasks/{mine['id']}/history", headers=_as(ME)).json["events"]
    assert theirs["id"] not in {e["task_id"] for e in history}
    created = next(e for e in history if e["kind"] == "task_created" and e["task_id"] == mine["id"])
    assert created["task_title"] == mine["title"] and created["by_system"]
    done = next(e for e in history if e["kind"] == "task_completed")
    assert done["task_title"] == task["title"] and done["actor_name"] == colleague["name"]
    assert client.post(f"/api/v1/tasks/{mine['id']}/complete", json={"data": {}}, headers=_as(ME)).status_code == 200
    [last] = _open(client, ME)
    assert last["title"] == f"归档 · {school['name']}"  # no template: the task and its unit


def test_open_tasks_made_before_titles_read_with_their_unit_after_the_upgrade(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'old.db'}")
    migration.upgrade(database, "0023")
    with database.engine.begin() as connection:
        connection.exec_driver_sql("INSERT INTO org_unit (id, name, kind, parent_id, path, sort_order) VALUES "
                                   "('zhuhui-s001', '珠晖区第一中学', 'school', NULL, '/school:zhuhui-s001/', 0)")
        connection.exec_driver_sql("INSERT INTO deployment (id, name, source, deployed_by, deployed_at) "
                                   "VALUES (1, 'old', 'shipped', 'admin', '2026-03-01 00:00:00')")
        connection.exec_driver_sql(
            "INSERT INTO process_definition (id, key, version, name, content_hash, deployment_id, resource_name, "
            "deployed_at) VALUES (1, 'plan_review', 1, '工作方案审核', 'x', 1, 'p.bpmn', '2026-03-01 00:00:00')")
        connection.exec_driver_sql(
            "INSERT INTO process_instance (id, definition_id, process_key, org_scope, state, version, started_by, "
            "started_at, updated_at, data) VALUES (1, 1, 'plan_review', 'zhuhui-s001', 'running', 1, 'admin', "
            "'2026-03-02 00:30:00', '2026-03-02 00:30:00', '{}')")
        connection.exec_driver_sql(
            "INSERT INTO human_task (id, instance_id, spiff_task_id, element_id, name, process_key, state, org_scope, "
            "created_at) VALUES (1, 1, 'a', 'review', '审核工作方案', 'plan_review', 'open', 'zhuhui-s001', "
            "'2026-03-02 00:30:00'), (2, 1, 'b', 'draft', '起草', 'plan_review', 'completed', 'zhuhui-s001', "
            "'2026-03-02 00:30:00'), (3, 1, 'c', 'read', '阅读', 'plan_review', 'open', NULL, '2026-03-02 00:30:00')")
    migration.upgrade(database)
    with database.engine.connect() as connection:
        titles = connection.execute(select(tables.human_task.c.id, tables.human_task.c.title)
                                    .order_by(tables.human_task.c.id)).all()
    database.dispose()
    assert [tuple(row) for row in titles] == [(1, "审核工作方案 · 珠晖区第一中学"), (2, None), (3, "阅读")]


def test_a_title_is_filled_once_and_as_text(huhua: Huhua, client: FlaskClient) -> None:
    """Braces a person typed into a filled-in value stay as typed (filled once, never read as a template again),
    and a title that starts with '=' is text, not an expression."""
    literal = _MODEL.replace('id="plan_review" name="工作方案审核"', 'id="plan_literal" name="字面标题"').replace(
        'value="审核 {unit} 工作方案：{plan.title}{nowhere}"', 'value="=2*3 {unit}"')
    huhua.execute(DeployModels((("plan_literal.bpmn", literal.encode()),), "admin"))
    school = huhua.queries.units(kind="school", under="zhuhui")[0]["name"]
    start_at(huhua, "plan_review", "zhuhui-s001", plan={"title": "{unit} 与 {other}"}, cases=[])
    start_at(huhua, "plan_literal", "zhuhui-s001", cases=[])
    titles = {t["process_key"]: t["title"] for t in _open(client, ME)}
    assert titles == {"plan_review": f"审核 {school} 工作方案：{{unit}} 与 {{other}}", "plan_literal": f"=2*3 {school}"}
