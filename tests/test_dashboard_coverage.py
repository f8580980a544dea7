"""The dashboard's coverage figures as a bureau head reads them, on the shipped trainings and launch: a county that
has not started says so (not "0 missing"), a training counts its people (16/16 attended is 100 % while the
schools' own steps go on), the launch counts its units' submissions (submitted, approved, returned, not
submitted), and the rollout with the newest activity for the reader comes first."""

from __future__ import annotations

import io
from datetime import timedelta

from flask.testing import FlaskClient
from openpyxl import load_workbook

from engine.bootstrap import Huhua
from engine.clock import VirtualClock
from engine.commands import ENGINE, CompleteTask, StartInstance
from engine.web import create_app
from tests.library.conftest import complete
from workers.job_worker import JobWorker, run_due_jobs

ADMIN = {"X-Huhua-User": "admin"}
PLAN = {"year": 2026, "course": "班主任素养提升", "topics": ["班主任良好心理品质和心育能力"], "city_date": "2026-03-10"}
SESSION = {"held_on": "2026-03-20", "trainers": "专家组", "session_hours": 6, "participants": 40, "content": "专题讲座"}
NOTICE = {"year": 2026, "plan_title": "“心育护花行动”实施方案", "group_leader": "局长", "deputy_leader": "分管副局长",
          "member_departments": ["基础教育科"], "group_office": "基础教育科", "plan_points": "指导思想、工作目标"}
SETUP = {"body_name": "“心育护花行动”工作领导小组", "first_responsible": "一把手", "officer_name": "专人",
         "plan_title": "“心育护花行动”工作方案", "plan_content": "目标、措施、分工、进度安排"}


def _all(huhua: Huhua, element_id: str, data: dict, scope_prefix: str) -> None:
    """Complete every open ``element_id`` task whose unit starts with ``scope_prefix``, as its holder."""
    for task in huhua.queries.tasks(limit=500):
        if task["element_id"] == element_id and (task["org_scope"] or "").startswith(scope_prefix):
            if task["assignee"]:
                person = task["assignee"]
            else:
                role, unit = task["candidate_roles"][0].split("@")
                person = f"{unit}-{ {'programme_officer': 'zr', 'principal': 'xz'}[role]}"
            huhua.execute(CompleteTask(task["id"], person, data))
    run_due_jobs(huhua)


def _rollout(client: FlaskClient, instance_id: int, unit: str | None = None, user: dict | None = None) -> dict:
    path = f"/api/v1/dashboard/rollouts/{instance_id}" + (f"?unit={unit}" if unit else "")
    return client.get(path, headers=user or ADMIN).json


def test_coverage_says_not_started_counts_people_or_submissions_and_opens_on_the_newest_activity(
        demo: Huhua, clock: VirtualClock) -> None:
    client = create_app(demo, {"TESTING": True}).test_client()
    # the class teachers' training: the city trains, only 珠晖 has trained its schools and every teacher attended
    training = demo.execute(StartInstance("ct_training_city", "scheduler", origin=ENGINE, variables={
        "scheduled_for": "2026-03-02T08:30:00+08:00", "late": False}))["id"]
    complete(demo, "hy-zr", "ct_training_city_plan", PLAN)
    for n in range(1, 7):
        complete(demo, f"zj0{n}", "ct_training_expert_lecture",
                 {"reply": {"lecture_reply": "decline", "decline_reason": "时间冲突"}})
    complete(demo, "hy-zr", "ct_training_city_record", SESSION | {"session_hours": 3})
    complete(demo, "zhuhui-zr", "ct_training_county_session", SESSION)
    _all(demo, "ct_training_school_session", SESSION, "zhuhui")
    _all(demo, "ct_training_attend", {"attendance": {"attended": True}}, "zhuhui")

    top = _rollout(client, training)
    assert top["measure"] == "people"
    zhuhui = next(u for u in top["units"] if u["unit"] == "zhuhui")
    assert zhuhui["people"]["completed"] == zhuhui["people"]["total"] > 0 and zhuhui["people"]["missing"] == 0
    assert zhuhui["state"] == "running"  # the county itself goes on (its credits)
    assert zhuhui["started"] and zhuhui["percent"] == 100.0  # everyone attended: 100 %, whatever steps remain
    qidong = next(u for u in top["units"] if u["unit"] == "qidong")
    assert not qidong["started"] and qidong["percent"] is None  # not started, never "0 missing" nor 0 %
    assert "qidong" in top["not_started"] and "zhuhui" not in top["not_started"]
    experts = next(u for u in top["units"] if u["kind"] == "outside")  # the expert pool answered: done, no people
    assert (experts["name"], experts["state"], experts["started"]) == ("市级专家库", "completed", True)
    sheet = client.get(f"/api/v1/dashboard/rollouts/{training}/export", headers=ADMIN)
    assert sheet.status_code == 200

    # the launch, a month later: it hands work to units, so it counts their submissions
    clock.advance(timedelta(days=30))
    launch = demo.execute(StartInstance("launch_programme", "scheduler", origin=ENGINE, variables={
        "scheduled_for": "2026-04-01T08:30:00+08:00", "late": False}))["id"]
    complete(demo, "hy-zr", "launch_draft_notice", NOTICE)
    complete(demo, "hy-jz", "od_sign", {"od_decision": "signed"})
    complete(demo, "zhuhui-zr", "launch_county_setup", SETUP)
    complete(demo, "zhuhui-jz", "launch_county_approve", {"approve_result": "approved", "approve_opinion": "同意"})
    complete(demo, "hy-zr", "launch_county_review", {"review_result": "approved", "review_opinion": "同意"},
             scope="zhuhui")
    complete(demo, "hengshan-zr", "launch_county_setup", SETUP)  # awaits its 局长
    for school in ("zhuhui-s001", "zhuhui-s002"):
        complete(demo, f"{school}-zr", "launch_school_setup", SETUP)
        complete(demo, f"{school}-xz", "launch_school_approve", {"approve_result": "approved",
                                                               "approve_opinion": "同意上报"})
    complete(demo, "zhuhui-zr", "launch_school_review", {"review_result": "approved", "review_opinion": "同意"},
             scope="zhuhui-s001")
    complete(demo, "zhuhui-zr", "launch_school_review", {"review_result": "returned", "review_opinion": "补充"},
             scope="zhuhui-s002")

    listed = client.get("/api/v1/dashboard/rollouts", headers=ADMIN).json
    assert [r["id"] for r in listed] == [launch, training]  # the newest activity first: the page opens on it
    assert listed[0]["measure"] == "units" and listed[0]["submissions"] == {
        "approved": 1, "submitted": 2, "returned": 1, "not_submitted": 12}  # 13 counties, 3 schools
    top = _rollout(client, launch)
    assert top["measure"] == "units"
    by_unit = {u["unit"]: u for u in top["units"]}
    # 珠晖: the county's own plan approved (its instance goes on), s001 approved, s002 returned, s003 not yet
    assert by_unit["zhuhui"]["submissions"] == {"approved": 1, "submitted": 1, "returned": 1, "not_submitted": 1}
    assert by_unit["zhuhui"]["percent"] == 50.0 and by_unit["zhuhui"]["started"]
    assert by_unit["hengshan"]["submissions"] == {"approved": 0, "submitted": 1, "returned": 0, "not_submitted": 0}
    assert by_unit["hengshan"]["percent"] == 100.0  # submitted: counted, though nobody reviewed it yet
    assert not by_unit["qidong"]["started"] and by_unit["qidong"]["percent"] is None
    sheet = load_workbook(io.BytesIO(client.get(f"/api/v1/dashboard/rollouts/{launch}/export", headers=ADMIN).data),
                          read_only=True)["单位覆盖"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][-4:] == ("已通过", "已提交", "已退回", "未提交")
    assert next(r for r in rows if r[1] == "zhuhui")[-4:] == (1, 1, 1, 1)
    assert next(r for r in rows if r[1] == "qidong")[2] == "未开始"
    schools = {u["unit"]: u["submissions"] for u in _rollout(client, launch, "zhuhui")["units"]}
    assert schools == {"zhuhui-s001": {"approved": 1, "submitted": 0, "returned": 0, "not_submitted": 0},
                       "zhuhui-s002": {"approved": 0, "submitted": 0, "returned": 1, "not_submitted": 0},
                       "zhuhui-s003": {"approved": 0, "submitted": 0, "returned": 0, "not_submitted": 1}}

    # for 祁东's officer the launch holds nothing of theirs yet: the training, where they last acted, comes first
    clock.advance(timedelta(days=1))
    complete(demo, "qidong-zr", "ct_training_county_session", SESSION)
    own = client.get("/api/v1/dashboard/rollouts", headers={"X-Huhua-User": "qidong-zr"}).json
    assert [r["id"] for r in own] == [training, launch]
    assert own[1]["percent"] is None  # the launch has not started in 祁东


def test_coverage_counts_each_unit_whose_instance_has_not_started_yet(demo: Huhua) -> None:
    """While the fan-out's children wait to be started (no instance yet), every county still counts: 13 of 13
    not submitted, not one lump of them."""
    client = create_app(demo, {"TESTING": True}).test_client()
    launch = demo.execute(StartInstance("launch_programme", "scheduler", origin=ENGINE, variables={
        "scheduled_for": "2026-04-01T08:30:00+08:00", "late": False}))["id"]
    complete(demo, "hy-zr", "launch_draft_notice", NOTICE)
    sign = next(t for t in demo.queries.tasks(user="hy-jz", limit=50) if t["element_id"] == "od_sign")
    demo.execute(CompleteTask(sign["id"], "hy-jz", {"od_decision": "signed"}))
    worker = JobWorker(demo, "inline")
    while not (listed := [r for r in client.get("/api/v1/dashboard/rollouts", headers=ADMIN).json
                          if r["id"] == launch]):
        assert worker.run_once()  # up to the fan-out: the children's starts wait as jobs
    listed = listed[0]
    assert listed["units"] == {"total": 13, "completed": 0}
    assert listed["submissions"] == {"approved": 0, "submitted": 0, "returned": 0, "not_submitted": 13}
