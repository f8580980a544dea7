"""Small helpers shared by tests: deploying fixture models and reading rows through the public queries."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import Result

from engine.bootstrap import Huhua
from engine.commands import DeployModels

FIXTURES = Path(__file__).parent / "fixtures"


def deploy_fixtures(huhua: Huhua, *names: str, actor: str = "admin") -> dict:
    files = tuple((name, (FIXTURES / name).read_bytes()) for name in names)
    return huhua.execute(DeployModels(files=files, actor=actor))


def only_task(huhua: Huhua, instance_id: int) -> dict:
    tasks = huhua.queries.tasks(instance_id=instance_id)
    assert len(tasks) == 1, tasks
    return tasks[0]


def history_kinds(huhua: Huhua, instance_id: int) -> list[str]:
    return [event["kind"] for event in huhua.queries.instance(instance_id)["history"]]


def cli_json(result: Result) -> object:
    """The --json output of a command that must have succeeded."""
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)
