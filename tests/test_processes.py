"""The shipped processes, deployed from processes/ and run end to end as their users would."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from engine.bootstrap import Huhua
from engine.clock import VirtualClock
from engine.commands import CompleteTask, DeployShippedProcesses, LoadDirectory, StartInstance
from engine.errors import Forbidden, InvalidInput
from engine.org.profiles import generate
from tests.conftest import PROJECT
from tests.helpers import deploy_fixtures, fired_timers, history_kinds, only_task

PROCESSES = PROJECT / "processes"


def test_work_plan_review_with_a_return_and_a_reminder(huhua: Huhua, clock: VirtualClock) -> None:
    """The county's programme officer submits, the city's reviews: both read from the directory, not named.

    The model is a fixture since the library's launch (launch_county, launch_school) carries the work plans."""
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    huhua.execute(DeployShippedProcesses(str(huhua.settings.processes_dir)))
    deploy_fixtures(huhua, "work_plan_review.bpmn", "work_plan.form.json", "work_plan_review.form.json")
    started = huhua.execute(StartInstance("work_plan_review", "qidong-zr", org_scope="qidong"))
    submit = only_task(huhua, started["id"])
    assert (submit["name"], submit["candidate_roles"]) == ("制定并报送工作方案", ["programme_officer@qidong"])
    with pytest.raises(Forbidden):
        huhua.execute(CompleteTask(submit["id"], "hy-zr", {"plan": "x"}))

    clock.advance(timedelta(days=7, minutes=1))  # no submission for a week: the reminder fires, the task stays
    assert fired_timers(huhua) == 1
    assert only_task(huhua, started["id"])["id"] == submit["id"]

    with pytest.raises(InvalidInput):  # its form says what a submission holds: no verdict slipped in with it
        huhua.execute(CompleteTask(submit["id"], "qidong-zr", {"plan": "初稿", "plan_status": "已通过"}))
    huhua.execute(CompleteTask(submit["id"], "qidong-zr", {"plan": "初稿"}))
    review = only_task(huhua, started["id"])
    assert (review["name"], review["candidate_roles"]) == ("审核工作方案", ["programme_officer@hy"])
    with pytest.raises(Forbidden):  # the county does not review its own plan
        huhua.execute(CompleteTask(review["id"], "qidong-zr", {"approved": True}))
    huhua.execute(CompleteTask(review["id"], "hy-zr", {"approved": False, "comment": "请补充班主任培训安排"}))

    resubmit = only_task(huhua, started["id"])
    assert resubmit["name"] == "制定并报送工作方案" and resubmit["id"] != submit["id"]
    huhua.execute(CompleteTask(resubmit["id"], "qidong-zr", {"plan": "修改稿"}))
    huhua.execute(CompleteTask(only_task(huhua, started["id"])["id"], "hy-zr2", {"approved": True}))

    view = huhua.queries.instance(started["id"])
    assert view["state"] == "completed"
    assert view["data"]["plan_status"] == "已通过" and view["data"]["plan"] == "修改稿"
    assert view["data"]["reminded"] is True
    assert history_kinds(huhua, started["id"]).count("task_completed") == 4


def test_every_user_task_of_the_library_names_a_form_that_ships() -> None:
    """A task whose form is missing would take any data its holder sends: every formKey has its form file."""
    forms = {path.name.removesuffix(".form.json") for path in (PROCESSES / "forms").glob("*.form.json")}
    named = {(path.name, key) for path in PROCESSES.glob("*.bpmn")
             for key in re.findall(r'name="formKey" value="([^"]+)"', path.read_text(encoding="utf-8"))}
    assert named and {(file, key) for file, key in named if key not in forms} == set()
