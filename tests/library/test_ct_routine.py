"""班主任常规管理: every class teacher's plan, portfolios, home visits, early flags and summary; a referral."""

from __future__ import annotations

from datetime import datetime

import pytest

from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ, VirtualClock
from engine.commands import ENGINE, CompleteTask, StartInstance
from engine.errors import Forbidden, InvalidInput
from tests.library.conftest import complete, inbox
from workers.job_worker import run_due_jobs

#: One database: a scenario of the library; the engine's own tests hold its contract with each database, and
#: test_launch and test_ct_training run the library on PostgreSQL too.
DATABASES = ("sqlite",)

SCHOOLS = ("zhuhui-s001", "zhuhui-s002", "zhuhui-s003")
TEACHERS = [f"{school}-bzr{k}" for school in SCHOOLS for k in range(1, 6)] + ["zhuhui-s001-p01-js"]
PLAN = {"plan": {"class_name": "七年级2班", "plan_text": "以生命与心理健康为主题，每月一次主题班会",
                 "theme_meetings_planned": 4, "home_visits_planned": 12}}
RECORDS = {"record": {"portfolios_updated": 45, "home_visits": 6, "home_visit_notes": "走访留守儿童家庭"}}
YEAR_SUMMARY = {"year_summary": {"summary_text": "本学期班级稳定，家校沟通顺畅",
                                 "year_summary_text": "本学年完成计划目标", "theme_meetings_held": 4,
                                 "portfolios_complete": True}}


def watched(alias: str, kinds: list[str], observation: str, status: str = "following") -> dict:
    return {"student_alias": alias, "kinds": kinds, "found_on": "2026-03-20", "observation": observation,
            "measures": "个别谈心", "follow_up_status": status}


#: The early-warning register: a list per class teacher; a student may be of both kinds
FLAGS = {"zhuhui-s001-bzr2": [watched("小明", ["psych"], "近两周情绪低落，回避同学"),
                              watched("小丽", ["family", "psych"], "父亲病故后沉默寡言"),
                              watched("小军", ["psych"], "上学期焦虑，已好转", "closed")],
         "zhuhui-s001-bzr3": [watched("小红", ["family"], "父母离异，随祖父母生活")],
         "zhuhui-s002-bzr4": [watched("小刚", ["psych"], "多次提到活着没意思")]}


def register(teacher: str) -> dict:
    return {"register": {"class_name": "七年级2班", "class_size": 45,
                         "class_analysis": "学习压力较大，个别学生适应困难", "students": FLAGS.get(teacher, [])}}


def school_of(teacher: str) -> str:
    return teacher.rsplit("-", 1)[0]


def test_each_class_teacher_files_the_semester_routine_and_a_flag_refers_the_student_to_the_counselling_room(
        demo: Huhua, clock: VirtualClock) -> None:
    semester = demo.execute(StartInstance("ct_routine_semester", "zhuhui-zr", org_scope="zhuhui",
                                          variables={"semester": "2026年春季学期"}))
    run_due_jobs(demo)
    children = demo.queries.instances(process_key="ct_routine_school", limit=50)
    assert sorted(c["org_scope"] for c in children) == [*SCHOOLS[:1], "zhuhui-s001-p01", *SCHOOLS[1:]]

    # every class teacher (the teaching point's included) gets a task of their own, nobody else does
    for teacher in TEACHERS:
        assert inbox(demo, teacher) == [("file_plan", school_of(teacher))], teacher
    for outsider in ("zhuhui-s001-xz", "zhuhui-s001-zr", "zhuhui-s001-xl1", "zhuhui-zr", "yanfeng-s001-bzr1"):
        assert inbox(demo, outsider) == [], outsider
    plan = demo.queries.tasks(user="zhuhui-s001-bzr1")[0]
    assert plan["due_at"] == "2026-03-16T09:30:00+00:00"  # 10 working days
    with pytest.raises(Forbidden):
        demo.execute(CompleteTask(plan["id"], "zhuhui-s001-bzr2", PLAN))
    for teacher in TEACHERS:
        if teacher != "zhuhui-s003-bzr5":
            complete(demo, teacher, "file_plan", PLAN)
    clock.set(datetime(2026, 3, 11, 9, 1, tzinfo=BUSINESS_TZ))  # 7 working days: one plan is still missing
    run_due_jobs(demo)
    missing = demo.queries.coverage(semester["id"], clock.now(), missing_only=True)
    assert [(p["id"], p["task"]) for p in missing["missing_people"] if p["task"] == "报送学期工作计划"] == [
        ("zhuhui-s003-bzr5", "报送学期工作计划")]
    third = next(c for c in children if c["org_scope"] == "zhuhui-s003")
    assert demo.queries.instance(third["id"])["data"]["plan_reminded"] is True
    complete(demo, "zhuhui-s003-bzr5", "file_plan", PLAN)

    # portfolios and home visits, and the early screening of every class
    for teacher in TEACHERS:
        assert sorted(inbox(demo, teacher)) == [("records", school_of(teacher)), ("screening", school_of(teacher))]
        complete(demo, teacher, "records", RECORDS)
    # a flag needs the student's alias and what was seen (the form's rows, checked by the server too)
    screening = next(t for t in demo.queries.tasks(user="zhuhui-s002-bzr4") if t["element_id"] == "screening")
    for blank in ("student_alias", "observation"):
        with pytest.raises(InvalidInput):
            demo.execute(CompleteTask(screening["id"], "zhuhui-s002-bzr4", {"register": register(
                "zhuhui-s002-bzr4")["register"] | {"students": [FLAGS["zhuhui-s002-bzr4"][0] | {blank: ""}]}}))
    # 早发现、早疏导: a flag reaches the counselling room as soon as its teacher files, not when the school has
    complete(demo, "zhuhui-s002-bzr4", "screening", register("zhuhui-s002-bzr4"))
    assert inbox(demo, "zhuhui-s002-xl1") == [("intake", "zhuhui-s002")]
    assert ("screening", "zhuhui-s002") in inbox(demo, "zhuhui-s002-bzr1")  # her colleagues have not filed yet
    for teacher in TEACHERS:
        if teacher != "zhuhui-s002-bzr4":
            complete(demo, teacher, "screening", register(teacher))

    # each psychological tendency still watched starts a counselling case at the teacher's own school
    cases = demo.queries.instances(process_key="counselling_case", limit=10)
    assert sorted(c["org_scope"] for c in cases) == ["zhuhui-s001", "zhuhui-s001", "zhuhui-s002"]
    referred = sorted((d["student_alias"], d["referred_by"], d["school_id"], d["channel"]) for d in (
        demo.queries.instance(c["id"])["data"] for c in cases if c["org_scope"] == "zhuhui-s001"))
    assert referred == [("小丽", "zhuhui-s001-bzr2", "zhuhui-s001", "referral"),
                        ("小明", "zhuhui-s001-bzr2", "zhuhui-s001", "referral")]
    assert inbox(demo, "zhuhui-s001-xl1") == [("intake", "zhuhui-s001"), ("intake", "zhuhui-s001")]
    assert inbox(demo, "zhuhui-s002-xl1") == [("intake", "zhuhui-s002")]
    assert inbox(demo, "zhuhui-s003-xl1") == []
    for outsider in ("zhuhui-s001-bzr2", "zhuhui-s001-xz", "zhuhui-s001-zr", "zhuhui-zr"):
        assert ("intake", "zhuhui-s001") not in inbox(demo, outsider), outsider
    complete(demo, "zhuhui-s002-xl1", "intake", {"student_alias": "小刚", "requester": "class_teacher",
                                                 "channel": "referral", "appointment_date": "2026-03-12",
                                                 "reason": "班主任转介：情绪低落"})
    assert inbox(demo, "zhuhui-s002-xl1") == [("session", "zhuhui-s002")]

    # the special family situations are followed up by their class teachers with a home visit
    for teacher in ("zhuhui-s001-bzr3", "zhuhui-s001-bzr2"):  # 小丽 is watched for both reasons
        assert inbox(demo, teacher) == [("family_follow_up", "zhuhui-s001")], teacher
        complete(demo, teacher, "family_follow_up", {"visit_date": "2026-03-14",
                                                     "family_follow_up": "与监护人沟通，建立每周联系"})

    # the second semester of the school year: each class teacher sums up the semester and the year
    for teacher in TEACHERS:
        assert inbox(demo, teacher) == [("file_year_summary", school_of(teacher))], teacher
        complete(demo, teacher, "file_year_summary", YEAR_SUMMARY)
    point = next(c for c in children if c["org_scope"] == "zhuhui-s001-p01")
    assert demo.queries.instance(point["id"])["state"] == "completed"  # a teaching point has no officer
    for school in SCHOOLS:
        assert inbox(demo, f"{school}-zr") == [("review", school)]
        assert inbox(demo, f"{school}-xz") == []
    result = demo.queries.instance(next(c for c in children if c["org_scope"] == "zhuhui-s001")["id"])
    assert result["data"]["school_result"] == {
        "unit": "zhuhui-s001", "teachers": 5, "plans_filed": 5, "summaries_filed": 5, "year_plans_filed": 0,
        "year_summaries_filed": 5, "flagged": 3, "home_visits": 30, "portfolios_updated": 225, "referred": 2,
        "family_follow_ups": 2}  # counts: who was flagged is sensitive
    seen = demo.queries.instance(result["id"], viewer="zhuhui-zr")["data"]  # the county reads the routine ...
    assert seen["school_result"]["flagged"] == 3 and "registers" not in seen and "referrals" not in seen  # ... not who
    for school in SCHOOLS:
        complete(demo, f"{school}-zr", "review", {"review_result": "complete", "review_comment": "材料齐全"})
    assert inbox(demo, "zhuhui-zr") == [("summary", "zhuhui")]
    complete(demo, "zhuhui-zr", "summary", {"area_summary": "16名班主任计划、总结齐全，转介2人",
                                            "commended_teachers": "zhuhui-s001-bzr3"})
    assert demo.queries.instance(semester["id"])["state"] == "completed"
    done = demo.queries.coverage(semester["id"], clock.now())
    assert done["complete"] and done["units"] == {"total": 4, "completed": 4, "missing": 0}
    assert demo.queries.instance(semester["id"])["data"]["schools_done"]["completed"] == 4


def test_the_autumn_semester_started_by_the_schedule_asks_for_the_yearly_plan(demo: Huhua, clock: VirtualClock) -> None:
    clock.set(datetime(2026, 9, 1, 8, 30, tzinfo=BUSINESS_TZ))
    semester = demo.execute(StartInstance("ct_routine_semester", "admin", org_scope="zhuhui", origin=ENGINE,
                                          variables={"scheduled_for": "2026-09-01T08:30:00+08:00"}))
    run_due_jobs(demo)
    data = demo.queries.instance(semester["id"])["data"]
    assert (data["semester"], data["term"]) == ("2026年秋季学期", "autumn")
    for teacher in TEACHERS:  # the first semester of the school year: the semester's and the year's plan
        assert inbox(demo, teacher) == [("file_year_plan", school_of(teacher))], teacher
    with pytest.raises(InvalidInput):  # the yearly plan is required
        demo.execute(CompleteTask(demo.queries.tasks(user="zhuhui-s001-bzr1")[0]["id"], "zhuhui-s001-bzr1", PLAN))
    complete(demo, "zhuhui-s001-bzr1", "file_year_plan",
             {"year_plan": {**PLAN["plan"], "year_plan_text": "本学年以“我爱我”为主线开展班级建设"}})
    assert inbox(demo, "zhuhui-s001-bzr1") == []  # filed; the school's routine waits for the others' plans
    assert inbox(demo, "zhuhui-s001-bzr2") == [("file_year_plan", "zhuhui-s001")]
