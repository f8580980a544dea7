"""Scenario tests of the process library: the demo org directory loaded, processes/ deployed as shipped."""

from __future__ import annotations

import pytest

from engine.bootstrap import Huhua
from engine.commands import CompleteTask
from workers.job_worker import run_due_jobs


@pytest.fixture
def demo(huhua: Huhua, demo_template: None) -> Huhua:
    """The engine with the demo directory (13 units × 3 schools × 5 class teachers) and the library deployed
    (the database is a copy of a template where both were loaded once, see tests/conftest.py)."""
    return huhua


def inbox(huhua: Huhua, user: str) -> list[tuple[str, str | None]]:
    """(element id, org scope) of the open tasks a person may work on."""
    return [(t["element_id"], t["org_scope"]) for t in huhua.queries.tasks(user=user, limit=500)]


def complete(huhua: Huhua, user: str, element_id: str, data: dict, scope: str | None = None) -> dict:
    """Complete the one open task ``element_id`` (at ``scope``) offered to ``user``, then run due jobs."""
    tasks = [t for t in huhua.queries.tasks(user=user, limit=500)
             if t["element_id"] == element_id and (scope is None or t["org_scope"] == scope)]
    assert len(tasks) == 1, (user, element_id, scope, tasks)
    result = huhua.execute(CompleteTask(tasks[0]["id"], user, data))
    run_due_jobs(huhua)
    return result
