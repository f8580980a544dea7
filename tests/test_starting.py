"""Who may start a process, where, and with what variables (issue 11, "Starting" and "Forged figures").

Each person acts through the JSON API with an API token of their own, as a script of theirs would; the
demo directory is loaded and the shipped library deployed.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from openpyxl import load_workbook

from engine.bootstrap import Huhua
from engine.commands import DeployModels
from engine.errors import InvalidModel
from engine.web import create_app
from tests.helpers import FIXTURES, token_cache
from workers.job_worker import run_due_jobs

#: One database: who may start what and where are the start rules, the same on any database; the engine's own
#: tests hold the store's contract with each database.
DATABASES = ("sqlite",)

ATTACKER = "yanfeng-s001-bzr1"  # a class teacher of 雁峰区
Headers = Callable[[str], dict[str, str]]


@pytest.fixture
def client(demo: Huhua) -> FlaskClient:
    """The app as served: only sessions and tokens say who calls (no trusted user header)."""
    return create_app(demo, {"TESTING": True, "TRUST_USER_HEADER": False}).test_client()


@pytest.fixture
def as_(demo: Huhua) -> Headers:
    """The Authorization header of a token made for ``user``."""
    return token_cache(demo, "测试脚本")


def _start(client: FlaskClient, headers: dict[str, str], process_key: str, org_scope: str | None = None,
           variables: dict | None = None) -> tuple[int, dict]:
    body: dict = {"process_key": process_key}
    if org_scope is not None:
        body["org_scope"] = org_scope
    if variables is not None:
        body["variables"] = variables
    answer = client.post("/api/v1/process-instances", headers=headers, json=body)
    return answer.status_code, answer.json


def _instances(demo: Huhua, process_key: str) -> list[dict]:
    return demo.queries.instances(process_key=process_key, limit=500)


def test_a_class_teacher_cannot_start_another_countys_school_routine_with_its_people(
        demo: Huhua, client: FlaskClient, as_: Headers) -> None:
    people = [{"id": "zhuhui-s002-bzr1", "name": "受害学校班主任"}]
    status, body = _start(client, as_(ATTACKER), "ct_routine_school", "zhuhui-s002", {"people": people})
    assert status == 403 and body["error"] == "forbidden"
    assert "fan-out" in body["message"]  # it says how the process starts instead
    assert _instances(demo, "ct_routine_school") == [] and demo.queries.tasks(user="zhuhui-s002-bzr1") == []
    # an administrator cannot start it by hand either: its parent's fan-out does, with the directory's people
    status, body = _start(client, as_("admin"), "ct_routine_school", "zhuhui-s002", {"people": people})
    assert status == 403 and _instances(demo, "ct_routine_school") == []


def test_a_class_teacher_cannot_launch_a_city_wide_case_collection(
        demo: Huhua, client: FlaskClient, as_: Headers) -> None:
    status, body = _start(client, as_(ATTACKER), "case_collection", "hy")
    assert status == 403 and body["problems"][0]["field"] == "process_key"
    assert "programme_officer" in body["message"]
    run_due_jobs(demo)
    assert _instances(demo, "case_collection") == [] and _instances(demo, "case_collection_school") == []
    assert demo.queries.tasks(user="zhuhui-s001-zr") == []
    # a county's programme officer may not either: city-wide programmes are the city's
    status, body = _start(client, as_("yanfeng-zr"), "case_collection", "hy")
    assert status == 403 and body["problems"][0]["field"] == "org_scope"


def test_nobody_names_who_does_the_work_of_a_county_process(
        demo: Huhua, client: FlaskClient, as_: Headers) -> None:
    mine = {"submitter": ATTACKER, "reviewer": ATTACKER}
    status, _ = _start(client, as_(ATTACKER), "burden_supervision", "yanfeng", mine)
    assert status == 403  # a class teacher starts no county process at all
    status, body = _start(client, as_("yanfeng-zr"), "burden_supervision", "yanfeng", mine)
    assert status == 400 and sorted(p["field"] for p in body["problems"]) == ["reviewer", "submitter"]
    status, body = _start(client, as_("admin"), "burden_supervision", "yanfeng", mine)
    assert status == 400 and _instances(demo, "burden_supervision") == []  # administrators included

    # the county's officer starts it; who works on it comes from the directory
    status, started = _start(client, as_("yanfeng-zr"), "burden_supervision", "yanfeng")
    assert status == 201, started
    [task] = demo.queries.tasks(instance_id=started["id"])
    assert task["candidate_roles"] == ["programme_officer@yanfeng"]
    assert task["assignee"] == "yanfeng-zr"  # the county's only officer, found in the directory
    assert demo.queries.tasks(user=ATTACKER) == []


def test_a_counselling_case_is_never_started_directly(demo: Huhua, client: FlaskClient, as_: Headers) -> None:
    for user, scope in ((ATTACKER, "zhuhui-s001"), ("zhuhui-s001-xl1", "zhuhui-s001"), ("admin", "zhuhui-s001")):
        status, body = _start(client, as_(user), "counselling_case", scope, {"student_alias": "某学生"})
        assert status == 403, (user, body)
        assert "message" in body["message"] and "counselling_appointment" in body["message"], body
    assert _instances(demo, "counselling_case") == []
    # the duty counsellor registers an appointment at their own school; the case starts from its message
    status, body = _start(client, as_("zhuhui-s001-xl1"), "counselling_appointment", "yanfeng-s001")
    assert status == 403 and "not yours" in body["message"]
    status, started = _start(client, as_("zhuhui-s001-xl1"), "counselling_appointment", "zhuhui-s001")
    assert status == 201, started


def test_a_start_at_a_unit_that_does_not_exist_is_refused_naming_org_scope(
        demo: Huhua, client: FlaskClient, as_: Headers) -> None:
    for user in (ATTACKER, "zhuhui-zr", "admin"):
        status, body = _start(client, as_(user), "burden_supervision", "zhuhui-s999")
        assert status == 404 and body["problems"][0]["field"] == "org_scope", (user, body)
        assert "zhuhui-s999" in body["message"]
    assert _instances(demo, "burden_supervision") == []


def test_start_variables_cannot_forge_a_monthly_check_and_reports_read_none(
        demo: Huhua, client: FlaskClient, as_: Headers) -> None:
    """优秀 100 "已完成" for one school (and 100 in the teacher ledger) and 不合格 0 for another county's: refused,
    for everyone; the county's spot-check is the scheduler's too, and a chase takes its form's fields only."""
    ledger = [{"teacher": "zhuhui-s001-bzr1", "role": "class_teacher", "score": 100, "band": "优秀", "reason": "",
               "items": {}, "note": ""}]
    forged = [("zhuhui-s001", {"scheduled_for": "2026-03-02T08:30:00+08:00", "total": 100, "band": "优秀",
                               "appraisal": ledger}),
              ("yanfeng-s002", {"scheduled_for": "2026-03-02T08:30:00+08:00", "total": 0, "band": "不合格"})]
    for user in (ATTACKER, "zhuhui-s001-dy", "zhuhui-s001-zr", "zhuhui-zr", "hy-zr", "admin"):
        for school, variables in forged:
            status, body = _start(client, as_(user), "monthly_school_check", school, variables)
            assert status == 403 and "scheduler" in body["message"], (user, body)
    status, body = _start(client, as_("admin"), "monthly_spot_check", "zhuhui",
                          {"scheduled_for": "2026-03-02T09:00:00+08:00", "sample": ["zhuhui-s001"]})
    assert status == 403 and "scheduler" in body["message"]
    status, body = _start(client, as_("zhuhui-zr"), "monthly_check_chase", "zhuhui-s001",
                          {"chase_month": "2026-03", "chase_note": "请尽快完成", "total": 100, "band": "优秀"})
    assert status == 400 and {p["field"] for p in body["problems"]} == {"total", "band"}, body
    status, body = _start(client, as_("admin"), "annual_assessment", "hy")
    assert status == 403 and "scheduler" in body["message"]
    for key in ("monthly_school_check", "monthly_spot_check", "monthly_check_chase"):
        assert _instances(demo, key) == [], key
    checks = client.get("/api/v1/dashboard/monthly-checks", headers=as_("admin"))
    assert checks.status_code == 200 and checks.json["months"] == []  # no month has a figure
    book = client.get("/api/v1/appraisal/zhuhui-s001/export?year=2026", headers=as_("admin"))
    assert book.status_code == 200
    assert len(list(load_workbook(io.BytesIO(book.data), read_only=True)["月度台账"].iter_rows())) == 1  # no row


def test_figures_and_the_engines_keys_never_come_from_a_caller(demo: Huhua, client: FlaskClient,
                                                               as_: Headers) -> None:
    """Even where a person may start the process: ``people`` and the like are the engine's."""
    people = [{"id": ATTACKER, "name": "x"}]
    for key, value in (("people", people), ("unit", {"id": "zhuhui-s001"}), ("scheduled_for", "2026-03-02"),
                       ("late", True), ("month", "2026-03")):
        status, body = _start(client, as_("zhuhui-zr"), "ct_routine_semester", "zhuhui", {key: value})
        assert status == 400 and body["problems"][0]["field"] == key, body
        assert "set by the engine" in body["problems"][0]["message"]
    assert _instances(demo, "ct_routine_semester") == []


def test_start_variables_are_checked_like_a_task_form(demo: Huhua, client: FlaskClient, as_: Headers) -> None:
    officer = as_("zhuhui-zr")
    cases = [({"year": "明年"}, "year"), ({"year": 1900}, "year"), ({"onsite_roles": "principal"}, "onsite_roles"),
             ({"supervision_score": 100}, "supervision_score"), ({"supervision_grade": "优秀"}, "supervision_grade")]
    for variables, field in cases:
        status, body = _start(client, officer, "supervision_round", "zhuhui-s001", variables)
        assert status == 400 and [p["field"] for p in body["problems"]] == [field], body
    status, body = _start(client, officer, "case_collection", "hy", {"anything": 1})
    assert status == 403  # not theirs: refused before the variables are read
    status, body = _start(client, as_("hy-zr"), "case_collection", "hy", {"anything": 1})
    assert status == 400 and body["problems"][0]["field"] == "anything" and "no start form" in body["message"]
    assert _instances(demo, "supervision_round") == [] and _instances(demo, "case_collection") == []


def test_a_programme_officer_starts_what_the_declaration_allows_within_their_reach(
        demo: Huhua, client: FlaskClient, as_: Headers) -> None:
    # a county's officer: the county's semester routine, at their own county only
    status, started = _start(client, as_("zhuhui-zr"), "ct_routine_semester", "zhuhui", {"semester": "2026年秋季学期"})
    assert status == 201, started
    run_due_jobs(demo)  # the fan-out starts every school's routine: an internal start, with the directory's people
    schools = _instances(demo, "ct_routine_school")
    assert sorted(i["org_scope"] for i in schools) == ["zhuhui-s001", "zhuhui-s001-p01", "zhuhui-s002", "zhuhui-s003"]
    assert demo.queries.instance(started["id"])["data"]["semester"] == "2026年秋季学期"
    assert _start(client, as_("yanfeng-zr"), "ct_routine_semester", "zhuhui")[0] == 403  # another county
    assert _start(client, as_("zhuhui-zr"), "ct_routine_semester", "hy")[0] == 403  # the tier above
    assert _start(client, as_("zhuhui-s001-zr"), "ct_routine_semester", "zhuhui-s001")[0] == 403  # a school

    # supervising one school: a unit below the officer's, never their own school
    status, started = _start(client, as_("zhuhui-zr"), "supervision_round", "zhuhui-s001", {"year": 2026})
    assert status == 201, started
    assert demo.queries.instance(started["id"])["data"]["year"] == "2026"
    assert _start(client, as_("zhuhui-zr"), "supervision_round", "yanfeng-s001")[0] == 403
    assert _start(client, as_("zhuhui-s001-zr"), "supervision_round", "zhuhui-s001")[0] == 403
    status, started = _start(client, as_("hy-zr"), "supervision_round", "yanfeng-s001",
                             {"onsite_roles": "programme_officer@city"})
    assert status == 201, started

    # the city's officer: a city-wide programme, with its start form's fields
    status, started = _start(client, as_("hy-zr"), "safety_programme", "hy", {"year": 2027, "lesson_rounds": 4})
    assert status == 201, started
    assert _start(client, as_("hy-zr"), "safety_programme", "zhuhui")[0] == 403  # it runs for the city


def test_an_administrator_still_starts_what_people_start_where_the_process_runs(
        demo: Huhua, client: FlaskClient, as_: Headers) -> None:
    admin = as_("admin")
    for process, scope in (("launch_programme", "hy"), ("case_collection", "hy"), ("burden_supervision", "qidong"),
                           ("supervision_round", "qidong-s002")):
        status, started = _start(client, admin, process, scope)
        assert status == 201 and started["org_scope"] == scope, (process, started)
    status, body = _start(client, admin, "launch_programme", "zhuhui-s001")  # a city programme at a school
    assert status == 403 and body["problems"][0]["field"] == "org_scope" and "city" in body["message"]
    status, body = _start(client, admin, "launch_programme")
    assert status == 403 and body["problems"][0]["field"] == "org_scope"


def test_a_process_that_declares_nothing_is_the_administrators(demo: Huhua, client: FlaskClient,
                                                                as_: Headers) -> None:
    demo.execute(DeployModels(files=(("straight.bpmn", (FIXTURES / "straight.bpmn").read_bytes()),), actor="admin"))
    for user in ("hy-jz", "hy-zr", "zhuhui-zr", ATTACKER):
        status, body = _start(client, as_(user), "straight", "hy")
        assert status == 403 and "only administrators" in body["message"], (user, body)
    assert _start(client, as_("admin"), "straight", "hy")[0] == 201
    assert _start(client, as_("admin"), "straight")[0] == 201  # no unit named: the administrator's own test run


def test_a_start_declaration_the_rule_cannot_read_is_refused_at_deployment(demo: Huhua) -> None:
    xml = (FIXTURES / "straight.bpmn").read_text()
    for name, value, wrong in (("start_roles", "class_teacher,headmaster", "headmaster"),
                               ("start_tier", "everywhere", "everywhere"), ("start_units", "village", "village"),
                               ("start_by", "pigeon", "pigeon")):
        declared = _declare(xml, {name: value})
        with pytest.raises(InvalidModel) as refused:
            demo.execute(DeployModels(files=(("straight.bpmn", declared.encode()),), actor="admin"))
        assert any(wrong in p.message and name in p.message for p in refused.value.problems), refused.value.problems


def test_starts_by_the_command_line_follow_the_same_rule(demo: Huhua, cli: Callable) -> None:
    refused = cli("start", "counselling_case", "--scope", "zhuhui-s001", "--as", "admin")
    assert refused.exit_code == 2 and "message" in refused.output
    refused = cli("start", "ct_routine_semester", "--scope", "zhuhui", "--as", ATTACKER)
    assert refused.exit_code == 2 and "programme_officer" in refused.output
    refused = cli("start", "ct_routine_semester", "--scope", "zhuhui", "--vars", '{"people": []}')
    assert refused.exit_code == 2 and "people" in refused.output
    assert cli("start", "ct_routine_semester", "--scope", "zhuhui", "--as", "zhuhui-zr").exit_code == 0


def _declare(xml: str, properties: dict[str, str]) -> str:
    """``xml`` (one process, without extension elements of its own) with a start declaration."""
    entries = "".join(f'<spiffworkflow:property name="{k}" value="{v}"/>' for k, v in properties.items())
    xml = xml.replace("<bpmn:definitions ",
                      '<bpmn:definitions xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" ', 1)
    head, sep, rest = xml.partition('isExecutable="true">')
    block = f"<bpmn:extensionElements><spiffworkflow:properties>{entries}</spiffworkflow:properties>" \
            "</bpmn:extensionElements>"
    return head + sep + block + rest
