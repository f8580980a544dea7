"""心理咨询与辅导: appointments, record, follow-up, feedback and outcome, a crisis path, and confidentiality."""

from __future__ import annotations

from datetime import datetime

import pytest

from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ, VirtualClock
from engine.commands import CompleteTask, StartInstance
from engine.errors import Forbidden, NotFound
from tests.library.conftest import complete, inbox
from workers.job_worker import run_due_jobs

COUNSELLOR = "zhuhui-s001-xl1"  # 专职心理健康教育教师 and 值班辅导教师 of zhuhui-s001
#: people who must never see a counselling case of zhuhui-s001 outside a crisis
OUTSIDERS = ("zhuhui-s001-bzr1", "zhuhui-s001-xz", "zhuhui-s001-zr", "zhuhui-s002-xl1", "zhuhui-s001-p01-js",
             "zhuhui-zr", "hy-zr")


def at(huhua: Huhua, clock: VirtualClock, *when: int) -> None:
    clock.set(datetime(*when, tzinfo=BUSINESS_TZ))
    run_due_jobs(huhua)


def open_case(huhua: Huhua, channel: str, requester: str, reason: str) -> int:
    """A duty counsellor registers an appointment; the case starts at the same school."""
    huhua.execute(StartInstance("counselling_appointment", COUNSELLOR, org_scope="zhuhui-s001"))
    assert inbox(huhua, COUNSELLOR) == [("register", "zhuhui-s001")]
    for outsider in OUTSIDERS:
        assert inbox(huhua, outsider) == [], outsider
    complete(huhua, COUNSELLOR, "register", {"student_alias": "初二学生A", "requester": requester, "channel": channel,
                                             "appointment_date": "2026-03-03", "reason": reason})
    cases = huhua.queries.instances(process_key="counselling_case", limit=10)
    assert [(c["org_scope"], c["state"]) for c in cases] == [("zhuhui-s001", "running")]
    return cases[0]["id"]


def record(level: str, signs: list[str]) -> dict:
    return {"session_date": "2026-03-03", "session_record": "倾听与情绪疏导，约定下次辅导", "risk_level": level,
            "risk_signs": signs}


def follow_up(more: bool, progress: str = "improved") -> dict:
    return {"follow_up_date": "2026-03-09", "follow_up_record": "情绪有所稳定", "progress": progress,
            "continue_follow_up": more}


def test_an_online_appointment_is_recorded_followed_up_fed_back_and_closed_by_the_schools_counsellor_only(
        demo: Huhua, clock: VirtualClock) -> None:
    case = open_case(demo, "online", "student", "考试焦虑，入睡困难")
    assert inbox(demo, COUNSELLOR) == [("session", "zhuhui-s001")]
    session = demo.queries.tasks(user=COUNSELLOR)[0]
    for outsider in ("zhuhui-s001-bzr1", "zhuhui-s002-xl1"):
        with pytest.raises(NotFound):  # nobody but the counsellor has part in it: as if there were no such task
            demo.execute(CompleteTask(session["id"], outsider, record("low", ["none"])))
    with pytest.raises(Forbidden):  # the principal sees the case and its risk level, but does not do the session
        demo.execute(CompleteTask(session["id"], "zhuhui-s001-xz", record("low", ["none"])))
    complete(demo, COUNSELLOR, "session", record("medium", ["severe_distress"]))
    data = demo.queries.instance(case)["data"]
    assert (data["crisis"], data["case_priority"], data["follow_up_days"]) == (False, "重点跟踪", 5)
    assert data["channel"] == "online" and data["student_alias"] == "初二学生A"

    # follow-up after 5 working days (09:00), again while it is needed; nobody else is involved
    at(demo, clock, 2026, 3, 9, 8, 59)
    assert inbox(demo, COUNSELLOR) == []
    at(demo, clock, 2026, 3, 9, 9, 1)
    assert inbox(demo, COUNSELLOR) == [("follow_up", "zhuhui-s001")]
    for outsider in OUTSIDERS:
        assert inbox(demo, outsider) == [], outsider
    complete(demo, COUNSELLOR, "follow_up", follow_up(True, "stable"))
    at(demo, clock, 2026, 3, 16, 9, 1)
    complete(demo, COUNSELLOR, "follow_up", follow_up(False))
    complete(demo, COUNSELLOR, "feedback", {"feedback_to": ["student", "parent"],
                                            "feedback_summary": "情绪稳定，建议家长关注作息"})
    complete(demo, COUNSELLOR, "outcome", {"outcome": "resolved", "outcome_summary": "焦虑缓解，结案"})
    finished = demo.queries.instance(case)
    assert finished["state"] == "completed"
    assert finished["data"]["case_result"] == {"student_alias": "初二学生A", "channel": "online",
                                               "priority": "重点跟踪", "crisis": False, "follow_ups": 2,
                                               "outcome": "resolved", "closed_on": "2026-03-16"}
    assert [log["progress"] for log in finished["data"]["follow_up_log"]] == ["stable", "improved"]
    completed_by = {e.get("actor") for e in finished["history"] if e["kind"] == "task_completed"}
    assert completed_by == {COUNSELLOR}


def test_a_crisis_goes_to_the_principal_the_same_day_and_the_county_is_informed(
        demo: Huhua, clock: VirtualClock) -> None:
    at(demo, clock, 2026, 3, 3, 15)
    case = open_case(demo, "phone", "parent", "家长电话：孩子近期情绪低落")
    complete(demo, COUNSELLOR, "session", record("low", ["self_harm", "family_crisis"]))  # self-harm: a crisis
    data = demo.queries.instance(case)["data"]
    assert (data["crisis"], data["case_priority"]) == (True, "危机干预")

    assert inbox(demo, "zhuhui-s001-xz") == [("principal_act", "zhuhui-s001")]
    act = demo.queries.tasks(user="zhuhui-s001-xz")[0]
    assert act["due_at"] == "2026-03-03T15:59:00+00:00"  # the same day, 23:59 Beijing
    assert inbox(demo, "zhuhui-zr") == [("county_notice", "zhuhui-s001")]
    for outsider in ("zhuhui-s001-bzr1", "zhuhui-s001-zr", "zhuhui-s002-xz", "zhuhui-s002-xl1", "yanfeng-zr",
                     "hy-zr", "zhuhui-jz"):
        assert inbox(demo, outsider) == [], outsider
    complete(demo, "zhuhui-zr", "county_notice", {"notice_acknowledged": True, "county_guidance": "落实24小时监护"})

    # not acted on by midnight: the county bureau head is asked to step in
    at(demo, clock, 2026, 3, 4, 0, 1)
    assert inbox(demo, "zhuhui-jz") == [("crisis_urge", "zhuhui-s001")]
    complete(demo, "zhuhui-s001-xz", "principal_act", {"guardian_notified": True, "safety_measures": "专人陪护",
                                                       "hospital_referral": "yes"})
    complete(demo, "zhuhui-jz", "crisis_urge", {"crisis_urge_note": "已督促校长落实"})
    assert inbox(demo, COUNSELLOR) == [("hospital_referral", "zhuhui-s001")]
    complete(demo, COUNSELLOR, "hospital_referral", {"hospital_name": "衡阳市第二人民医院",
                                                     "hospital_referral_date": "2026-03-04",
                                                     "guardian_consent": True})
    # crisis cases are followed up the next working day
    at(demo, clock, 2026, 3, 5, 9, 1)
    assert inbox(demo, COUNSELLOR) == [("follow_up", "zhuhui-s001")]
    assert inbox(demo, "zhuhui-s001-xz") == [] and inbox(demo, "zhuhui-zr") == []
    complete(demo, COUNSELLOR, "follow_up", follow_up(False))
    complete(demo, COUNSELLOR, "feedback", {"feedback_to": ["parent", "class_teacher"],
                                            "feedback_summary": "已就医，班主任配合关注在校情况"})
    complete(demo, COUNSELLOR, "outcome", {"outcome": "referred", "outcome_summary": "转介专业医疗机构，定期回访"})
    finished = demo.queries.instance(case)
    assert finished["state"] == "completed"
    result = finished["data"]["case_result"]
    assert (result["crisis"], result["channel"], result["outcome"], result["follow_ups"]) == (
        True, "phone", "referred", 1)
    assert finished["data"]["hospital_name"] == "衡阳市第二人民医院"
