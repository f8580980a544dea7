"""Who may deliver a message from outside, and what the answer tells them: the issue's findings, through the API
with API tokens, as the accounts would act."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from engine.bootstrap import Huhua
from engine.commands import (
    ENGINE,
    CreateApiToken,
    DeployModels,
    DeployShippedProcesses,
    LoadDirectory,
    SetPassword,
    SetServiceAccount,
    StartInstance,
)
from engine.errors import InvalidInput, InvalidModel
from engine.org.profiles import generate
from engine.web import create_app
from tests.helpers import FIXTURES, cli_json, deploy_fixtures, history_kinds
from workers.job_worker import run_due_jobs

#: One database: who may deliver a message is the access policy's rule, the same on any database; the engine's
#: own tests (test_event_routing) route messages on each database.
DATABASES = ("sqlite",)

REVISED = {"total": 100, "band": "优秀", "approver": "zhuhui-s001-bzr1"}
OTHER_TEACHER = "zhuhui-s001-bzr1"  # a class teacher of 珠晖区
VICTIM_PRINCIPAL = "yanfeng-s001-xz"


@pytest.fixture
def org(huhua: Huhua) -> Huhua:
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    deploy_fixtures(huhua, "check_revision.bpmn")
    return huhua


@pytest.fixture
def client(org: Huhua) -> Iterator[FlaskClient]:
    with create_app(org, {"TESTING": True}).test_client() as client:
        yield client


def _token(huhua: Huhua, user: str) -> dict[str, str]:
    token = huhua.execute(CreateApiToken(user, f"{user} 的程序", "admin"))["token"]
    return {"Authorization": f"Bearer {token}"}


def _check(huhua: Huhua, school: str, month: str = "2026-03") -> int:
    """A school's monthly check, as the scheduler starts it (the engine's start, not a person's)."""
    return huhua.execute(StartInstance("check_revision", "scheduler", org_scope=school,
                                       business_key=f"{school}/{month}", origin=ENGINE))["id"]


def _score(huhua: Huhua, instance_id: int) -> tuple:
    data = huhua.queries.instance(instance_id)["data"]
    return data["total"], data["band"], data["approver"]


def _ids_in(body: str) -> set[int]:
    return {int(n) for n in re.findall(r'"id":\s*(\d+)', body)}


def test_a_class_teacher_cannot_rewrite_another_countys_monthly_check_score(org: Huhua, client: FlaskClient,
                                                                            cli) -> None:  # type: ignore[no-untyped-def]
    victim = _check(org, "yanfeng-s001")
    attacker = _token(org, OTHER_TEACHER)
    message = {"name": "check_score_revised", "correlation_key": "yanfeng-s001/2026-03", "variables": REVISED}
    refused = client.post("/api/v1/messages", json=message, headers=attacker)
    missing = client.post("/api/v1/messages", json={**message, "correlation_key": "nowhere/2026-03"}, headers=attacker)
    assert refused.status_code == missing.status_code == 404  # as if nothing waited: no existence is revealed
    assert refused.json == {**missing.json, "message": missing.json["message"].replace("nowhere", "yanfeng-s001")}
    hooked = client.post("/api/v1/webhooks/messages/check_score_revised", headers={**attacker, "Idempotency-Key": "a"},
                         json={"correlation_key": "yanfeng-s001/2026-03", "variables": REVISED})
    assert hooked.status_code == 404
    by_cli = cli("message", "check_score_revised", "--key", "yanfeng-s001/2026-03", "--as", OTHER_TEACHER,
                 "--vars", '{"total": 100, "band": "优秀", "approver": "x"}')
    assert by_cli.exit_code == 2 and "no instance waits" in by_cli.stderr
    assert _score(org, victim) == (42, "不合格", "principal")  # a refused delivery changed nothing
    assert "message_received" not in history_kinds(org, victim)

    # the school's principal, who holds the open task of the check, may move it on
    allowed = client.post("/api/v1/messages", json=message, headers=_token(org, VICTIM_PRINCIPAL))
    assert allowed.status_code == 200 and [i["id"] for i in allowed.json["delivered_to"]] == [victim]
    assert _score(org, victim) == (100, "优秀", "zhuhui-s001-bzr1")


def test_a_reply_names_no_instance_the_caller_may_not_see(org: Huhua, client: FlaskClient) -> None:
    own = _check(org, "zhuhui-s001")
    others = [_check(org, "yanfeng-s001"), _check(org, "zhuhui-s002")]
    body = {"name": "check_score_revised", "all": True, "variables": REVISED}
    answers = []
    for key in ("zhuhui-s001/2026-03", "yanfeng-s001/2026-03", "zhuhui-s002/2026-03"):
        answers.append(client.post("/api/v1/messages", json={**body, "correlation_key": key},
                                   headers=_token(org, "zhuhui-s001-xz")))
    assert [a.status_code for a in answers] == [200, 404, 404]
    assert _ids_in(answers[0].get_data(as_text=True)) == {own}
    for answer in answers[1:]:
        assert not _ids_in(answer.get_data(as_text=True)) & set(others)
    assert [_score(org, i)[0] for i in others] == [42, 42]


def test_service_accounts_deliver_only_their_messages_within_their_unit_and_read_nothing(
        org: Huhua, client: FlaskClient) -> None:
    zhuhui, yanfeng = _check(org, "zhuhui-s001"), _check(org, "yanfeng-s001")
    org.execute(SetServiceAccount("zhuhui-platform", ("check_score_revised",), "admin", scope_unit="zhuhui"))
    org.execute(SetServiceAccount("hotline", ("counselling_appointment",), "admin"))
    platform, hotline = _token(org, "zhuhui-platform"), _token(org, "hotline")
    message = {"name": "check_score_revised", "variables": REVISED}
    assert client.post("/api/v1/messages", json={**message, "correlation_key": "yanfeng-s001/2026-03"},
                       headers=platform).status_code == 404  # outside its unit
    assert client.post("/api/v1/messages", json={**message, "correlation_key": "zhuhui-s001/2026-03"},
                       headers=hotline).status_code == 404  # not its message
    sent = client.post("/api/v1/messages", json={**message, "correlation_key": "zhuhui-s001/2026-03"},
                       headers=platform)
    assert sent.status_code == 200 and sent.json["delivered"] == 1 and sent.json["delivered_to"] == []
    assert _score(org, zhuhui)[0] == 100 and _score(org, yanfeng)[0] == 42
    pages = create_app(org, {"SECRET_KEY": "pages", "TRUST_USER_HEADER": False, "WTF_CSRF_ENABLED": False})
    with pages.test_client() as browser:  # no password opens it, so no page either
        for password in ("anything1", "!service-account", ""):
            assert browser.post("/login", data={"username": "zhuhui-platform", "password": password}).status_code == 401
    for method, path in (("get", "/api/v1/tasks"), ("get", f"/api/v1/process-instances/{zhuhui}"),
                         ("get", "/api/v1/process-definitions"), ("post", "/api/v1/process-instances")):
        refused = getattr(client, method)(path, headers=platform, json={"process_key": "check_revision"})
        assert refused.status_code == 403, (path, refused.json)  # a system only delivers messages
    with pytest.raises(InvalidInput, match="service account"):
        org.execute(SetPassword("zhuhui-platform", "a-password-1", "admin"))
    with pytest.raises(InvalidInput, match="name taken"):
        org.execute(SetServiceAccount(OTHER_TEACHER, ("check_score_revised",), "admin"))


def test_an_idempotency_key_is_the_callers_own(org: Huhua, client: FlaskClient) -> None:
    first, second = _check(org, "zhuhui-s001"), _check(org, "zhuhui-s002")
    org.execute(SetServiceAccount("platform-a", ("check_score_revised",), "admin"))
    org.execute(SetServiceAccount("platform-b", ("check_score_revised",), "admin"))
    url, key = "/api/v1/webhooks/messages/check_score_revised", {"Idempotency-Key": "2026-03-revision"}
    a = client.post(url, headers={**_token(org, "platform-a"), **key},
                    json={"correlation_key": "zhuhui-s001/2026-03", "variables": REVISED})
    b = client.post(url, headers={**_token(org, "platform-b"), **key},
                    json={"correlation_key": "zhuhui-s002/2026-03", "variables": REVISED})
    assert (a.status_code, b.status_code) == (200, 200)
    assert (a.json["duplicate"], b.json["duplicate"]) == (False, False)  # b is not answered with a's delivery
    assert _score(org, first)[0] == _score(org, second)[0] == 100
    again = client.post(url, headers={**_token(org, "platform-a"), **key},
                        json={"correlation_key": "zhuhui-s001/2026-03", "variables": REVISED})
    assert again.json["duplicate"] is True and again.json["delivered"] == 1


def test_the_cli_makes_a_service_account_that_then_gets_a_token(org: Huhua, cli) -> None:  # type: ignore[no-untyped-def]
    made = cli_json(cli("accounts", "service", "hotline", "--messages", "counselling_appointment, showcase_objection",
                        "--scope", "zhuhui", "--json"))
    assert made == {"username": "hotline", "kind": "service", "scope_unit": "zhuhui",
                    "messages": ["counselling_appointment", "showcase_objection"]}
    assert cli_json(cli("accounts", "token", "hotline", "--name", "热线", "--json"))["username"] == "hotline"
    unknown = cli("accounts", "service", "x", "--messages", "m", "--scope", "atlantis")
    assert unknown.exit_code == 2 and "atlantis" in unknown.stderr
    refused = cli("accounts", "service", "y", "--messages", "m", "--actor", OTHER_TEACHER)
    assert refused.exit_code == 2 and "administrator" in refused.stderr


def test_a_crisis_appointment_opens_a_case_only_at_the_counsellors_own_school(org: Huhua,
                                                                             client: FlaskClient) -> None:
    org.execute(DeployShippedProcesses(str(org.settings.processes_dir)))
    deploy_fixtures(org, "planted_case.bpmn")
    planted = org.execute(StartInstance("planted_case", "admin", org_scope="yanfeng-s001"))["id"]
    counsellor = "zhuhui-s001-xl1"
    org.execute(StartInstance("counselling_appointment", "admin", org_scope="zhuhui-s001"))
    task = next(t for t in org.queries.tasks(user=counsellor) if t["element_id"] == "register")
    done = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=_token(org, counsellor), json={"data": {
        "student_alias": "初二学生B", "requester": "student", "channel": "phone", "appointment_date": "2026-03-03",
        "reason": "被家暴，想轻生"}})
    assert done.status_code == 200, done.json
    run_due_jobs(org)  # the school's counselling-room hours are read (a service task), then the case opens
    assert org.queries.instance(planted)["state"] == "running"  # another county's school: never reached
    assert "reason" not in org.queries.instance(planted)["data"]
    cases = org.queries.instances(process_key="counselling_case", limit=10)
    assert [(c["org_scope"], c["state"]) for c in cases] == [("zhuhui-s001", "running")]
    assert org.queries.instance(cases[0]["id"])["data"]["reason"] == "被家暴，想轻生"


def test_a_message_from_outside_never_brings_what_the_engine_keeps(org: Huhua, client: FlaskClient) -> None:
    """Even the holder of the open task may not slip the engine's own keys (people, month …) into an instance."""
    victim = _check(org, "yanfeng-s001")
    message = {"name": "check_score_revised", "correlation_key": "yanfeng-s001/2026-03",
               "variables": {**REVISED, "people": ["yanfeng-s001-bzr1"], "month": "2026-02"}}
    refused = client.post("/api/v1/messages", json=message, headers=_token(org, VICTIM_PRINCIPAL))
    assert refused.status_code == 400
    assert {p["field"] for p in refused.json["problems"]} == {"variables.people", "variables.month"}
    assert _score(org, victim) == (42, "不合格", "principal")  # nothing was delivered
    assert "message_received" not in history_kinds(org, victim)


def test_a_message_from_outside_brings_only_the_variables_its_catch_declares(org: Huhua, client: FlaskClient,
                                                                             cli) -> None:  # type: ignore[no-untyped-def]
    """The catch says ``messageVariables="total, band, approver"``: any other key is refused by name."""
    victim = _check(org, "yanfeng-s001")
    message = {"name": "check_score_revised", "correlation_key": "yanfeng-s001/2026-03",
               "variables": {**REVISED, "reviewer": "yanfeng-s001-bzr1", "remark": "x"}}
    principal = _token(org, VICTIM_PRINCIPAL)
    refused = client.post("/api/v1/messages", json=message, headers=principal)
    assert refused.status_code == 400
    assert {p["field"] for p in refused.json["problems"]} == {"variables.reviewer", "variables.remark"}
    assert all("messageVariables" in p["message"] and "revised" in p["message"] for p in refused.json["problems"])
    hooked = client.post("/api/v1/webhooks/messages/check_score_revised", headers={**principal, "Idempotency-Key": "b"},
                         json={"correlation_key": "yanfeng-s001/2026-03", "variables": message["variables"]})
    assert hooked.status_code == 400
    by_cli = cli("message", "check_score_revised", "--key", "yanfeng-s001/2026-03", "--as", VICTIM_PRINCIPAL,
                 "--vars", '{"reviewer": "x"}')
    assert by_cli.exit_code == 2 and "variables.reviewer" in by_cli.stderr
    assert _score(org, victim) == (42, "不合格", "principal")  # nothing was delivered
    assert "message_received" not in history_kinds(org, victim)


def test_a_catch_that_declares_nothing_takes_the_message_but_no_variables(org: Huhua, client: FlaskClient) -> None:
    model = (FIXTURES / "check_revision.bpmn").read_text()
    bare = re.sub(r'<spiffworkflow:property name="messageVariables"[^>]*/>', "", model)
    assert "messageVariables" not in bare
    org.execute(DeployModels(files=(("check_revision.bpmn", bare.encode()),), actor="admin"))
    victim = _check(org, "yanfeng-s001")
    message = {"name": "check_score_revised", "correlation_key": "yanfeng-s001/2026-03", "variables": REVISED}
    principal = _token(org, VICTIM_PRINCIPAL)
    refused = client.post("/api/v1/messages", json=message, headers=principal)
    assert refused.status_code == 400
    assert {p["field"] for p in refused.json["problems"]} == {"variables.total", "variables.band", "variables.approver"}
    taken = client.post("/api/v1/messages", json={**message, "variables": {}}, headers=principal)
    assert taken.status_code == 200 and [i["id"] for i in taken.json["delivered_to"]] == [victim]
    assert _score(org, victim) == (42, "不合格", "principal")


def test_a_message_variables_list_the_engine_cannot_read_is_refused_at_deploy(org: Huhua) -> None:
    model = (FIXTURES / "check_revision.bpmn").read_text().replace('"total, band, approver"', '"total, band-2"')
    with pytest.raises(InvalidModel) as refused:
        org.execute(DeployModels(files=(("check_revision.bpmn", model.encode()),), actor="admin"))
    assert any("messageVariables" in p.message and "'band-2'" in p.message and "revised" in p.message
               for p in refused.value.problems)
