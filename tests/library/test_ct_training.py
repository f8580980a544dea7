"""班主任素养提升培训: city first (experts lecture), then every county, then every school and teaching point trains
all its class teachers, each confirming attendance in their own task; 不漏一校、不漏一人."""

from __future__ import annotations

from datetime import datetime

import pytest

from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ, VirtualClock
from engine.commands import CompleteTask, StartInstance
from engine.errors import Forbidden, InvalidInput
from tests.library.conftest import complete, inbox
from workers.job_worker import run_due_jobs

PLAN = {"year": 2026, "course": "班主任素养提升", "topics": ["班主任良好心理品质和心育能力", "学生生命健康与安全教育"],
        "city_date": "2026-03-10"}
SESSION = {"held_on": "2026-03-20", "trainers": "专家组", "session_hours": 6, "participants": 40, "content": "专题讲座"}
ATTENDED = {"attendance": {"attended": True, "hours": 6}}
CREDITS = {"register_no": "2026-JX-001", "list_checked": True}
HOLDERS = {"programme_officer": "zr", "class_teacher": "js"}
LEFT_OUT = ("hengshan-s003-bzr2", "leiyang-s001-p01-js", "zhuhui-s001-bzr5")


def _holder(task: dict) -> str:
    """The demo person holding the task's role (``programme_officer@zhuhui`` -> ``zhuhui-zr``)."""
    if task["assignee"]:
        return task["assignee"]
    role, unit = task["candidate_roles"][0].split("@")
    return f"{unit}-{HOLDERS[role]}"


def _complete_all(huhua: Huhua, element_id: str, data: dict, but: tuple[str, ...] = ()) -> int:
    """Complete every open ``element_id`` task (except those assigned to ``but``), each as a person offered it."""
    tasks = [t for t in huhua.queries.tasks(limit=500) if t["element_id"] == element_id and t["assignee"] not in but]
    for task in tasks:
        huhua.execute(CompleteTask(task["id"], _holder(task), data))
    run_due_jobs(huhua)
    return len(tasks)


def _city_training(huhua: Huhua) -> int:
    """The city plans, an expert lectures, the city records its training: the counties start."""
    started = huhua.execute(StartInstance("ct_training_city", "hy-zr", org_scope="hy"))
    complete(huhua, "hy-zr", "ct_training_city_plan", PLAN)
    complete(huhua, "zj03", "ct_training_expert_lecture",
             {"lecture_topic": "班主任的心育能力", "lecture_date": "2026-03-10", "lecture_hours": 3})
    complete(huhua, "hy-zr", "ct_training_city_record", SESSION | {"session_hours": 3, "participants": 120})
    return started["id"]


def _school(huhua: Huhua, unit: str) -> dict:
    found = [i for i in huhua.queries.instances(process_key="ct_training_school", limit=100) if i["org_scope"] == unit]
    return huhua.queries.instance(found[0]["id"])


def test_the_city_trains_first_with_experts_then_the_counties_then_the_schools(demo: Huhua) -> None:
    demo.execute(StartInstance("ct_training_city", "hy-zr", org_scope="hy"))
    assert inbox(demo, "hy-zr") == inbox(demo, "hy-zr2") == [("ct_training_city_plan", "hy")]
    complete(demo, "hy-zr", "ct_training_city_plan", PLAN)
    for expert in ("zj01", "zj06"):  # every expert of the city's pool is offered the lecture
        assert inbox(demo, expert) == [("ct_training_expert_lecture", "hy-zjk")]
    assert inbox(demo, "hy-zr") == [] and inbox(demo, "zhuhui-zr") == []
    complete(demo, "zj03", "ct_training_expert_lecture", {"lecture_topic": "心育能力", "lecture_date": "2026-03-10",
                                                        "lecture_hours": 3})
    assert inbox(demo, "zj01") == [] and inbox(demo, "hy-zr") == [("ct_training_city_record", "hy")]
    assert demo.queries.instances(process_key="ct_training_county", limit=50) == []  # the city trains first
    complete(demo, "hy-zr", "ct_training_city_record", SESSION)
    assert inbox(demo, "zhuhui-zr") == [("ct_training_county_session", "zhuhui")]
    assert inbox(demo, "zhuhui-s001-zr") == [] and inbox(demo, "zhuhui-s001-bzr1") == []  # the county trains next
    complete(demo, "zhuhui-zr", "ct_training_county_session", SESSION)
    assert sorted(i["org_scope"] for i in demo.queries.instances(process_key="ct_training_school", limit=100)) == [
        "zhuhui-s001", "zhuhui-s001-p01", "zhuhui-s002", "zhuhui-s003"]
    assert inbox(demo, "zhuhui-s002-zr") == [("ct_training_school_session", "zhuhui-s002")]
    assert inbox(demo, "zhuhui-zr") == [("ct_training_school_session", "zhuhui-s001-p01")]  # 送培到点
    assert inbox(demo, "zhuhui-s002-bzr1") == []  # teachers confirm only after their school's training
    complete(demo, "zhuhui-s002-zr", "ct_training_school_session", SESSION)
    for k in range(1, 6):
        assert inbox(demo, f"zhuhui-s002-bzr{k}") == [("ct_training_attend", "zhuhui-s002")]
    for outsider in ("zhuhui-s002-xz", "zhuhui-s002-xl1", "zhuhui-s001-bzr1", "yanfeng-s002-bzr1", "zhuhui-s002-zr"):
        assert inbox(demo, outsider) == [], outsider
    mine = demo.queries.tasks(user="zhuhui-s002-bzr3")[0]
    with pytest.raises(Forbidden):
        demo.execute(CompleteTask(mine["id"], "zhuhui-s002-bzr4", ATTENDED))  # each confirms only their own
    with pytest.raises(InvalidInput):
        demo.execute(CompleteTask(mine["id"], "zhuhui-s002-bzr3", {"attendance": {"attended": True}}))  # hours
    hours = {1: 12, 2: 6, 3: 4, 4: 2, 5: 0}
    for k, spent in hours.items():
        complete(demo, f"zhuhui-s002-bzr{k}", "ct_training_attend",
                 {"attendance": {"attended": spent > 0, "hours": spent, "reflection": "收获很大"}})
    assert inbox(demo, "zhuhui-s002-zr") == [("ct_training_school_credits", "zhuhui-s002")]
    data = _school(demo, "zhuhui-s002")["data"]
    assert [(c["id"], c["credits"]) for c in data["credit_list"]] == [
        ("zhuhui-s002-bzr1", 2), ("zhuhui-s002-bzr2", 1), ("zhuhui-s002-bzr3", 0.5), ("zhuhui-s002-bzr4", 0),
        ("zhuhui-s002-bzr5", 0)]  # the DMN: 12 h -> 2, 6 h -> 1, 4 h -> 0.5, 2 h -> 0
    assert (data["attended_count"], data["absent"], data["total_credits"]) == (4, ["zhuhui-s002-bzr5"], 3.5)
    complete(demo, "zhuhui-s002-zr", "ct_training_school_credits", CREDITS)
    done = _school(demo, "zhuhui-s002")
    assert done["state"] == "completed"
    assert done["data"]["credits_registered"] == ["zhuhui-s002-bzr1", "zhuhui-s002-bzr2", "zhuhui-s002-bzr3"]
    # a teaching point: the county brings the training to it and registers its teacher's credits
    complete(demo, "leiyang-zr", "ct_training_county_session", SESSION)
    complete(demo, "leiyang-zr", "ct_training_school_session", SESSION, scope="leiyang-s001-p01")
    assert inbox(demo, "leiyang-s001-p01-js") == [("ct_training_attend", "leiyang-s001-p01")]
    assert inbox(demo, "leiyang-s001-zr") == [("ct_training_school_session", "leiyang-s001")]
    complete(demo, "leiyang-s001-p01-js", "ct_training_attend", ATTENDED)
    assert inbox(demo, "leiyang-zr") == [("ct_training_school_credits", "leiyang-s001-p01")]
    assert inbox(demo, "leiyang-s001-zr") == [("ct_training_school_session", "leiyang-s001")]
    complete(demo, "leiyang-zr", "ct_training_school_credits", CREDITS)
    assert _school(demo, "leiyang-s001-p01")["data"]["credits_registered"] == ["leiyang-s001-p01-js"]


def test_coverage_reaches_100_percent_only_when_every_teacher_of_every_school_is_done(demo: Huhua) -> None:
    city = _city_training(demo)
    assert _complete_all(demo, "ct_training_county_session", SESSION) == 13
    assert _complete_all(demo, "ct_training_school_session", SESSION) == 52  # 39 schools and 13 teaching points
    before = demo.queries.coverage(city, demo.clock.now())
    assert before["people"] == {"total": 208, "completed": 0, "missing": 208}  # every class teacher, each once
    assert before["units"] == {"total": 66, "completed": 1, "missing": 65}  # the expert pool, 13 counties, 52 units
    assert _complete_all(demo, "ct_training_attend", ATTENDED, but=LEFT_OUT) == 205
    assert _complete_all(demo, "ct_training_school_credits", CREDITS) == 49
    partial = demo.queries.coverage(city, demo.clock.now(), missing_only=True)
    assert sorted((p["id"], p["unit"]) for p in partial["missing_people"]) == [
        ("hengshan-s003-bzr2", "hengshan-s003"), ("leiyang-s001-p01-js", "leiyang-s001-p01"),
        ("zhuhui-s001-bzr5", "zhuhui-s001")]
    assert sorted(partial["missing_units"]) == [
        "hengshan", "hengshan-s003", "leiyang", "leiyang-s001-p01", "zhuhui", "zhuhui-s001"]
    assert not partial["complete"] and partial["percent"] < 100
    assert demo.queries.instance(city)["open_tasks"] == []  # the city still waits
    for teacher in LEFT_OUT:
        complete(demo, teacher, "ct_training_attend", ATTENDED)
    almost = demo.queries.coverage(city, demo.clock.now(), missing_only=True)
    assert almost["missing_people"] == [] and not almost["complete"]  # three credit registrations still open
    assert sorted(almost["missing_units"]) == sorted(partial["missing_units"])
    complete(demo, "hengshan-s003-zr", "ct_training_school_credits", CREDITS)
    complete(demo, "leiyang-zr", "ct_training_school_credits", CREDITS)
    complete(demo, "zhuhui-s001-zr", "ct_training_school_credits", CREDITS)
    done = demo.queries.coverage(city, demo.clock.now())
    assert done["complete"] and done["percent"] == 100.0
    assert done["people"] == {"total": 208, "completed": 208, "missing": 0}
    assert inbox(demo, "hy-zr") == [("ct_training_city_summary", "hy")]
    complete(demo, "hy-zr", "ct_training_city_summary", {"summary": "全市班主任培训实现全覆盖"})
    assert demo.queries.instance(city)["state"] == "completed"


def test_a_county_that_does_not_train_is_reminded_then_escalated_to_the_city(demo: Huhua, clock: VirtualClock) -> None:
    _city_training(demo)  # Monday 2 March 2026: every county's training is due in 15 working days
    task = demo.queries.tasks(user="hengdong-zr")[0]
    assert task["due_at"] == "2026-03-23T09:30:00+00:00"  # Monday 23 March, 17:30 Beijing
    hengdong = next(i["id"] for i in demo.queries.instances(process_key="ct_training_county", limit=50)
                    if i["org_scope"] == "hengdong")
    complete(demo, "hengnan-zr", "ct_training_county_session", SESSION)
    clock.set(datetime(2026, 3, 16, 9, 1, tzinfo=BUSINESS_TZ))  # the 10th working day
    run_due_jobs(demo)
    assert demo.queries.instance(hengdong)["data"].get("session_reminded") is True
    assert inbox(demo, "hy-zr") == []
    clock.set(datetime(2026, 3, 23, 17, 31, tzinfo=BUSINESS_TZ))
    run_due_jobs(demo)
    urged = inbox(demo, "hy-zr")
    assert ("ct_training_county_urge", "hengdong") in urged and ("ct_training_county_urge", "hengnan") not in urged
    assert inbox(demo, "hengdong-zr") == [("ct_training_county_session", "hengdong")]  # still the county's to do
