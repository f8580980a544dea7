"""BPMN behaviours the betsy suite checks, each on a model of its own, driven through commands."""

from __future__ import annotations

import pytest

from engine.bootstrap import Huhua
from engine.commands import ENGINE, StartInstance
from tests.helpers import deploy_fixtures

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _completed(huhua: Huhua, instance_id: int) -> list[str]:
    return [element for event in huhua.queries.instance(instance_id, history_limit=1000)["history"]
            if event["kind"] == "activities_completed" for element in event["detail"]["elements"]]


def test_a_complex_behaviour_condition_throws_its_event_and_completes_the_multi_instance_activity(
        huhua: Huhua) -> None:
    deploy_fixtures(huhua, "complex_behaviour.bpmn")
    started = huhua.execute(StartInstance("complex_behaviour", "admin", variables={"inspected": 0}, origin=ENGINE))
    view = huhua.queries.instance(started["id"])
    assert view["state"] == "completed"
    # Two of five instances ran: the condition held after the second, which cancelled the other three.
    assert view["data"]["inspected"] == 2 and view["data"]["reported"] == 2
    completed = _completed(huhua, started["id"])
    assert completed.count("inspect") == 2
    assert completed.count("notify") == 1 and completed.count("report") == 1  # the signal was caught, once
