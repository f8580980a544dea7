"""The shipped processes, deployed from processes/ and run end to end as their users would."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.bootstrap import Huhua
from engine.clock import VirtualClock
from engine.commands import CompleteTask, DeployShippedProcesses, StartInstance
from engine.errors import NotFound
from tests.helpers import history_kinds, only_task
from workers.timer_runner import fire_due_timers


def test_work_plan_review_with_a_return_and_a_reminder(huhua: Huhua, clock: VirtualClock) -> None:
    huhua.execute(DeployShippedProcesses(str(huhua.settings.processes_dir)))
    started = huhua.execute(StartInstance("work_plan_review", "admin", org_scope="祁东县",
                                          variables={"submitter": "祁东县专干", "reviewer": "市教育局专干"}))
    submit = only_task(huhua, started["id"])
    assert (submit["name"], submit["assignee"], submit["form_key"]) == ("制定并报送工作方案", "祁东县专干", "work_plan")
    with pytest.raises(NotFound):  # the reviewer has no part in the task yet: as if it did not exist
        huhua.execute(CompleteTask(submit["id"], "市教育局专干", {"plan": "x"}))

    clock.advance(timedelta(days=7, minutes=1))  # no submission for a week: the reminder fires, the task stays
    assert fire_due_timers(huhua) == 1
    assert only_task(huhua, started["id"])["id"] == submit["id"]

    huhua.execute(CompleteTask(submit["id"], "祁东县专干", {"plan": "初稿"}))
    review = only_task(huhua, started["id"])
    assert (review["name"], review["assignee"]) == ("审核工作方案", "市教育局专干")
    huhua.execute(CompleteTask(review["id"], "市教育局专干", {"approved": False, "comment": "请补充班主任培训安排"}))

    resubmit = only_task(huhua, started["id"])
    assert resubmit["name"] == "制定并报送工作方案" and resubmit["id"] != submit["id"]
    huhua.execute(CompleteTask(resubmit["id"], "祁东县专干", {"plan": "修改稿"}))
    huhua.execute(CompleteTask(only_task(huhua, started["id"])["id"], "市教育局专干", {"approved": True}))

    view = huhua.queries.instance(started["id"])
    assert view["state"] == "completed"
    assert view["data"]["plan_status"] == "已通过" and view["data"]["plan"] == "修改稿"
    assert view["data"]["reminded"] is True
    assert history_kinds(huhua, started["id"]).count("task_completed") == 4
