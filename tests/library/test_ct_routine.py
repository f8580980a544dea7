"""班主任常规管理: every class teacher's plan, portfolios, home visits, early flags and summary; a referral."""

from __future__ import annotations

from datetime import datetime

import pytest

from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ, VirtualClock
from engine.commands import CompleteTask, StartInstance
from engine.errors import Forbidden
from tests.library.conftest import complete, inbox
from workers.job_worker import run_due_jobs

SCHOOLS = ("zhuhui-s001", "zhuhui-s002", "zhuhui-s003")
TEACHERS = [f"{school}-bzr{k}" for school in SCHOOLS for k in range(1, 6)] + ["zhuhui-s001-p01-js"]
PLAN = {"plan": {"class_name": "七年级2班", "plan_text": "以生命与心理健康为主题，每月一次主题班会",
                 "theme_meetings_planned": 4, "home_visits_planned": 12}}
RECORDS = {"record": {"portfolios_updated": 45, "home_visits": 6, "home_visit_notes": "走访留守儿童家庭"}}
SUMMARY = {"summary": {"summary_text": "本学期班级稳定，家校沟通顺畅", "theme_meetings_held": 4,
                       "portfolios_complete": True}}
FLAGS = {"zhuhui-s001-bzr2": {"kind": "psych", "student_alias": "小明", "observation": "近两周情绪低落，回避同学",
                              "measures": "个别谈心"},
         "zhuhui-s001-bzr3": {"kind": "family", "student_alias": "小红", "observation": "父母离异，随祖父母生活"},
         "zhuhui-s002-bzr4": {"kind": "psych", "student_alias": "小刚", "observation": "多次提到活着没意思"}}


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
        complete(demo, teacher, "screening", {"flag": FLAGS.get(teacher, {"kind": "none"})})

    # the two psychological flags start a counselling case at each teacher's own school
    cases = {c["org_scope"]: c for c in demo.queries.instances(process_key="counselling_case", limit=10)}
    assert sorted(cases) == ["zhuhui-s001", "zhuhui-s002"]
    referral = demo.queries.instance(cases["zhuhui-s001"]["id"])["data"]
    assert (referral["student_alias"], referral["referred_by"], referral["school_id"], referral["channel"]) == (
        "小明", "zhuhui-s001-bzr2", "zhuhui-s001", "referral")
    assert inbox(demo, "zhuhui-s001-xl1") == [("intake", "zhuhui-s001")]
    assert inbox(demo, "zhuhui-s002-xl1") == [("intake", "zhuhui-s002")]
    assert inbox(demo, "zhuhui-s003-xl1") == []
    for outsider in ("zhuhui-s001-bzr2", "zhuhui-s001-xz", "zhuhui-s001-zr", "zhuhui-zr"):
        assert ("intake", "zhuhui-s001") not in inbox(demo, outsider), outsider
    complete(demo, "zhuhui-s001-xl1", "intake", {"student_alias": "小明", "requester": "class_teacher",
                                                 "channel": "referral", "appointment_date": "2026-03-12",
                                                 "reason": "班主任转介：情绪低落，回避同学"})
    assert inbox(demo, "zhuhui-s001-xl1") == [("session", "zhuhui-s001")]

    # the special family situation is followed up by that class teacher with a home visit
    assert inbox(demo, "zhuhui-s001-bzr3") == [("family_follow_up", "zhuhui-s001")]
    assert inbox(demo, "zhuhui-s001-bzr2") == []
    complete(demo, "zhuhui-s001-bzr3", "family_follow_up", {"visit_date": "2026-03-14",
                                                            "family_follow_up": "与祖父母沟通，建立每周联系"})

    # summaries at the end of the semester, the school's programme officer checks them
    for teacher in TEACHERS:
        assert inbox(demo, teacher) == [("file_summary", school_of(teacher))], teacher
        complete(demo, teacher, "file_summary", SUMMARY)
    point = next(c for c in children if c["org_scope"] == "zhuhui-s001-p01")
    assert demo.queries.instance(point["id"])["state"] == "completed"  # a teaching point has no officer
    for school in SCHOOLS:
        assert inbox(demo, f"{school}-zr") == [("review", school)]
        assert inbox(demo, f"{school}-xz") == []
    result = demo.queries.instance(next(c for c in children if c["org_scope"] == "zhuhui-s001")["id"])
    assert result["data"]["school_result"] == {
        "unit": "zhuhui-s001", "teachers": 5, "plans_filed": 5, "summaries_filed": 5, "home_visits": 30,
        "portfolios_updated": 225, "referred": 1, "family_follow_ups": 1}  # counts: who was flagged is sensitive
    for school in SCHOOLS:
        complete(demo, f"{school}-zr", "review", {"review_result": "complete", "review_comment": "材料齐全"})
    assert inbox(demo, "zhuhui-zr") == [("summary", "zhuhui")]
    complete(demo, "zhuhui-zr", "summary", {"area_summary": "16名班主任计划、总结齐全，转介2人",
                                            "commended_teachers": "zhuhui-s001-bzr3"})
    assert demo.queries.instance(semester["id"])["state"] == "completed"
    done = demo.queries.coverage(semester["id"], clock.now())
    assert done["complete"] and done["units"] == {"total": 4, "completed": 4, "missing": 0}
    assert demo.queries.instance(semester["id"])["data"]["schools_done"]["completed"] == 4
