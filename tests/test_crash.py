"""A process killed in the middle of a command leaves the instance exactly before or exactly after it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from engine.bootstrap import Huhua
from engine.commands import ENGINE, StartInstance
from engine.config import Settings
from tests.conftest import PROJECT
from tests.helpers import deploy_fixtures, history_kinds, only_task

pytestmark = pytest.mark.slow  # engine processes killed and started again

#: Runs one CompleteTask in a fresh process and SIGKILLs itself at the named point.
CRASHING_COMPLETION = textwrap.dedent("""
    import os, signal, sys
    from engine.bootstrap import Huhua, bootstrap
    from engine.commands import CompleteTask
    from engine.commands.unit_of_work import UnitOfWork
    from engine.runtime.state_codec import StateCodec

    point, task_id = sys.argv[1], int(sys.argv[2])

    def die(*_):
        os.kill(os.getpid(), signal.SIGKILL)

    if point == "while_writing":      # some rows written, the instance not yet
        StateCodec.data_dumps = die
    if point == "before_commit":      # every statement sent, the commit not
        insert = UnitOfWork.insert
        def insert_then_die(self, raw, rows):
            result = insert(self, raw, rows)
            if raw.statement.table.name == "event":  # the last statement of every command
                die()
            return result
        UnitOfWork.insert = insert_then_die
    if point == "after_commit":       # the command has returned: it committed
        execute = Huhua.execute
        Huhua.execute = lambda self, command: (execute(self, command), die())
    bootstrap(upgrade=False).execute(CompleteTask(task_id, "wang", {"approve": True}))
    print("not killed")
""")


def _complete_and_die(settings: Settings, point: str, task_id: int) -> subprocess.CompletedProcess:
    env = {**os.environ, "HUHUA_DATABASE_URL": settings.database_url, "HUHUA_DATA_DIR": str(settings.data_dir),
           "PYTHONPATH": str(PROJECT)}
    return subprocess.run([sys.executable, "-c", CRASHING_COMPLETION, point, str(task_id)], env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("point", ["while_writing", "before_commit"])
def test_killed_before_commit_leaves_the_instance_as_before(huhua: Huhua, settings: Settings, point: str) -> None:
    deploy_fixtures(huhua, "review.bpmn")
    started = huhua.execute(StartInstance("review", "admin", variables={"reviewers": ["wang"]}, origin=ENGINE))
    task = only_task(huhua, started["id"])
    before = huhua.queries.instance(started["id"])

    result = _complete_and_die(settings, point, task["id"])
    assert result.returncode == -signal.SIGKILL, result.stdout + result.stderr

    after = huhua.queries.instance(started["id"])
    assert after == before
    assert only_task(huhua, started["id"])["state"] == "open"


def test_killed_after_commit_leaves_the_instance_as_after(huhua: Huhua, settings: Settings) -> None:
    deploy_fixtures(huhua, "review.bpmn")
    started = huhua.execute(StartInstance("review", "admin", variables={"reviewers": ["wang"]}, origin=ENGINE))
    task = only_task(huhua, started["id"])

    result = _complete_and_die(settings, "after_commit", task["id"])
    assert result.returncode == -signal.SIGKILL, result.stdout + result.stderr

    after = huhua.queries.instance(started["id"])
    assert after["state"] == "completed" and after["data"]["outcome"] == "通过"
    assert history_kinds(huhua, started["id"])[-3:] == ["task_completed", "activities_completed", "instance_completed"]
    assert huhua.queries.tasks(instance_id=started["id"]) == []
