"""What a request learns of its caller (who they are, whether they administer, which roles they hold) is kept for that
request only (engine.web.auth, engine.access.identity): a role taken away or given back counts from the very next
request, over the API with a token and on the pages with a log-in, however many requests came before it."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from engine.bootstrap import Huhua
from engine.commands import DeployModels, LoadDirectory, SetPassword
from engine.org.directory import Directory
from engine.org.profiles import generate
from engine.web import create_app
from tests.helpers import one_task_model, start_at, token_headers

TEACHER, SCHOOL, PASSWORD = "zhuhui-s001-bzr1", "zhuhui-s001", "teacher-secret-1"
#: Offered to the school's class teachers, of whom the demo school has several: nobody is assigned it outright.
MODEL = one_task_model("class_notice", "班级通知", "阅读班级通知", "candidateRoles", "class_teacher")


def _directory(*, teacher_keeps_role: bool) -> Directory:
    directory = generate("demo")
    if not teacher_keeps_role:
        directory.roles = [r for r in directory.roles if not (r.person_id == TEACHER and r.role == "class_teacher")]
    return directory


def _offered_task(huhua: Huhua) -> int:
    huhua.execute(LoadDirectory(_directory(teacher_keeps_role=True), "admin", source="demo"))
    huhua.execute(DeployModels((("class_notice.bpmn", MODEL.encode()),), "admin"))
    tasks = huhua.queries.tasks(instance_id=start_at(huhua, "class_notice", SCHOOL))
    assert len(tasks) == 1 and tasks[0]["assignee"] is None, tasks
    return int(tasks[0]["id"])


def _listed(client: FlaskClient, headers: dict[str, str]) -> tuple[list[int], str]:
    answer = client.get("/api/v1/tasks", headers=headers)
    assert answer.status_code == 200, answer.json
    return [task["id"] for task in answer.json], answer.headers["X-Total-Count"]


def test_a_role_taken_away_counts_from_the_next_api_call(huhua: Huhua) -> None:
    task = _offered_task(huhua)
    bearer = token_headers(huhua, TEACHER)
    client = create_app(huhua, {"SECRET_KEY": "answers", "TRUST_USER_HEADER": False}).test_client()
    for _ in range(3):  # as a program polls: each call asks who the teacher is and what they hold
        assert _listed(client, bearer) == ([task], "1")
        assert client.get(f"/api/v1/tasks/{task}", headers=bearer).status_code == 200

    huhua.execute(LoadDirectory(_directory(teacher_keeps_role=False), "admin", source="demo"))
    assert _listed(client, bearer) == ([], "0")
    assert client.get(f"/api/v1/tasks/{task}", headers=bearer).status_code == 404
    assert client.post(f"/api/v1/tasks/{task}/claim", headers=bearer).status_code == 404

    huhua.execute(LoadDirectory(_directory(teacher_keeps_role=True), "admin", source="demo"))
    assert _listed(client, bearer) == ([task], "1")
    assert client.post(f"/api/v1/tasks/{task}/claim", headers=bearer).status_code == 200


def test_a_role_taken_away_counts_from_the_next_page(huhua: Huhua) -> None:
    task = _offered_task(huhua)
    huhua.execute(SetPassword(TEACHER, PASSWORD, "admin"))
    client = create_app(huhua, {"SECRET_KEY": "answers", "TRUST_USER_HEADER": False}).test_client()
    form = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    logged_in = client.post("/login", data={"username": TEACHER, "password": PASSWORD, "csrf_token": csrf})
    assert logged_in.status_code == 302
    shown = f'data-task="{task}"'
    for _ in range(2):
        assert shown in client.get("/inbox?view=offered").get_data(as_text=True)

    huhua.execute(LoadDirectory(_directory(teacher_keeps_role=False), "admin", source="demo"))
    assert shown not in client.get("/inbox?view=offered").get_data(as_text=True)
    assert client.get(f"/inbox/tasks/{task}").status_code == 404
