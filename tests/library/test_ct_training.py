"""班主任素养提升培训: city first (several experts lecture), then every county, then every school and teaching point
trains all its class teachers; "不漏一人" counts attendance: an absent teacher is excused by the principal or
trained again (补训) until they attend, and credits follow one rule, registered by the county's 学分登记员."""

from __future__ import annotations

from datetime import datetime

import pytest

from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ, VirtualClock
from engine.commands import ENGINE, CompleteTask, StartInstance
from engine.errors import Forbidden, InvalidInput
from tests.library.conftest import complete, inbox
from workers.job_worker import run_due_jobs

pytestmark = pytest.mark.slow  # a year of training at every school of the demo

PLAN = {"year": 2026, "course": "班主任素养提升", "topics": ["班主任良好心理品质和心育能力", "学生生命健康与安全教育"],
        "city_date": "2026-03-10"}
SESSION = {"held_on": "2026-03-20", "trainers": "专家组", "session_hours": 6, "participants": 40, "content": "专题讲座"}
CITY_SESSION = SESSION | {"session_hours": 3, "participants": 120,
                          "provincial_experts": "刘教授（湖南师范大学）班主任心理辅导技能\n"}
ATTENDED = {"attendance": {"attended": True}}
ACCEPT = {"reply": {"lecture_reply": "accept", "lecture_topic": "班主任的心育能力", "lecture_date": "2026-03-10",
                    "lecture_hours": 3}}
DECLINE = {"reply": {"lecture_reply": "decline", "decline_reason": "时间冲突"}}
MAKEUP = {"held_on": "2026-04-10", "trainers": "学校德育处", "session_hours": 3, "content": "集中补训"}
CREDITS = {"register_no": "2026-JX-001", "list_checked": True}
HOLDERS = {"programme_officer": "zr", "class_teacher": "js", "principal": "xz", "credit_registrar": "jsfz"}
LEFT_OUT = ("hengshan-s003-bzr2", "leiyang-s001-p01-js", "zhuhui-s001-bzr5")


def _holder(task: dict) -> str:
    """The demo person holding the task's role (``programme_officer@zhuhui`` -> ``zhuhui-zr``)."""
    if task["assignee"]:
        return task["assignee"]
    role, unit = task["candidate_roles"][0].split("@")
    if (role, unit) in (("credit_registrar", "shizhi"), ("credit_registrar", "hy")):
        return "hy-jsgz-kz"  # 市直's credits: the city's 教师工作科
    return f"{unit}-{HOLDERS[role]}"


def _complete_all(huhua: Huhua, element_id: str, data: dict, but: tuple[str, ...] = ()) -> int:
    """Complete every open ``element_id`` task (except those assigned to ``but``), each as a person offered it."""
    tasks = [t for t in huhua.queries.tasks(limit=500) if t["element_id"] == element_id and t["assignee"] not in but]
    for task in tasks:
        huhua.execute(CompleteTask(task["id"], _holder(task), data))
    run_due_jobs(huhua)
    return len(tasks)


def _city_training(huhua: Huhua) -> int:
    """The city plans, its experts answer (one lectures), the city records its training: the counties start."""
    started = huhua.execute(StartInstance("ct_training_city", "scheduler", origin=ENGINE, variables={  # as in March
        "scheduled_for": "2026-03-02T08:30:00+08:00", "late": False}))
    complete(huhua, "hy-zr", "ct_training_city_plan", PLAN)
    for n in range(1, 7):
        complete(huhua, f"zj0{n}", "ct_training_expert_lecture", ACCEPT if n == 3 else DECLINE)
    complete(huhua, "hy-zr", "ct_training_city_record", CITY_SESSION)
    return started["id"]


def _instance(huhua: Huhua, process_key: str, unit: str) -> dict:
    found = [i for i in huhua.queries.instances(process_key=process_key, limit=100) if i["org_scope"] == unit]
    return huhua.queries.instance(found[0]["id"])


def _standing(huhua: Huhua, city: int, unit: str) -> dict[str, tuple[bool, str | None, str | None]]:
    """Coverage of one school's people: person -> (done, status, reason)."""
    found = huhua.queries.coverage(city, huhua.clock.now())

    def walk(nodes: list[dict]) -> dict:
        for node in nodes:
            if node["unit"] == unit:
                return {p["id"]: (p["done"], p.get("status"), p.get("reason")) for p in node["people"]}
            hit = walk(node["children"])
            if hit:
                return hit
        return {}
    return walk(found["tree"])


def test_an_absent_teacher_is_not_covered_until_excused_or_trained_again_and_credits_follow_one_rule(
        demo: Huhua) -> None:
    city = demo.execute(StartInstance("ct_training_city", "hy-zr", org_scope="hy"))["id"]
    complete(demo, "hy-zr", "ct_training_city_plan", PLAN)
    # every expert of the pool answers the invitation in a task of their own; each who accepts gives one lecture
    for n in range(1, 7):
        assert inbox(demo, f"zj0{n}") == [("ct_training_expert_lecture", "hy-zjk")]
    # the invitation names the plan's topics (shown on the expert's form)
    assert _instance(demo, "ct_training_expert", "hy-zjk")["data"]["topics"] == PLAN["topics"]
    complete(demo, "zj02", "ct_training_expert_lecture", ACCEPT)
    complete(demo, "zj05", "ct_training_expert_lecture",
             ACCEPT | {"reply": ACCEPT["reply"] | {"lecture_topic": "班级突发事件应急处理"}})
    assert inbox(demo, "zj02") == [] and inbox(demo, "zj01") == [("ct_training_expert_lecture", "hy-zjk")]
    for n in (1, 3, 4, 6):
        complete(demo, f"zj0{n}", "ct_training_expert_lecture", DECLINE)
    assert demo.queries.instances(process_key="ct_training_county", limit=50) == []  # the city trains first
    complete(demo, "hy-zr", "ct_training_city_record", CITY_SESSION)
    data = demo.queries.instance(city)["data"]
    assert [(lecture["expert"], lecture["topic"]) for lecture in data["lectures"]] == [
        ("zj02", "班主任的心育能力"), ("zj05", "班级突发事件应急处理")]
    assert data["provincial_lectures"] == [{"level": "省级专家", "name": "刘教授（湖南师范大学）班主任心理辅导技能"}]

    complete(demo, "zhuhui-zr", "ct_training_county_session", SESSION)
    assert inbox(demo, "zhuhui-s002-zr") == [("ct_training_school_session", "zhuhui-s002")]
    assert inbox(demo, "zhuhui-zr") == [("ct_training_school_session", "zhuhui-s001-p01")]  # 送培到点
    # before the school trains, its teachers are listed as pending: nobody is covered by being asked
    assert set(_standing(demo, city, "zhuhui-s002").values()) == {(False, "pending", None)}
    # the city plan's topics reach the county and the school that run their own sessions on them
    assert _instance(demo, "ct_training_county", "zhuhui")["data"]["topics"] == PLAN["topics"]
    assert _instance(demo, "ct_training_school", "zhuhui-s002")["data"]["topics"] == PLAN["topics"]
    assert _instance(demo, "ct_training_school", "zhuhui-s001-p01")["data"]["topics"] == PLAN["topics"]
    complete(demo, "zhuhui-s002-zr", "ct_training_school_session", SESSION)
    for k in range(1, 6):
        assert inbox(demo, f"zhuhui-s002-bzr{k}") == [("ct_training_attend", "zhuhui-s002")]
    mine = demo.queries.tasks(user="zhuhui-s002-bzr3")[0]
    with pytest.raises(Forbidden):
        demo.execute(CompleteTask(mine["id"], "zhuhui-s002-bzr4", ATTENDED))  # each confirms only their own
    with pytest.raises(InvalidInput):  # the hours are the session's, not the teacher's to type
        demo.execute(CompleteTask(mine["id"], "zhuhui-s002-bzr3", {"attendance": {"attended": True, "hours": 40}}))
    complete(demo, "zhuhui-s002-bzr1", "ct_training_attend", {"attendance": {"attended": True, "city_session": True}})
    complete(demo, "zhuhui-s002-bzr2", "ct_training_attend",
             {"attendance": {"attended": True, "city_session": True, "county_session": True}})
    complete(demo, "zhuhui-s002-bzr3", "ct_training_attend", ATTENDED)
    mine = demo.queries.tasks(user="zhuhui-s002-bzr4")[0]
    for silent in ({"attendance": {"attended": False}}, {"attendance": {}}):  # 未参加 needs its reason
        with pytest.raises(InvalidInput, match="未参加的原因"):
            demo.execute(CompleteTask(mine["id"], "zhuhui-s002-bzr4", silent))
    complete(demo, "zhuhui-s002-bzr4", "ct_training_attend",
             {"attendance": {"attended": False, "absence_reason": "病假", "absence_note": "住院治疗至五月"}})
    complete(demo, "zhuhui-s002-bzr5", "ct_training_attend", {"attendance": {"attended": False,
                                                                              "absence_reason": "公务外出"}})
    # an honest "I did not attend" is an answer, not attendance: those two are missing, with their reasons
    standing = _standing(demo, city, "zhuhui-s002")
    assert standing["zhuhui-s002-bzr3"][:2] == (True, "attended")
    assert standing["zhuhui-s002-bzr4"] == (False, "absent", "病假：住院治疗至五月")
    assert standing["zhuhui-s002-bzr5"] == (False, "absent", "公务外出")
    missing = demo.queries.coverage(city, demo.clock.now(), missing_only=True)["missing_people"]
    assert {(p["id"], p["status"]) for p in missing if p["unit"] == "zhuhui-s002"} == {
        ("zhuhui-s002-bzr4", "absent"), ("zhuhui-s002-bzr5", "absent")}
    # the principal (一把手) decides each absence: excused with a reason, or a make-up session
    assert inbox(demo, "zhuhui-s002-xz") == [("ct_training_school_excuse", "zhuhui-s002")] * 2
    assert inbox(demo, "zhuhui-s002-zr") == []
    excuses = sorted(demo.queries.tasks(user="zhuhui-s002-xz"), key=lambda t: t["id"])
    demo.execute(CompleteTask(excuses[0]["id"], "zhuhui-s002-xz",
                              {"excuse": {"decision": "excuse", "reason": "长期病假，返岗后参加下一年度培训"}}))
    demo.execute(CompleteTask(excuses[1]["id"], "zhuhui-s002-xz", {"excuse": {"decision": "makeup"}}))
    run_due_jobs(demo)
    assert inbox(demo, "zhuhui-s002-zr") == [("ct_training_school_makeup", "zhuhui-s002")]
    complete(demo, "zhuhui-s002-zr", "ct_training_school_makeup", MAKEUP)
    assert inbox(demo, "zhuhui-s002-bzr5") == [("ct_training_attend", "zhuhui-s002")]  # only the one to train again
    assert inbox(demo, "zhuhui-s002-bzr4") == [] and inbox(demo, "zhuhui-s002-bzr1") == []
    complete(demo, "zhuhui-s002-bzr5", "ct_training_attend", ATTENDED)
    school = _instance(demo, "ct_training_school", "zhuhui-s002")
    assert school["state"] == "completed" and school["data"]["makeup_rounds"] == 1
    standing = _standing(demo, city, "zhuhui-s002")
    assert standing["zhuhui-s002-bzr4"] == (True, "excused", "准予免训：长期病假，返岗后参加下一年度培训")
    assert standing["zhuhui-s002-bzr5"][:2] == (True, "attended")

    # a teaching point: the county trains its teacher; its central school's principal decides the absence
    complete(demo, "zhuhui-zr", "ct_training_school_session", SESSION, scope="zhuhui-s001-p01")
    complete(demo, "zhuhui-s001-p01-js", "ct_training_attend", {"attendance": {"attended": False,
                                                                                "absence_reason": "其他"}})
    complete(demo, "zhuhui-s001-xz", "ct_training_school_excuse", {"excuse": {"decision": "makeup"}})
    complete(demo, "zhuhui-zr", "ct_training_school_makeup", MAKEUP | {"session_hours": 6}, scope="zhuhui-s001-p01")
    complete(demo, "zhuhui-s001-p01-js", "ct_training_attend", ATTENDED)
    assert _instance(demo, "ct_training_school", "zhuhui-s001-p01")["state"] == "completed"
    for school_id in ("zhuhui-s001", "zhuhui-s003"):
        complete(demo, f"{school_id}-zr", "ct_training_school_session", SESSION)
        for k in range(1, 6):
            complete(demo, f"{school_id}-bzr{k}", "ct_training_attend", ATTENDED)

    # credits: one rule for every level's hours (city 3, county 6, school 6, make-up 3), registered by the
    # county's 学分登记员 (教师发展中心), not typed by a school
    assert inbox(demo, "zhuhui-jsfz") == [("ct_training_county_credits", "zhuhui")]
    assert inbox(demo, "zhuhui-s002-zr") == [] and inbox(demo, "zhuhui-zr") == []
    county = _instance(demo, "ct_training_county", "zhuhui")["data"]
    credits = {c["id"]: (c["hours"], c["credits"]) for c in county["credit_list"]}
    assert credits["zhuhui-s002-bzr1"] == (9, 1) and credits["zhuhui-s002-bzr2"] == (15, 2)
    assert credits["zhuhui-s002-bzr3"] == (6, 1) and credits["zhuhui-s002-bzr5"] == (3, 0.5)
    assert credits["zhuhui-s001-p01-js"] == (6, 1) and "zhuhui-s002-bzr4" not in credits
    assert county["excused_list"] == [{"id": "zhuhui-s002-bzr4", "name": county["excused_list"][0]["name"],
                                       "unit": "zhuhui-s002", "reason": "准予免训：长期病假，返岗后参加下一年度培训"}]
    task = demo.queries.tasks(user="zhuhui-jsfz")[0]
    with pytest.raises(Forbidden):
        demo.execute(CompleteTask(task["id"], "zhuhui-zr", CREDITS))  # the programme officer registers no credits
    complete(demo, "zhuhui-jsfz", "ct_training_county_credits", CREDITS)
    county = _instance(demo, "ct_training_county", "zhuhui")
    assert county["state"] == "completed" and len(county["data"]["credits_registered"]) == 15


def test_coverage_reaches_100_percent_only_when_every_teacher_attended_or_is_excused(demo: Huhua) -> None:
    city = _city_training(demo)
    assert _complete_all(demo, "ct_training_county_session", SESSION) == 13
    assert _complete_all(demo, "ct_training_school_session", SESSION) == 52  # 39 schools and 13 teaching points
    before = demo.queries.coverage(city, demo.clock.now())
    # every class teacher once, and the six experts who answered the invitation
    assert before["people"] == {"total": 214, "completed": 6, "missing": 208}
    assert before["units"] == {"total": 66, "completed": 1, "missing": 65}  # the expert pool, 13 counties, 52 units
    assert _complete_all(demo, "ct_training_attend", ATTENDED, but=LEFT_OUT) == 205
    for teacher in LEFT_OUT:  # they answer, honestly: not attended
        complete(demo, teacher, "ct_training_attend", {"attendance": {"attended": False, "absence_reason": "病假"}})
    partial = demo.queries.coverage(city, demo.clock.now(), missing_only=True)
    assert sorted((p["id"], p["unit"], p["status"]) for p in partial["missing_people"]) == [
        ("hengshan-s003-bzr2", "hengshan-s003", "absent"), ("leiyang-s001-p01-js", "leiyang-s001-p01", "absent"),
        ("zhuhui-s001-bzr5", "zhuhui-s001", "absent")]
    counties = {u["id"] for u in demo.queries.units(kind="county")}  # each waits for its credits to be registered
    assert set(partial["missing_units"]) == counties | {"hengshan-s003", "leiyang-s001-p01", "zhuhui-s001"}
    assert not partial["complete"] and partial["percent"] < 100
    # the dashboard counts the same way
    top = demo.queries.dashboard_rollout("admin", city)
    assert next(u for u in top["units"] if u["unit"] == "zhuhui")["people"] == {"total": 16, "completed": 15,
                                                                                 "missing": 1}
    school = demo.queries.dashboard_rollout("admin", city, "zhuhui-s001")
    assert [(p["id"], p["task"]) for p in school["people"] if not p["done"]] == [
        ("zhuhui-s001-bzr5", "缺训待补训（病假）")]
    assert inbox(demo, "hy-jsgz-kz") == [("ct_training_county_credits", "shizhi")]  # 市直: the city's 教师工作科
    assert ("ct_training_county_credits", "shizhi") not in inbox(demo, "shizhi-zr")
    assert _complete_all(demo, "ct_training_county_credits", CREDITS) == 10  # the counties without an absentee
    assert _complete_all(demo, "ct_training_school_excuse", {"excuse": {"decision": "makeup"}}) == 3
    assert _complete_all(demo, "ct_training_school_makeup", MAKEUP) == 3
    for teacher in LEFT_OUT:
        complete(demo, teacher, "ct_training_attend", ATTENDED)
    almost = demo.queries.coverage(city, demo.clock.now(), missing_only=True)
    assert almost["missing_people"] == [] and not almost["complete"]  # three credit registrations still open
    assert sorted(almost["missing_units"]) == ["hengshan", "leiyang", "zhuhui"]
    assert _complete_all(demo, "ct_training_county_credits", CREDITS) == 3
    done = demo.queries.coverage(city, demo.clock.now())
    assert done["complete"] and done["percent"] == 100.0
    assert done["people"] == {"total": 214, "completed": 214, "missing": 0}
    assert inbox(demo, "hy-zr") == [("ct_training_city_summary", None)]
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
