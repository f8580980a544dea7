"""The ``notify`` service task: a model tells people by role, by person or as the holders of a task, in words
rendered from its data; what cannot work is refused at deployment, and what fails at run time is an incident."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from html import escape
from typing import Any

import pytest
from sqlalchemy import select

from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ, VirtualClock
from engine.commands import ClaimTask, DeployModels, RetryIncidents
from engine.errors import InvalidModel
from engine.notifications.operator import MODEL_KINDS
from engine.notifications.settings import NotificationSettings, SmtpSettings
from engine.safe_markdown import render as render_markdown
from engine.store import tables
from tests.helpers import start_at
from workers.job_worker import run_due_jobs

#: One database: templates and recipients of a notify step; delivery is tested on both.
DATABASES = ("sqlite",)

SCHOOL = "zhuhui-s001"

_MODEL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="http://huhua.example/t">
  <bpmn:process id="{key}" name="通知测试" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fill"/>
    <bpmn:userTask id="fill" name="报送工作方案">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="candidateRoles" value="class_teacher"/>
        <spiffworkflow:property name="dueWorkingDays" value="3"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="fill" targetRef="done"/>
    <bpmn:endEvent id="done"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:boundaryEvent id="remind" attachedToRef="fill" cancelActivity="false">
      <bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration>"PT1H"</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="remind" targetRef="tell"/>
    <bpmn:serviceTask id="tell" name="催办">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="notify" resultVariable="told">
          <spiffworkflow:parameters>{parameters}
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f4" sourceRef="tell" targetRef="told_end"/>
    <bpmn:endEvent id="told_end"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>"""

_BASE = {"kind": "'reminder'", "subject": "'催办：{{ unit_name }} {{ task_title }}'",
         "body": "'请于 {{ task_due }} 前完成（{{ plan_name }}）。'"}


def _model(key: str, **parameters: str) -> bytes:
    chosen = {**_BASE, **parameters}
    lines = "".join(f'\n            <spiffworkflow:parameter id="{name}" type="any" value="{escape(value)}"/>'
                    for name, value in chosen.items() if value is not None)
    return _MODEL.format(key=key, parameters=lines).encode()


def _deploy(huhua: Huhua, key: str, **parameters: str) -> None:
    huhua.execute(DeployModels(files=((f"{key}.bpmn", _model(key, **parameters)),), actor="admin"))


def _told(huhua: Huhua, instance_id: int) -> list[dict[str, Any]]:
    n = tables.notification
    with huhua.services.database.engine.connect() as connection:
        rows = connection.execute(select(n).where(n.c.instance_id == instance_id, n.c.kind.in_(MODEL_KINDS))
                                     .order_by(n.c.person_id)).all()
    return [dict(row._mapping) for row in rows]


def _run_reminder(huhua: Huhua, clock: VirtualClock) -> None:
    clock.advance(timedelta(hours=1, minutes=1))
    run_due_jobs(huhua)


@pytest.fixture
def monday(demo: Huhua, clock: VirtualClock) -> Huhua:
    clock.set(datetime(2026, 9, 14, 10, tzinfo=BUSINESS_TZ))  # a Monday in term
    return demo


def test_the_holders_of_a_task_are_reminded_once_with_the_message_rendered_from_its_data(
        monday: Huhua, clock: VirtualClock) -> None:
    huhua = monday
    _deploy(huhua, "notify_holders", to_task_holders="'fill'", link_task="'fill'")
    started = start_at(huhua, "notify_holders", SCHOOL, plan_name="心育护花方案")
    task = huhua.queries.tasks(instance_id=started)[0]
    _run_reminder(huhua, clock)
    told = _told(huhua, started)
    teachers = [f"{SCHOOL}-bzr{n}" for n in range(1, 6)]  # offered to every class teacher: each of them is told
    assert [row["person_id"] for row in told] == teachers
    first = told[0]
    assert first["kind"] == "reminder" and first["subject"] == f"催办：珠晖区第一中学 {task['title'] or task['name']}"
    assert first["body"] == "请于 9月17日 前完成（心育护花方案）。"
    assert first["link"] == f"/inbox/tasks/{task['id']}" and first["task_id"] == task["id"]
    assert first["dedupe_key"] == f"reminder:tell:instance:{started}:task:{task['id']}"
    assert huhua.queries.instance(started)["data"]["told"] == 5  # the result: how many were told
    run_due_jobs(huhua)
    assert len(_told(huhua, started)) == 5


def test_a_claimed_task_reminds_only_its_holder_and_roles_and_people_add_to_it(
        monday: Huhua, clock: VirtualClock) -> None:
    huhua = monday
    _deploy(huhua, "notify_mixed", to_task_holders="'fill'", to_roles="'principal, programme_officer@county'",
            to_people="[teacher_on_leave, 'hy-jz']")
    started = start_at(huhua, "notify_mixed", SCHOOL, plan_name="方案", teacher_on_leave=f"{SCHOOL}-dy")
    task = huhua.queries.tasks(instance_id=started)[0]
    huhua.execute(ClaimTask(task["id"], f"{SCHOOL}-bzr2"))
    _run_reminder(huhua, clock)
    assert [row["person_id"] for row in _told(huhua, started)] == sorted(
        [f"{SCHOOL}-bzr2", f"{SCHOOL}-xz", "zhuhui-zr", f"{SCHOOL}-dy", "hy-jz"])


def test_an_e_mail_is_planned_for_a_person_with_an_address(monday: Huhua, clock: VirtualClock) -> None:
    huhua = monday
    huhua.services.notifications = replace(NotificationSettings(), email=SmtpSettings(
        "127.0.0.1", 2525, "none", None, None, "huhua@127.0.0.1"))
    with huhua.services.database.engine.begin() as connection:
        connection.execute(tables.person.update().where(tables.person.c.id == f"{SCHOOL}-xz")
                           .values(email="xz@school.test"))
    _deploy(huhua, "notify_mail", kind="'escalation'", to_roles="'principal'")
    started = start_at(huhua, "notify_mail", SCHOOL, plan_name="方案")
    _run_reminder(huhua, clock)
    d, item = tables.notification_delivery, tables.notification_delivery_item
    with huhua.services.database.engine.connect() as connection:
        rows = connection.execute(select(d.c.channel, d.c.target, d.c.state).join(
            item, item.c.delivery_id == d.c.id).where(item.c.notification_id == _told(huhua, started)[0]["id"])).all()
    assert [tuple(row) for row in rows] == [("email", "xz@school.test", "pending")]


@pytest.mark.parametrize("template", [
    "'{{ plan_name.__class__ }}'",
    "'{{ \"\".__class__.__mro__ }}'",
    "'{% for i in range(100000000) %}x{% endfor %}'",
    "'{% for i in range(1000) %}{% for j in range(1000) %}{{ i }}{% endfor %}{% endfor %}'",
    "'{{ \"x\" * 100000000 }}'",
    "'{{ not_a_variable }}'",
    # a value that doubles at each step (the first ones would take 64 MB before the bound, then far more)
    "'{% set s = \"ab\" %}" + "{% set s = s ~ s %}" * 25 + "{{ s|length }}'",
    "'{% set s = [1] %}" + "{% set s = s + s %}" * 22 + "{{ s|length }}'",
    "'{% set s = \"a\" %}" + "{% set s = s|replace(\"a\", \"aaaaaaaaaa\") %}" * 7 + "{{ s|length }}'",
    "'{% set s = \"ab\" %}" + "{% set s = [s, s, s, s]|join %}" * 11 + "{{ s|length }}'",
    "'{% set s = \"ab\" %}" + "{% set s = [s, s, s, s] %}" * 12 + "{{ s|string|length }}'",
])
def test_a_template_that_reaches_too_far_fails_into_an_incident_of_the_step(
        monday: Huhua, clock: VirtualClock, template: str) -> None:
    huhua = monday
    _deploy(huhua, "notify_unsafe", to_roles="'principal'", body=template)
    started = start_at(huhua, "notify_unsafe", SCHOOL, plan_name="方案")
    _run_reminder(huhua, clock)
    instance = huhua.queries.instance(started)
    assert [(i["kind"], i["element_id"]) for i in instance["incidents"]] == [("notify_failed", "tell")]
    assert _told(huhua, started) == []
    assert [j["state"] for j in huhua.queries.jobs(state="failed") if j["instance_id"] == started] == ["failed"]


def test_task_data_is_written_into_a_body_as_literal_text_never_as_markdown(
        monday: Huhua, clock: VirtualClock) -> None:
    """A form field is the data of whoever filled it in: in somebody else's notification it cannot become a link."""
    huhua = monday
    _deploy(huhua, "notify_literal", to_roles="'principal'", subject="'催办：{{ plan_name }}'",
            body="'**方案**：{{ plan_name }}'")
    started = start_at(huhua, "notify_literal", SCHOOL, plan_name="[点此](https://evil.example) *要紧*")
    _run_reminder(huhua, clock)
    [told] = _told(huhua, started)
    shown = render_markdown(told["body"])
    assert "<strong>方案</strong>" in shown  # the author's markdown stays markdown
    assert "href" not in shown and "<em>" not in shown and "[点此](https://evil.example) *要紧*" in shown
    assert told["subject"] == "催办：[点此](https://evil.example) *要紧*"  # a subject is plain text: as written


def test_a_fixed_step_runs_again_when_its_incident_is_retried(monday: Huhua, clock: VirtualClock) -> None:
    huhua = monday
    _deploy(huhua, "notify_retry", to_roles="'principal'", body="'{{ plan_name }}'")
    started = start_at(huhua, "notify_retry", SCHOOL)  # no plan_name yet: the template fails
    _run_reminder(huhua, clock)
    assert [i["kind"] for i in huhua.queries.instance(started)["incidents"]] == ["notify_failed"]
    huhua.execute(RetryIncidents(started, "admin", variables={}))
    run_due_jobs(huhua)
    assert [i["kind"] for i in huhua.queries.instance(started)["incidents"] if i["resolved_at"] is None] \
        == ["notify_failed"]  # still no plan_name: a new incident, nobody told
    assert _told(huhua, started) == []


@pytest.mark.parametrize(("parameters", "refusal"), [
    ({"kind": "'gossip'"}, "parameter 'kind' is 'gossip'"),
    ({}, "needs recipients"),
    ({"to_roles": "'principal, janitor@county'"}, "names 'janitor@county', which is not a role"),
    ({"to_task_holders": "'nowhere'"}, "names 'nowhere', which is not a user task of this process"),
    ({"to_roles": "'principal'", "subject": "'{{ unit_name '"}, "the template of parameter 'subject' is refused"),
    ({"to_roles": "'principal'", "body": None}, "needs the parameter 'body'"),
    ({"to_roles": "'principal'", "body": "'{% macro m() %}x{% endmacro %}{{ m() }}'"}, "macros"),
    ({"to_roles": "'principal'", "body": "'{% for x in [] recursive %}{{ loop(x) }}{% endfor %}'"}, "recursive"),
])
def test_an_unusable_notify_task_is_refused_at_deployment_naming_the_element(
        monday: Huhua, parameters: dict[str, str | None], refusal: str) -> None:
    with pytest.raises(InvalidModel) as refused:
        _deploy(monday, "notify_refused", **parameters)  # type: ignore[arg-type]
    found = [p for p in refused.value.problems if p.element_id == "tell"]
    assert found and refusal in found[0].message, refused.value.problems
