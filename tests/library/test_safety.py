"""安全与生命健康教育: March safety activities, May "我爱我", a lesson report every two weeks, escalations."""

from __future__ import annotations

from datetime import datetime

import pytest

from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ, VirtualClock
from engine.commands import ENGINE, CompleteTask, StartInstance
from engine.errors import NotFound
from tests.library.conftest import complete, inbox
from workers.job_worker import run_due_jobs

#: One database: a scenario of the library; the engine's own tests hold its contract with each database, and
#: test_launch and test_ct_training run the library on PostgreSQL too.
DATABASES = ("sqlite",)

MARCH = {"march_theme": "珍爱生命 安全第一", "march_forms": ["class_meeting", "drill"], "march_date": "2026-03-13",
         "march_classes": 30, "march_students": 1350, "march_textbook": "yes",
         "march_textbook_use": "各年级每周1课时使用《生命与健康常识》",
         "march_summary": "各班召开安全主题班会并开展疏散演练"}
MAY = {"may_date": "2026-05-12", "may_teachers": 86, "may_students": 1350, "may_forms": ["group_guidance", "drama"],
       "may_summary": "班主任、任课教师和心理健康教育教师分享自我关爱与关爱学生的做法"}


def lessons(held: int, **changes: object) -> dict:
    return {"classes_total": 30, "classes_with_lesson": held, "lesson_forms": ["group_guidance", "drama"],
            "lesson_textbook": "yes", "lesson_topics": "情绪管理团体辅导、生命教育情景剧", **changes}


def at(huhua: Huhua, clock: VirtualClock, *when: int) -> None:
    clock.set(datetime(*when, tzinfo=BUSINESS_TZ))
    run_due_jobs(huhua)


def report_all(huhua: Huhua, element_id: str, data: dict, but: tuple[str, ...] = ()) -> None:
    """Every school's programme officer reports ``element_id`` (except the schools in ``but``)."""
    for task in huhua.queries.tasks(limit=500):
        if task["element_id"] == element_id and task["org_scope"] not in but:
            huhua.execute(CompleteTask(task["id"], f"{task['org_scope']}-zr", data))
    run_due_jobs(huhua)


def school_data(huhua: Huhua, school: str) -> dict:
    found = [i for i in huhua.queries.instances(process_key="safety_school", limit=100) if i["org_scope"] == school]
    return huhua.queries.instance(found[0]["id"])["data"]


def test_the_city_starts_every_county_and_every_school_reports_its_march_activity(
        demo: Huhua, clock: VirtualClock) -> None:
    started = demo.execute(StartInstance("safety_programme", "hy-zr", org_scope="hy", variables={"year": 2026}))
    run_due_jobs(demo)
    counties = sorted(u["id"] for u in demo.queries.units(kind="county"))
    schools = sorted(u["id"] for u in demo.queries.units(kind="school", limit=500))
    instances = demo.queries.instances(limit=500)
    assert sorted(i["org_scope"] for i in instances if i["process_key"] == "safety_county") == counties
    assert sorted(i["org_scope"] for i in instances if i["process_key"] == "safety_school") == schools  # 39
    assert school_data(demo, "qidong-s002")["lesson_rounds"] == 8  # the default: a lesson report every 2 weeks

    # March: the school's programme officer reports the safety theme activity, nobody else is asked
    assert inbox(demo, "zhuhui-s001-zr") == [("march_report", "zhuhui-s001")]
    for outsider in ("zhuhui-s001-xz", "zhuhui-s001-bzr1", "zhuhui-s001-xl1", "zhuhui-s001-p01-js", "zhuhui-zr",
                     "hy-zr"):
        assert inbox(demo, outsider) == [], outsider
    march = demo.queries.tasks(user="zhuhui-s001-zr")[0]
    assert march["due_at"] == "2026-03-30T09:30:00+00:00"  # 20 working days after Monday 2 March, 17:30
    with pytest.raises(NotFound):  # another unit's: as if missing
        demo.execute(CompleteTask(march["id"], "zhuhui-s002-zr", MARCH))
    report_all(demo, "march_report", MARCH, but=("hengnan-s002",))
    coverage = demo.queries.coverage(started["id"], demo.clock.now())
    assert coverage["units"] == {"total": 52, "completed": 0, "missing": 52}  # the semester goes on
    assert [t["org_scope"] for t in demo.queries.tasks(limit=500) if t["element_id"] == "march_report"] == [
        "hengnan-s002"]
    at(demo, clock, 2026, 7, 10, 17, 31)  # nothing more is reported this semester: the city stops waiting
    assert inbox(demo, "hy-zr") == [("summary", "hy")]
    assert ("summary", "hengnan") in inbox(demo, "hengnan-zr")
    complete(demo, "hy-zr", "summary", {"safety_summary": "三月安全主题教育活动全市开展",
                                        "safety_problems": "双周课时报送不及时"})
    assert demo.queries.instance(started["id"])["state"] == "completed"
    assert "fan_out_closed" in [e["kind"] for e in demo.queries.instance(started["id"])["history"]]


def test_a_county_semester_with_lessons_every_two_weeks_escalations_and_the_semester_deadline(
        demo: Huhua, clock: VirtualClock) -> None:
    started = demo.execute(StartInstance("safety_county", "zhuhui-zr", org_scope="zhuhui",
                                         variables={"year": 2026, "lesson_rounds": 2},
                                         origin=ENGINE))  # as safety_programme's fan-out starts it
    run_due_jobs(demo)
    complete(demo, "zhuhui-s001-zr", "march_report", MARCH | {"march_forms": ["class_meeting", "expert_talk", "drill"]})
    complete(demo, "zhuhui-s003-zr", "march_report", MARCH)

    # two weeks (10 working days) later every school reports its lessons; a short one goes to the principal
    at(demo, clock, 2026, 3, 16, 8, 59)
    assert inbox(demo, "zhuhui-s001-zr") == []
    at(demo, clock, 2026, 3, 16, 9, 1)
    assert inbox(demo, "zhuhui-s001-zr") == [("lesson_report", "zhuhui-s001")]
    assert sorted(inbox(demo, "zhuhui-s002-zr")) == [("lesson_report", "zhuhui-s002"), ("march_report", "zhuhui-s002")]
    assert inbox(demo, "yanfeng-s001-zr") == []
    complete(demo, "zhuhui-s001-zr", "lesson_report", lessons(30))  # every class, activities, the textbook: 达标
    complete(demo, "zhuhui-s002-zr", "lesson_report", lessons(27))  # 3 classes without their lesson: 开齐开足 fails
    complete(demo, "zhuhui-s003-zr", "lesson_report", lessons(30, lesson_forms=[], lesson_textbook="no",
                                                              lesson_tendencies=["lecturing"]))
    assert inbox(demo, "zhuhui-s002-xz") == [("fix_lessons", "zhuhui-s002")]  # no "基本达标" without action
    assert inbox(demo, "zhuhui-s003-xz") == [("fix_lessons", "zhuhui-s003")]
    assert inbox(demo, "zhuhui-s001-xz") == []
    assert school_data(demo, "zhuhui-s002")["lesson_problems"] == [
        "未开齐开足：有班级近两周未上心理健康或生命健康教育课"]
    assert school_data(demo, "zhuhui-s003")["lesson_problems"] == [
        "未以活动教学为主（未采用团体辅导、心理训练、问题辨析、情境创设、角色扮演、游戏、心理情景剧等形式）",
        "存在单纯心理学知识讲授倾向", "未用好《生命与健康常识》教材"]
    for school in ("zhuhui-s002", "zhuhui-s003"):
        complete(demo, f"{school}-xz", "fix_lessons", {"lesson_fix_measures": "排入课表，心理教师巡课",
                                                       "lesson_fix_by": "2026-03-20"})

    # 31 March: zhuhui-s002's March report is overdue and goes to its county officer; round two is due
    at(demo, clock, 2026, 3, 31, 9)
    assert inbox(demo, "zhuhui-zr") == [("urge_march", "zhuhui-s002")]
    assert inbox(demo, "yanfeng-zr") == [] and inbox(demo, "hy-zr") == []
    complete(demo, "zhuhui-s002-zr", "lesson_report", lessons(30))
    complete(demo, "zhuhui-s003-zr", "lesson_report", lessons(30))
    at(demo, clock, 2026, 4, 3, 17, 29)
    assert inbox(demo, "zhuhui-zr") == [("urge_march", "zhuhui-s002")]
    at(demo, clock, 2026, 4, 3, 17, 31)  # 3 working days without zhuhui-s001's lesson report
    assert sorted(inbox(demo, "zhuhui-zr")) == [("urge_lessons", "zhuhui-s001"), ("urge_march", "zhuhui-s002")]
    complete(demo, "zhuhui-s001-zr", "lesson_report", lessons(30, lesson_tendencies=["entertainment"]))
    assert school_data(demo, "zhuhui-s001")["lesson_problems"] == ["存在过分娱乐化倾向"]
    complete(demo, "zhuhui-s001-xz", "fix_lessons", {"lesson_fix_measures": "教研组听课，调整活动设计",
                                                     "lesson_fix_by": "2026-04-10"})
    assert inbox(demo, "zhuhui-zr") == [("urge_march", "zhuhui-s002")]  # reported: its urge closed itself
    complete(demo, "zhuhui-zr", "urge_march", {"urge_note": "已电话督促"}, "zhuhui-s002")  # an urge can be answered
    complete(demo, "zhuhui-s002-zr", "march_report", MARCH)
    assert inbox(demo, "zhuhui-s001-zr") == []  # two rounds reported

    # May (after the Labour Day holiday): the "我爱我" activity at every school
    at(demo, clock, 2026, 4, 30, 17)
    assert inbox(demo, "zhuhui-s001-zr") == []
    at(demo, clock, 2026, 5, 6, 8, 31)
    assert inbox(demo, "zhuhui-s001-zr") == [("may_report", "zhuhui-s001")]
    complete(demo, "zhuhui-s001-zr", "may_report", MAY | {"may_forms": ["parent_meeting", "open_day", "practice"]})
    complete(demo, "zhuhui-s002-zr", "may_report", MAY)
    at(demo, clock, 2026, 5, 27, 17, 31)  # 15 working days from 6 May: zhuhui-s003 has not reported
    assert inbox(demo, "zhuhui-zr") == [("urge_may", "zhuhui-s003")]

    # the semester ends: the county stops waiting; coverage names the school that is missing
    at(demo, clock, 2026, 7, 10, 17, 29)
    assert inbox(demo, "zhuhui-zr") == [("urge_may", "zhuhui-s003")]
    at(demo, clock, 2026, 7, 10, 17, 31)
    assert sorted(inbox(demo, "zhuhui-zr")) == [("summary", "zhuhui"), ("urge_may", "zhuhui-s003")]
    missing = demo.queries.coverage(started["id"], clock.now(), missing_only=True)
    assert missing["missing_units"] == ["zhuhui-s003"]
    assert missing["units"] == {"total": 3, "completed": 2, "missing": 1}
    complete(demo, "zhuhui-zr", "summary", {"safety_summary": "三所学校均开展活动；第三所学校五月活动未报，已督办"})
    assert demo.queries.instance(started["id"])["state"] == "completed"

    assert school_data(demo, "zhuhui-s001")["school_result"] == {
        "school": "zhuhui-s001", "semester": "spring", "march_reported": True, "may_reported": True,
        # the forms of its March and May activities (主题班会, 讲座, 演练; 家长会, 开放日, 实践活动) are in its report
        "march_forms": ["class_meeting", "expert_talk", "drill"],
        "may_forms": ["parent_meeting", "open_day", "practice"],
        "lesson_rounds_reported": 2, "lesson_rounds_rectified": 1, "lesson_average": 100}
    assert [entry["band"] for entry in school_data(demo, "zhuhui-s001")["lesson_log"]] == ["达标", "需整改"]
    assert "school_result" not in school_data(demo, "zhuhui-s003")  # still waiting for its May report


def test_the_autumn_semester_started_by_the_schedule_keeps_the_lesson_every_two_weeks(
        demo: Huhua, clock: VirtualClock) -> None:
    at(demo, clock, 2026, 9, 1, 8, 30)  # the scheduler starts it as it starts every schedule: no variables but when
    started = demo.execute(StartInstance("safety_programme", "admin", org_scope="hy", origin=ENGINE,
                                         variables={"scheduled_for": "2026-09-01T08:30:00+08:00"}))
    run_due_jobs(demo)
    data = demo.queries.instance(started["id"])["data"]
    assert (data["semester"], data["year"], data["lesson_rounds"], data["semester_end"]) == (
        "autumn", 2026, 9, "2027-01-20T17:30:00")
    assert school_data(demo, "zhuhui-s001")["semester"] == "autumn"
    assert inbox(demo, "zhuhui-s001-zr") == []  # no March or May activity in the autumn
    at(demo, clock, 2026, 9, 15, 9, 1)  # two weeks (10 working days) on: every school reports its lessons
    assert inbox(demo, "zhuhui-s001-zr") == [("lesson_report", "zhuhui-s001")]
    complete(demo, "zhuhui-s001-zr", "lesson_report", lessons(29, lesson_forms=["role_play", "game"]))
    assert inbox(demo, "zhuhui-s001-xz") == [("fix_lessons", "zhuhui-s001")]  # one class without: rectify
    complete(demo, "zhuhui-s002-zr", "lesson_report", lessons(30, lesson_forms=["scenario", "problem_analysis"]))
    assert school_data(demo, "zhuhui-s002")["lesson_band"] == "达标" and inbox(demo, "zhuhui-s002-xz") == []
