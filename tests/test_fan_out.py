"""Tiered fan-out: a rollout starts one child per unit, each scoped to it, and coverage misses nobody."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask.testing import FlaskClient

from engine.bootstrap import Huhua
from engine.clock import VirtualClock
from engine.commands import ENGINE, CompleteTask, LoadDirectory, StartInstance
from engine.org.profiles import generate
from engine.web import create_app
from tests.helpers import deploy_fixtures
from workers.job_worker import run_due_jobs


@pytest.fixture
def rollout(huhua: Huhua) -> tuple[Huhua, int]:
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    deploy_fixtures(huhua, "rollout_city.bpmn", "rollout_county.bpmn", "rollout_school.bpmn")
    started = huhua.execute(StartInstance("rollout_city", "admin", org_scope="hy", variables={"course": "班主任素养"},
                                          origin=ENGINE))
    run_due_jobs(huhua)
    return huhua, started["id"]


def _complete_all(huhua: Huhua, but: set[str] = frozenset()) -> None:  # type: ignore[assignment]
    for task in huhua.queries.tasks(limit=500):
        if task["assignee"] not in but:
            huhua.execute(CompleteTask(task["id"], task["assignee"], {"attended": True}))
    run_due_jobs(huhua)


def test_each_unit_gets_its_own_instance_and_each_teacher_their_own_task(rollout: tuple[Huhua, int]) -> None:
    huhua, _city = rollout
    instances = huhua.queries.instances(limit=500)
    by_process = {key: sorted(i["org_scope"] for i in instances if i["process_key"] == key)
                  for key in ("rollout_county", "rollout_school")}
    assert by_process["rollout_county"] == sorted(u["id"] for u in huhua.queries.units(kind="county"))
    schools = huhua.queries.units(kind="school", limit=500) + huhua.queries.units(kind="teaching_point", limit=500)
    assert by_process["rollout_school"] == sorted(u["id"] for u in schools)
    assert [(t["name"], t["org_scope"]) for t in huhua.queries.tasks(user="qidong-s002-bzr4")] == [
        ("参加培训", "qidong-s002")]
    assert [t["org_scope"] for t in huhua.queries.tasks(user="qidong-s001-p01-js")] == ["qidong-s001-p01"]
    assert huhua.queries.tasks(user="qidong-s002-xz") == []  # the principal is no class teacher
    biggest = max(len(huhua.queries.tasks(instance_id=i["id"], limit=500)) for i in instances)
    assert biggest == 5  # no instance holds more than its own school's teachers


def test_coverage_lists_exactly_who_is_missing_until_everyone_is_done(rollout: tuple[Huhua, int]) -> None:
    huhua, city = rollout
    before = huhua.queries.coverage(city, huhua.clock.now())
    assert (before["units"], before["people"]["total"]) == ({"total": 65, "completed": 0, "missing": 65}, 208)
    _complete_all(huhua, but={"hengshan-s003-bzr2", "leiyang-s001-p01-js"})
    partial = huhua.queries.coverage(city, huhua.clock.now(), missing_only=True)
    assert [(p["id"], p["unit"]) for p in partial["missing_people"]] == [
        ("hengshan-s003-bzr2", "hengshan-s003"), ("leiyang-s001-p01-js", "leiyang-s001-p01")]
    assert sorted(partial["missing_units"]) == ["hengshan", "hengshan-s003", "leiyang", "leiyang-s001-p01"]
    assert not partial["complete"] and partial["percent"] < 100
    assert [node["unit"] for node in partial["tree"]] == ["hengshan", "leiyang"]  # only where something is missing
    assert [t["name"] for t in huhua.queries.instance(city)["open_tasks"]] == []  # the city still waits
    _complete_all(huhua)
    done = huhua.queries.coverage(city, huhua.clock.now())
    assert done["complete"] and done["percent"] == 100.0 and done["missing_people"] == []
    city_view = huhua.queries.instance(city)
    assert [t["name"] for t in city_view["open_tasks"]] == ["全市总结"]
    assert city_view["data"]["counties_done"] == {"fan_out": 1, "total": 13, "completed": 13}


def test_a_deadline_closes_the_fan_out_and_coverage_keeps_the_missing(
        rollout: tuple[Huhua, int], clock: VirtualClock) -> None:
    huhua, city = rollout
    _complete_all(huhua, but={"hengnan-s002-bzr1"})
    clock.advance(timedelta(days=31))
    run_due_jobs(huhua)  # each county's 30-day deadline: hengnan stops waiting for its school
    hengnan = next(i for i in huhua.queries.instances(process_key="rollout_county", limit=50)
                   if i["org_scope"] == "hengnan")
    late = huhua.queries.instance(hengnan["id"])
    assert late["state"] == "completed" and "fan_out_closed" in [e["kind"] for e in late["history"]]
    status = late["data"]["late_status"]  # the deadline path asked which schools are missing
    assert (status["state"], status["total"], status["completed"]) == ("closed", 4, 3)
    assert status["missing"] == [{"unit": "hengnan-s002", "name": "衡南县第二小学", "state": "running"}]
    result = huhua.queries.coverage(city, huhua.clock.now(), missing_only=True)
    assert [p["id"] for p in result["missing_people"]] == ["hengnan-s002-bzr1"]
    assert result["missing_units"] == ["hengnan-s002"]


def test_coverage_over_http(rollout: tuple[Huhua, int]) -> None:
    huhua, city = rollout
    with create_app(huhua, {"TESTING": True}).test_client() as client:
        client: FlaskClient
        assert client.get(f"/api/v1/process-instances/{city}/coverage").status_code == 401
        teacher = {"X-Huhua-User": "qidong-s001-bzr1"}
        assert client.get(f"/api/v1/process-instances/{city}/coverage", headers=teacher).status_code == 404
        officer = {"X-Huhua-User": "hy-zr"}  # the city's programme officer oversees the rollout
        answer = client.get(f"/api/v1/process-instances/{city}/coverage?missing=true", headers=officer)
        assert answer.status_code == 200 and answer.json["people"]["missing"] == 208
        assert client.get("/api/v1/process-instances/999999/coverage", headers=officer).status_code == 404


def test_a_fan_out_to_a_process_not_deployed_is_an_incident_not_a_refusal(huhua: Huhua) -> None:
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    deploy_fixtures(huhua, "rollout_nowhere.bpmn")
    started = huhua.execute(StartInstance("rollout_nowhere", "admin", org_scope="hy", variables={"course": "x"},
                                          origin=ENGINE))
    shown = huhua.queries.instance(started["id"])
    assert shown["state"] == "incident"
    assert [(i["kind"], i["element_id"]) for i in shown["incidents"]] == [("fan_out_failed", "counties")]
    assert "no_such_process" in shown["incidents"][0]["message"]
