"""Two people complete the same task at the same moment: exactly one wins, the other gets a conflict."""

from __future__ import annotations

import threading
from typing import Any

from engine.bootstrap import Huhua, bootstrap
from engine.clock import VirtualClock
from engine.commands import CompleteTask, StartInstance
from engine.config import Settings
from engine.errors import Conflict
from tests.helpers import deploy_fixtures, history_kinds, only_task


def _pause_after_moving(engine: Huhua, barrier: threading.Barrier) -> None:
    """Make the engine wait, after the workflow moved and before anything is written, for the other one."""
    runtime = engine.services.runtime
    original = runtime.complete_human_task

    def complete_then_wait(*args: Any, **kwargs: Any) -> None:
        original(*args, **kwargs)
        barrier.wait(timeout=10)

    runtime.complete_human_task = complete_then_wait  # type: ignore[method-assign]


def test_concurrent_completions_one_wins(settings: Settings, clock: VirtualClock, huhua: Huhua) -> None:
    deploy_fixtures(huhua, "review.bpmn")
    started = huhua.execute(StartInstance("review", "admin", variables={"reviewers": ["wang", "li"]}))
    task = only_task(huhua, started["id"])
    before = huhua.queries.instance(started["id"])["version"]

    engines = [bootstrap(settings, clock=clock, upgrade=False) for _ in range(2)]  # two pools, two connections
    barrier = threading.Barrier(2)
    for engine in engines:
        _pause_after_moving(engine, barrier)
    outcomes: dict[str, Any] = {}

    def attempt(engine: Huhua, user: str, approve: bool) -> None:
        try:
            outcomes[user] = engine.execute(CompleteTask(task["id"], user, {"approve": approve}))
        except Conflict as err:
            outcomes[user] = err

    threads = [threading.Thread(target=attempt, args=(engines[0], "wang", True)),
               threading.Thread(target=attempt, args=(engines[1], "li", False))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    for engine in engines:
        engine.close()

    winners = [user for user, result in outcomes.items() if isinstance(result, dict)]
    losers = [user for user, result in outcomes.items() if isinstance(result, Conflict)]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    view = huhua.queries.instance(started["id"])
    assert view["state"] == "completed" and view["version"] == before + 1
    assert view["data"]["approve"] is (winners[0] == "wang")
    assert history_kinds(huhua, started["id"]).count("task_completed") == 1
    completed = huhua.queries.tasks(instance_id=started["id"], state="completed")
    assert [t["completed_by"] for t in completed] == winners


def test_both_really_overlapped(settings: Settings, clock: VirtualClock, huhua: Huhua) -> None:
    """Both commands read the open task and moved the workflow before either wrote (the barrier proves it).

    No lock is held while SpiffWorkflow runs; the loser is caught by the guarded write, not by waiting.
    """
    deploy_fixtures(huhua, "review.bpmn")
    started = huhua.execute(StartInstance("review", "admin", variables={"reviewers": ["wang", "li"]}))
    task = only_task(huhua, started["id"])
    engines = [bootstrap(settings, clock=clock, upgrade=False) for _ in range(2)]
    barrier = threading.Barrier(2)
    met = []
    for engine in engines:
        runtime = engine.services.runtime
        original = runtime.complete_human_task

        def complete_then_meet(*args: Any, _original: Any = original, **kwargs: Any) -> None:
            _original(*args, **kwargs)
            met.append(barrier.wait(timeout=10))

        runtime.complete_human_task = complete_then_meet  # type: ignore[method-assign]
    results: list[Any] = []

    def attempt(engine: Huhua, user: str) -> None:
        try:
            results.append(engine.execute(CompleteTask(task["id"], user, {"approve": True})))
        except Conflict as err:
            results.append(err)

    threads = [threading.Thread(target=attempt, args=(e, u)) for e, u in zip(engines, ["wang", "li"], strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    for engine in engines:
        engine.close()
    assert len(met) == 2  # both had moved their copy of the workflow before either wrote
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "dict"]
