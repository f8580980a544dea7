"""印发与组织: the city issues the notice and sets up its leading group, every county and every school sets up its
working body; the unit's 一把手 (county 局长, school 校长) approves its plan before the tier above reviews it; a
teaching point sets up no body of its own (its central school's plan covers it)."""

from __future__ import annotations

from datetime import datetime

import pytest

from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ, VirtualClock
from engine.commands import ENGINE, CompleteTask, StartInstance
from engine.errors import Forbidden, InvalidInput
from tests.library.conftest import complete, inbox
from tests.library.documents import pdf_text
from workers.job_worker import run_due_jobs

NOTICE = {"year": 2026, "plan_title": "“心育护花行动”实施方案", "group_leader": "局长", "deputy_leader": "分管副局长",
          "member_departments": ["基础教育科", "组织人事科", "教师工作科", "体卫艺科", "教育科学研究院"],
          "group_office": "基础教育科", "plan_points": "指导思想、工作目标、主要措施、时间安排"}
SETUP = {"body_name": "“心育护花行动”工作领导小组", "first_responsible": "一把手", "officer_name": "专人",
         "plan_title": "“心育护花行动”工作方案", "plan_content": "目标、措施、分工、进度安排"}
APPROVE = {"review_result": "approved", "review_opinion": "同意"}
HEAD_APPROVES = {"approve_result": "approved", "approve_opinion": "同意上报"}


def _holder(task: dict) -> str:
    """The demo person holding the task's role (``programme_officer@zhuhui`` -> ``zhuhui-zr``)."""
    if task["assignee"]:
        return task["assignee"]
    role, unit = task["candidate_roles"][0].split("@")
    return f"{unit}-{ {'programme_officer': 'zr', 'principal': 'xz', 'bureau_head': 'jz'}[role]}"


def _complete_all(huhua: Huhua, element_id: str, data: dict, but: frozenset[str] = frozenset()) -> int:
    """Complete every open ``element_id`` task (except at the scopes in ``but``), each as a person offered it."""
    tasks = [t for t in huhua.queries.tasks(limit=500) if t["element_id"] == element_id and t["org_scope"] not in but]
    for task in tasks:
        huhua.execute(CompleteTask(task["id"], _holder(task), data))
    run_due_jobs(huhua)
    return len(tasks)


def _issue(huhua: Huhua) -> int:
    """The February launch as a schedule starts it: by the engine, with no unit named (the city) and no variables
    but the occurrence's; the notice's year and number come from the officer's draft."""
    started = huhua.execute(StartInstance("launch_programme", "scheduler", origin=ENGINE, variables={
        "scheduled_for": "2026-03-02T08:30:00+08:00", "late": False}))
    complete(huhua, "hy-zr", "launch_draft_notice", NOTICE)
    complete(huhua, "hy-jz", "od_sign", {"od_decision": "signed"})
    return started["id"]


def test_each_tier_sets_up_its_body_and_a_returned_plan_loops_back_until_the_tier_above_approves(
        demo: Huhua) -> None:
    started = demo.execute(StartInstance("launch_programme", "hy-zr", org_scope="hy"))
    assert inbox(demo, "hy-zr") == inbox(demo, "hy-zr2") == [("launch_draft_notice", "hy")]
    for outsider in ("hy-jz", "hy-fgjz", "zhuhui-zr", "zhuhui-s001-zr"):
        assert inbox(demo, outsider) == [], outsider
    with pytest.raises(InvalidInput):  # the leading group's members must be named
        complete(demo, "hy-zr", "launch_draft_notice", {**NOTICE, "member_departments": []})
    complete(demo, "hy-zr", "launch_draft_notice", NOTICE)
    # the notice is an official document: a draft without a number goes to the 局长 (组长) to sign off
    assert inbox(demo, "hy-jz") == [("od_sign", "hy")]
    assert inbox(demo, "hy-fgjz") == [] and inbox(demo, "hy-zr") == []
    draft = pdf_text(demo.queries.document(next(d["id"] for d in demo.queries.documents(started["id"])
                                                if d["name"].endswith(".pdf")))[2]).replace("\n", "")
    assert "草稿" in draft and "〔2026〕" not in draft and "关于印发《“心育护花行动”实施方案》的通知" in draft
    sign = demo.queries.tasks(user="hy-jz")[0]
    with pytest.raises(Forbidden):
        demo.execute(CompleteTask(sign["id"], "hy-zr", {"od_decision": "signed"}))  # the officer does not sign it
    complete(demo, "hy-jz", "od_sign", {"od_decision": "returned", "od_comment": "补充时间安排"})
    assert inbox(demo, "hy-zr2") == [("od_revise", "hy")]  # returned: the office revises it
    assert demo.queries.instances(process_key="launch_county", limit=50) == []
    complete(demo, "hy-zr2", "od_revise", {"od_note": "各县市区于3月底前报送工作方案。"})
    complete(demo, "hy-jz", "od_sign", {"od_decision": "signed", "od_comment": "同意印发"})
    data = demo.queries.instance(started["id"])["data"]
    assert data["notice_status"] == "已印发"
    assert data["leading_group"]["组长"] == "局长" and len(data["leading_group"]["成员科室"]) == 5
    # numbered only on issue, signed off by the 局长; the issued notice carries the leading group and the revision
    issued = data["issued_document"]
    assert issued["number"] == data["notice_no"] == "衡教通〔2026〕1号" and issued["signed_by"] == "hy-jz"
    notice = pdf_text(demo.queries.document(issued["documents"][0]["id"])[2]).replace("\n", "")
    for expected in ("衡阳市教育局", "衡教通〔2026〕1号", "关于印发《“心育护花行动”实施方案》的通知",
                     "各县市区教育局、市直各中小学校：", "领导小组办公室设在基础教育科", "教育科学研究院负责人",
                     "各县市区于3月底前报送工作方案。"):
        assert expected in notice, expected
    assert "草稿" not in notice
    counties = demo.queries.instances(process_key="launch_county", limit=50)
    assert sorted(i["org_scope"] for i in counties) == sorted(u["id"] for u in demo.queries.units(kind="county"))
    for county in counties:  # each county receives the issued notice: its number and its documents
        county_data = demo.queries.instance(county["id"])["data"]
        assert county_data["notice_no"] == "衡教通〔2026〕1号"
        assert county_data["notice"]["documents"] == issued["documents"]
    assert inbox(demo, "zhuhui-zr") == [("launch_county_setup", "zhuhui")]
    assert inbox(demo, "shizhi-zr") == [("launch_county_setup", "shizhi")]
    assert inbox(demo, "zhuhui-jz") == [] and inbox(demo, "zhuhui-s001-zr") == [] and inbox(demo, "hy-zr") == []
    # the county's plan goes first to its own 局长 (一把手); returned, it loops back to the officer
    complete(demo, "zhuhui-zr", "launch_county_setup", SETUP)
    assert inbox(demo, "zhuhui-jz") == [("launch_county_approve", "zhuhui")] and inbox(demo, "hy-zr") == []
    review = demo.queries.tasks(user="zhuhui-jz")[0]
    with pytest.raises(Forbidden):
        demo.execute(CompleteTask(review["id"], "zhuhui-zr", HEAD_APPROVES))  # the officer does not approve it
    complete(demo, "zhuhui-jz", "launch_county_approve", {"approve_result": "returned", "approve_opinion": "补充分工"})
    assert inbox(demo, "zhuhui-zr") == [("launch_county_setup", "zhuhui")] and inbox(demo, "hy-zr") == []
    complete(demo, "zhuhui-zr", "launch_county_setup", SETUP)
    complete(demo, "zhuhui-jz", "launch_county_approve", HEAD_APPROVES)
    # then to the city; returned, it loops back through the 局长 again; approved, the county's schools are asked
    assert inbox(demo, "hy-zr") == [("launch_county_review", "zhuhui")]  # the tier above reviews
    review = demo.queries.tasks(user="hy-zr")[0]
    assert review["candidate_roles"] == ["programme_officer@hy"]
    with pytest.raises(Forbidden):
        demo.execute(CompleteTask(review["id"], "zhuhui-zr", APPROVE))  # nobody approves their own plan
    complete(demo, "hy-zr", "launch_county_review", {"review_result": "returned", "review_opinion": "分工不明确"})
    assert inbox(demo, "zhuhui-zr") == [("launch_county_setup", "zhuhui")]  # back for revision
    assert demo.queries.instances(process_key="launch_school", limit=50) == []
    complete(demo, "zhuhui-zr", "launch_county_setup", {**SETUP, "plan_content": "明确分工"})
    complete(demo, "zhuhui-jz", "launch_county_approve", HEAD_APPROVES)
    complete(demo, "hy-zr2", "launch_county_review", APPROVE)
    schools = demo.queries.instances(process_key="launch_school", limit=50)
    # every school; a teaching point sets up no body of its own: its central school's plan covers it
    assert sorted(i["org_scope"] for i in schools) == ["zhuhui-s001", "zhuhui-s002", "zhuhui-s003"]
    assert inbox(demo, "zhuhui-s001-zr") == [("launch_school_setup", "zhuhui-s001")]
    for outsider in ("zhuhui-s001-p01-js", "zhuhui-s001-xz", "zhuhui-s001-bzr1", "yanfeng-s001-zr", "zhuhui-zr"):
        assert inbox(demo, outsider) == [], outsider
    complete(demo, "zhuhui-s002-zr", "launch_school_setup", {**SETUP, "points_covered": "无"})
    assert inbox(demo, "zhuhui-s002-xz") == [("launch_school_approve", "zhuhui-s002")]  # the 校长 approves first
    assert inbox(demo, "zhuhui-zr") == []
    complete(demo, "zhuhui-s002-xz", "launch_school_approve", HEAD_APPROVES)
    assert inbox(demo, "zhuhui-zr") == [("launch_school_review", "zhuhui-s002")]
    assert inbox(demo, "yanfeng-zr") == [("launch_county_setup", "yanfeng")] and inbox(demo, "hy-zr") == []
    complete(demo, "zhuhui-zr", "launch_school_review", {"review_result": "returned", "review_opinion": "补充"})
    assert inbox(demo, "zhuhui-s002-zr") == [("launch_school_setup", "zhuhui-s002")]
    complete(demo, "zhuhui-s002-zr", "launch_school_setup", SETUP)
    complete(demo, "zhuhui-s002-xz", "launch_school_approve", HEAD_APPROVES)
    complete(demo, "zhuhui-zr", "launch_school_review", APPROVE)
    school = next(i for i in demo.queries.instances(process_key="launch_school", limit=50)
                  if i["org_scope"] == "zhuhui-s002")
    view = demo.queries.instance(school["id"])
    assert view["state"] == "completed" and view["data"]["plan_status"] == "已通过"
    assert view["data"]["notice_no"] == "衡教通〔2026〕1号"  # the city's issued notice reaches the school too
    assert [e["element_id"] for e in view["history"] if e["kind"] == "task_completed"] == [
        "launch_school_setup", "launch_school_approve", "launch_school_review",
        "launch_school_setup", "launch_school_approve", "launch_school_review"]


def test_coverage_lists_the_school_that_has_not_submitted_and_the_city_summarises_after_all(demo: Huhua) -> None:
    city = _issue(demo)
    assert _complete_all(demo, "launch_county_setup", SETUP) == 13
    assert _complete_all(demo, "launch_county_approve", HEAD_APPROVES) == 13
    assert _complete_all(demo, "launch_county_review", APPROVE) == 13
    assert _complete_all(demo, "launch_school_setup", SETUP, but=frozenset({"hengnan-s002"})) == 38
    assert _complete_all(demo, "launch_school_approve", HEAD_APPROVES) == 38
    assert _complete_all(demo, "launch_school_review", APPROVE) == 38
    assert _complete_all(demo, "launch_county_summary", {"summary": "已完成"}) == 12
    missing = demo.queries.coverage(city, demo.clock.now(), missing_only=True)
    assert missing["missing_units"] == ["hengnan", "hengnan-s002"] and not missing["complete"]
    assert missing["units"] == {"total": 52, "completed": 50, "missing": 2}  # 13 counties, 39 schools
    assert [node["unit"] for node in missing["tree"]] == ["hengnan"]
    assert [child["unit"] for child in missing["tree"][0]["children"]] == ["hengnan-s002"]
    assert demo.queries.instance(city)["open_tasks"] == []  # the city still waits for 衡南县
    assert inbox(demo, "hengnan-s002-zr") == [("launch_school_setup", "hengnan-s002")]
    complete(demo, "hengnan-s002-zr", "launch_school_setup", SETUP)
    complete(demo, "hengnan-s002-xz", "launch_school_approve", HEAD_APPROVES)
    complete(demo, "hengnan-zr", "launch_school_review", APPROVE)
    assert inbox(demo, "hengnan-zr") == [("launch_county_summary", "hengnan")]
    assert inbox(demo, "hy-zr") == []
    complete(demo, "hengnan-zr", "launch_county_summary", {"summary": "全县学校均已成立工作机构"})
    assert inbox(demo, "hy-zr") == [("launch_city_summary", None)]  # only now: every county is done
    assert demo.queries.instance(city)["data"]["counties_done"] == {"fan_out": 1, "total": 13, "completed": 13}
    complete(demo, "hy-zr", "launch_city_summary", {"summary": "全市各单位均已成立工作机构、报送工作方案"})
    done = demo.queries.coverage(city, demo.clock.now())
    assert done["complete"] and done["percent"] == 100.0
    assert demo.queries.instance(city)["state"] == "completed"


def test_a_late_plan_is_reminded_then_escalated_to_the_tier_above(demo: Huhua, clock: VirtualClock) -> None:
    _issue(demo)  # Monday 2 March 2026
    task = demo.queries.tasks(user="qidong-zr")[0]
    assert task["due_at"] == "2026-03-16T09:30:00+00:00"  # 10 working days later: Monday 16 March, 17:30 Beijing
    qidong = next(i["id"] for i in demo.queries.instances(process_key="launch_county", limit=50)
                  if i["org_scope"] == "qidong")
    clock.set(datetime(2026, 3, 11, 9, 1, tzinfo=BUSINESS_TZ))  # the 7th working day
    run_due_jobs(demo)
    assert demo.queries.instance(qidong)["data"].get("setup_reminded") is True
    assert inbox(demo, "hy-zr") == []
    clock.set(datetime(2026, 3, 16, 17, 31, tzinfo=BUSINESS_TZ))
    run_due_jobs(demo)
    assert ("launch_county_urge", "qidong") in inbox(demo, "hy-zr")  # the city urges 祁东县
    assert inbox(demo, "qidong-zr") == [("launch_county_setup", "qidong")]  # the plan is still due from the county
    urge = next(t for t in demo.queries.tasks(user="hy-zr", limit=100)
                if t["element_id"] == "launch_county_urge" and t["org_scope"] == "qidong")
    before_approval_due = datetime(2026, 3, 19, 9, tzinfo=BUSINESS_TZ)  # the urge is overdue then, if still open

    def overdue() -> int:
        units = demo.queries.dashboard_overdue("hy-zr", before_approval_due, process="launch_county")["units"]
        return sum(u["overdue"] for u in units if u["unit"] == "qidong")

    assert overdue() == 2  # the county's plan, and the urge
    complete(demo, "qidong-zr", "launch_county_setup", SETUP)
    # the county has submitted: the urge closes itself, says why, and no longer counts as open or overdue
    assert ("launch_county_urge", "qidong") not in inbox(demo, "hy-zr") and overdue() == 0
    assert demo.queries.task(urge["id"])["state"] == "cancelled"
    closed = [e for e in demo.queries.task_history(urge["id"])["events"]
              if e["kind"] == "task_cancelled" and e["task_id"] == urge["id"]]
    assert [e["detail"]["reason"] for e in closed] == ["已报送工作方案，督办自动关闭"]
    complete(demo, "qidong-jz", "launch_county_approve", HEAD_APPROVES)
    complete(demo, "hy-zr", "launch_county_review", APPROVE, scope="qidong")
    clock.set(datetime(2026, 3, 30, 17, 31, tzinfo=BUSINESS_TZ))  # 10 working days after 16 March
    run_due_jobs(demo)
    assert ("launch_school_urge", "qidong-s001") in inbox(demo, "qidong-zr")  # escalated to the county
    assert not [t for t in inbox(demo, "qidong-zr") if t[1] == "qidong-s001-p01"]  # no plan asked of a point
    assert [t for t in inbox(demo, "hy-zr") if t[1].startswith("qidong-")] == []
