"""心理健康教育教师培训: the city holds at least one city-wide training a year, each county at least two; every
school, teaching point and mental-health teacher is reached; credits go through 学分认定登记."""

from __future__ import annotations

import pytest

from engine.bootstrap import Huhua
from engine.commands import CompleteTask, StartInstance
from engine.errors import InvalidInput
from tests.library.conftest import complete, inbox
from workers.job_worker import run_due_jobs

PLAN = {"year": 2026, "forms_planned": ["theory", "skills", "observation", "supervision"], "plan_content": "分期分批"}
SESSION = {"session_title": "心理健康教育专题培训", "session_form": "theory", "held_on": "2026-04-10",
           "session_hours": 6, "trainer": "市心理健康教育指导中心", "participants": 30}
ATTENDANCE = {"attendance": {"sessions_attended": 2, "hours": 12, "forms": ["theory", "supervision"]}}
CREDIT = {"register_no": "2026-XL-001", "credits_per_session": 1, "list_checked": True}
HOLDERS = {"programme_officer": "zr", "class_teacher": "js"}


def _holder(task: dict) -> str:
    if task["assignee"]:
        return task["assignee"]
    role, unit = task["candidate_roles"][0].split("@")
    return f"{unit}-{HOLDERS[role]}"


def _complete_all(huhua: Huhua, element_id: str, data: dict) -> int:
    tasks = [t for t in huhua.queries.tasks(limit=500) if t["element_id"] == element_id]
    for task in tasks:
        huhua.execute(CompleteTask(task["id"], _holder(task), data))
    run_due_jobs(huhua)
    return len(tasks)


def _instance(huhua: Huhua, process_key: str, unit: str) -> dict:
    found = [i for i in huhua.queries.instances(process_key=process_key, limit=100) if i["org_scope"] == unit]
    assert len(found) == 1, (process_key, unit, found)
    return huhua.queries.instance(found[0]["id"])


def _city(huhua: Huhua) -> int:
    started = huhua.execute(StartInstance("mh_training_city", "hy-zr", org_scope="hy"))
    complete(huhua, "hy-zr", "mh_training_city_plan", PLAN)
    complete(huhua, "hy-zr", "mh_training_city_session", SESSION | {"next_step": "finish"})
    return started["id"]


def _county(huhua: Huhua, county: str) -> None:
    """The county's two sessions: theory, then case supervision."""
    complete(huhua, f"{county}-zr", "mh_training_county_session", SESSION | {"next_step": "another"})
    complete(huhua, f"{county}-zr", "mh_training_county_session",
             SESSION | {"session_form": "supervision", "next_step": "finish"})


def test_one_city_wide_training_suffices_but_a_county_cannot_finish_with_fewer_than_two(demo: Huhua) -> None:
    city = demo.execute(StartInstance("mh_training_city", "hy-zr", org_scope="hy"))["id"]
    complete(demo, "hy-zr2", "mh_training_city_plan", PLAN)
    assert inbox(demo, "hy-zr") == [("mh_training_city_session", "hy")]
    assert inbox(demo, "zhuhui-zr") == [] and inbox(demo, "zj01") == []
    with pytest.raises(InvalidInput):  # the form of training is one of the four
        complete(demo, "hy-zr", "mh_training_city_session", SESSION | {"session_form": "讲座", "next_step": "finish"})
    complete(demo, "hy-zr", "mh_training_city_session", SESSION | {"next_step": "finish"})
    data = demo.queries.instance(city)["data"]
    assert (data["min_sessions"], data["session_count"], data["finish_refused"]) == (1, 1, False)
    assert inbox(demo, "zhuhui-zr") == [("mh_training_county_session", "zhuhui")]
    assert inbox(demo, "zhuhui-s001-zr") == [] and inbox(demo, "zhuhui-s001-xl1") == [] and inbox(demo, "hy-zr") == []
    complete(demo, "zhuhui-zr", "mh_training_county_session", SESSION | {"next_step": "finish"})
    zhuhui = _instance(demo, "mh_training_county", "zhuhui")
    assert (zhuhui["data"]["min_sessions"], zhuhui["data"]["session_count"]) == (2, 1)
    assert zhuhui["data"]["finish_refused"] is True  # one session is not enough: back to the next session
    assert inbox(demo, "zhuhui-zr") == [("mh_training_county_session", "zhuhui")]
    assert demo.queries.instances(process_key="mh_training_school", limit=100) == []
    complete(demo, "zhuhui-zr", "mh_training_county_session",
             SESSION | {"session_form": "supervision", "held_on": "2026-10-15", "next_step": "finish"})
    zhuhui = _instance(demo, "mh_training_county", "zhuhui")
    assert zhuhui["data"]["session_count"] == 2 and zhuhui["data"]["finish_refused"] is False
    assert [s["form"] for s in zhuhui["data"]["sessions"]] == ["theory", "supervision"]
    assert sorted(i["org_scope"] for i in demo.queries.instances(process_key="mh_training_school", limit=100)) == [
        "zhuhui-s001", "zhuhui-s001-p01", "zhuhui-s002", "zhuhui-s003"]
    for form in ("skills", "observation"):  # 雁峰区 holds three: more than the minimum is fine
        complete(demo, "yanfeng-zr", "mh_training_county_session",
                 SESSION | {"session_form": form, "next_step": "another"})
    assert not [i for i in demo.queries.instances(process_key="mh_training_school", limit=100)
                if i["org_scope"].startswith("yanfeng")]
    complete(demo, "yanfeng-zr", "mh_training_county_session",
             SESSION | {"session_form": "theory", "next_step": "finish"})
    yanfeng = _instance(demo, "mh_training_county", "yanfeng")["data"]
    assert [s["form"] for s in yanfeng["sessions"]] == ["skills", "observation", "theory"]


def test_every_mental_health_teacher_and_every_teaching_point_is_reached(demo: Huhua) -> None:
    _city(demo)
    _county(demo, "zhuhui")
    assert inbox(demo, "zhuhui-s001-xl1") == [("mh_training_attend", "zhuhui-s001")]  # full-time
    assert inbox(demo, "zhuhui-s002-xl1") == [("mh_training_attend", "zhuhui-s002")]  # part-time
    assert inbox(demo, "zhuhui-s001-p01-js") == [("mh_training_point_attend", "zhuhui-s001-p01")]  # no mh teacher
    for outsider in ("zhuhui-s001-bzr1", "zhuhui-s001-xz", "zhuhui-s001-zr", "yanfeng-s001-xl1"):
        assert inbox(demo, outsider) == [], outsider
    school = _instance(demo, "mh_training_school", "zhuhui-s001")
    assert [p["id"] for p in school["data"]["people"]] == ["zhuhui-s001-xl1"]
    assert len(school["data"]["county_sessions"]) == 2
    complete(demo, "zhuhui-s001-xl1", "mh_training_attend", ATTENDANCE)
    assert inbox(demo, "zhuhui-s001-zr") == [("mh_training_credit_register", "zhuhui-s001")]
    with pytest.raises(InvalidInput):
        complete(demo, "zhuhui-s001-zr", "mh_training_credit_register", {"register_no": "x", "list_checked": True})
    complete(demo, "zhuhui-s001-zr", "mh_training_credit_register", CREDIT)
    done = _instance(demo, "mh_training_school", "zhuhui-s001")
    assert done["state"] == "completed"
    assert [(c["id"], c["sessions"], c["credits"]) for c in done["data"]["credited"]] == [("zhuhui-s001-xl1", 2, 2)]
    complete(demo, "zhuhui-s001-p01-js", "mh_training_point_attend",
             {"attendee_name": "教学点教师", "attendance": {"sessions_attended": 1, "hours": 6}})
    assert inbox(demo, "zhuhui-zr") == [("mh_training_credit_register", "zhuhui-s001-p01")]  # the county registers
    assert inbox(demo, "zhuhui-s001-zr") == []
    complete(demo, "zhuhui-zr", "mh_training_credit_register", CREDIT | {"credits_per_session": 1.5})
    point = _instance(demo, "mh_training_school", "zhuhui-s001-p01")["data"]
    assert (point["credited"][0]["name"], point["total_credits"]) == ("教学点教师", 1.5)


def test_the_year_is_done_when_every_unit_and_every_mental_health_teacher_is_covered(demo: Huhua) -> None:
    city = _city(demo)
    for county in sorted(u["id"] for u in demo.queries.units(kind="county")):
        _county(demo, county)
    before = demo.queries.coverage(city, demo.clock.now())
    assert before["people"] == {"total": 39, "completed": 0, "missing": 39}  # 26 full-time, 13 part-time
    assert before["units"]["total"] == 65
    assert _complete_all(demo, "mh_training_attend", ATTENDANCE) == 39
    assert _complete_all(demo, "mh_training_point_attend",
                         {"attendee_name": "教学点教师", "attendance": {"sessions_attended": 2, "hours": 12}}) == 13
    assert _complete_all(demo, "mh_training_credit_register", CREDIT) == 52
    done = demo.queries.coverage(city, demo.clock.now())
    assert done["complete"] and done["percent"] == 100.0
    assert inbox(demo, "hy-zr") == [("mh_training_city_summary", "hy")]
    complete(demo, "hy-zr", "mh_training_city_summary", {"summary": "市级1次、各县市区各2次，全覆盖"})
    assert demo.queries.instance(city)["state"] == "completed"
