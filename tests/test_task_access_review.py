"""What a task lets a person learn, over HTTP: the delegates list only for whoever may hand the task on (and
exactly whom the delegation rule accepts); a crisis urge the engine closed leaves its assignee no access to the
case; the history of a case read below its record names nobody the work went to; an item of an independent
review shows no other item's files; the form shows no sensitive variable through a fixed list or a called
process; a file is not reached through a sensitive variable of a process above; an unassigned task goes to the
sole holder a directory change leaves."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from datetime import datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ, VirtualClock
from engine.commands import ENGINE, DeployModels, LoadDirectory, SetPassword, StartInstance
from engine.org.profiles import generate
from engine.store import tables
from engine.web import create_app
from tests.helpers import one_task_model, served_client, start_at, token_cache
from tests.library.conftest import complete
from tests.test_confidential import COUNSELLOR, PRINCIPAL, _open_case
from tests.test_inbox import PDF
from workers.job_worker import run_due_jobs

#: One database: what a task lets a person see is the access policy's rule, the same on any database; the
#: engine's own tests hold the store's contract with each database.
DATABASES = ("sqlite",)

SCHOOL = "zhuhui-s001"
ME, COLLEAGUE, STRANGER = f"{SCHOOL}-bzr1", f"{SCHOOL}-bzr2", "qidong-s001-bzr1"
_PROPS = '<bpmn:extensionElements><spiffworkflow:properties>{}</spiffworkflow:properties></bpmn:extensionElements>'
_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="http://huhua.example/t">
"""
#: A review offered to the school's class teachers, then one scoring item per reader (独立评分).
REVIEW = (_HEAD + """  <bpmn:process id="paired_review" name="案例互评" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <bpmn:userTask id="review" name="初审">{review}<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="score"/>
    <bpmn:userTask id="score" name="评分">{score}<bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:multiInstanceLoopCharacteristics>
        <bpmn:loopDataInputRef>readers</bpmn:loopDataInputRef><bpmn:inputDataItem id="reader" name="reader"/>
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f3" sourceRef="score" targetRef="end"/>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>""").format(
    review=_PROPS.format('<spiffworkflow:property name="candidateRoles" value="class_teacher"/>'),
    score=_PROPS.format('<spiffworkflow:property name="assignee" value="=reader"/>')).encode()
#: One task for a named person, started with no unit.
UNSCOPED = one_task_model("unscoped_task", "无单位事项", "办理", "assignee", ME, task_id="do").encode()


def _as(user: str) -> dict[str, str]:
    return {"X-Huhua-User": user}


@pytest.fixture
def app(huhua: Huhua) -> Flask:
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    huhua.execute(DeployModels((("paired_review.bpmn", REVIEW), ("unscoped_task.bpmn", UNSCOPED)), "admin"))
    return create_app(huhua, {"TESTING": True})


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    with app.test_client() as client:
        yield client


def _task(client: FlaskClient, user: str, element_id: str) -> dict:
    [found] = [t for t in client.get("/api/v1/tasks", headers=_as(user)).json if t["element_id"] == element_id]
    return found


def _upload(client: FlaskClient, task_id: int, user: str, name: str) -> int:
    answer = client.post(f"/api/v1/tasks/{task_id}/attachments", headers=_as(user),
                         data={"file": (io.BytesIO(PDF), name)}, content_type="multipart/form-data")
    assert answer.status_code == 201, answer.json
    return int(answer.json["id"])


def _scored(huhua: Huhua, client: FlaskClient) -> tuple[dict, dict]:
    """The review done by the colleague; one scoring item each for me and the colleague: (mine, theirs)."""
    start_at(huhua, "paired_review", SCHOOL, readers=[ME, COLLEAGUE])
    review = _task(client, COLLEAGUE, "review")["id"]
    assert client.post(f"/api/v1/tasks/{review}/claim", headers=_as(COLLEAGUE)).status_code == 200
    done = client.post(f"/api/v1/tasks/{review}/complete", json={"data": {}}, headers=_as(COLLEAGUE))
    assert done.status_code == 200, done.json
    return _task(client, ME, "score"), _task(client, COLLEAGUE, "score")


def test_only_whoever_may_hand_a_task_on_gets_the_people_it_may_go_to(huhua: Huhua, client: FlaskClient) -> None:
    """Finding 1: the colleague reads my item (they did the review before it) but may not delegate it, so is not
    given the school's staff list."""
    mine, _theirs = _scored(huhua, client)
    assert client.get(f"/api/v1/tasks/{mine['id']}", headers=_as(COLLEAGUE)).status_code == 200
    refused = client.get(f"/api/v1/tasks/{mine['id']}/delegates", headers=_as(COLLEAGUE))
    assert refused.status_code == 403 and isinstance(refused.json, dict) and "roles" not in refused.json
    assert client.get(f"/api/v1/tasks/{mine['id']}/delegates", headers=_as(STRANGER)).status_code == 404
    pool = client.get(f"/api/v1/tasks/{mine['id']}/delegates", headers=_as(ME))
    assert pool.status_code == 200 and COLLEAGUE in [p["id"] for p in pool.json]


def test_a_task_without_a_unit_lists_exactly_whom_the_delegation_rule_accepts(
        huhua: Huhua, client: FlaskClient) -> None:
    """Finding 16: with no unit, the rule takes the delegator's own units; the list offers those people."""
    huhua.execute(StartInstance("unscoped_task", "admin", org_scope=None, origin=ENGINE))
    task = _task(client, ME, "do")
    assert task["org_scope"] is None and task["assignee"] == ME
    pool = [p["id"] for p in client.get(f"/api/v1/tasks/{task['id']}/delegates", headers=_as(ME)).json]
    assert COLLEAGUE in pool and ME not in pool and STRANGER not in pool
    assert client.post(f"/api/v1/tasks/{task['id']}/delegate", json={"to": STRANGER},
                       headers=_as(ME)).status_code == 403
    assert client.post(f"/api/v1/tasks/{task['id']}/delegate", json={"to": COLLEAGUE},
                       headers=_as(ME)).status_code == 200


def test_an_item_of_an_independent_review_shows_no_other_items_files(huhua: Huhua, client: FlaskClient) -> None:
    """Finding 4: the colleague's upload to their own item is not among the files of earlier steps on my page;
    the review's file (a real earlier step) is."""
    start_at(huhua, "paired_review", SCHOOL, readers=[ME, COLLEAGUE])
    review = _task(client, COLLEAGUE, "review")["id"]
    client.post(f"/api/v1/tasks/{review}/claim", headers=_as(COLLEAGUE))
    _upload(client, review, COLLEAGUE, "初审意见.pdf")
    client.post(f"/api/v1/tasks/{review}/complete", json={"data": {}}, headers=_as(COLLEAGUE))
    theirs = _task(client, COLLEAGUE, "score")
    _upload(client, theirs["id"], COLLEAGUE, "同事的评分表.pdf")
    mine = _task(client, ME, "score")
    huhua.execute(SetPassword(ME, "correct horse", "admin"))
    pages = create_app(huhua, {"SECRET_KEY": "pages", "TRUST_USER_HEADER": False,
                               "WTF_CSRF_ENABLED": False}).test_client()
    pages.post("/login", data={"username": ME, "password": "correct horse"})
    page = pages.get(f"/inbox/tasks/{mine['id']}").get_data(as_text=True)
    assert "初审意见.pdf" in page and "同事的评分表.pdf" not in page


@pytest.fixture
def served(demo: Huhua) -> Iterator[FlaskClient]:
    with served_client(demo, SECRET_KEY="review-access") as client:
        yield client


def test_a_closed_crisis_urge_leaves_the_bureau_head_nothing_of_the_case(
        demo: Huhua, served: FlaskClient, clock: VirtualClock) -> None:
    """Finding 2: the county's only 局长 is given the urge at once; the principal acts, the engine closes the urge,
    and the 局长, who never acted, reads the case no longer."""
    as_: Callable[[str], dict[str, str]] = token_cache(demo)
    clock.set(datetime(2026, 3, 3, 15, tzinfo=BUSINESS_TZ))
    case = _open_case(demo, "low", ("self_harm",))
    clock.set(datetime(2026, 3, 4, 0, 1, tzinfo=BUSINESS_TZ))
    run_due_jobs(demo)
    [urge] = [t for t in demo.queries.tasks(user="zhuhui-jz") if t["element_id"] == "crisis_urge"]
    assert urge["assignee"] == "zhuhui-jz"
    assert served.get(f"/api/v1/process-instances/{case}", headers=as_("zhuhui-jz")).status_code == 200
    complete(demo, PRINCIPAL, "principal_act", {"guardian_notified": True, "safety_measures": "专人陪护",
                                                "hospital_referral": "yes"})
    assert demo.queries.task(urge["id"])["state"] == "cancelled"
    assert served.get(f"/api/v1/process-instances/{case}", headers=as_("zhuhui-jz")).status_code == 404
    assert served.get(f"/api/v1/tasks/{urge['id']}", headers=as_("zhuhui-jz")).status_code == 404


def test_a_cases_history_read_below_its_record_names_nobody_a_task_went_to(
        demo: Huhua, served: FlaskClient) -> None:
    """Finding 3: the principal (case and risk) reads the history without details, and without the assignee."""
    as_: Callable[[str], dict[str, str]] = token_cache(demo)
    case = _open_case(demo)
    task = demo.queries.tasks(instance_id=case, state="completed", limit=10)[0]["id"]
    counsellor = demo.queries.person_names([COUNSELLOR])[COUNSELLOR]
    mine = served.get(f"/api/v1/tasks/{task}/history", headers=as_(COUNSELLOR)).json["events"]
    assert counsellor in [e["assignee_name"] for e in mine]  # the record's reader sees whom it went to
    seen = served.get(f"/api/v1/tasks/{task}/history", headers=as_(PRINCIPAL))
    assert seen.status_code == 200 and seen.json["events"]
    assert all(e["detail"] == {} and e["assignee_name"] is None for e in seen.json["events"])


def test_an_unassigned_task_goes_to_the_sole_holder_a_change_of_staff_leaves(huhua: Huhua,
                                                                              client: FlaskClient) -> None:
    """Lesser remark: after a directory import, a pool task whose role one person holds now is theirs."""
    start_at(huhua, "paired_review", SCHOOL, readers=[])
    review = _task(client, ME, "review")
    assert review["assignee"] is None
    directory = generate("demo")
    directory.roles[:] = [r for r in directory.roles
                          if (r.unit_id, r.role) != (SCHOOL, "class_teacher") or r.person_id == COLLEAGUE]
    huhua.execute(LoadDirectory(directory, "admin", source="staff change"))
    task = client.get(f"/api/v1/tasks/{review['id']}", headers=_as(COLLEAGUE)).json
    assert task["assignee"] == COLLEAGUE
    said = [e["detail"] for e in client.get(f"/api/v1/tasks/{review['id']}/history", headers=_as(COLLEAGUE))
            .json["events"] if e["kind"] == "task_assigned"]
    assert said and said[-1]["assignee"] == COLLEAGUE


# --- sensitive variables: the form's fixed lists, a called process, a file referenced above --------------------

SENSITIVE = (_HEAD + """  <bpmn:process id="watch_list" name="关注名单" isExecutable="true">
    <bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="sensitiveVariables" value="watched, case_file"/>
      <spiffworkflow:property name="oversight_roles" value="principal@school"/>
    </spiffworkflow:properties></bpmn:extensionElements>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="check"/>
    <bpmn:userTask id="check" name="复核名单">{check}<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="sub"/>
    <bpmn:callActivity id="sub" name="学校复核" calledElement="watch_check">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:callActivity>
    <bpmn:sequenceFlow id="f3" sourceRef="sub" targetRef="end"/>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
  <bpmn:process id="watch_check" name="学校复核" isExecutable="true">
    <bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="sensitiveVariables" value="called_note"/>
    </spiffworkflow:properties></bpmn:extensionElements>
    <bpmn:startEvent id="cstart"><bpmn:outgoing>c1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="c1" sourceRef="cstart" targetRef="note"/>
    <bpmn:scriptTask id="note" name="记录"><bpmn:incoming>c1</bpmn:incoming><bpmn:outgoing>c2</bpmn:outgoing>
      <bpmn:script>called_note = "家庭变故"</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="c2" sourceRef="note" targetRef="sign"/>
    <bpmn:userTask id="sign" name="校长签阅">{sign}<bpmn:incoming>c2</bpmn:incoming><bpmn:outgoing>c3</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="c3" sourceRef="sign" targetRef="cend"/>
    <bpmn:endEvent id="cend"><bpmn:incoming>c3</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>""").format(
    check=_PROPS.format('<spiffworkflow:property name="candidateRoles" value="programme_officer"/>'
                        '<spiffworkflow:property name="formKey" value="watch_list_check"/>'),
    sign=_PROPS.format('<spiffworkflow:property name="candidateRoles" value="programme_officer"/>'
                       '<spiffworkflow:property name="formKey" value="watch_list_sign"/>')).encode()
CHECK_FORM = json.dumps({"id": "watch_list_check", "components": [
    {"type": "dynamiclist", "path": "rows", "label": "名单", "isRepeating": True,
     "allowAddRemove": False, "properties": {"rowsFrom": "watched"},
     "components": [{"type": "textfield", "key": "alias", "label": "化名", "readonly": True}]},
    {"type": "textarea", "key": "note", "label": "复核意见"}]}).encode()
SIGN_FORM = json.dumps({"id": "watch_list_sign", "components": [
    {"type": "textfield", "key": "called_note", "label": "情况", "readonly": True},
    {"type": "textarea", "key": "opinion", "label": "意见"}]}).encode()
#: A plain process whose task a file is uploaded to.
PLAIN = (_HEAD + """  <bpmn:process id="file_step" name="上传材料" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="upload"/>
    <bpmn:userTask id="upload" name="上传">{props}<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="upload" targetRef="end"/>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>""").format(
    props=_PROPS.format('<spiffworkflow:property name="candidateRoles" value="programme_officer"/>')).encode()
OFFICER, OVERSEER = f"{SCHOOL}-zr", f"{SCHOOL}-xz"


@pytest.fixture
def watch(huhua: Huhua, client: FlaskClient) -> Huhua:
    huhua.execute(DeployModels((("watch_list.bpmn", SENSITIVE), ("watch_list_check.form.json", CHECK_FORM),
                                ("watch_list_sign.form.json", SIGN_FORM), ("file_step.bpmn", PLAIN)), "admin"))
    return huhua


def test_a_fixed_list_and_a_called_process_show_sensitive_variables_only_to_the_holder(
        watch: Huhua, client: FlaskClient) -> None:
    """Finding 13: the rows a list opens with come from a sensitive variable; a task inside the called process
    shows that process's sensitive variable. The overseeing principal reads the task, and neither."""
    instance = start_at(watch, "watch_list", SCHOOL, watched=[{"alias": "小林"}])
    check = _task(client, OFFICER, "check")["id"]
    assert client.get(f"/api/v1/tasks/{check}/form", headers=_as(OFFICER)).json["data"] == {
        "rows": [{"alias": "小林"}]}
    seen = client.get(f"/api/v1/tasks/{check}/form", headers=_as(OVERSEER))
    assert seen.status_code == 200 and seen.json["data"] == {} and "小林" not in seen.get_data(as_text=True)
    assert client.post(f"/api/v1/tasks/{check}/complete", json={"data": {"note": "已复核"}},
                       headers=_as(OFFICER)).status_code == 200
    sign = next(t["id"] for t in watch.queries.tasks(instance_id=instance) if t["element_id"] == "sign")
    holder = client.get(f"/api/v1/tasks/{sign}/form", headers=_as(OFFICER))
    assert holder.json["data"] == {"called_note": "家庭变故"}, holder.json
    seen = client.get(f"/api/v1/tasks/{sign}/form", headers=_as(OVERSEER))
    assert seen.status_code == 200 and "家庭变故" not in seen.get_data(as_text=True)


def test_a_file_referenced_only_in_a_sensitive_variable_above_is_not_reached_through_it(
        watch: Huhua, client: FlaskClient) -> None:
    """Finding 14: the principal oversees the list (not the step the file was uploaded at): a file the list
    references in a sensitive variable stays theirs to miss; referenced in a plain one, it is reached."""
    above = start_at(watch, "watch_list", SCHOOL, watched=[])
    below = start_at(watch, "file_step", "zhuhui-s002")
    upload = _task(client, "zhuhui-s002-zr", "upload")["id"]
    hidden, shown = (_upload(client, upload, "zhuhui-s002-zr", name) for name in ("个案材料.pdf", "公开材料.pdf"))
    with watch.services.database.engine.begin() as connection:  # as a fan-out links its child to its parent
        connection.execute(update(tables.process_instance).where(tables.process_instance.c.id == below)
                        .values(parent_instance_id=above))
        connection.execute(update(tables.process_instance).where(tables.process_instance.c.id == above).values(
            data=json.dumps({"watched": [], "case_file": {"attachment_id": hidden},
                             "public_file": {"attachment_id": shown}})))
    assert client.get(f"/api/v1/process-instances/{above}", headers=_as(OVERSEER)).status_code == 200
    assert client.get(f"/api/v1/attachments/{shown}", headers=_as(OVERSEER)).status_code == 200
    assert client.get(f"/api/v1/attachments/{hidden}", headers=_as(OVERSEER)).status_code == 404
    assert client.get(f"/api/v1/attachments/{hidden}", headers=_as("zhuhui-s002-zr")).status_code == 200
