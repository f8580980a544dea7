"""Events thrown between instances: delivered exactly once, to the exactly correlated receiver, within org scope."""

from __future__ import annotations

import pytest

from engine.bootstrap import Huhua, bootstrap
from engine.clock import VirtualClock
from engine.commands import CompleteTask, StartInstance
from engine.config import Settings
from tests.helpers import deploy_fixtures


def _complete_next(huhua: Huhua, instance_id: int) -> None:
    task = huhua.queries.instance(instance_id)["open_tasks"][0]
    huhua.execute(CompleteTask(task["id"], "wang", {}))


@pytest.mark.parametrize(("sender", "receiver"), [("throw_message", "case_by_message"),
                                                  ("throw_signal", "alarm_by_signal")])
def test_an_event_thrown_once_starts_one_receiver_through_three_commands_and_a_restart(
        huhua: Huhua, settings: Settings, clock: VirtualClock, sender: str, receiver: str) -> None:
    deploy_fixtures(huhua, "throw_once.bpmn")
    started = huhua.execute(StartInstance(sender, "admin", business_key="case-1", variables={"reason": "x"}))
    assert len(huhua.queries.instances(process_key=receiver)) == 1
    _complete_next(huhua, started["id"])
    _complete_next(huhua, started["id"])
    huhua.close()
    restarted = bootstrap(settings, clock=clock, upgrade=False)  # a new engine on the same database
    try:
        _complete_next(restarted, started["id"])
        _complete_next(restarted, started["id"])
        assert restarted.queries.instance(started["id"])["state"] == "completed"
        receivers = restarted.queries.instances(process_key=receiver)
        assert [(r["business_key"], r["state"]) for r in receivers] == [("case-1", "running")]
    finally:
        restarted.close()
