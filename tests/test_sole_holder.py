"""Claiming is skipped when only one person holds the role a task is offered to: the task is theirs at once
(the history says why), a pool of two still claims; a task with no pool offers no 退回待认领."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from engine.bootstrap import Huhua
from engine.commands import LoadDirectory, SetPassword
from engine.commands.assignment import SOLE_HOLDER
from engine.org.directory import Role
from engine.org.profiles import generate
from tests.helpers import served_client, start_at
from workers.job_worker import run_due_jobs

SOLE, PAIR = "zhuhui-s001", "zhuhui-s002"  # zhuhui-s002 gets a second 德育处主任 below


@pytest.fixture
def client(demo: Huhua) -> Iterator[FlaskClient]:
    with served_client(demo, SECRET_KEY="sole", WTF_CSRF_ENABLED=False) as client:
        yield client


def _login(client: FlaskClient, demo: Huhua, user: str) -> None:
    demo.execute(SetPassword(user, "correct horse", "admin"))
    client.get("/logout")
    assert client.post("/login", data={"username": user, "password": "correct horse"}).status_code == 302


def _sheet(demo: Huhua, school: str) -> dict:
    """The monthly check's class-teacher sheet at ``school``, offered to its 德育处主任."""
    start_at(demo, "monthly_school_check", school)
    run_due_jobs(demo)
    return next(t for t in demo.queries.tasks(limit=500)
                if t["element_id"] == "check_class_teachers" and t["org_scope"] == school)


def test_the_only_holder_gets_the_task_without_claiming_and_a_pool_of_two_claims(
        demo: Huhua, client: FlaskClient) -> None:
    directory = generate("demo")
    directory.roles.append(Role(f"{PAIR}-bzr2", PAIR, "moral_education_head"))
    demo.execute(LoadDirectory(directory, "admin", source="a second 德育处主任"))

    sole = _sheet(demo, SOLE)
    assert sole["assignee"] == f"{SOLE}-dy" and sole["candidate_roles"] == [f"moral_education_head@{SOLE}"]
    said = [e["detail"] for e in demo.queries.task_history(sole["id"])["events"]
            if e["kind"] == "task_assigned" and e["task_id"] == sole["id"]]
    assert said == [{"assignee": f"{SOLE}-dy", "reason": SOLE_HOLDER}]
    _login(client, demo, f"{SOLE}-dy")
    page = client.get(f"/inbox/tasks/{sole['id']}").get_data(as_text=True)
    assert 'id="submit"' in page and 'id="claim"' not in page  # the form at once, nothing to claim
    assert 'id="unclaim"' not in page and 'id="delegate"' in page  # no pool to go back to; a colleague may stand in

    pair = _sheet(demo, PAIR)
    assert pair["assignee"] is None  # two hold the role: a group task, as before
    assert [e for e in demo.queries.task_history(pair["id"])["events"] if e["kind"] == "task_assigned"] == []
    _login(client, demo, f"{PAIR}-bzr2")
    assert 'id="claim"' in client.get(f"/inbox/tasks/{pair['id']}").get_data(as_text=True)
    assert client.post(f"/api/v1/tasks/{pair['id']}/claim").status_code == 200
    page = client.get(f"/inbox/tasks/{pair['id']}").get_data(as_text=True)
    assert 'id="submit"' in page and 'id="unclaim"' in page

    # a change of staff: the sole holder's task follows the role; the claimed one stays with who claimed it
    directory.roles[:] = [r for r in directory.roles if (r.unit_id, r.role) != (SOLE, "moral_education_head")]
    directory.roles.append(Role(f"{SOLE}-bzr3", SOLE, "moral_education_head"))
    directory.roles[:] = [r for r in directory.roles if (r.person_id, r.role) != (f"{PAIR}-dy", "moral_education_head")]
    demo.execute(LoadDirectory(directory, "admin", source="staff change"))
    assert demo.queries.task(sole["id"])["assignee"] == f"{SOLE}-bzr3"
    assert demo.queries.task(pair["id"])["assignee"] == f"{PAIR}-bzr2"


def test_a_personal_task_offers_neither_delegation_nor_a_pool(demo: Huhua, client: FlaskClient) -> None:
    teacher = f"{PAIR}-bzr1"
    start_at(demo, "ct_routine_school", PAIR, semester="2026年春季学期", people=[{"id": teacher, "name": "班主任"}])
    task = next(t for t in demo.queries.tasks(user=teacher) if t["element_id"] == "file_plan")
    _login(client, demo, teacher)
    page = client.get(f"/inbox/tasks/{task['id']}").get_data(as_text=True)
    assert 'id="submit"' in page and 'id="delegate"' not in page and 'id="unclaim"' not in page
