"""Issue 14 end to end, through public commands and real receivers on 127.0.0.1: a task that goes to one person
reaches her mailbox (aiosmtpd, STARTTLS and login) in Chinese with the task's absolute link; forty tasks offered
at once to a school's role reach the school's WeCom group as one message for the unit and minute."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from engine.bootstrap import Huhua
from engine.clock import VirtualClock
from engine.commands import DeployModels, LoadDirectory, StartInstance
from engine.config import Settings
from engine.org.directory import Directory, Person, Role, Unit
from tests.notification_receivers import certificate, smtp_server, wecom_robot
from tests.notification_setup import configured
from workers.job_worker import run_due_jobs

PUBLIC_URL = "https://huhua.jiaoyu.example.cn"
HEADS = ("d1", "d2")
ROSTER = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="http://huhua.example/t">
  <bpmn:process id="class_rosters" name="班级名册核对" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="check_roster"/>
    <bpmn:userTask id="check_roster" name="核对班级名册">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="candidateRoles" value="moral_education_head"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>40</bpmn:loopCardinality>
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="check_roster" targetRef="end"/>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
  <bpmn:process id="plan_review" name="学校工作计划审定" isExecutable="true">
    <bpmn:startEvent id="start2"><bpmn:outgoing>g1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="g1" sourceRef="start2" targetRef="approve_plan"/>
    <bpmn:userTask id="approve_plan" name="审定本校心理健康教育工作计划">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="candidateRoles" value="principal"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>g1</bpmn:incoming><bpmn:outgoing>g2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="g2" sourceRef="approve_plan" targetRef="end2"/>
    <bpmn:endEvent id="end2"><bpmn:incoming>g2</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>"""


def _mobile(person: str) -> str:
    return f"1390000{sum(map(ord, person)):04d}"


@pytest.fixture
def school(settings: Settings, clock: VirtualClock, tmp_path: Path) -> Iterator[tuple[Huhua, object, object]]:
    """A school with a principal and two 德育处主任, an SMTP server and the school's WeCom robot; the engine
    configured to reach them through config/notifications.toml."""
    cert, _key = certificate(tmp_path)
    with smtp_server(tmp_path, security="starttls", users={"huhua": "mail-pass"}) as box, \
            wecom_robot("key-s1") as robot:
        huhua = configured(settings, clock, tmp_path, f"""
public_url = "{PUBLIC_URL}"
[email]
url = "smtp://huhua:mail-pass@{box.host}:{box.port}"
sender = "心育护花 <noreply@jiaoyu.example.cn>"
ca_file = "{cert}"
[wecom]
url = "{robot.url}/cgi-bin/webhook/send"
[wecom.robots]
s1 = "key-s1"
""")
        try:
            people = [Person("p1", "李校长", "s1", _mobile("p1"), "p1@s1.jiaoyu.example.cn")] + [
                Person(h, f"德育主任{h[1:]}", "s1", _mobile(h), f"{h}@s1.jiaoyu.example.cn") for h in HEADS]
            huhua.execute(LoadDirectory(Directory(
                units=[Unit("city", "市教育局", "city"), Unit("c1", "示范县教育局", "county", "city"),
                       Unit("s1", "示范县第一中学", "school", "c1")],
                people=people,
                roles=[Role("p1", "s1", "principal"), *(Role(h, "s1", "moral_education_head") for h in HEADS)]),
                "admin"))
            huhua.execute(DeployModels(files=(("school_work.bpmn", ROSTER.encode()),), actor="admin"))
            yield huhua, box, robot
        finally:
            huhua.close()


def test_a_task_assigned_to_the_principal_reaches_her_mailbox_in_chinese_with_its_link(
        school: tuple[Huhua, object, object]) -> None:
    huhua, box, _robot = school
    started = huhua.execute(StartInstance("plan_review", "admin", org_scope="s1"))
    [task] = huhua.queries.tasks(instance_id=int(started["id"]))
    assert task["assignee"] == "p1"  # the school's one principal: assigned, not offered
    run_due_jobs(huhua)  # the worker tells of the new task and sends the e-mail (it is 08:30 on a Monday)

    [message] = box.messages  # type: ignore[attr-defined]
    assert box.envelopes[0][1] == ["p1@s1.jiaoyu.example.cn"] and box.logins == [("huhua", True)]  # type: ignore
    assert message["Subject"] == "【心育护花】分派给您：审定本校心理健康教育工作计划 · 示范县第一中学"
    link = f"{PUBLIC_URL}/inbox/tasks/{task['id']}"
    text = message.get_body(("plain",)).get_content()
    assert link in text and "示范县第一中学" in text and "分派" in text
    html = message.get_body(("html",)).get_content()
    assert f'href="{link}"' in html and 'lang="zh-CN"' in html
    [delivery] = huhua.queries.notification_deliveries(channel="email")
    assert (delivery["state"], delivery["target"]) == ("sent", "p1@s1.jiaoyu.example.cn")
    assert message["Message-ID"].startswith(f"<{delivery['message_id']}@")


def test_forty_tasks_offered_at_once_reach_the_schools_wecom_group_as_one_message_for_the_minute(
        school: tuple[Huhua, object, object], clock: VirtualClock) -> None:
    huhua, box, robot = school
    started = huhua.execute(StartInstance("class_rosters", "admin", org_scope="s1"))
    tasks = huhua.queries.tasks(instance_id=int(started["id"]), limit=100)
    assert len(tasks) == 40 and all(t["assignee"] is None for t in tasks)
    run_due_jobs(huhua)
    assert robot.requests == []  # type: ignore[attr-defined]  # the minute is still open for more
    clock.advance(timedelta(minutes=1))
    run_due_jobs(huhua)
    clock.advance(timedelta(minutes=5))
    run_due_jobs(huhua)

    [request] = robot.requests  # type: ignore[attr-defined]  # one message for the unit and minute
    assert robot.accepted == [request]  # type: ignore[attr-defined]
    message = request.json()
    assert message["msgtype"] == "text"
    assert message["text"]["mentioned_mobile_list"] == [_mobile(h) for h in HEADS]
    content = message["text"]["content"]
    # the forty alike tasks are one line that counts them and leads to the inbox, well within WeCom's 2048 bytes
    assert content.count("核对班级名册") == 1 and "（共 40 项）" in content and "致：德育主任1、德育主任2" in content
    assert f"办理：{PUBLIC_URL}/inbox\n" in content and len(content.encode()) < 2048 and not content.endswith("…")
    [delivery] = huhua.queries.notification_deliveries(channel="wecom")
    assert delivery["state"] == "sent" and delivery["target"] == "s1" and len(delivery["notifications"]) == 80
    assert request.headers["X-Huhua-Message-Id"] == delivery["message_id"]
    assert box.messages == []  # type: ignore[attr-defined]  # offered tasks go to the group, not by e-mail
