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
from tests.library.monthly_checks import CLASS_ITEMS, MH_ITEMS, marks
from workers.job_worker import run_due_jobs


@pytest.fixture
def demo(huhua: Huhua) -> Huhua:
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    huhua.execute(DeployShippedProcesses(str(huhua.settings.processes_dir)))
    return huhua


def _inbox(huhua: Huhua, user: str) -> list[tuple[str, str | None]]:
    return sorted((t["element_id"], t["org_scope"]) for t in huhua.queries.tasks(user=user))


def _start_check(huhua: Huhua, school: str) -> int:
    """The school's monthly check as the scheduler starts it, run to its two checking sheets."""
    started = huhua.execute(StartInstance("monthly_school_check", "admin", org_scope=school, origin=ENGINE))
    run_due_jobs(huhua)  # the roster is read from the directory
    return int(started["id"])


def _sheet(huhua: Huhua, user: str, element: str) -> dict:
    return next(t for t in huhua.queries.tasks(user=user) if t["element_id"] == element)


def _rows(huhua: Huhua, instance_id: int, name: str) -> list[dict]:
    """The sheet's rows as the check set them: one per teacher of the directory."""
    return huhua.queries.instance(instance_id)["data"][name]


def _scored(rows: list[dict], items: dict[str, int], lost: dict[str, int], absent: set[str] = frozenset()) -> list:
    """Every row at full marks but the points ``lost`` by its teacher; ``absent`` teachers excused (病假)."""
    return [{**row, "absence": "病假"} if row["teacher"] in absent
            else {**row, **marks(items, lost.get(row["teacher"], 0))} for row in rows]


def _check_both_sheets(huhua: Huhua, instance_id: int, user: str, lost: dict[str, int] | None = None,
                       absent: set[str] = frozenset()) -> None:
    lost = lost or {}
    classes = _scored(_rows(huhua, instance_id, "class_teacher_scores"), CLASS_ITEMS, lost, absent)
    huhua.execute(CompleteTask(_sheet(huhua, user, "check_class_teachers")["id"], user, {
        "class_teacher_scores": classes, "class_problems": "无", "class_requirements": "无"}))
    mh = _scored(_rows(huhua, instance_id, "mh_teacher_scores"), MH_ITEMS, lost, absent)
    huhua.execute(CompleteTask(_sheet(huhua, user, "check_mh_work")["id"], user, {
        "mh_teacher_scores": mh, "mh_problems": "无", "mh_requirements": "无"}))
    run_due_jobs(huhua)  # the circular is drafted


def test_a_school_task_is_offered_to_that_schools_role_holder_only(demo: Huhua) -> None:
    started = _start_check(demo, "zhuhui-s001")
    sheets = [("check_class_teachers", "zhuhui-s001"), ("check_mh_work", "zhuhui-s001")]
    assert _inbox(demo, "zhuhui-s001-dy") == sheets  # the school's 德育处主任
    for outsider in ("zhuhui-s002-dy", "zhuhui-s001-zr", "zhuhui-s001-xz", "zhuhui-s001-bzr1", "zhuhui-zr", "hy-zr"):
        assert _inbox(demo, outsider) == [], outsider
    task = _sheet(demo, "zhuhui-s001-dy", "check_class_teachers")
    assert task["candidate_roles"] == ["moral_education_head@zhuhui-s001"]
    with pytest.raises(NotFound):  # another school's 德育处主任: as if there were no such task
        demo.execute(CompleteTask(task["id"], "zhuhui-s002-dy", {}))
    _check_both_sheets(demo, started, "zhuhui-s001-dy")
    # the next step belongs to the same school's principal, who signs the circular; nobody else sees it
    assert _inbox(demo, "zhuhui-s001-xz") == [("od_sign", "zhuhui-s001")]
    assert _sheet(demo, "zhuhui-s001-xz", "od_sign")["candidate_roles"] == ["principal@zhuhui-s001"]
    for outsider in ("zhuhui-s002-xz", "zhuhui-s001-dy", "zhuhui-s001-zr", "zhuhui-zr"):
        assert _inbox(demo, outsider) == [], outsider
    demo.execute(CompleteTask(_sheet(demo, "zhuhui-s001-xz", "od_sign")["id"], "zhuhui-s001-xz",
                              {"od_decision": "signed"}))
    run_due_jobs(demo)
    assert _inbox(demo, "zhuhui-s001-zr") == [("write_summary", "zhuhui-s001")]  # then its programme officer
    assert _inbox(demo, "zhuhui-s002-zr") == [] and _inbox(demo, "zhuhui-s001-xz") == []
    assert demo.queries.instance(started)["open_tasks"][0]["candidate_roles"] == ["programme_officer@zhuhui-s001"]


def test_a_change_of_staff_reaches_tasks_already_open(demo: Huhua) -> None:
    _start_check(demo, "hengnan-s003")
    directory = generate("demo")
    directory.roles[:] = [r for r in directory.roles
                          if (r.unit_id, r.role) != ("hengnan-s003", "moral_education_head")]
    directory.roles.append(Role("hengnan-s003-bzr2", "hengnan-s003", "moral_education_head"))
    demo.execute(LoadDirectory(directory, "admin", source="staff change"))
    assert _inbox(demo, "hengnan-s003-dy") == []
    assert _inbox(demo, "hengnan-s003-bzr2") == [("check_class_teachers", "hengnan-s003"),
                                                 ("check_mh_work", "hengnan-s003")]


def test_overdue_work_escalates_to_the_same_role_one_tier_up_counting_working_days(
        demo: Huhua, clock: VirtualClock) -> None:
    """The school's 减负 self-report (burden_school): reminded after 3 working days, after 5 the county's officer
    is asked to chase it; the national-day week does not count, the Saturday worked after it does."""
    clock.set(datetime(2026, 9, 29, 9, tzinfo=BUSINESS_TZ))
    started = demo.execute(StartInstance("burden_school", "admin", org_scope="leiyang-s002", origin=ENGINE,
                                         variables={"round_title": "专项督查"}))
    task = _sheet(demo, "leiyang-s002-zr", "burden_self_report")
    assert task["due_at"] == "2026-10-12T09:30:00+00:00"  # 5 working days after 29 Sep: 12 Oct, 17:30 Beijing
    clock.set(datetime(2026, 10, 11, 18, tzinfo=BUSINESS_TZ))  # Sunday 11 Oct: not yet overdue
    run_due_jobs(demo)
    assert _inbox(demo, "leiyang-zr") == []
    reminded = demo.queries.instance(started["id"])["data"]
    assert reminded.get("self_report_reminded") is True  # the reminder fell on 3 working days (Sat 10 Oct counts)
    clock.set(datetime(2026, 10, 12, 17, 31, tzinfo=BUSINESS_TZ))
    run_due_jobs(demo)
    assert _inbox(demo, "leiyang-zr") == [("burden_urge_self_report", "leiyang-s002")]
    assert _sheet(demo, "leiyang-zr", "burden_urge_self_report")["candidate_roles"] == ["programme_officer@leiyang"]
    assert _inbox(demo, "hy-zr") == [] and _inbox(demo, "leiyang-s001-zr") == []
    assert _inbox(demo, "leiyang-s002-zr") == [("burden_self_report", "leiyang-s002")]  # still the school's to do


def test_each_teacher_and_the_school_are_graded_by_the_rubric(demo: Huhua) -> None:
    """The checking sheets' points per item (monthly_check_items, monthly_check_mh_items) add up to each teacher's
    score, graded by monthly_check_band (优秀 from 90, 良好 75, 合格 60); the school's figure is their mean."""
    started = _start_check(demo, "nanyue-s001")
    lost = {"nanyue-s001-bzr1": 0, "nanyue-s001-bzr2": 20, "nanyue-s001-bzr3": 35, "nanyue-s001-bzr4": 45,
            "nanyue-s001-p01-js": 3, "nanyue-s001-xl1": 10}
    _check_both_sheets(demo, started, "nanyue-s001-dy", lost, absent={"nanyue-s001-bzr5"})
    data = demo.queries.instance(started)["data"]
    graded = {a["teacher"]: (a["score"], a["band"], a["reason"]) for a in data["appraisal"]}
    assert graded == {"nanyue-s001-bzr1": (100, "优秀", ""), "nanyue-s001-bzr2": (80, "良好", ""),
                      "nanyue-s001-bzr3": (65, "合格", ""), "nanyue-s001-bzr4": (55, "不合格", ""),
                      "nanyue-s001-bzr5": (None, None, "病假"), "nanyue-s001-p01-js": (97, "优秀", ""),
                      "nanyue-s001-xl1": (90, "优秀", "")}  # a score on a band's floor reaches it
    assert next(a for a in data["appraisal"] if a["teacher"] == "nanyue-s001-bzr2")["items"] == marks(CLASS_ITEMS, 20)
    assert (data["total"], data["band"]) == (81.2, "良好")  # (100+80+65+55+97+90)/6, the excused one not counted
    assert data["teachers"] == {"total": 7, "scored": 6, "excused": 1}
    assert (data["praised_bands"], data["improve_bands"]) == (["优秀"], ["不合格"])
    demo.execute(CompleteTask(_sheet(demo, "nanyue-s001-xz", "od_sign")["id"], "nanyue-s001-xz",
                              {"od_decision": "signed"}))
    run_due_jobs(demo)
    demo.execute(CompleteTask(_sheet(demo, "nanyue-s001-zr", "write_summary")["id"], "nanyue-s001-zr",
                              {"summary_text": "本月班主任工作总体良好，个别家访记录不全。",
                               "measures": "补齐家访记录"}))
    assert demo.queries.instance(started)["state"] == "completed"


def test_the_checking_sheet_refuses_wrong_types_and_out_of_range_scores_row_by_row(demo: Huhua) -> None:
    started = _start_check(demo, "qidong-s001")
    task = _sheet(demo, "qidong-s001-dy", "check_class_teachers")
    rows = _scored(_rows(demo, started, "class_teacher_scores"), CLASS_ITEMS, {})
    version = demo.queries.instance(started)["version"]
    rows[0]["home_visits"] = 99
    rows[1]["theme_meetings"] = -4
    rows[2]["plan_summary"] = "8"
    rows[3]["early_flags"] = True
    del rows[4]["biweekly_lesson"]
    rows[5] |= {"absence": "度假", "bonus": 5}
    with pytest.raises(InvalidInput) as refused:
        demo.execute(CompleteTask(task["id"], "qidong-s001-dy", {"class_teacher_scores": rows, "class_problems": "无",
                                                                 "extra": 1}))
    problems = {p.field: p.message for p in refused.value.problems}
    assert set(problems) == {"class_teacher_scores[0].home_visits", "class_teacher_scores[1].theme_meetings",
                             "class_teacher_scores[2].plan_summary", "class_teacher_scores[3].early_flags",
                             "class_teacher_scores[4].biweekly_lesson", "class_teacher_scores[5].absence",
                             "class_teacher_scores[5].bonus", "class_requirements", "extra"}
    assert "row 1" in problems["class_teacher_scores[0].home_visits"]
    assert "at most 15" in problems["class_teacher_scores[0].home_visits"]
    assert "家访" in problems["class_teacher_scores[0].home_visits"]
    assert "at least 0" in problems["class_teacher_scores[1].theme_meetings"]
    assert "must be a number" in problems["class_teacher_scores[2].plan_summary"]
    assert "must be a number" in problems["class_teacher_scores[3].early_flags"]
    assert "required" in problems["class_teacher_scores[4].biweekly_lesson"]
    assert "病假" in problems["class_teacher_scores[5].absence"]
    assert demo.queries.task(task["id"])["state"] == "open"  # nothing was applied
    assert demo.queries.instance(started)["version"] == version
    assert "home_visits" not in demo.queries.instance(started)["data"]["class_teacher_scores"][0]


def test_a_teaching_point_reaches_its_school_and_a_role_named_as_a_group_is_that_role(demo: Huhua) -> None:
    deploy_fixtures(demo, "point_visit.bpmn")
    demo.execute(StartInstance("point_visit", "admin", org_scope="leiyang-s001-p01", origin=ENGINE))
    assert _inbox(demo, "leiyang-s001-xz") == [("arrange", "leiyang-s001-p01")]  # the point's own school
    assert _inbox(demo, "leiyang-s002-xz") == []
    demo.execute(CompleteTask(demo.queries.tasks(user="leiyang-s001-xz")[0]["id"], "leiyang-s001-xz", {}))
    assert _inbox(demo, "leiyang-zr") == [("approve", "leiyang-s001-p01")]  # candidateGroups, as a role
