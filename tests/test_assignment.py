"""Tasks offered to roles at units of the instance's org scope: the right people see them, nobody else does."""

from __future__ import annotations

from datetime import datetime

import pytest

from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ, VirtualClock
from engine.commands import ENGINE, CompleteTask, DeployShippedProcesses, LoadDirectory, StartInstance
from engine.errors import InvalidInput, NotFound
from engine.org.directory import Role
from engine.org.profiles import generate
from tests.helpers import deploy_fixtures
from workers.job_worker import run_due_jobs


@pytest.fixture
def demo(huhua: Huhua) -> Huhua:
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    huhua.execute(DeployShippedProcesses(str(huhua.settings.processes_dir)))
    return huhua


def _inbox(huhua: Huhua, user: str) -> list[tuple[str, str | None]]:
    return [(t["element_id"], t["org_scope"]) for t in huhua.queries.tasks(user=user)]


def test_a_school_task_is_offered_to_that_schools_role_holder_only(demo: Huhua) -> None:
    started = demo.execute(StartInstance("monthly_school_check", "admin", org_scope="zhuhui-s001", origin=ENGINE))
    assert _inbox(demo, "zhuhui-s001-zr") == [("self_check", "zhuhui-s001")]
    for outsider in ("zhuhui-s002-zr", "zhuhui-s001-xz", "zhuhui-s001-bzr1", "zhuhui-zr", "hy-zr"):
        assert _inbox(demo, outsider) == [], outsider
    task = demo.queries.tasks(user="zhuhui-s001-zr")[0]
    assert task["candidate_roles"] == ["programme_officer@zhuhui-s001"]
    with pytest.raises(NotFound):  # another school's officer: as if there were no such task
        demo.execute(CompleteTask(task["id"], "zhuhui-s002-zr", {}))
    demo.execute(CompleteTask(task["id"], "zhuhui-s001-zr", {"self_scores": {"plan_summary": 8},
                                                              "self_summary": "本月按计划开展"}))
    # the next step belongs to the county above the school
    assert _inbox(demo, "zhuhui-zr") == [("county_check", "zhuhui-s001")]
    assert _inbox(demo, "yanfeng-zr") == [] and _inbox(demo, "zhuhui-s001-zr") == []
    assert demo.queries.instance(started["id"])["open_tasks"][0]["candidate_roles"] == ["programme_officer@zhuhui"]


def test_a_change_of_staff_reaches_tasks_already_open(demo: Huhua) -> None:
    demo.execute(StartInstance("monthly_school_check", "admin", org_scope="hengnan-s003", origin=ENGINE))
    directory = generate("demo")
    directory.roles[:] = [r for r in directory.roles if (r.unit_id, r.role) != ("hengnan-s003", "programme_officer")]
    directory.roles.append(Role("hengnan-s003-bzr2", "hengnan-s003", "programme_officer"))
    demo.execute(LoadDirectory(directory, "admin", source="staff change"))
    assert _inbox(demo, "hengnan-s003-zr") == []
    assert _inbox(demo, "hengnan-s003-bzr2") == [("self_check", "hengnan-s003")]


def test_overdue_work_escalates_to_the_same_role_one_tier_up_counting_working_days(
        demo: Huhua, clock: VirtualClock) -> None:
    clock.set(datetime(2026, 9, 29, 9, tzinfo=BUSINESS_TZ))
    started = demo.execute(StartInstance("monthly_school_check", "admin", org_scope="leiyang-s002", origin=ENGINE))
    task = demo.queries.tasks(user="leiyang-s002-zr")[0]
    assert task["due_at"] == "2026-10-12T09:30:00+00:00"  # 5 working days after 29 Sep: 12 Oct, 17:30 Beijing
    clock.set(datetime(2026, 10, 11, 18, tzinfo=BUSINESS_TZ))  # Sunday 11 Oct: not yet overdue
    run_due_jobs(demo)
    assert _inbox(demo, "leiyang-zr") == []
    reminded = demo.queries.instance(started["id"])["data"]
    assert reminded.get("self_check_reminded") is True  # the reminder fell on 3 working days (Sat 10 Oct counts)
    clock.set(datetime(2026, 10, 12, 17, 31, tzinfo=BUSINESS_TZ))
    run_due_jobs(demo)
    assert _inbox(demo, "leiyang-zr") == [("urge_self_check", "leiyang-s002")]
    assert _inbox(demo, "hy-zr") == []


ITEMS = {"plan_summary": 8, "growth_portfolio": 8, "home_visits": 8, "theme_meetings": 8, "early_flags": 8,
         "biweekly_lesson": 10, "room_on_duty": 8, "case_records": 10, "teacher_training": 6,
         "safety_activities": 6, "homework_exams": 8, "no_paid_classes": 6, "pe_sleep_services": 6}


def test_the_county_scores_and_a_failing_school_must_rectify_until_the_recheck_passes(demo: Huhua) -> None:
    started = demo.execute(StartInstance("monthly_school_check", "admin", org_scope="qidong-s001", origin=ENGINE))
    demo.execute(CompleteTask(demo.queries.tasks(user="qidong-s001-zr")[0]["id"], "qidong-s001-zr",
                              {"self_summary": "已自查"}))
    check = demo.queries.tasks(user="qidong-zr")[0]
    scores = {key: points // 2 for key, points in ITEMS.items()} | {"case_records": 0, "biweekly_lesson": 0}
    demo.execute(CompleteTask(check["id"], "qidong-zr", {"scores": scores, "check_opinion": "心理课未开足"}))
    data = demo.queries.instance(started["id"])["data"]
    assert data["total"] == sum(scores.values()) == 40
    assert (data["band"], data["needs_rectification"]) == ("不合格", True)
    assert _inbox(demo, "qidong-s001-xz") == [("rectify", "qidong-s001")]  # the principal rectifies
    for verdict in ("failed", "passed"):
        rectify = demo.queries.tasks(user="qidong-s001-xz")[0]
        demo.execute(CompleteTask(rectify["id"], "qidong-s001-xz", {"rectify_measures": "每两周一节心理课",
                                                                   "rectified_on": "2026-03-20"}))
        recheck = demo.queries.tasks(user="qidong-zr")[0]
        demo.execute(CompleteTask(recheck["id"], "qidong-zr", {"recheck_result": verdict}))
    assert demo.queries.instance(started["id"])["state"] == "completed"


def test_a_good_school_is_graded_by_the_rubric(demo: Huhua) -> None:
    started = demo.execute(StartInstance("monthly_school_check", "admin", org_scope="nanyue-s002", origin=ENGINE))
    demo.execute(CompleteTask(demo.queries.tasks(user="nanyue-s002-zr")[0]["id"], "nanyue-s002-zr",
                              {"self_summary": "已自查"}))
    check = demo.queries.tasks(user="nanyue-zr")[0]
    demo.execute(CompleteTask(check["id"], "nanyue-zr", {"scores": ITEMS | {"home_visits": 5}, "check_opinion": "好"}))
    data = demo.queries.instance(started["id"])["data"]
    assert (data["total"], data["band"]) == (97, "优秀")
    assert demo.queries.instance(started["id"])["state"] == "completed"


def test_the_scoring_form_refuses_wrong_types_and_out_of_range_scores(demo: Huhua) -> None:
    started = demo.execute(StartInstance("monthly_school_check", "admin", org_scope="qidong-s002", origin=ENGINE))
    demo.execute(CompleteTask(demo.queries.tasks(user="qidong-s002-zr")[0]["id"], "qidong-s002-zr",
                              {"self_summary": "已自查"}))
    check = demo.queries.tasks(user="qidong-zr")[0]
    bad = ITEMS | {"home_visits": 99, "case_records": -4, "room_on_duty": "8", "early_flags": True}
    with pytest.raises(InvalidInput) as refused:
        demo.execute(CompleteTask(check["id"], "qidong-zr", {"scores": bad, "extra": 1}))
    problems = {p.field: p.message for p in refused.value.problems}
    assert set(problems) == {"scores.home_visits", "scores.case_records", "scores.room_on_duty",
                             "scores.early_flags", "check_opinion", "extra"}
    assert "at most 8" in problems["scores.home_visits"] and "家访" in problems["scores.home_visits"]
    assert "must be a number" in problems["scores.room_on_duty"]
    assert demo.queries.task(check["id"])["state"] == "open"  # nothing was applied
    assert demo.queries.instance(started["id"])["version"] == 2


def test_a_teaching_point_reaches_its_school_and_a_role_named_as_a_group_is_that_role(demo: Huhua) -> None:
    deploy_fixtures(demo, "point_visit.bpmn")
    demo.execute(StartInstance("point_visit", "admin", org_scope="leiyang-s001-p01", origin=ENGINE))
    assert _inbox(demo, "leiyang-s001-xz") == [("arrange", "leiyang-s001-p01")]  # the point's own school
    assert _inbox(demo, "leiyang-s002-xz") == []
    demo.execute(CompleteTask(demo.queries.tasks(user="leiyang-s001-xz")[0]["id"], "leiyang-s001-xz", {}))
    assert _inbox(demo, "leiyang-zr") == [("approve", "leiyang-s001-p01")]  # candidateGroups, as a role
