"""Headers and limits: every answer tells the browser to keep it to this site, and no call may be too large, too
deep or too costly — each refusal a clear 4xx naming what was too much, never a 500 with a traceback."""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest
from alembic import command as alembic
from flask.testing import FlaskClient
from sqlalchemy import insert

from engine.access.policy import ROUTES, Rule
from engine.bootstrap import Huhua, bootstrap
from engine.clock import VirtualClock
from engine.commands import (
    AddAttachment,
    ClaimTask,
    CorrelateMessage,
    CreateApiToken,
    DeployModels,
    LoadDirectory,
    RetryIncidents,
    SetPassword,
    StartInstance,
)
from engine.config import Settings, load_settings
from engine.errors import InvalidInput, InvalidModel, TooLarge
from engine.org.profiles import generate
from engine.store import migration, tables
from engine.store.database import Database
from engine.web import create_app
from tests.helpers import deploy_fixtures

PASSWORD = "correct horse"
TEACHER = "zhuhui-s001-bzr1"
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
MiB = 1024 * 1024


def _engine(settings: Settings, clock: VirtualClock, **changes: object) -> Huhua:
    huhua = bootstrap(replace(settings, **changes), clock=clock, upgrade=False)
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    deploy_fixtures(huhua, "teacher_report.bpmn", "teacher_home_visit.form.json", "await_message.bpmn",
                    "straight.bpmn")
    for person in ("admin", TEACHER):
        huhua.execute(SetPassword(person, PASSWORD, "admin"))
    return huhua


@pytest.fixture
def engine(settings: Settings, clock: VirtualClock) -> Iterator[Huhua]:
    huhua = _engine(settings, clock, max_attachments_per_task=2, max_attachment_bytes_per_person=3 * 1024)
    yield huhua
    huhua.close()


def _browser(huhua: Huhua, user: str) -> FlaskClient:
    """A real log-in, as a person's browser has it (session cookie, CSRF token on changes)."""
    client = create_app(huhua, {"SECRET_KEY": "limits", "TRUST_USER_HEADER": False,
                                "WTF_CSRF_ENABLED": False}).test_client()
    answer = client.post("/login", data={"username": user, "password": PASSWORD})
    assert answer.status_code == 302, answer.data[:300]
    return client


def _token(huhua: Huhua, user: str) -> dict[str, str]:
    created = huhua.execute(CreateApiToken(user, "limits test", "admin"))
    return {"Authorization": f"Bearer {created['token']}"}


# --- headers ---------------------------------------------------------------------------------------------------------

def _assert_guarded(answer: object, *, stored: bool = False) -> str:
    headers = answer.headers  # type: ignore[attr-defined]
    policy = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy and "base-uri 'none'" in policy
    scripts = re.search(r"script-src ([^;]*)", policy).group(1)  # type: ignore[union-attr]
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    if not stored:
        assert headers["Cache-Control"] == "no-store"
    nonce = re.search(r"'nonce-([^']+)'", scripts)
    assert nonce, policy
    return nonce.group(1)


def test_pages_and_json_carry_the_security_headers_and_every_inline_script_its_nonce(engine: Huhua) -> None:
    started = engine.execute(StartInstance("teacher_report", "admin", org_scope="zhuhui-s001"))
    task = engine.queries.instance(started["id"])["open_tasks"][0]["id"]
    browser = _browser(engine, TEACHER)
    admin = _browser(engine, "admin")
    pages = [(browser, "/login"), (browser, "/inbox"), (browser, f"/inbox/tasks/{task}"), (admin, "/admin/"),
             (admin, "/admin/dashboard"), (admin, f"/admin/instances/{started['id']}"), (admin, "/admin/jobs")]
    nonces, inline_scripts = set(), 0
    for client, path in pages:
        page = client.get(path)
        assert page.status_code == 200, (path, page.status_code)
        nonce = _assert_guarded(page)
        nonces.add(nonce)
        html = page.get_data(as_text=True)
        inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
        inline_scripts += len(inline)
        assert all(f'nonce="{nonce}"' in attributes for attributes in inline), (path, inline)  # each with the nonce
        assert not re.search(r"\son[a-z]+=", html), path  # and no inline event handlers, which no nonce allows
    assert inline_scripts > len(pages) and len(nonces) == len(pages)  # a fresh nonce for every response
    for answer in (browser.get("/api/v1/tasks"), engine_client(engine).get("/api/v1/tasks", headers=_token(
            engine, TEACHER)), browser.get("/api/v1/process-instances/999999")):
        _assert_guarded(answer)
    library = browser.get(re.search(r"/assets/charts-\w+\.js", admin.get("/admin/dashboard").get_data(as_text=True))[0])
    assert library.status_code == 200 and "no-store" not in library.headers.get("Cache-Control", "")
    _assert_guarded(library, stored=True)


def test_an_administration_page_for_an_id_beyond_64_bits_is_not_found(engine: Huhua) -> None:
    """No row has such an id and the database cannot be asked about one: 404, as for any missing id."""
    admin, beyond = _browser(engine, "admin"), 2**63
    for path in (f"/admin/processes/{beyond}/decisions/score_band", f"/admin/instances/{beyond}",
                 f"/admin/processes/{beyond}/edit"):
        assert admin.get(path).status_code == 404, path


def engine_client(huhua: Huhua) -> FlaskClient:
    return create_app(huhua, {"SECRET_KEY": "limits", "TRUST_USER_HEADER": False}).test_client()


def test_secure_cookies_mark_the_session_and_language_cookies_secure(settings: Settings, clock: VirtualClock) -> None:
    assert load_settings({"HUHUA_SECURE_COOKIES": "1"}).secure_cookies
    assert not load_settings({}).secure_cookies
    for secure in (True, False):
        huhua = _engine(settings, clock, secure_cookies=secure)
        try:
            client = create_app(huhua, {"SECRET_KEY": "limits", "TRUST_USER_HEADER": False,
                                        "WTF_CSRF_ENABLED": False}).test_client()
            logged_in = client.post("/login", data={"username": TEACHER, "password": PASSWORD})
            cookies = logged_in.headers.getlist("Set-Cookie") + client.get("/login?lang=en").headers.getlist(
                "Set-Cookie")
            assert cookies and all(("; Secure" in c) == secure for c in cookies), cookies
        finally:
            huhua.close()


# --- body size, depth and variables ----------------------------------------------------------------------------------

def test_30_mib_of_variables_are_refused_and_1_mib_more_than_allowed_names_the_field(engine: Huhua) -> None:
    client, auth = engine_client(engine), _token(engine, "admin")
    huge = json.dumps({"process_key": "straight", "variables": {"essay": "字" * (10 * MiB)}})  # 30 MiB of UTF-8
    answer = client.post("/api/v1/process-instances", data=huge, content_type="application/json", headers=auth)
    assert answer.status_code == 413 and answer.json["error"] == "too_large" and "bytes" in answer.json["message"]
    large = {"essay": "a" * (MiB + 10)}
    answer = client.post("/api/v1/process-instances", json={"process_key": "straight", "variables": large},
                         headers=auth)
    assert answer.status_code == 413 and answer.json["problems"][0]["field"] == "variables", answer.json
    assert engine.queries.instances() == []  # nothing started
    started = engine.execute(StartInstance("teacher_report", "admin", org_scope="zhuhui-s001"))
    task = engine.queries.instance(started["id"])["open_tasks"][0]["id"]
    answer = client.post(f"/api/v1/tasks/{task}/complete", json={"data": large}, headers=_token(engine, TEACHER))
    assert answer.status_code == 413 and answer.json["problems"][0]["field"] == "data"
    answer = client.post("/api/v1/messages", json={"name": "plan_submitted", "variables": large}, headers=auth)
    assert answer.status_code == 413 and answer.json["problems"][0]["field"] == "variables"
    for command in (CorrelateMessage("plan_submitted", "admin", None, large),
                    RetryIncidents(started["id"], "admin", variables=large)):
        with pytest.raises(TooLarge) as refused:  # the CLI and workers call the same commands
            engine.execute(command)
        assert refused.value.problems[0].field == "variables"


def test_a_nul_character_in_an_address_or_a_body_is_refused_by_name(engine: Huhua) -> None:
    """PostgreSQL keeps no NUL in text: a query parameter or body text holding one once gave a 500 there."""
    client, auth = engine_client(engine), _token(engine, "admin")
    listed = client.get("/api/v1/process-instances?process_key=%00", headers=auth)
    assert listed.status_code == 400 and listed.json["problems"][0]["field"] == "process_key"
    started = engine.execute(StartInstance("teacher_report", "admin", org_scope="zhuhui-s001"))
    task = engine.queries.instance(started["id"])["open_tasks"][0]["id"]
    comment = client.post(f"/api/v1/tasks/{task}/comments", json={"body": "a\u0000b"}, headers=auth)
    assert comment.status_code == 400 and comment.json["problems"][0]["field"] == "body"
    assert "Traceback" not in comment.get_data(as_text=True)
    assert engine.queries.comments(task) == []


@pytest.mark.parametrize("depth", [40, 900, 100_000])
def test_deeply_nested_json_is_refused_cleanly(engine: Huhua, depth: int) -> None:
    client, auth = engine_client(engine), _token(engine, "admin")
    body = '{"process_key": "straight", "variables": {"x": ' + "[" * depth + "]" * depth + "}}"
    started = time.thread_time()  # the work this request made (the test client runs it here), not the machine's load
    answer = client.post("/api/v1/process-instances", data=body, content_type="application/json", headers=auth)
    assert answer.status_code == 400, answer.data[:300]
    assert answer.json["problems"][0]["field"] == "body" and "嵌套" in answer.json["message"]
    assert "Traceback" not in answer.get_data(as_text=True) and time.thread_time() - started < 2
    nested: list = []
    for _ in range(40):
        nested = [nested]
    with pytest.raises(InvalidInput) as refused:
        engine.execute(StartInstance("straight", "admin", variables={"x": nested}))
    assert refused.value.problems[0].field == "variables"
    assert engine.queries.instances() == []


def test_an_unexpected_error_answers_a_plain_500_without_a_traceback(engine: Huhua,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app(engine, {"SECRET_KEY": "limits", "TRUST_USER_HEADER": False})

    @app.get("/boom")
    def boom() -> str:
        raise RecursionError("deep inside: secret detail")

    monkeypatch.setitem(ROUTES, "boom", Rule.PUBLIC)  # the route guard lets no endpoint run without a rule

    answer = app.test_client().get("/boom")
    text = answer.get_data(as_text=True)
    assert answer.status_code == 500 and "Traceback" not in text and "secret detail" not in text
    assert answer.json["error"] == "internal" and not app.debug


# --- validate --------------------------------------------------------------------------------------------------------

def _chain(tasks: int) -> bytes:
    """A process of ``tasks`` script tasks in a row: what made one validate call burn seconds of CPU."""
    parts = ['<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/'
             '20100524/MODEL" id="d" targetNamespace="x"><bpmn:process id="p" isExecutable="true">'
             '<bpmn:startEvent id="s"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>']
    for i in range(tasks):
        source = "s" if i == 0 else f"t{i - 1}"
        parts.append(f'<bpmn:sequenceFlow id="f{i}" sourceRef="{source}" targetRef="t{i}"/><bpmn:scriptTask '
                     f'id="t{i}"><bpmn:incoming>f{i}</bpmn:incoming><bpmn:outgoing>f{i + 1}</bpmn:outgoing>'
                     f'<bpmn:script>x{i} = {i}</bpmn:script></bpmn:scriptTask>')
    parts.append(f'<bpmn:sequenceFlow id="f{tasks}" sourceRef="t{tasks - 1}" targetRef="e"/><bpmn:endEvent id="e">'
                 f'<bpmn:incoming>f{tasks}</bpmn:incoming></bpmn:endEvent></bpmn:process></bpmn:definitions>')
    return "".join(parts).encode()


def test_validate_is_the_administrators_and_a_hostile_model_is_refused_quickly(engine: Huhua) -> None:
    client = engine_client(engine)
    small = {"files": [{"name": "chain.bpmn", "content": _chain(3).decode()}]}
    assert client.post("/api/v1/validate", json=small, headers=_token(engine, TEACHER)).status_code == 403
    auth = _token(engine, "admin")
    assert client.post("/api/v1/validate", json=small, headers=auth).json["valid"] is True
    hostile = _chain(4000)  # under the 5 MB size cap, 20,000 elements
    assert len(hostile) < engine.settings.max_model_bytes
    began = time.thread_time()  # the CPU this request burnt (the test client runs it here), whatever runs beside
    answer = client.post("/api/v1/validate", headers=auth, content_type="multipart/form-data",
                         data={"file": (io.BytesIO(hostile), "chain.bpmn")})
    assert time.thread_time() - began < 1.5
    assert answer.status_code == 422 and "at most 5000" in json.dumps(answer.json, ensure_ascii=False)
    parts = [(io.BytesIO(_chain(700)), f"part{n}.bpmn") for n in range(3)]  # 3,500 elements each
    began = time.thread_time()
    answer = client.post("/api/v1/validate", headers=auth, content_type="multipart/form-data", data={"file": parts})
    assert answer.status_code == 422 and "more than 10000 XML elements together" in answer.json["message"]
    assert time.thread_time() - began < 1.5
    many = [(io.BytesIO(_chain(2)), f"m{n}.bpmn") for n in range(201)]
    answer = client.post("/api/v1/validate", headers=auth, content_type="multipart/form-data", data={"file": many})
    assert answer.status_code == 422 and "at most 200" in answer.json["message"]
    with pytest.raises(InvalidModel, match="at most 5000"):  # deploying is bounded the same way
        engine.execute(DeployModels((("chain.bpmn", hostile),), "admin"))


# --- attachments -----------------------------------------------------------------------------------------------------

def test_attachments_beyond_a_tasks_count_or_a_persons_bytes_are_refused(engine: Huhua) -> None:
    client, auth = engine_client(engine), _token(engine, TEACHER)
    tasks = []
    for _ in range(3):
        started = engine.execute(StartInstance("teacher_report", "admin", org_scope="zhuhui-s001"))
        tasks.append(engine.queries.instance(started["id"])["open_tasks"][0]["id"])
        engine.execute(ClaimTask(tasks[-1], TEACHER))

    def upload(task: int, size: int) -> object:
        return client.post(f"/api/v1/tasks/{task}/attachments", headers=auth, content_type="multipart/form-data",
                           data={"file": (io.BytesIO(PDF + b"0" * size), "记录.pdf")})

    assert upload(tasks[0], 100).status_code == 201 and upload(tasks[0], 100).status_code == 201
    third = upload(tasks[0], 100)
    assert third.status_code == 413 and third.json["problems"][0]["field"] == "task"
    assert "最多 2 个" in third.json["message"]
    assert upload(tasks[1], 2000).status_code == 201  # within the person's 3 KiB: about 2.3 KiB so far
    assert upload(tasks[2], 100).status_code == 201  # about 2.4 KiB
    over = upload(tasks[2], 1000)
    assert over.status_code == 413 and over.json["problems"][0]["field"] == "uploaded_by"
    assert [len(engine.queries.attachments(t)) for t in tasks] == [2, 1, 1]
    with pytest.raises(TooLarge):
        engine.execute(AddAttachment(tasks[2], TEACHER, "b.pdf", PDF + b"0" * 800))  # the CLI's way, bounded alike


def test_the_uploader_index_migrates_a_database_that_holds_attachments(settings: Settings, clock: VirtualClock) -> None:
    """Down to 0015, a file uploaded there, up again: the file counts toward its uploader's quota."""
    database = Database(settings.database_url)
    config = migration.alembic_config(database)
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        alembic.downgrade(config, "0015")
    with database.engine.begin() as connection:
        connection.execute(insert(tables.task_attachment).values(
            task_id=1, instance_id=1, name="旧.pdf", content_type="application/pdf", size=3000, sha256="0" * 64,
            content=b"x", uploaded_by=TEACHER, uploaded_at=clock.now()))
    migration.upgrade(database)
    assert migration.current_revision(database) is not None
    database.dispose()
    huhua = _engine(settings, clock, max_attachment_bytes_per_person=3 * 1024)
    try:
        started = huhua.execute(StartInstance("teacher_report", "admin", org_scope="zhuhui-s001"))
        task = huhua.queries.instance(started["id"])["open_tasks"][0]["id"]
        huhua.execute(ClaimTask(task, TEACHER))
        with pytest.raises(TooLarge):
            huhua.execute(AddAttachment(task, TEACHER, "新.pdf", PDF + b"0" * 100))
    finally:
        huhua.close()
