"""交流展示与评优 (showcase_selection): schools nominate, counties pre-select within the quota, the city's experts
score, the DMN sets the award level, a publicity period open to objections, then the city confirms."""

from __future__ import annotations

from datetime import datetime

import pytest

from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ, VirtualClock
from engine.commands import CompleteTask, CorrelateMessage, SetServiceAccount, StartInstance
from engine.errors import Forbidden, InvalidInput, NotFound
from tests.library.conftest import complete, inbox
from workers.job_worker import run_due_jobs

EXPERTS = [f"zj{n:02d}" for n in range(1, 7)]
KEY = "showcase-2026"


def _task(demo: Huhua, user: str, element_id: str) -> dict:
    return next(t for t in demo.queries.tasks(user=user, limit=500) if t["element_id"] == element_id)


def _score(total: int) -> dict:
    """One expert's review totalling ``total`` (deeds ≤ 40, demonstration ≤ 30, material ≤ 30)."""
    deeds = min(total, 40)
    demonstration = min(total - deeds, 30)
    return {"review": {"deeds": deeds, "demonstration": demonstration, "material": total - deeds - demonstration,
                       "comment": "材料翔实"}}


def _nominate(demo: Huhua, school: str, category: str, nominee: str) -> None:
    complete(demo, f"{school}-zr", "showcase_nominate", {
        "intent": "nominate", "category": category, "nominee": nominee, "deeds": "坚持家访，建立学生成长档案",
        "showcase_title": "用心守护每一朵花"}, school)


def _to_expert_review(demo: Huhua, clock: VirtualClock) -> int:
    """Launch the 2026 round (quota 1 per county); zhuhui-s001 and hengnan-s001 reach the experts."""
    clock.set(datetime(2026, 9, 7, 8, 30, tzinfo=BUSINESS_TZ))
    started = demo.execute(StartInstance("showcase_selection", "admin", org_scope="hy", business_key=KEY))
    assert inbox(demo, "hy-zr") == [("showcase_publish", "hy")] == inbox(demo, "hy-zr2")
    assert inbox(demo, "zhuhui-zr") == [] and inbox(demo, "hy-jz") == []
    complete(demo, "hy-zr", "showcase_publish", {"year": "2026", "quota": 1, "notice": "9月至11月开展交流展示与评优"})

    # every school is asked (不漏一校), each by its own programme officer only
    schools = demo.queries.instances(process_key="showcase_school", limit=100)
    assert len(schools) == 39 and len(demo.queries.instances(process_key="showcase_county", limit=50)) == 13
    assert inbox(demo, "zhuhui-s001-zr") == [("showcase_nominate", "zhuhui-s001")]
    for outsider in ("zhuhui-s001-xz", "zhuhui-s001-bzr1", "zhuhui-zr", "hy-zr", "zj01"):
        assert inbox(demo, outsider) == [], outsider
    with pytest.raises(NotFound):  # another unit's: as if missing
        demo.execute(CompleteTask(_task(demo, "zhuhui-s001-zr", "showcase_nominate")["id"], "zhuhui-s002-zr",
                                  {"intent": "none"}))

    _nominate(demo, "zhuhui-s001", "excellent_class_teacher", "刘芳")
    assert inbox(demo, "zhuhui-s001-xz") == [("showcase_approve", "zhuhui-s001")]
    assert inbox(demo, "zhuhui-s002-xz") == [] and inbox(demo, "zhuhui-s001-zr") == []
    complete(demo, "zhuhui-s001-xz", "showcase_approve", {"approval": "approved", "approve_opinion": "同意"})

    # zhuhui-s002: an incomplete nomination comes back, then the principal returns it, then approves
    complete(demo, "zhuhui-s002-zr", "showcase_nominate", {"intent": "nominate", "category": "advanced_unit"})
    assert inbox(demo, "zhuhui-s002-zr") == [("showcase_nominate", "zhuhui-s002")]
    _nominate(demo, "zhuhui-s002", "advanced_unit", "珠晖区第二小学")
    complete(demo, "zhuhui-s002-xz", "showcase_approve", {"approval": "returned", "approve_opinion": "补充成果材料"})
    _nominate(demo, "zhuhui-s002", "advanced_unit", "珠晖区第二小学")
    complete(demo, "zhuhui-s002-xz", "showcase_approve", {"approval": "approved"})
    _nominate(demo, "hengnan-s001", "advanced_individual", "陈静")
    complete(demo, "hengnan-s001-xz", "showcase_approve", {"approval": "approved"})
    assert inbox(demo, "zhuhui-zr") == []  # the county waits for all its schools
    complete(demo, "zhuhui-s003-zr", "showcase_nominate", {"intent": "none"})
    assert inbox(demo, "zhuhui-zr") == [("showcase_preselect", "zhuhui")]
    assert inbox(demo, "hengnan-zr") == []  # hengnan still waits for its other schools

    # pre-selection within the quota of 1: two are sent back, one goes to the city
    complete(demo, "zhuhui-zr", "showcase_preselect", {"selected": ["zhuhui-s001", "zhuhui-s002"],
                                                        "preselect_opinion": "两校均优秀"})
    county = next(i for i in demo.queries.instances(process_key="showcase_county", limit=50)
                  if i["org_scope"] == "zhuhui")
    assert "超出名额1名" in demo.queries.instance(county["id"])["data"]["quota_problem"]
    complete(demo, "zhuhui-zr", "showcase_preselect", {"selected": ["zhuhui-s001"], "preselect_opinion": "择优推荐"})

    # the other schools let the deadline pass: 10 working days (Sunday 20 Sep is a working day, 调休)
    clock.set(datetime(2026, 9, 21, 9, tzinfo=BUSINESS_TZ))
    run_due_jobs(demo)
    statuses = [demo.queries.instance(i["id"])["data"].get("nomination_status") for i in schools]
    assert (statuses.count("逾期未报"), statuses.count("已推荐"), statuses.count("本校不推荐")) == (35, 3, 1)
    assert inbox(demo, "hengnan-zr") == [("showcase_preselect", "hengnan")]
    assert inbox(demo, "yanfeng-zr") == []  # nobody nominated there: nothing to pre-select
    assert inbox(demo, "zhuhui-zr") == [] and inbox(demo, "zj01") == []  # experts wait for every county
    complete(demo, "hengnan-zr", "showcase_preselect", {"selected": ["hengnan-s001"], "preselect_opinion": "推荐"})
    return started["id"]


def _review(demo: Huhua, totals: dict[str, list[int]]) -> None:
    """Every expert scores every candidate: ``totals[school][k]`` is expert k's total."""
    for n, expert in enumerate(EXPERTS):
        tasks = demo.queries.tasks(user=expert)
        assert sorted(t["item"]["review_item"]["school"] for t in tasks) == sorted(totals)
        for task in tasks:
            demo.execute(CompleteTask(task["id"], expert, _score(totals[task["item"]["review_item"]["school"]][n])))
    run_due_jobs(demo)


def test_without_objection_the_city_confirms_after_five_working_days(demo: Huhua, clock: VirtualClock) -> None:
    city = _to_expert_review(demo, clock)
    # each expert of the city's pool (hy-zjk) scores each candidate in a task of their own; nobody else does
    assert inbox(demo, "zj03") == [("showcase_review", "hy"), ("showcase_review", "hy")]
    for outsider in ("hy-zr", "hy-jjjc", "zhuhui-zr", "zhuhui-s001-zr"):
        assert inbox(demo, outsider) == [], outsider
    mine = demo.queries.tasks(user="zj01")[0]
    assert mine["assignee"] == "zj01"
    with pytest.raises(Forbidden):
        demo.execute(CompleteTask(mine["id"], "zj02", _score(90)))
    with pytest.raises(InvalidInput):  # deeds are worth 40 at most
        demo.execute(CompleteTask(mine["id"], "zj01", {"review": {"deeds": 41, "demonstration": 30, "material": 30}}))
    _review(demo, {"zhuhui-s001": [95, 92, 90, 88, 94, 91], "hengnan-s001": [60, 65, 70, 62, 66, 68]})

    data = demo.queries.instance(city)["data"]
    assert [(c["school"], c["expert_scores"], c["average"], c["award_level"]) for c in data["candidates"]] == [
        ("hengnan-s001", [60, 65, 70, 62, 66, 68], 65.2, "不予表彰"),
        ("zhuhui-s001", [95, 92, 90, 88, 94, 91], 91.7, "一等")]
    assert [a["school"] for a in data["awardees"]] == ["zhuhui-s001"]
    assert data["objection_deadline"] == "2026-09-29T17:30:00+08:00"  # 5 working days from Mon 21 Sep
    clock.set(datetime(2026, 9, 29, 17, 0, tzinfo=BUSINESS_TZ))
    run_due_jobs(demo)
    assert inbox(demo, "hy-zr") == []  # still in the publicity period
    clock.set(datetime(2026, 9, 29, 17, 31, tzinfo=BUSINESS_TZ))
    run_due_jobs(demo)
    assert inbox(demo, "hy-zr") == [("showcase_confirm", "hy")] == inbox(demo, "hy-zr2")
    assert inbox(demo, "zhuhui-zr") == []
    complete(demo, "hy-zr", "showcase_confirm", {"circular_no": "衡教通〔2026〕88号"})
    final = demo.queries.instance(city)
    assert final["state"] == "completed" and final["data"]["objections"] == []
    assert final["data"]["awards"] == [{"recipient": "刘芳", "school": "zhuhui-s001", "county": "zhuhui",
                                        "honour": "2026年度心育护花行动优秀班主任（一等）", "average": 91.7}]


def test_objections_in_the_publicity_period_are_checked_and_an_upheld_one_removes_the_candidate(
        demo: Huhua, clock: VirtualClock) -> None:
    city = _to_expert_review(demo, clock)
    _review(demo, {"zhuhui-s001": [85, 88, 80, 84, 86, 83], "hengnan-s001": [72, 75, 70, 74, 76, 74]})
    data = demo.queries.instance(city)["data"]
    assert [(c["school"], c["average"], c["award_level"]) for c in data["candidates"]] == [
        ("hengnan-s001", 73.5, "三等"), ("zhuhui-s001", 84.3, "二等")]
    # the public's objections come in through the city's objection portal, a system allowed this one message
    demo.execute(SetServiceAccount("public", ("showcase_objection",), "admin"))
    with pytest.raises(NotFound):  # objections are correlated by the round's business key
        demo.execute(CorrelateMessage("showcase_objection", "public", "showcase-2025",
                                      {"objection_school": "zhuhui-s001", "objection_reason": "x"}))
    clock.set(datetime(2026, 9, 22, 10, tzinfo=BUSINESS_TZ))
    # the portal may bring an objection, never a new award list: its catch declares what a message brings
    awardees = demo.queries.instance(city)["data"]["awardees"]
    forged = [{**awardees[0], "school": "yanfeng-s001"}]
    with pytest.raises(InvalidInput) as refused:
        demo.execute(CorrelateMessage("showcase_objection", "public", KEY,
                                      {"objection_school": "zhuhui-s001", "objection_reason": "x",
                                       "awardees": forged, "verdict": "upheld"}))
    assert [p.field for p in refused.value.problems] == ["variables.awardees", "variables.verdict"]
    assert all("showcase_await_objection" in p.message for p in refused.value.problems)
    assert demo.queries.instance(city)["data"]["awardees"] == awardees and inbox(demo, "hy-zr") == []
    clock.set(datetime(2026, 9, 22, 10, tzinfo=BUSINESS_TZ))
    demo.execute(CorrelateMessage("showcase_objection", "public", KEY,
                                  {"objection_school": "zhuhui-s001", "objection_reason": "推荐对象并非班主任"}))
    assert inbox(demo, "hy-zr") == [("showcase_check_objection", "hy")]
    assert inbox(demo, "zhuhui-zr") == [] and inbox(demo, "zj01") == []
    complete(demo, "hy-zr", "showcase_check_objection", {"verdict": "dismissed", "check_note": "经核实担任班主任"})
    clock.set(datetime(2026, 9, 24, 10, tzinfo=BUSINESS_TZ))
    demo.execute(CorrelateMessage("showcase_objection", "public", KEY,
                                  {"objection_school": "hengnan-s001", "objection_reason": "事迹材料与实际不符"}))
    complete(demo, "hy-zr2", "showcase_check_objection", {"verdict": "upheld", "check_note": "经核查属实"})
    assert inbox(demo, "hy-zr") == []  # the publicity period runs to its end
    clock.set(datetime(2026, 9, 30, 9, tzinfo=BUSINESS_TZ))
    run_due_jobs(demo)
    complete(demo, "hy-zr", "showcase_confirm", {"circular_no": "衡教通〔2026〕90号", "confirm_note": "异议已处理"})
    final = demo.queries.instance(city)["data"]
    assert [(o["school"], o["verdict"]) for o in final["objections"]] == [
        ("zhuhui-s001", "dismissed"), ("hengnan-s001", "upheld")]
    assert [(a["recipient"], a["honour"]) for a in final["awards"]] == [
        ("刘芳", "2026年度心育护花行动优秀班主任（二等）")]
