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


@pytest.fixture
def school_task(huhua: Huhua) -> tuple[Huhua, int]:
    """The monthly self-check of 衡东县第二小学, offered to its programme officers (two of them here)."""
    directory = generate("demo")
    directory.roles.append(Role("hengdong-s002-bzr3", "hengdong-s002", "programme_officer"))
    huhua.execute(LoadDirectory(directory, "admin", source="demo"))
    huhua.execute(DeployShippedProcesses(str(huhua.settings.processes_dir)))
    started = huhua.execute(StartInstance("monthly_school_check", "admin", org_scope="hengdong-s002", origin=ENGINE))
    return huhua, huhua.queries.instance(started["id"])["open_tasks"][0]["id"]


def _visible_to(huhua: Huhua, user: str) -> list[int]:
    return [t["id"] for t in huhua.queries.tasks(user=user)]


def test_a_candidate_claims_and_the_other_candidates_no_longer_see_it(school_task: tuple[Huhua, int]) -> None:
    huhua, task = school_task
    assert task in _visible_to(huhua, "hengdong-s002-zr") and task in _visible_to(huhua, "hengdong-s002-bzr3")
    with pytest.raises(NotFound):  # another school's officer: as if there were no such task
        huhua.execute(ClaimTask(task, "hengdong-s001-zr"))
    huhua.execute(ClaimTask(task, "hengdong-s002-bzr3"))
    assert _visible_to(huhua, "hengdong-s002-zr") == [] and _visible_to(huhua, "hengdong-s002-bzr3") == [task]
    with pytest.raises(Conflict):
        huhua.execute(ClaimTask(task, "hengdong-s002-zr"))
    with pytest.raises(Conflict, match=r"该任务已由 石英刚（hengdong-s002-bzr3） 于 .* 认领"):  # a colleague was first
        huhua.execute(CompleteTask(task, "hengdong-s002-zr", {"self_summary": "抢先"}))
    huhua.execute(UnclaimTask(task, "hengdong-s002-bzr3"))
    assert task in _visible_to(huhua, "hengdong-s002-zr")


def test_delegation_and_reassignment_follow_the_tiers_and_leave_a_trail(school_task: tuple[Huhua, int]) -> None:
    huhua, task = school_task
    huhua.execute(ClaimTask(task, "hengdong-s002-zr"))
    with pytest.raises(Forbidden):
        huhua.execute(DelegateTask(task, "hengdong-s002-bzr3", "hengdong-s002-bzr1"))  # not the assignee
    with pytest.raises(InvalidInput):
        huhua.execute(DelegateTask(task, "hengdong-s002-zr", "nobody-at-all"))
    huhua.execute(DelegateTask(task, "hengdong-s002-zr", "hengdong-s002-bzr1", "出差一周"))
    assert _visible_to(huhua, "hengdong-s002-bzr1") == [task] and _visible_to(huhua, "hengdong-s002-zr") == []
    with pytest.raises(NotFound):  # another county's officer: as if there were no such task
        huhua.execute(ReassignTask(task, "qidong-zr", "hengdong-s002-zr"))
    with pytest.raises(Forbidden):
        huhua.execute(ReassignTask(task, "hengdong-s002-bzr1", "hengdong-s002-bzr2"))  # a teacher
    huhua.execute(ReassignTask(task, "hengdong-zr", "hengdong-s002-bzr3", "原负责人调岗"))  # the county above
    huhua.execute(CompleteTask(task, "hengdong-s002-bzr3", {"self_summary": "已自查"}))
    history = [(e["kind"], e["actor"], e["detail"].get("assignee")) for e in
               huhua.queries.instance(huhua.queries.task(task)["instance_id"])["history"]
               if e["task_id"] == task]
    assert history == [("task_created", None, None), ("task_claimed", "hengdong-s002-zr", "hengdong-s002-zr"),
                       ("task_delegated", "hengdong-s002-zr", "hengdong-s002-bzr1"),
                       ("task_reassigned", "hengdong-zr", "hengdong-s002-bzr3"),
                       ("task_completed", "hengdong-s002-bzr3", None)]


def test_claim_and_delegate_over_http(school_task: tuple[Huhua, int]) -> None:
    huhua, task = school_task
    with create_app(huhua, {"TESTING": True}).test_client() as client:
        client: FlaskClient
        me = {"X-Huhua-User": "hengdong-s002-zr"}
        assert client.post(f"/api/v1/tasks/{task}/claim", headers=me).json["assignee"] == "hengdong-s002-zr"
        again = client.post(f"/api/v1/tasks/{task}/claim", headers={"X-Huhua-User": "hengdong-s002-bzr3"})
        assert again.status_code == 409
        handed = client.post(f"/api/v1/tasks/{task}/delegate", headers=me, json={"to": "hengdong-s002-bzr2"})
        assert handed.status_code == 200 and handed.json["previous"] == "hengdong-s002-zr"
        assert client.post(f"/api/v1/tasks/{task}/delegate", headers=me, json={}).status_code == 400
