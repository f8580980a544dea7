"""心理健康教育教师培训: the city holds at least one city-wide training a year, each county at least two, in batches
at the same time (分期分批: no county waits for the city); every school, teaching point and mental-health teacher is
reached, counted by attendance (city-wide and county sessions, per teacher); absentees are excused or trained
again; credits follow the one rule of both trainings and are registered by the county's 学分登记员."""

from __future__ import annotations

import pytest

from engine.bootstrap import Huhua
from engine.commands import ENGINE, CompleteTask, StartInstance
from engine.errors import Forbidden, InvalidInput
from tests.library.conftest import complete, inbox
from workers.job_worker import run_due_jobs

#: One database: a scenario of the library; the engine's own tests hold its contract with each database, and
#: test_launch and test_ct_training run the library on PostgreSQL too.
DATABASES = ("sqlite",)

PLAN = {"year": 2026, "partner": "湖南省心理卫生协会",
        "forms_planned": ["theory", "skills", "observation", "supervision"], "plan_content": "分期分批"}
SESSION = {"session_title": "心理健康教育专题培训", "session_form": "theory", "held_on": "2026-04-10",
           "session_hours": 6, "trainer": "市心理健康教育指导中心", "participants": 30}
ATTENDANCE = {"attendance": {"city_sessions": 1, "county_sessions": 2, "hours": 18, "forms": ["theory", "supervision"]}}
CREDITS = {"register_no": "2026-XL-001", "list_checked": True}
HOLDERS = {"programme_officer": "zr", "class_teacher": "js", "credit_registrar": "jsfz"}


def _holder(task: dict) -> str:
    if task["assignee"]:
        return task["assignee"]
    role, unit = task["candidate_roles"][0].split("@")
    return "hy-jsgz-kz" if (role, unit) == ("credit_registrar", "shizhi") else f"{unit}-{HOLDERS[role]}"


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


def _county(huhua: Huhua, county: str) -> None:
    """The county's two sessions: theory, then case supervision."""
    complete(huhua, f"{county}-zr", "mh_training_county_session", SESSION | {"next_step": "another"})
    complete(huhua, f"{county}-zr", "mh_training_county_session",
             SESSION | {"session_form": "supervision", "next_step": "finish"})


def test_counties_train_in_batches_beside_the_city_and_every_teacher_is_counted_by_attendance(demo: Huhua) -> None:
    city = demo.execute(StartInstance("mh_training_city", "hy-zr", org_scope="hy"))["id"]
    complete(demo, "hy-zr2", "mh_training_city_plan", PLAN)
    # 分期分批: the counties start with the city, they do not wait for its sessions
    assert inbox(demo, "hy-zr") == [("mh_training_city_session", "hy")]
    assert inbox(demo, "zhuhui-zr") == [("mh_training_county_session", "zhuhui")]
    assert inbox(demo, "zhuhui-s001-xl1") == []
    with pytest.raises(InvalidInput):  # the form of training is one of the four
        complete(demo, "hy-zr", "mh_training_city_session", SESSION | {"session_form": "讲座", "next_step": "finish"})
    complete(demo, "zhuhui-zr", "mh_training_county_session", SESSION | {"next_step": "finish"})
    zhuhui = _instance(demo, "mh_training_county", "zhuhui")["data"]
    assert (zhuhui["min_sessions"], zhuhui["session_count"], zhuhui["finish_refused"]) == (2, 1, True)
    assert inbox(demo, "zhuhui-zr") == [("mh_training_county_session", "zhuhui")]  # one is not enough: again
    assert demo.queries.instances(process_key="mh_training_school", limit=100) == []
    complete(demo, "zhuhui-zr", "mh_training_county_session",
             SESSION | {"session_form": "supervision", "held_on": "2026-10-15", "next_step": "finish",
                        "trainer": "衡阳市第二人民医院心理科"})
    zhuhui = _instance(demo, "mh_training_county", "zhuhui")["data"]
    # the county's ledger names who trained each session, and every school confirms attendance against it
    assert [(s["form"], s["trainer"]) for s in zhuhui["sessions"]] == [
        ("theory", "市心理健康教育指导中心"), ("supervision", "衡阳市第二人民医院心理科")]
    assert sorted(i["org_scope"] for i in demo.queries.instances(process_key="mh_training_school", limit=100)) == [
        "zhuhui-s001", "zhuhui-s001-p01", "zhuhui-s002", "zhuhui-s003"]  # while the city still trains
    assert inbox(demo, "hy-zr") == [("mh_training_city_session", "hy")]
    assert inbox(demo, "zhuhui-s001-xl1") == [("mh_training_attend", "zhuhui-s001")]  # full-time
    assert inbox(demo, "zhuhui-s002-xl1") == [("mh_training_attend", "zhuhui-s002")]  # part-time
    assert inbox(demo, "zhuhui-s001-p01-js") == [("mh_training_attend", "zhuhui-s001-p01")]  # the point's teacher
    for school in ("zhuhui-s001", "zhuhui-s001-p01"):
        assert [s["trainer"] for s in _instance(demo, "mh_training_school", school)["data"]["county_sessions"]] == [
            "市心理健康教育指导中心", "衡阳市第二人民医院心理科"]
    for outsider in ("zhuhui-s001-bzr1", "zhuhui-s001-xz", "zhuhui-s001-zr", "yanfeng-s001-xl1"):
        assert inbox(demo, outsider) == [], outsider

    # each teacher records the city-wide and county sessions they attended; 0 sessions is an absence
    complete(demo, "zhuhui-s001-xl1", "mh_training_attend", ATTENDANCE)
    mine = demo.queries.tasks(user="zhuhui-s002-xl1")[0]
    with pytest.raises(InvalidInput, match="一次也未参加的原因"):  # no session: an absence, with its reason
        demo.execute(CompleteTask(mine["id"], "zhuhui-s002-xl1", {"attendance": {"city_sessions": 0,
                                                                                 "county_sessions": 0}}))
    complete(demo, "zhuhui-s002-xl1", "mh_training_attend",  # hours only for who attended
             {"attendance": {"city_sessions": 0, "county_sessions": 0, "absence_reason": "产假或哺乳假"}})
    complete(demo, "zhuhui-s003-xl1", "mh_training_attend",
             {"attendance": {"city_sessions": 1, "county_sessions": 0, "hours": 3}})
    complete(demo, "zhuhui-s001-p01-js", "mh_training_attend",
             {"attendance": {"city_sessions": 0, "county_sessions": 2, "hours": 12}})
    coverage = demo.queries.coverage(city, demo.clock.now(), missing_only=True)
    assert [(p["id"], p["status"], p["reason"]) for p in coverage["missing_people"]
            if p["unit"].startswith("zhuhui")] == [("zhuhui-s002-xl1", "absent", "产假或哺乳假")]
    s001 = _instance(demo, "mh_training_school", "zhuhui-s001")["data"]["attendance_register"]
    assert [(e["id"], e["status"], e["city_sessions"], e["county_sessions"]) for e in s001] == [
        ("zhuhui-s001-xl1", "attended", 1, 2)]  # city-wide attendance, per teacher
    # the principal sends her to a make-up session, which the county arranges
    complete(demo, "zhuhui-s002-xz", "mh_training_school_excuse", {"excuse": {"decision": "makeup"}})
    assert inbox(demo, "zhuhui-zr") == [("mh_training_school_makeup", "zhuhui-s002")]
    assert inbox(demo, "zhuhui-s002-zr") == []
    complete(demo, "zhuhui-zr", "mh_training_school_makeup",
             {"held_on": "2026-11-05", "trainers": "县心理健康教育中心", "session_hours": 6, "content": "线上补训"})
    complete(demo, "zhuhui-s002-xl1", "mh_training_attend",
             {"attendance": {"city_sessions": 0, "county_sessions": 1, "hours": 6}})
    assert _instance(demo, "mh_training_school", "zhuhui-s002")["state"] == "completed"

    # the county's 学分登记员 registers every teacher's credits by the one rule: 18 h -> 2, 12 -> 2, 6 -> 1, 3 -> 0.5
    assert inbox(demo, "zhuhui-jsfz") == [("mh_training_county_credits", "zhuhui")]
    task = demo.queries.tasks(user="zhuhui-jsfz")[0]
    with pytest.raises(InvalidInput):  # no credits per session typed in: the rule gives them
        demo.execute(CompleteTask(task["id"], "zhuhui-jsfz", CREDITS | {"credits_per_session": 1}))
    with pytest.raises(Forbidden):  # the programme officer registers no credits
        demo.execute(CompleteTask(task["id"], "zhuhui-zr", CREDITS))
    county = _instance(demo, "mh_training_county", "zhuhui")["data"]
    assert sorted((c["id"], c["hours"], c["credits"]) for c in county["credit_list"]) == [
        ("zhuhui-s001-p01-js", 12, 2), ("zhuhui-s001-xl1", 18, 2), ("zhuhui-s002-xl1", 6, 1),
        ("zhuhui-s003-xl1", 3, 0.5)]
    complete(demo, "zhuhui-jsfz", "mh_training_county_credits", CREDITS)
    assert _instance(demo, "mh_training_county", "zhuhui")["state"] == "completed"
    # the city's own session: one is the minimum, and it may end now
    complete(demo, "hy-zr", "mh_training_city_session",
             SESSION | {"next_step": "finish", "trainer": "湖南省心理卫生协会（依托机构）"})
    data = demo.queries.instance(city)["data"]
    assert (data["min_sessions"], data["session_count"], data["finish_refused"]) == (1, 1, False)
    assert data["partner"] == "湖南省心理卫生协会"  # the plan's partner and the trainer of the city's session
    assert [(s["title"], s["trainer"]) for s in data["sessions"]] == [
        ("心理健康教育专题培训", "湖南省心理卫生协会（依托机构）")]
    assert inbox(demo, "hy-zr") == []  # the other counties are still training


def test_the_year_is_done_when_every_unit_and_every_mental_health_teacher_is_covered(demo: Huhua) -> None:
    city = demo.execute(StartInstance("mh_training_city", "scheduler", origin=ENGINE, variables={  # as in March
        "scheduled_for": "2026-03-02T08:30:00+08:00", "late": False}))["id"]
    complete(demo, "hy-zr", "mh_training_city_plan", PLAN)
    for county in sorted(u["id"] for u in demo.queries.units(kind="county")):
        _county(demo, county)
    before = demo.queries.coverage(city, demo.clock.now())
    # 26 full-time and 13 part-time teachers of the schools, 13 teachers of the teaching points
    assert before["people"] == {"total": 52, "completed": 0, "missing": 52}
    assert before["units"]["total"] == 65
    assert _complete_all(demo, "mh_training_attend", ATTENDANCE) == 52
    assert _complete_all(demo, "mh_training_county_credits", CREDITS) == 13
    assert inbox(demo, "hy-zr") == [("mh_training_city_session", None)]  # the city has not held its own yet
    complete(demo, "hy-zr", "mh_training_city_session", SESSION | {"next_step": "finish"})
    done = demo.queries.coverage(city, demo.clock.now())
    assert done["complete"] and done["percent"] == 100.0
    assert inbox(demo, "hy-zr") == [("mh_training_city_summary", None)]
    complete(demo, "hy-zr", "mh_training_city_summary", {"summary": "市级1次、各县市区各2次，全覆盖"})
    assert demo.queries.instance(city)["state"] == "completed"
