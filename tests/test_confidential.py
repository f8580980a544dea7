"""Counselling confidentiality and the audit log, through the API as the demo accounts would act (issue 11).

Each account calls with an API token of its own. A counselling case at 珠晖区第一小学 (zhuhui-s001) is read
by its counsellor and the school's mental-health lead (zhuhui-s001-xl1, 专职心理健康教育教师 and 值班辅导教师),
its principal sees the case and its risk level, the referring teacher its status, and everyone else gets 404 —
the same answer as for an id that does not exist. Every read is in the audit log, which the mental-health lead
reads for the school and administrators read whole; the log refuses to be changed.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import quote

import pytest
from alembic import command
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.exc import DBAPIError

from engine.access.confidential import WITHHELD_INCIDENT_MESSAGE
from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ, VirtualClock
from engine.commands import (
    ENGINE,
    AddWebhook,
    CompleteTask,
    DeployModels,
    LoadDirectory,
    SetPassword,
    StartInstance,
)
from engine.org.profiles import generate
from engine.store import migration, tables
from engine.store.database import Database
from tests.helpers import served_client, token_cache
from workers.job_worker import run_due_jobs

#: One database: who may read a counselling case and what the audit log keeps are the access policy's rules,
#: the same on any database; the log's trigger and its migration are tried on each database (their own marks).
DATABASES = ("sqlite",)

SCHOOL = "zhuhui-s001"
COUNSELLOR = "zhuhui-s001-xl1"  # the school's 专职心理健康教育教师 (its mental-health lead) and 值班辅导教师
PRINCIPAL = "zhuhui-s001-xz"
#: None of these may read anything of a low-risk case at zhuhui-s001.
NOT_TO_KNOW = ("zhuhui-s001-zr", "zhuhui-zr", "zhuhui-jz", "hy-zr", "hy-jz", "zhuhui-s001-bzr1",
               "zhuhui-s002-xl1", "yanfeng-zr", "yanfeng-s001-bzr1")
SESSION_RECORD = "自述被家暴，想轻生；倾听与情绪疏导"
PASSWORD = "Huhua@2026"


@pytest.fixture
def client(demo: Huhua) -> Iterator[FlaskClient]:
    with served_client(demo, SECRET_KEY="confidential") as client:
        yield client


@pytest.fixture
def as_(demo: Huhua) -> Callable[[str], dict[str, str]]:
    """The headers of a person's own API token (made once per person)."""
    return token_cache(demo)


def _task(demo: Huhua, user: str, element_id: str) -> dict:
    found = [t for t in demo.queries.tasks(user=user, limit=500) if t["element_id"] == element_id]
    assert len(found) == 1, (user, element_id, found)
    return found[0]


def _complete(demo: Huhua, user: str, element_id: str, data: dict) -> None:
    demo.execute(CompleteTask(_task(demo, user, element_id)["id"], user, data))
    run_due_jobs(demo)


def _open_case(demo: Huhua, level: str = "low", signs: tuple[str, ...] = ("none",), alias: str = "初二学生A") -> int:
    """A parent's phone appointment, registered by the duty counsellor; the first session is recorded."""
    demo.execute(StartInstance("counselling_appointment", COUNSELLOR, org_scope=SCHOOL))
    _complete(demo, COUNSELLOR, "register", {"student_alias": alias, "requester": "parent", "channel": "phone",
                                            "appointment_date": "2026-03-03", "reason": "被家暴，想轻生"})
    case = demo.queries.instances(process_key="counselling_case", limit=1)[0]["id"]
    _complete(demo, COUNSELLOR, "session", {"session_date": "2026-03-03", "session_record": SESSION_RECORD,
                                           "risk_level": level, "risk_signs": list(signs)})
    return case


def _missing_like(client: FlaskClient, path: str, headers: dict[str, str], missing_path: str) -> None:
    """``path`` answers exactly as a path naming an id that does not exist."""
    seen, missing = client.get(path, headers=headers), client.get(missing_path, headers=headers)
    assert seen.status_code == missing.status_code == 404, (path, seen.status_code, seen.json)
    assert seen.json["error"] == missing.json["error"] == "not_found"
    numbers = re.compile(r"\d+")
    assert numbers.sub("N", seen.json["message"]) == numbers.sub("N", missing.json["message"])


def test_nobody_outside_the_need_to_know_reads_a_low_risk_case_and_its_id_answers_as_a_missing_one(
        demo: Huhua, client: FlaskClient, as_: Callable[[str], dict[str, str]]) -> None:
    """The school's programme officer, the county officer and head, the city officer and head, a colleague and
    another school's counsellor: 404 for the case, its history, its tasks and their comments, as for no such id."""
    case = _open_case(demo)
    missing = case + 1000
    session_task = demo.queries.tasks(instance_id=case, state="completed", limit=10)[0]["id"]
    for person in NOT_TO_KNOW:
        headers = as_(person)
        _missing_like(client, f"/api/v1/process-instances/{case}", headers, f"/api/v1/process-instances/{missing}")
        _missing_like(client, f"/api/v1/process-instances/{case}/history", headers,
                      f"/api/v1/process-instances/{missing}/history")
        _missing_like(client, f"/api/v1/tasks/{session_task}", headers, f"/api/v1/tasks/{session_task + 1000}")
        _missing_like(client, f"/api/v1/tasks/{session_task}/comments", headers,
                      f"/api/v1/tasks/{session_task + 1000}/comments")
        assert all(t["instance_id"] != case for t in client.get("/api/v1/tasks", headers=headers).json)


def test_the_counsellor_reads_the_record_the_principal_the_case_and_its_risk_and_an_administrator_its_status(
        demo: Huhua, client: FlaskClient, as_: Callable[[str], dict[str, str]]) -> None:
    case = _open_case(demo)
    counsellor = client.get(f"/api/v1/process-instances/{case}", headers=as_(COUNSELLOR))
    assert counsellor.status_code == 200 and counsellor.json["access"] == "record"
    assert counsellor.json["data"]["session_record"] == SESSION_RECORD
    assert counsellor.json["data"]["reason"] == "被家暴，想轻生"

    principal = client.get(f"/api/v1/process-instances/{case}", headers=as_(PRINCIPAL))
    assert principal.status_code == 200 and principal.json["access"] == "case_and_risk"
    data = principal.json["data"]
    assert (data["student_alias"], data["risk_level"], data["case_priority"]) == ("初二学生A", "low", "常规跟踪")
    for secret in ("session_record", "reason", "risk_signs"):
        assert secret not in data, secret
    assert "被家暴" not in principal.get_data(as_text=True) and SESSION_RECORD not in principal.get_data(as_text=True)
    history = client.get(f"/api/v1/process-instances/{case}/history", headers=as_(PRINCIPAL))
    assert history.status_code == 200 and history.json["events"]
    assert all(event["detail"] == {} for event in history.json["events"])

    administrator = client.get(f"/api/v1/process-instances/{case}", headers=as_("admin"))
    assert administrator.json["access"] == "status" and administrator.json["data"] == {}
    assert administrator.json["history"] == []


def test_a_referral_is_credited_to_the_teacher_who_referred_who_sees_its_status_only(
        demo: Huhua, client: FlaskClient, as_: Callable[[str], dict[str, str]]) -> None:
    """bzr1 flags a student; bzr2 finishes screening last. The case is bzr1's referral: bzr1 sees its status,
    bzr2 (whose completion happened to send it) sees nothing, nor does anyone else of the routine."""
    people = [{"id": f"{SCHOOL}-bzr{k}", "name": f"班主任{k}"} for k in (1, 2, 3)]
    # as ct_routine_semester's fan-out starts it for the school (nobody starts it by hand)
    routine = demo.execute(StartInstance("ct_routine_school", "admin", org_scope=SCHOOL, variables={
        "unit": {"id": SCHOOL, "name": "珠晖区第一小学"}, "people": people, "semester": "2026年春季学期"},
        origin=ENGINE))
    for person in people:
        _complete(demo, person["id"], "file_plan", {"plan": {"class_name": "七年级2班", "plan_text": "主题班会",
                                                            "theme_meetings_planned": 4, "home_visits_planned": 2}})
    watched = {"student_alias": "小明", "kinds": ["psych"], "found_on": "2026-03-10", "observation": "被家暴，想轻生",
               "follow_up_status": "following"}
    for teacher, students in (("bzr1", [watched]), ("bzr3", []), ("bzr2", [])):  # bzr2 last: it sends the referral
        _complete(demo, f"{SCHOOL}-{teacher}", "screening", {"register": {
            "class_name": "七年级2班", "class_size": 40, "class_analysis": "总体稳定", "students": students}})
    case = demo.queries.instances(process_key="counselling_case", limit=1)[0]["id"]
    _complete(demo, COUNSELLOR, "intake", {"student_alias": "小明", "requester": "class_teacher",
                                          "channel": "referral", "appointment_date": "2026-03-12",
                                          "reason": "班主任转介：被家暴，想轻生"})
    _complete(demo, COUNSELLOR, "session", {"session_date": "2026-03-12", "session_record": SESSION_RECORD,
                                           "risk_level": "medium", "risk_signs": ["severe_distress"]})

    referrer = client.get(f"/api/v1/process-instances/{case}", headers=as_(f"{SCHOOL}-bzr1"))
    assert referrer.status_code == 200 and referrer.json["access"] == "status"
    assert referrer.json["state"] == "running" and referrer.json["data"] == {} and referrer.json["history"] == []
    assert "被家暴" not in referrer.get_data(as_text=True)
    assert client.get(f"/api/v1/process-instances/{case}/history", headers=as_(f"{SCHOOL}-bzr1")).json["events"] == []
    for colleague in (f"{SCHOOL}-bzr2", f"{SCHOOL}-bzr3", f"{SCHOOL}-zr"):
        _missing_like(client, f"/api/v1/process-instances/{case}", as_(colleague),
                      f"/api/v1/process-instances/{case + 1000}")
    # nor does the routine itself tell a colleague or the county who was flagged and why
    for reader in (f"{SCHOOL}-bzr3", "zhuhui-zr"):
        seen = client.get(f"/api/v1/process-instances/{routine['id']}", headers=as_(reader))
        assert seen.status_code == 200 and "被家暴" not in seen.get_data(as_text=True), reader
        assert not {"registers", "register", "referrals", "referral"} & set(seen.json["data"]), reader
    counsellor = client.get(f"/api/v1/process-instances/{case}", headers=as_(COUNSELLOR)).json
    assert counsellor["data"]["referred_by"] == f"{SCHOOL}-bzr1"
    assert counsellor["data"]["session_record"] == SESSION_RECORD


def test_a_delegated_counselling_task_stays_in_the_school_and_its_access_ends_with_the_task(
        demo: Huhua, client: FlaskClient, as_: Callable[[str], dict[str, str]], clock: VirtualClock) -> None:
    case = _open_case(demo)
    clock.set(datetime(2026, 3, 17, 9, 1, tzinfo=BUSINESS_TZ))  # the low-risk follow-up falls due
    run_due_jobs(demo)
    follow_up = _task(demo, COUNSELLOR, "follow_up")["id"]
    assert demo.queries.task(follow_up)["assignee"] == COUNSELLOR  # the school's only duty counsellor: hers at once

    outside = client.post(f"/api/v1/tasks/{follow_up}/delegate", headers=as_(COUNSELLOR),
                          json={"to": "zhuhui-s002-xl1"})
    assert outside.status_code == 403 and outside.json["problems"][0]["field"] == "to"
    delegatee = f"{SCHOOL}-bzr4"
    handed = client.post(f"/api/v1/tasks/{follow_up}/delegate", headers=as_(COUNSELLOR), json={"to": delegatee})
    assert handed.status_code == 200, handed.json

    holding = client.get(f"/api/v1/process-instances/{case}", headers=as_(delegatee))
    assert holding.status_code == 200 and holding.json["data"]["session_record"] == SESSION_RECORD
    done = client.post(f"/api/v1/tasks/{follow_up}/complete", headers=as_(delegatee), json={"data": {
        "follow_up_date": "2026-03-17", "follow_up_record": "情绪稳定", "progress": "improved",
        "continue_follow_up": False}})
    assert done.status_code == 200, done.json

    # the task moved on: the delegatee reads nothing of the case any more, not even the task they completed
    _missing_like(client, f"/api/v1/process-instances/{case}", as_(delegatee), f"/api/v1/process-instances/{case + 9}")
    _missing_like(client, f"/api/v1/tasks/{follow_up}", as_(delegatee), f"/api/v1/tasks/{follow_up + 1000}")
    assert client.get(f"/api/v1/process-instances/{case}", headers=as_(COUNSELLOR)).json["access"] == "record"


def _log_in(client: FlaskClient, user: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    answer = client.post("/login", data={"username": user, "password": PASSWORD, "csrf_token": csrf})
    assert answer.status_code == 302, answer.get_data(as_text=True)


def test_every_read_of_a_case_is_logged_and_shown_to_the_schools_mental_health_lead(
        demo: Huhua, client: FlaskClient, as_: Callable[[str], dict[str, str]]) -> None:
    case = _open_case(demo)
    assert client.get(f"/api/v1/process-instances/{case}", headers=as_(PRINCIPAL)).status_code == 200
    assert client.get(f"/api/v1/process-instances/{case}/history", headers=as_(PRINCIPAL)).status_code == 200
    assert client.get(f"/api/v1/process-instances/{case}", headers=as_("zhuhui-zr")).status_code == 404  # not a read

    reads = client.get("/api/v1/audit/case-reads", headers=as_(COUNSELLOR))
    assert reads.status_code == 200 and reads.json["schools"] == [SCHOOL]
    entries = [(e["actor"], e["action"], e["resource"], e["surface"], e["detail"]["access"])
               for e in reads.json["entries"]]
    assert entries == [(PRINCIPAL, "read_history", f"instance:{case}", "api", "case_and_risk"),
                       (PRINCIPAL, "read_instance", f"instance:{case}", "api", "case_and_risk")]
    # the reads of another school's lead are theirs; anyone who leads no school is refused the log
    assert client.get("/api/v1/audit/case-reads", headers=as_("zhuhui-s002-xl1")).json["entries"] == []
    for person in (PRINCIPAL, "zhuhui-s001-zr", "zhuhui-zr"):
        assert client.get("/api/v1/audit/case-reads", headers=as_(person)).status_code == 403

    # the page: the lead logs in and sees who read which case (their own page read is listed too)
    demo.execute(SetPassword(COUNSELLOR, PASSWORD, "admin"))
    _log_in(client, COUNSELLOR)
    task = demo.queries.tasks(instance_id=case, state="all")[0]
    assert client.get(f"/inbox/tasks/{task['id']}").status_code == 200
    page = client.get("/counselling/reads")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    principal = demo.queries.person_names([PRINCIPAL])[PRINCIPAL]
    assert f"instance:{case}" in body and principal in body and "心理辅导个案查阅记录" in body  # by name
    assert 'href="/counselling/reads"' in client.get("/inbox").get_data(as_text=True)  # the header leads there
    assert body.count("<tr>") == 1 + 3  # header, the principal's two reads, the lead's own page read


def test_an_administrators_commands_are_in_the_audit_log_which_only_administrators_read(
        demo: Huhua, client: FlaskClient, as_: Callable[[str], dict[str, str]]) -> None:
    # a start by hand with its start form's variables (supervision_start)
    started = demo.execute(StartInstance("supervision_round", "admin", org_scope="qidong-s001",
                                         variables={"year": 2026, "onsite_roles": "programme_officer@city"}))
    answer = client.post(f"/api/v1/process-instances/{started['id']}/suspend", headers=as_("admin"),
                         json={"reason": "等待核实"})
    assert answer.status_code == 200, answer.json
    logged = client.get("/api/v1/audit", headers=as_("admin"), query_string={"action": "SuspendInstance"})
    assert logged.status_code == 200 and logged.json["total"] == 1
    entry = logged.json["entries"][0]
    assert (entry["kind"], entry["actor"], entry["resource"], entry["detail"]["reason"]) == (
        "command", "admin", f"instance:{started['id']}", "等待核实")
    by_resource = client.get("/api/v1/audit", headers=as_("admin"),
                             query_string={"resource": f"instance:{started['id']}", "actor": "admin"}).json
    assert [e["action"] for e in by_resource["entries"]] == ["SuspendInstance"]
    start = client.get("/api/v1/audit", headers=as_("admin"), query_string={"resource": "process:supervision_round"})
    assert [(e["action"], e["detail"]["org_scope"], e["detail"]["variables"]) for e in start.json["entries"]] == [
        ("StartInstance", "qidong-s001", ["onsite_roles", "year"])]  # the variables' names, not their values
    assert "programme_officer@city" not in start.get_data(as_text=True)
    bad = client.get("/api/v1/audit", headers=as_("admin"), query_string={"from": "2026-13-01"})
    assert bad.status_code == 400 and bad.json["problems"][0]["field"] == "from"
    nul = client.get("/api/v1/audit", headers=as_("admin"), query_string={"actor": "ad\x00min"})
    assert nul.status_code == 400 and nul.json["problems"][0]["field"] == "actor"
    paged = client.get("/api/v1/audit", headers=as_("admin"), query_string={"limit": 1, "offset": 1}).json
    assert len(paged["entries"]) == 1 and paged["total"] > 2

    # a teacher's own command is nobody's business here; the log itself is the administrators'
    demo.execute(SetPassword("zhuhui-s001-bzr1", PASSWORD, "zhuhui-s001-bzr1"))
    assert client.get("/api/v1/audit", headers=as_("admin"),
                      query_string={"actor": "zhuhui-s001-bzr1"}).json["total"] == 0
    for person in ("zhuhui-s001-bzr1", "hy-jz", "hy-zr", COUNSELLOR):
        assert client.get("/api/v1/audit", headers=as_(person)).status_code == 403

    demo.execute(SetPassword("admin", PASSWORD, "admin"))
    _log_in(client, "admin")
    page = client.get("/admin/audit", query_string={"action": "SuspendInstance"})
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "审计日志" in body and f"instance:{started['id']}" in body and 'href="/admin/audit"' in body
    assert "起始日期" in client.get("/admin/audit", query_string={"to": "not a day"}).get_data(as_text=True)
    assert 'href="/counselling/reads"' not in client.get("/inbox").get_data(as_text=True)
    assert client.get("/counselling/reads").status_code == 403  # the administrator leads no school


def test_an_administrators_refused_command_is_in_the_audit_log_with_its_refusal(
        demo: Huhua, client: FlaskClient, as_: Callable[[str], dict[str, str]]) -> None:
    started = demo.execute(StartInstance("burden_supervision", "admin", org_scope="qidong"))["id"]
    client.post(f"/api/v1/process-instances/{started}/suspend", headers=as_("admin"), json={"reason": "核实"})
    again = client.post(f"/api/v1/process-instances/{started}/suspend", headers=as_("admin"), json={"reason": "再次"})
    # the log keeps the engine's own (English) words; the caller reads them in English once chosen
    missing = client.post("/api/v1/process-instances/987654/suspend?lang=en", headers=as_("admin"),
                          json={"reason": "x"})
    client.get("/login?lang=zh_Hans_CN")  # and back to Chinese for the pages below
    assert again.status_code == 409 and missing.status_code == 404
    logged = client.get("/api/v1/audit", headers=as_("admin"),
                        query_string={"action": "SuspendInstance", "kind": "refused"}).json
    assert sorted((e["actor"], e["resource"], e["detail"]["reason"], e["detail"]["refused"])
                  for e in logged["entries"]) == sorted([
        ("admin", f"instance:{started}", "再次", again.json["message"]),
        ("admin", "instance:987654", "x", missing.json["message"])])
    done = client.get("/api/v1/audit", headers=as_("admin"), query_string={"action": "SuspendInstance"}).json
    assert sorted(e["kind"] for e in done["entries"]) == ["command", "refused", "refused"]
    assert demo.queries.instance(started)["state"] == "suspended"  # the refused attempt changed nothing

    # a person's refused command is nobody's business here
    refused = client.post(f"/api/v1/process-instances/{started}/suspend", headers=as_("zhuhui-s001-bzr1"),
                          json={"reason": "x"})
    assert refused.status_code in (403, 404)
    assert client.get("/api/v1/audit", headers=as_("admin"),
                      query_string={"actor": "zhuhui-s001-bzr1"}).json["total"] == 0
    demo.execute(SetPassword("admin", PASSWORD, "admin"))
    _log_in(client, "admin")
    page = client.get("/admin/audit", query_string={"kind": "refused"}).get_data(as_text=True)
    assert "被拒绝的管理员操作" in page and "instance:987654" in page


def test_an_incident_of_a_case_shows_its_message_only_to_a_reader_of_the_record(
        demo: Huhua, client: FlaskClient, as_: Callable[[str], dict[str, str]]) -> None:
    """A failing step quotes the case's data in its message (here the reason); an administrator (status) and the
    principal (case and risk) see where, what kind and when, not the message."""
    model = (demo.settings.processes_dir / "counselling_case.bpmn").read_text()
    failing = model.replace("<bpmn:script>follow_ups = 0", "<bpmn:script>follow_ups = int(reason)", 1)
    assert failing != model
    rules = (demo.settings.processes_dir / "counselling_risk.dmn").read_bytes()
    demo.execute(DeployModels(files=(("counselling_case.bpmn", failing.encode()), ("counselling_risk.dmn", rules)),
                              actor="admin"))
    case = _open_case(demo)
    listed = client.get("/api/v1/incidents", headers=as_("admin"))
    assert listed.status_code == 200 and "被家暴" not in listed.get_data(as_text=True)
    [incident] = [i for i in listed.json if i["instance_id"] == case]
    assert (incident["element_id"], incident["kind"], incident["message"]) == (
        "prepare", "failed_task", WITHHELD_INCIDENT_MESSAGE)
    assert incident["created_at"]
    for person in ("admin", PRINCIPAL):
        shown = client.get(f"/api/v1/process-instances/{case}", headers=as_(person))
        assert shown.status_code == 200 and "被家暴" not in shown.get_data(as_text=True)
        assert [(i["element_id"], i["message"]) for i in shown.json["incidents"]] == [
            ("prepare", WITHHELD_INCIDENT_MESSAGE)]
    record = client.get(f"/api/v1/process-instances/{case}", headers=as_(COUNSELLOR)).json
    assert [i["element_id"] for i in record["incidents"]] == ["prepare"]
    assert "被家暴" in record["incidents"][0]["message"]  # the case's own counsellor reads why it stopped


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)  # a trigger of each database
def test_the_audit_log_refuses_update_and_delete(demo: Huhua) -> None:
    demo.execute(StartInstance("burden_supervision", "admin", org_scope="qidong"))
    log = tables.audit_log
    with demo.services.database.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM audit_log")).scalar() >= 1
    for change in (update(log).values(actor="nobody"), delete(log)):
        with demo.services.database.engine.connect() as connection, pytest.raises(DBAPIError, match="append-only"):
            connection.execute(change)
            connection.commit()
    with demo.services.database.engine.connect() as connection:
        actors = set(connection.execute(text("SELECT actor FROM audit_log")).scalars())
    assert actors == {"admin"}


def test_a_county_officer_sees_counts_by_risk_level_and_the_crisis_escalation_not_the_cases(
        demo: Huhua, client: FlaskClient, as_: Callable[[str], dict[str, str]], clock: VirtualClock) -> None:
    low = _open_case(demo)
    clock.set(datetime(2026, 3, 3, 15, tzinfo=BUSINESS_TZ))
    crisis = _open_case(demo, "low", ("self_harm",))  # self-harm: a crisis, reported to the county
    county = client.get("/api/v1/dashboard/counselling", headers=as_("zhuhui-zr"), query_string={"county": "zhuhui"})
    assert county.status_code == 200, county.json
    school = next(u for u in county.json["units"] if u["unit"] == SCHOOL)
    assert (school["cases"], school["low"], school["high"], school["crisis_escalations"]) == (2, 2, 0, 1)
    [escalation] = county.json["crisis_escalations"]
    # the crisis report is the county officer's task: it names the case and the student to them
    assert (escalation["school"], escalation["instance_id"], escalation["student_alias"]) == (
        SCHOOL, crisis, "初二学生A")
    assert "被家暴" not in county.get_data(as_text=True) and SESSION_RECORD not in county.get_data(as_text=True)
    named = client.get(f"/api/v1/process-instances/{crisis}", headers=as_("zhuhui-zr"))
    assert named.status_code == 200 and named.json["access"] == "case_and_risk"
    assert "session_record" not in named.json["data"]
    _missing_like(client, f"/api/v1/process-instances/{low}", as_("zhuhui-zr"), f"/api/v1/process-instances/{low + 99}")

    # the city sees the counts per county, and the escalation without a name; another county sees none of it
    city = client.get("/api/v1/dashboard/counselling", headers=as_("hy-zr")).json
    assert next(u for u in city["units"] if u["unit"] == "zhuhui")["cases"] == 2
    assert [(e["instance_id"], e["student_alias"]) for e in city["crisis_escalations"]] == [(None, None)]
    _missing_like(client, f"/api/v1/process-instances/{crisis}", as_("hy-zr"), f"/api/v1/process-instances/{low + 99}")
    other = client.get("/api/v1/dashboard/counselling", headers=as_("yanfeng-zr"), query_string={"county": "zhuhui"})
    missing = client.get("/api/v1/dashboard/counselling", headers=as_("yanfeng-zr"), query_string={"county": "nowhere"})
    # another county answers as a missing one (the access policy's 404), and shows none of its figures
    assert other.status_code == missing.status_code == 404 and other.json["problems"][0]["field"] == "county"
    assert "units" not in other.json and "crisis_escalations" not in other.json
    assert client.get("/api/v1/dashboard/counselling", headers=as_(PRINCIPAL)).status_code == 403


def _sheets(content: bytes) -> dict[str, list[tuple]]:
    """Every sheet's rows; no cell may be a formula."""
    book = load_workbook(io.BytesIO(content))
    for sheet in book.worksheets:
        assert not [c.coordinate for row in sheet.iter_rows() for c in row if c.data_type == "f"], sheet.title
    return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets}


def test_the_counselling_figures_export_as_an_inert_workbook_within_the_dashboards_scope(
        demo: Huhua, client: FlaskClient, as_: Callable[[str], dict[str, str]]) -> None:
    hostile = {"zhuhui": '=HYPERLINK("x","y")', SCHOOL: "=1+1"}
    directory = generate("demo")
    directory.units = [replace(u, name=hostile.get(u.id, u.name)) for u in directory.units]
    demo.execute(LoadDirectory(directory, "admin", source="demo"))
    _open_case(demo)
    crisis = _open_case(demo, "low", ("self_harm",), alias="=cmd|'calc'!A0")
    path = "/api/v1/dashboard/counselling/export"

    county = client.get(path, headers=as_("zhuhui-zr"), query_string={"county": "zhuhui"})
    assert county.status_code == 200, county.json
    assert county.headers["Content-Disposition"].endswith(quote("心理辅导个案-zhuhui.xlsx"))
    sheets = _sheets(county.data)
    header, *rows = sheets["心理辅导个案"]
    assert header[:7] == ("学校/教学点", "单位代码", "个案数", "低风险", "中风险", "高风险", "未评估")
    assert [r[:6] for r in rows] == [("'=1+1", SCHOOL, 2, 2, 0, 0)] and rows[0][-1] == 1
    [escalation] = sheets["危机上报"][1:]
    # the county officer's crisis task names the case and the student to them, quoted so it stays text
    assert (escalation[0], escalation[5], escalation[6]) == ("'=1+1", crisis, "'=cmd|'calc'!A0")
    assert SESSION_RECORD not in repr(sheets) and "被家暴" not in repr(sheets)

    city = _sheets(client.get(path, headers=as_("hy-zr")).data)
    assert [r[:3] for r in city["心理辅导个案"][1:]] == [("'" + hostile["zhuhui"], "zhuhui", 2)]
    assert [(e[5], e[6]) for e in city["危机上报"][1:]] == [(None, None)]  # the city is not named the student

    other = client.get(path, headers=as_("yanfeng-zr"), query_string={"county": "zhuhui"})
    missing = client.get(path, headers=as_("yanfeng-zr"), query_string={"county": "nowhere"})
    assert other.status_code == missing.status_code == 404 and other.json["problems"][0]["field"] == "county"
    assert client.get(path, headers=as_("yanfeng-zr")).status_code == 200  # their own county: no zhuhui rows
    assert "zhuhui" not in repr(_sheets(client.get(path, headers=as_("yanfeng-zr")).data))
    for outsider in (PRINCIPAL, COUNSELLOR, "zhuhui-s001-zr"):
        assert client.get(path, headers=as_(outsider)).status_code == 403, outsider


def test_webhook_payloads_of_a_counselling_case_carry_no_detail_nor_actor(demo: Huhua) -> None:
    demo.execute(AddWebhook("http://127.0.0.1:9/hook", "admin", "*"))
    plain = demo.execute(StartInstance("burden_supervision", "admin", org_scope="qidong"))["id"]
    case = _open_case(demo)
    jobs = [demo.queries.job_payload(j["id"])["body"] for j in demo.queries.jobs(kind="webhook", limit=500)]
    of_case = [body for body in jobs if body["instance_id"] == case]
    assert {body["event"] for body in of_case} >= {"instance_started", "task_created", "task_completed"}
    assert all(body["detail"] == {} and body["actor"] is None and body["confidential"] for body in of_case)
    assert any(body["detail"] and body["actor"] for body in jobs if body["instance_id"] == plain)  # not cut


def test_the_command_line_shows_a_counselling_case_as_its_status_and_logs_the_read(
        demo: Huhua, cli: Callable[..., Any]) -> None:
    case = _open_case(demo)
    shown = cli("instance", str(case), "--json")
    assert shown.exit_code == 0, shown.output
    assert "被家暴" not in shown.output and SESSION_RECORD not in shown.output
    found = json.loads(shown.output)
    assert (found["access"], found["data"], found["history"]) == ("status", {}, [])
    reads = demo.queries.audit.entries(kind="read", resource=f"instance:{case}")["entries"]
    assert [(e["actor"], e["surface"], e["action"]) for e in reads] == [("admin", "cli", "read_instance")]


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)  # a migration, on each database
def test_the_migration_upgrades_a_database_with_cases_on_both_databases(database_url: str) -> None:
    """Down to 0015, a running counselling case is stored; the upgrade keeps its figures and makes the log."""
    database = Database(database_url)
    command.downgrade(migration.alembic_config(database), "0015")
    with database.engine.begin() as connection:
        connection.execute(text("INSERT INTO deployment (id, name, source, deployed_by, deployed_at) "
                                "VALUES (1, 'old', 'shipped', 'admin', '2026-03-01 00:00:00+00')"))
        connection.execute(text(
            "INSERT INTO process_definition (id, key, version, name, content_hash, deployment_id, resource_name, "
            "deployed_at) VALUES (1, 'counselling_case', 1, '个案', 'x', 1, 'c.bpmn', '2026-03-01 00:00:00+00')"))
        connection.execute(text(
            "INSERT INTO process_instance (id, definition_id, process_key, org_scope, state, version, started_by, "
            "started_at, updated_at, data) VALUES (1, 1, 'counselling_case', 'zhuhui-s001', 'running', 2, 'x', "
            "'2026-03-02 00:30:00+00', '2026-03-02 00:30:00+00', :data)"),
            {"data": json.dumps({"session_date": "2026-03-03", "risk_level": "medium", "follow_ups": 1})})
    migration.upgrade(database)
    with database.engine.connect() as connection:
        f = tables.instance_figure
        kept = connection.execute(select(f.c.instance_id, f.c.process_key, f.c.period, f.c.score, f.c.band)).all()
        assert [tuple(row) for row in kept] == [(1, "counselling_case", "2026-03", 1.0, "medium")]
        connection.execute(insert(tables.audit_log).values(at=datetime(2026, 3, 3, tzinfo=BUSINESS_TZ),
                                                           kind="command", actor="admin", action="Probe"))
        connection.commit()
        with pytest.raises(DBAPIError, match="append-only"):
            connection.execute(delete(tables.audit_log))
    database.dispose()


def test_the_administrators_instance_page_shows_a_case_without_its_record_and_logs_the_read(
        demo: Huhua, client: FlaskClient) -> None:
    case = _open_case(demo)
    demo.execute(SetPassword("admin", PASSWORD, "admin"))
    _log_in(client, "admin")
    page = client.get(f"/admin/instances/{case}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "被家暴" not in body and SESSION_RECORD not in body and "初二学生A" not in body
    reads = demo.queries.audit.entries(kind="read", resource=f"instance:{case}")["entries"]
    assert [(e["actor"], e["surface"], e["detail"]["access"]) for e in reads] == [("admin", "page", "status")]
