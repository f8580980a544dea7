"""Two people complete the same task at the same moment: exactly one wins, the other gets a conflict."""

from __future__ import annotations

import threading
from typing import Any

from engine.bootstrap import Huhua, bootstrap
from engine.clock import VirtualClock
from engine.commands import ENGINE, CompleteTask, StartInstance
from engine.config import Settings
from engine.errors import Conflict
from tests.helpers import deploy_fixtures, history_kinds, only_task


def _race(settings: Settings, clock: VirtualClock, task_id: int, attempts: dict[str, bool]) -> tuple[dict, int]:
    """Complete ``task_id`` from two engines (two connection pools) at once; each user's attempt waits,
    after moving its copy of the workflow and before writing anything, until the other has moved too."""
    engines = [bootstrap(settings, clock=clock, upgrade=False) for _ in attempts]
    barrier = threading.Barrier(len(engines))
    met = []
    for engine in engines:
        runtime = engine.services.runtime
        original = runtime.complete_human_task

        def complete_then_meet(*args: Any, _original: Any = original, **kwargs: Any) -> None:
            _original(*args, **kwargs)
            met.append(barrier.wait(timeout=10))

        runtime.complete_human_task = complete_then_meet  # type: ignore[method-assign]
    outcomes: dict[str, Any] = {}

    def attempt(engine: Huhua, user: str, approve: bool) -> None:
        try:
            outcomes[user] = engine.execute(CompleteTask(task_id, user, {"approve": approve}))
        except Conflict as err:
            outcomes[user] = err

    threads = [threading.Thread(target=attempt, args=(engine, user, approve))
               for engine, (user, approve) in zip(engines, attempts.items(), strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    for engine in engines:
        engine.close()
    return outcomes, len(met)


def test_concurrent_completions_one_wins(settings: Settings, clock: VirtualClock, huhua: Huhua) -> None:
    deploy_fixtures(huhua, "review.bpmn")
    started = huhua.execute(StartInstance("review", "admin", variables={"reviewers": ["wang", "li"]}, origin=ENGINE))
    task = only_task(huhua, started["id"])
    before = huhua.queries.instance(started["id"])["version"]

    outcomes, met = _race(settings, clock, task["id"], {"wang": True, "li": False})

    assert met == 2  # both read the open task and moved the workflow before either wrote
    winners = [user for user, result in outcomes.items() if isinstance(result, dict)]
    losers = [user for user, result in outcomes.items() if isinstance(result, Conflict)]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    view = huhua.queries.instance(started["id"])
    assert view["state"] == "completed" and view["version"] == before + 1
    assert view["data"]["approve"] is (winners[0] == "wang")
    assert history_kinds(huhua, started["id"]).count("task_completed") == 1
    completed = huhua.queries.tasks(instance_id=started["id"], state="completed")
    assert [t["completed_by"] for t in completed] == winners
    lost = outcomes[losers[0]]
    assert str(lost).startswith(f"{winners[0]} finished this task") and lost.task["by"] == winners[0]  # who beat them
