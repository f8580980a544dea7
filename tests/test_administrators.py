"""One definition of administrator: the built-in ``admin`` and every account given ``--admin``.

A second administrator, zhang, is made with the command line and then does the administrator's work through the
API with a token and through the pages with a session; an ordinary teacher is refused the same calls; and once
the flag is taken away (the password set again without ``--admin``) zhang is refused at the next request.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator

import pytest
from click.testing import Result
from flask.testing import FlaskClient
from sqlalchemy import update

from engine.bootstrap import Huhua
from engine.commands import ENGINE, AddAttachment, AddWebhook, ClaimTask, LoadDirectory, ReassignTask, StartInstance
from engine.errors import Forbidden, NotFound
from engine.org.directory import Person
from engine.org.profiles import generate
from engine.store import tables
from engine.web import create_app
from tests.helpers import FIXTURES, cli_json, deploy_fixtures, history_kinds, only_task

#: One database: who counts as an administrator is the access policy's rule, the same on any database; the
#: engine's own tests hold the store's contract with each database.
DATABASES = ("sqlite",)

TEACHER = "zhuhui-s001-bzr1"
PASSWORD = "zhang-secret-1"


@pytest.fixture
def engine(huhua: Huhua, cli: Callable[..., Result]) -> Huhua:
    """The demo directory with zhang (a person of the city's bureau, holding no role) made an administrator."""
    directory = generate("demo")
    directory.people.append(Person("zhang", "张管理", "hy"))
    huhua.execute(LoadDirectory(directory, "admin", source="demo"))
    made = cli_json(cli("accounts", "password", "zhang", "--password", PASSWORD, "--admin", "--json"))
    assert made == {"username": "zhang", "is_admin": True}
    cli("accounts", "password", TEACHER, "--password", "teacher-secret", "--json")
    return huhua


@pytest.fixture
def app_client(engine: Huhua) -> Iterator[FlaskClient]:
    """The app as served: no trusted user header, CSRF on."""
    app = create_app(engine, {"SECRET_KEY": "admins", "TRUST_USER_HEADER": False})
    with app.test_client() as client:
        yield client


def _token(cli: Callable[..., Result], user: str) -> dict[str, str]:
    made = cli_json(cli("accounts", "token", user, "--name", "运维脚本", "--json"))
    assert isinstance(made, dict)
    return {"Authorization": f"Bearer {made['token']}"}


def _leave(engine: Huhua) -> tuple[int, int, int]:
    """A leave request waiting at its first task (offered to nobody), and the id of a newer version to move to."""
    deploy_fixtures(engine, "migration/leave_v1.bpmn")
    instance = engine.execute(StartInstance("leave", "admin", variables={"days": 3, "reason": "探亲"},
                                            origin=ENGINE))["id"]
    deploy_fixtures(engine, "migration/leave_v2.bpmn")
    newest = max(engine.queries.definitions(key="leave"), key=lambda d: d["version"])["id"]
    return instance, only_task(engine, instance)["id"], newest


def _counties(client: FlaskClient, headers: dict[str, str]) -> list[str]:
    top = client.get("/api/v1/org/units", headers=headers)
    assert top.status_code == 200, top.json
    city = top.json["units"][0]["id"]
    below = client.get("/api/v1/org/units", query_string={"parent": city}, headers=headers).json["units"]
    return [unit["id"] for unit in below if unit["kind"] == "county"]


def _administer(client: FlaskClient, engine: Huhua, headers: dict[str, str]) -> tuple[list[tuple[str, int]], int]:
    """Every administrator's call of the brief, as ``(what, status)``, and the fresh instance the writes change."""
    instance, task, newest = _leave(engine)
    answers: list[tuple[str, int]] = []

    def call(method: str, path: str, **kwargs: object) -> None:
        answers.append((f"{method} {path}", client.open(path, method=method, headers=headers, **kwargs).status_code))

    call("GET", "/api/v1/tasks")
    call("GET", f"/api/v1/tasks?user={TEACHER}")
    call("POST", f"/api/v1/tasks/{task}/reassign", json={"to": TEACHER, "reason": "调整"})
    call("POST", f"/api/v1/process-instances/{instance}/suspend", json={"reason": "核查"})
    call("POST", f"/api/v1/process-instances/{instance}/resume")
    call("POST", f"/api/v1/process-instances/{instance}/migrate", json={"target_definition_id": newest})
    call("POST", f"/api/v1/process-instances/{instance}/terminate", json={"reason": "重复申请"})
    for path in ("/api/v1/jobs", "/api/v1/jobs/summary", "/api/v1/incidents", "/api/v1/process-instances",
                 "/api/v1/schedules", "/api/v1/calendar/2026", "/api/v1/org/people", "/api/v1/webhooks",
                 f"/api/v1/process-instances/{instance}/jobs", "/api/v1/dashboard/rollouts"):
        call("GET", path)
    for county in ("hengshan", "leiyang", "zhuhui"):
        call("GET", f"/api/v1/dashboard/monthly-checks?county={county}")
        call("GET", f"/api/v1/dashboard/overdue?county={county}")
    call("POST", "/api/v1/webhooks", json={"url": "http://127.0.0.1:9/hooks", "events": "task_created"})
    return answers, instance


def test_a_second_administrator_does_the_administrators_work_with_a_token(
        engine: Huhua, app_client: FlaskClient, cli: Callable[..., Result]) -> None:
    zhang = _token(cli, "zhang")
    answers, instance = _administer(app_client, engine, zhang)
    assert [a for a in answers if a[1] not in (200, 201)] == [], answers
    assert engine.queries.instance(instance)["state"] == "terminated"
    kinds = history_kinds(engine, instance)
    assert {"task_reassigned", "instance_suspended", "instance_resumed", "instance_migrated"} <= set(kinds), kinds
    assert [w["url"] for w in engine.queries.webhooks()] == ["http://127.0.0.1:9/hooks"]
    everyone = app_client.get("/api/v1/tasks", query_string={"state": "all"}, headers=zhang).json
    assert everyone and any(t["assignee"] == TEACHER for t in everyone)  # the reassigned task, not zhang's own
    assert len(_counties(app_client, zhang)) == 13
    for county in _counties(app_client, zhang):  # the dashboard for every county
        assert app_client.get("/api/v1/dashboard/overdue", query_string={"county": county},
                              headers=zhang).status_code == 200, county


def test_an_ordinary_person_is_refused_the_same_calls(engine: Huhua, app_client: FlaskClient,
                                                       cli: Callable[..., Result]) -> None:
    teacher = _token(cli, TEACHER)
    answers, instance = _administer(app_client, engine, teacher)
    assert engine.queries.instance(instance)["state"] == "running"
    # Their own tasks are theirs to list (and the ?user= of someone else is ignored for them): all else is refused,
    # the task that is not theirs as if it did not exist.
    allowed = {"GET /api/v1/tasks", f"GET /api/v1/tasks?user={TEACHER}"}
    hidden = {a[0] for a in answers if a[0].startswith("POST /api/v1/tasks/")}
    assert [a for a in answers if a[0] not in allowed | hidden and a[1] != 403] == [], answers
    assert [a for a in answers if a[0] in hidden and a[1] != 404] == [], answers
    assert app_client.get("/api/v1/tasks", query_string={"user": "zhang", "state": "all"},
                          headers=teacher).json == []  # the leave request's task was never theirs
    assert engine.queries.webhooks() == []


def _log_in(client: FlaskClient, user: str, password: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    assert client.post("/login", data={"username": user, "password": password, "csrf_token": csrf}).status_code == 302


def _page_csrf(client: FlaskClient, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, path
    return re.search(r'name="csrf-token" content="([^"]+)"', page.get_data(as_text=True)).group(1)  # type: ignore


def test_a_second_administrator_uses_the_pages_and_their_api_calls_with_a_session(
        engine: Huhua, app_client: FlaskClient) -> None:
    _log_in(app_client, "zhang", PASSWORD)
    for page in ("/admin/", "/admin/jobs", "/admin/instances", "/admin/schedules", "/admin/calendar", "/admin/org",
                 "/admin/dashboard"):
        answer = app_client.get(page)
        assert answer.status_code == 200, page
    assert "流程管理" in app_client.get("/inbox").get_data(as_text=True)  # the header offers the admin pages
    session = {"X-CSRFToken": _page_csrf(app_client, "/admin/jobs")}
    answers, _ = _administer(app_client, engine, session)
    assert [a for a in answers if a[1] not in (200, 201)] == [], answers


def test_a_teacher_with_a_session_is_refused_the_pages_and_their_calls(engine: Huhua,
                                                                       app_client: FlaskClient) -> None:
    _log_in(app_client, TEACHER, "teacher-secret")
    for page in ("/admin/", "/admin/jobs", "/admin/dashboard"):
        assert app_client.get(page).status_code == 403, page
    assert "流程管理" not in app_client.get("/inbox").get_data(as_text=True)
    session = {"X-CSRFToken": _page_csrf(app_client, "/inbox")}
    assert app_client.get("/api/v1/jobs", headers=session).status_code == 403
    assert app_client.post("/api/v1/webhooks", headers=session,
                           json={"url": "http://127.0.0.1:9/hooks"}).status_code == 403


def test_revoking_the_flag_counts_from_the_next_request(engine: Huhua, app_client: FlaskClient,
                                                        cli: Callable[..., Result]) -> None:
    zhang = _token(cli, "zhang")
    _log_in(app_client, "zhang", PASSWORD)
    assert app_client.get("/api/v1/jobs", headers=zhang).status_code == 200
    assert app_client.get("/admin/jobs").status_code == 200
    assert app_client.get("/api/v1/dashboard/overdue?county=leiyang").status_code == 200
    revoked = cli_json(cli("accounts", "password", "zhang", "--password", PASSWORD, "--json"))
    assert revoked == {"username": "zhang", "is_admin": False}
    assert app_client.get("/api/v1/jobs", headers=zhang).status_code == 403  # the token still names zhang
    assert app_client.get("/admin/jobs").status_code == 403  # the session too, without logging in again
    assert app_client.get("/api/v1/dashboard/overdue?county=leiyang").status_code == 403
    assert "流程管理" not in app_client.get("/inbox").get_data(as_text=True)
    assert app_client.get("/api/v1/tasks", query_string={"user": TEACHER}, headers=zhang).json == []  # own only
    with pytest.raises(Forbidden):
        engine.execute(AddWebhook("http://127.0.0.1:9/hooks", "zhang"))
    cli("accounts", "password", "zhang", "--password", PASSWORD, "--admin", "--json")
    assert app_client.get("/api/v1/jobs", headers=zhang).status_code == 200  # and granting it again, likewise


def test_commands_ask_the_same_question_inside_their_transaction(engine: Huhua, cli: Callable[..., Result]) -> None:
    instance, task, _ = _leave(engine)
    csv = "学生,次数\n小明,2\n".encode()
    with pytest.raises(NotFound):  # a task offered to nobody is nobody's to see but an administrator's
        engine.execute(AddAttachment(task, TEACHER, "统计.csv", csv))
    assert engine.execute(AddAttachment(task, "zhang", "统计.csv", csv))["uploaded_by"] == "zhang"
    claimed = engine.execute(ClaimTask(task, "zhang"))  # offered to nobody: only an administrator may take it
    assert claimed["assignee"] == "zhang"
    with pytest.raises(NotFound):
        engine.execute(ReassignTask(task, TEACHER, "zhuhui-s002-bzr1", "不是我的"))
    engine.execute(ReassignTask(task, "zhang", TEACHER, "交给班主任"))
    assert engine.queries.may_read_instance("zhang", instance)
    assert not engine.queries.may_read_instance("zhuhui-s002-bzr1", instance)
    cli("accounts", "password", "zhang", "--password", PASSWORD, "--json")
    with pytest.raises(NotFound):  # no longer an administrator, and the task is the teacher's now
        engine.execute(ReassignTask(task, "zhang", "zhuhui-s002-bzr1", "已不是管理员"))
    assert not engine.queries.may_read_instance("zhang", instance)
    assert engine.queries.is_administrator("admin") and not engine.queries.is_administrator("zhang")


def test_the_built_in_admin_is_an_administrator_before_its_account_exists(engine: Huhua) -> None:
    assert engine.queries.account("admin") is None
    assert engine.queries.is_administrator("admin")
    assert engine.queries.dashboard_scope("admin").counties is None
    assert engine.queries.dashboard_scope("zhang").counties is None
    assert not engine.queries.is_administrator("nobody-at-all") and not engine.queries.is_administrator("")


def test_deploying_models_and_retrying_incidents_are_the_administrators(
        engine: Huhua, app_client: FlaskClient, cli: Callable[..., Result]) -> None:
    """A new version of a process (its scripts included) or a failed step run again with new data: not anyone's."""
    teacher, zhang = _token(cli, TEACHER), _token(cli, "zhang")
    instance, _task, _newest = _leave(engine)
    versions = len(engine.queries.definitions())

    def deploy(headers: dict[str, str]) -> int:
        model = (FIXTURES / "failing_script.bpmn").read_bytes()
        return app_client.post("/api/v1/deployments", headers=headers, content_type="multipart/form-data",
                               data={"file": [(io.BytesIO(model), "failing_script.bpmn")]}).status_code

    assert deploy(teacher) == 403
    assert app_client.post(f"/api/v1/process-instances/{instance}/retry", headers=teacher,
                           json={"variables": {"days": 1}}).status_code == 403
    assert len(engine.queries.definitions()) == versions  # nothing was deployed
    assert deploy(zhang) == 201


def test_a_deactivated_persons_tokens_stop_working(engine: Huhua, app_client: FlaskClient,
                                                   cli: Callable[..., Result]) -> None:
    zhang = _token(cli, "zhang")
    assert app_client.get("/api/v1/tasks", headers=zhang).status_code == 200
    account = tables.account
    with engine.services.database.engine.begin() as connection:  # what leaving the bureau does to the account
        connection.execute(update(account).where(account.c.username == "zhang").values(active=False))
    assert app_client.get("/api/v1/tasks", headers=zhang).status_code == 401
