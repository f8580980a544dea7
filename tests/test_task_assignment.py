"""Claiming, giving back, delegating and reassigning tasks: only the right people, each step in the history."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from engine.bootstrap import Huhua
from engine.commands import (
    ENGINE,
    ClaimTask,
    CompleteTask,
    DelegateTask,
    DeployShippedProcesses,
    LoadDirectory,
    ReassignTask,
    StartInstance,
    UnclaimTask,
)
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.org.directory import Role
from engine.org.profiles import generate
from engine.web import create_app
from tests.library.monthly_checks import CLASS_ITEMS
from workers.job_worker import run_due_jobs

SHEET = "check_class_teachers"


@pytest.fixture
def school_task(huhua: Huhua) -> tuple[Huhua, int]:
    """The monthly check of 衡东县第二小学's class teachers, offered to its 德育处主任 (two of them here)."""
    directory = generate("demo")
    directory.roles.append(Role("hengdong-s002-bzr3", "hengdong-s002", "moral_education_head"))
    huhua.execute(LoadDirectory(directory, "admin", source="demo"))
    huhua.execute(DeployShippedProcesses(str(huhua.settings.processes_dir)))
    started = huhua.execute(StartInstance("monthly_school_check", "admin", org_scope="hengdong-s002", origin=ENGINE))
    run_due_jobs(huhua)  # the roster is read from the directory
    return huhua, next(t["id"] for t in huhua.queries.instance(started["id"])["open_tasks"] if t["element_id"] == SHEET)


def _visible_to(huhua: Huhua, user: str) -> list[int]:
    return [t["id"] for t in huhua.queries.tasks(user=user) if t["element_id"] == SHEET]


def _sheet(huhua: Huhua, task: int) -> dict:
    """The class teachers' sheet filled in: every teacher of the directory at full marks."""
    rows = huhua.queries.instance(huhua.queries.task(task)["instance_id"])["data"]["class_teacher_scores"]
    return {"class_teacher_scores": [{**row, **CLASS_ITEMS} for row in rows], "class_problems": "无",
            "class_requirements": "无"}


def test_a_candidate_claims_and_the_other_candidates_no_longer_see_it(school_task: tuple[Huhua, int]) -> None:
    huhua, task = school_task
    assert _visible_to(huhua, "hengdong-s002-dy") == _visible_to(huhua, "hengdong-s002-bzr3") == [task]
    with pytest.raises(NotFound):  # another school's 德育处主任: as if there were no such task
        huhua.execute(ClaimTask(task, "hengdong-s001-dy"))
    huhua.execute(ClaimTask(task, "hengdong-s002-bzr3"))
    assert _visible_to(huhua, "hengdong-s002-dy") == [] and _visible_to(huhua, "hengdong-s002-bzr3") == [task]
    with pytest.raises(Conflict):
        huhua.execute(ClaimTask(task, "hengdong-s002-dy"))
    colleague = next(u["name"] for u in huhua.queries.users(unit="hengdong-s002", limit=50)
                     if u["id"] == "hengdong-s002-bzr3")  # was first
    with pytest.raises(Conflict, match=rf"{colleague} claimed this task at "):
        huhua.execute(CompleteTask(task, "hengdong-s002-dy", _sheet(huhua, task)))
    assert huhua.queries.task(task)["state"] == "open"
    huhua.execute(UnclaimTask(task, "hengdong-s002-bzr3"))
    assert _visible_to(huhua, "hengdong-s002-dy") == [task]


def test_delegation_and_reassignment_follow_the_tiers_and_leave_a_trail(school_task: tuple[Huhua, int]) -> None:
    huhua, task = school_task
    huhua.execute(ClaimTask(task, "hengdong-s002-dy"))
    with pytest.raises(Forbidden):
        huhua.execute(DelegateTask(task, "hengdong-s002-bzr3", "hengdong-s002-zr"))  # not the assignee
    with pytest.raises(InvalidInput):
        huhua.execute(DelegateTask(task, "hengdong-s002-dy", "nobody-at-all"))
    huhua.execute(DelegateTask(task, "hengdong-s002-dy", "hengdong-s002-zr", "出差一周"))  # a colleague of the school
    assert _visible_to(huhua, "hengdong-s002-zr") == [task] and _visible_to(huhua, "hengdong-s002-dy") == []
    with pytest.raises(NotFound):  # another county's officer: as if there were no such task
        huhua.execute(ReassignTask(task, "qidong-zr", "hengdong-s002-dy"))
    with pytest.raises(Forbidden):  # the delegatee, at the school: only the tier above reassigns
        huhua.execute(ReassignTask(task, "hengdong-s002-zr", "hengdong-s002-bzr2"))
    with pytest.raises(NotFound):  # a teacher of the school, who has no part in it
        huhua.execute(ReassignTask(task, "hengdong-s002-bzr1", "hengdong-s002-bzr2"))
    huhua.execute(ReassignTask(task, "hengdong-zr", "hengdong-s002-bzr3", "原负责人调岗"))  # the county above
    huhua.execute(CompleteTask(task, "hengdong-s002-bzr3", _sheet(huhua, task)))
    history = [(e["kind"], e["actor"], e["detail"].get("assignee")) for e in
               huhua.queries.instance(huhua.queries.task(task)["instance_id"])["history"]
               if e["task_id"] == task]
    assert history == [("task_created", None, None), ("task_claimed", "hengdong-s002-dy", "hengdong-s002-dy"),
                       ("task_delegated", "hengdong-s002-dy", "hengdong-s002-zr"),
                       ("task_reassigned", "hengdong-zr", "hengdong-s002-bzr3"),
                       ("task_completed", "hengdong-s002-bzr3", None)]


def test_claim_and_delegate_over_http(school_task: tuple[Huhua, int]) -> None:
    huhua, task = school_task
    with create_app(huhua, {"TESTING": True}).test_client() as client:
        client: FlaskClient
        me = {"X-Huhua-User": "hengdong-s002-dy"}
        assert client.post(f"/api/v1/tasks/{task}/claim", headers=me).json["assignee"] == "hengdong-s002-dy"
        again = client.post(f"/api/v1/tasks/{task}/claim", headers={"X-Huhua-User": "hengdong-s002-bzr3"})
        assert again.status_code == 409
        handed = client.post(f"/api/v1/tasks/{task}/delegate", headers=me, json={"to": "hengdong-s002-bzr2"})
        assert handed.status_code == 200 and handed.json["previous"] == "hengdong-s002-dy"
        assert client.post(f"/api/v1/tasks/{task}/delegate", headers=me, json={}).status_code == 400
