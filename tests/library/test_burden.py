"""减负督查 (burden_supervision): a county's schools self-report, the county checks, the DMN classifies the
violations: a clean school is done, a violating one rectifies until the re-check passes, a serious case goes to
discipline inspection (纪检监察) first."""

from __future__ import annotations

from datetime import datetime

import pytest

from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ, VirtualClock
from engine.commands import ENGINE, CompleteTask, StartInstance
from engine.errors import Forbidden
from tests.library.conftest import complete, inbox
from workers.job_worker import run_due_jobs

SELF_REPORT = {"self_report": {"homework_minutes": 60, "exams_per_term": 2, "exam_subjects_ok": True,
                               "no_paid_classes": True, "competitions": 1, "pe_minutes": 60, "sleep_hours": 9,
                               "evaluation_ok": True, "materials_ok": True, "after_school_ok": True},
               "self_summary": "对照规定逐项自查，未发现问题"}
NO_FINDINGS = {"homework": False, "exams": False, "paid_classes": False, "competitions": False, "pe_sleep": False,
               "evaluation": False, "materials": False, "after_school": False}


def _school_instance(demo: Huhua, school: str) -> dict:
    found = [i for i in demo.queries.instances(process_key="burden_school", limit=50) if i["org_scope"] == school]
    assert len(found) == 1
    return demo.queries.instance(found[0]["id"])


def test_clean_rectified_and_referred_schools(demo: Huhua) -> None:
    started = demo.execute(StartInstance("burden_supervision", "admin", org_scope="zhuhui"))
    assert inbox(demo, "zhuhui-zr") == [("burden_launch", "zhuhui")]
    assert inbox(demo, "yanfeng-zr") == [] and inbox(demo, "hy-zr") == []
    complete(demo, "zhuhui-zr", "burden_launch", {"round_title": "2026年春季学期减负督查", "focus": "作业量与补课"})

    # one child per school of the county, each self-report offered to that school's officer only
    children = demo.queries.instances(process_key="burden_school", limit=50)
    assert sorted(i["org_scope"] for i in children) == ["zhuhui-s001", "zhuhui-s002", "zhuhui-s003"]
    assert inbox(demo, "zhuhui-s002-zr") == [("burden_self_report", "zhuhui-s002")]
    for outsider in ("zhuhui-s002-xz", "zhuhui-s002-bzr1", "yanfeng-s002-zr", "zhuhui-zr", "hy-jjjc"):
        assert inbox(demo, outsider) == [], outsider
    for school in ("zhuhui-s001", "zhuhui-s002", "zhuhui-s003"):
        complete(demo, f"{school}-zr", "burden_self_report", SELF_REPORT, school)

    # the county checks each of its schools
    assert sorted(inbox(demo, "zhuhui-zr")) == [("burden_county_check", s)
                                                for s in ("zhuhui-s001", "zhuhui-s002", "zhuhui-s003")]
    assert inbox(demo, "yanfeng-zr") == [] and inbox(demo, "zhuhui-s001-zr") == []
    complete(demo, "zhuhui-zr", "burden_county_check", {"findings": NO_FINDINGS, "check_opinion": "未发现违规"},
             "zhuhui-s001")
    complete(demo, "zhuhui-zr", "burden_county_check", {
        "findings": NO_FINDINGS | {"homework": True, "exams": True}, "check_opinion": "作业量偏大，月考过多"},
        "zhuhui-s002")
    complete(demo, "zhuhui-zr", "burden_county_check", {
        "findings": NO_FINDINGS | {"paid_classes": True}, "repeated": False, "serious_consequence": False,
        "check_opinion": "组织在职教师有偿补课"}, "zhuhui-s003")

    clean, general, serious = (_school_instance(demo, f"zhuhui-s00{n}") for n in (1, 2, 3))
    assert clean["state"] == "completed"
    assert clean["data"]["burden_result"] == {"severity": "无违规", "severity_code": "clean", "basis": "未发现违规",
                                              "violations": [], "outcome": "合规"}
    assert (general["data"]["severity"], general["data"]["violations"]) == ("一般违规", ["作业量", "考试次数与科目"])
    assert (serious["data"]["severity"], serious["data"]["severity_basis"]) == ("严重违规", "有偿补课、违规办班")

    # a general violation: the principal rectifies, the county re-checks (once not yet, then passed)
    assert inbox(demo, "zhuhui-s002-xz") == [("burden_rectify", "zhuhui-s002")]
    assert inbox(demo, "hy-jjjc") == [("burden_inspect", "zhuhui-s003")]  # only the serious case is referred
    assert inbox(demo, "zhuhui-s003-xz") == [] and inbox(demo, "hy-zr") == []
    for verdict in ("failed", "passed"):
        complete(demo, "zhuhui-s002-xz", "burden_rectify", {"rectify_measures": "统筹控制作业总量，取消月考",
                                                            "rectified_on": "2026-03-20"})
        assert inbox(demo, "zhuhui-s002-xz") == []
        complete(demo, "zhuhui-zr", "burden_recheck", {"recheck_result": verdict}, "zhuhui-s002")
    general = _school_instance(demo, "zhuhui-s002")
    assert general["state"] == "completed" and general["data"]["burden_result"]["outcome"] == "已整改"

    # the serious case: discipline inspection first, then rectification and re-check
    inspect = demo.queries.tasks(user="hy-jjjc")[0]
    assert inspect["candidate_roles"] == ["inspector@hy"]
    with pytest.raises(Forbidden):
        demo.execute(CompleteTask(inspect["id"], "zhuhui-zr", {}))
    complete(demo, "hy-jjjc", "burden_inspect", {"case_no": "衡纪〔2026〕12号", "handling": "investigation",
                                                 "inspect_note": "对组织补课的教师立案查处"})
    assert inbox(demo, "zhuhui-s003-xz") == [("burden_rectify", "zhuhui-s003")]
    complete(demo, "zhuhui-s003-xz", "burden_rectify", {"rectify_measures": "停止补课并清退费用",
                                                        "rectified_on": "2026-03-25"})
    complete(demo, "zhuhui-zr", "burden_recheck", {"recheck_result": "passed", "recheck_note": "已清退"},
             "zhuhui-s003")
    assert _school_instance(demo, "zhuhui-s003")["data"]["burden_result"]["outcome"] == "已移送纪检监察查处并整改"

    # the county's circular, with the three outcomes counted
    assert inbox(demo, "zhuhui-zr") == [("burden_report", "zhuhui")]
    summary = demo.queries.instance(started["id"])["data"]["burden_summary"]
    assert summary == {"schools": 3, "clean": 1, "rectified": 1, "referred": 1, "referred_schools": ["zhuhui-s003"]}
    complete(demo, "zhuhui-zr", "burden_report", {"circular_no": "珠教通〔2026〕5号", "circular_summary": "3所学校"})
    assert demo.queries.instance(started["id"])["state"] == "completed"


SEVERITY_CASES = [  # (school, findings, other answers, expected severity and basis)
    ("hengdong-s001", {"homework": True, "exams": True, "competitions": True, "materials": True}, {},
     ("严重违规", "多项违规")),
    ("hengdong-s002", {"after_school": True}, {"repeated": True}, ("严重违规", "屡查屡犯")),
    ("hengdong-s003", {}, {"serious_consequence": True}, ("严重违规", "造成严重后果")),
    ("hengshan-s001", {"pe_sleep": True}, {}, ("一般违规", "少量违规，限期整改")),
]


def test_the_severity_table(demo: Huhua) -> None:
    for school, findings, extra, expected in SEVERITY_CASES:
        county = school.rsplit("-", 1)[0]
        started = demo.execute(StartInstance("burden_school", "admin", org_scope=school,
                                             variables={"round_title": "专项督查"}, origin=ENGINE))  # as a fan-out
        complete(demo, f"{school}-zr", "burden_self_report", SELF_REPORT)
        complete(demo, f"{county}-zr", "burden_county_check",
                 {"findings": NO_FINDINGS | findings, "check_opinion": "核查"} | extra)
        data = demo.queries.instance(started["id"])["data"]
        assert (data["severity"], data["severity_basis"]) == expected, school
        referred = ("burden_inspect", school) in inbox(demo, "hy-jjjc")
        assert referred == (expected[0] == "严重违规"), school
        assert (("burden_rectify", school) in inbox(demo, f"{school}-xz")) == (not referred), school


def test_a_late_self_report_is_reminded_then_escalated_to_the_county(demo: Huhua, clock: VirtualClock) -> None:
    clock.set(datetime(2026, 4, 27, 9, tzinfo=BUSINESS_TZ))  # Monday before the May Day holiday (1-5 May)
    started = demo.execute(StartInstance("burden_school", "admin", org_scope="qidong-s003",
                                         variables={"round_title": "专项督查"}, origin=ENGINE))  # as a fan-out
    assert demo.queries.tasks(user="qidong-s003-zr")[0]["due_at"] == "2026-05-07T09:30:00+00:00"  # 17:30 Beijing
    clock.set(datetime(2026, 4, 30, 9, 1, tzinfo=BUSINESS_TZ))
    run_due_jobs(demo)
    assert demo.queries.instance(started["id"])["data"]["self_report_reminded"] is True
    assert inbox(demo, "qidong-zr") == []
    clock.set(datetime(2026, 5, 7, 17, 31, tzinfo=BUSINESS_TZ))
    run_due_jobs(demo)
    assert inbox(demo, "qidong-zr") == [("burden_urge_self_report", "qidong-s003")]
    assert inbox(demo, "hy-zr") == [] and inbox(demo, "qidong-s003-zr") == [("burden_self_report", "qidong-s003")]
    complete(demo, "qidong-zr", "burden_urge_self_report", {"urge_note": "已电话督促"})
    complete(demo, "qidong-s003-zr", "burden_self_report", SELF_REPORT)
    assert inbox(demo, "qidong-zr") == [("burden_county_check", "qidong-s003")]
