"""减负督查 (burden_supervision): a county's (or the city's) schools self-report, the bureau that holds the check
verifies, the DMN says how each school is handled: a clean school is done, a violating one rectifies until the
re-check passes, and only a violation with serious consequences (§四.8) goes first to the discipline inspectors
(纪检监察) of the tier that holds the check. The circular is generated and goes out when the leader signs it."""

from __future__ import annotations

from datetime import datetime

import pytest

from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ, VirtualClock
from engine.commands import ENGINE, CompleteTask, StartInstance
from engine.errors import Forbidden
from tests.library.conftest import complete, inbox
from tests.library.documents import documents_of, pdf_text, sheet_rows
from workers.job_worker import run_due_jobs

#: One database: a scenario of the library; the engine's own tests hold its contract with each database, and
#: test_launch and test_ct_training run the library on PostgreSQL too.
DATABASES = ("sqlite",)

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


def test_a_county_check_rectifies_refers_only_serious_consequences_to_its_own_inspector_and_circulates(
        demo: Huhua) -> None:
    started = demo.execute(StartInstance("burden_supervision", "admin", org_scope="zhuhui"))
    assert inbox(demo, "zhuhui-zr") == [("burden_launch", "zhuhui")]
    assert inbox(demo, "yanfeng-zr") == [] and inbox(demo, "hy-zr") == []
    complete(demo, "zhuhui-zr", "burden_launch", {"round_title": "2026年春季学期减负督查", "organiser": "county",
                                                  "focus": "作业量与补课"})

    # one child per school of the county, each self-report offered to that school's officer only
    children = demo.queries.instances(process_key="burden_school", limit=50)
    assert sorted(i["org_scope"] for i in children) == ["zhuhui-s001", "zhuhui-s002", "zhuhui-s003"]
    assert inbox(demo, "zhuhui-s002-zr") == [("burden_self_report", "zhuhui-s002")]
    for outsider in ("zhuhui-s002-xz", "zhuhui-s002-bzr1", "yanfeng-s002-zr", "zhuhui-zr", "hy-jjjc", "zhuhui-jjjc"):
        assert inbox(demo, outsider) == [], outsider
    for school in ("zhuhui-s001", "zhuhui-s002", "zhuhui-s003"):
        complete(demo, f"{school}-zr", "burden_self_report", SELF_REPORT, school)

    # the county checks each of its schools
    assert sorted(inbox(demo, "zhuhui-zr")) == [("burden_county_check", s)
                                                for s in ("zhuhui-s001", "zhuhui-s002", "zhuhui-s003")]
    assert inbox(demo, "yanfeng-zr") == [] and inbox(demo, "zhuhui-s001-zr") == []
    complete(demo, "zhuhui-zr", "burden_county_check", {"findings": NO_FINDINGS, "check_opinion": "未发现违规"},
             "zhuhui-s001")
    # paid extra classes, found again after the last check: serious enough to criticise, not a discipline case
    complete(demo, "zhuhui-zr", "burden_county_check", {
        "findings": NO_FINDINGS | {"homework": True, "paid_classes": True}, "repeated": True,
        "serious_consequence": False, "check_opinion": "作业量偏大，寒假组织补课，上次督查已指出"}, "zhuhui-s002")
    complete(demo, "zhuhui-zr", "burden_county_check", {
        "findings": NO_FINDINGS | {"pe_sleep": True}, "serious_consequence": True,
        "check_opinion": "长期挤占体育课和睡眠时间，致学生晕厥住院"}, "zhuhui-s003")

    clean, general, serious = (_school_instance(demo, f"zhuhui-s00{n}") for n in (1, 2, 3))
    assert clean["state"] == "completed" and clean["data"]["burden_result"]["outcome"] == "合规"
    assert (general["data"]["severity"], general["data"]["severity_basis"]) == ("一般违规",
                                                                                "屡查屡犯，通报批评并限期整改")
    assert general["data"]["violations"] == ["作业量", "补课和办班"]
    assert serious["data"]["severity"] == "严重违规"

    # only the serious consequence is referred, to the county's own inspector, never the city's
    assert inbox(demo, "zhuhui-jjjc") == [("burden_inspect", "zhuhui-s003")]
    assert inbox(demo, "hy-jjjc") == [] and inbox(demo, "yanfeng-jjjc") == []
    assert inbox(demo, "zhuhui-s002-xz") == [("burden_rectify", "zhuhui-s002")] and inbox(demo, "zhuhui-s003-xz") == []
    for verdict in ("failed", "passed"):
        complete(demo, "zhuhui-s002-xz", "burden_rectify", {"rectify_measures": "统筹控制作业总量，停止补课并清退费用",
                                                            "rectified_on": "2026-03-20"})
        assert inbox(demo, "zhuhui-s002-xz") == []
        complete(demo, "zhuhui-zr", "burden_recheck", {"recheck_result": verdict}, "zhuhui-s002")
    assert _school_instance(demo, "zhuhui-s002")["data"]["burden_result"]["outcome"] == "已整改，复查通过"

    inspect = demo.queries.tasks(user="zhuhui-jjjc")[0]
    assert inspect["candidate_roles"] == ["inspector@zhuhui"]
    with pytest.raises(Forbidden):
        demo.execute(CompleteTask(inspect["id"], "zhuhui-zr", {}))
    complete(demo, "zhuhui-jjjc", "burden_inspect", {"case_no": "珠纪〔2026〕12号", "handling": "investigation",
                                                     "inspect_note": "对校长立案查处"})
    complete(demo, "zhuhui-s003-xz", "burden_rectify", {"rectify_measures": "恢复体育课，调整作息",
                                                        "rectified_on": "2026-03-25"})
    complete(demo, "zhuhui-zr", "burden_recheck", {"recheck_result": "passed", "recheck_note": "已落实"}, "zhuhui-s003")
    result = _school_instance(demo, "zhuhui-s003")["data"]["burden_result"]
    assert (result["outcome"], result["inspection"]) == ("已移送纪检监察部门查处，整改复查通过",
                                                         {"case_no": "珠纪〔2026〕12号", "handling": "investigation"})

    # the circular: drafted by the officer, generated, out only when the county's head signs it
    summary = demo.queries.instance(started["id"])["data"]["burden_summary"]
    assert summary == {"schools": 3, "clean": 1, "rectified": 1, "referred": 1, "referred_schools": ["zhuhui-s003"]}
    complete(demo, "zhuhui-zr", "burden_report", {"circular_requirements": "严格控制作业总量，保证锻炼和睡眠。"})
    assert inbox(demo, "zhuhui-jz") == [("od_sign", "zhuhui")]
    assert demo.queries.instance(started["id"])["state"] == "running"
    complete(demo, "zhuhui-jz", "od_sign", {"od_decision": "signed", "od_comment": "同意"})
    finished = demo.queries.instance(started["id"])
    assert finished["state"] == "completed" and finished["data"]["issued_document"]["number"] == "珠晖教通〔2026〕1号"
    files = documents_of(demo, started["id"])
    text = pdf_text(files[finished["data"]["issued_document"]["documents"][0]["name"]]).replace("\n", "")
    for expected in ("关于2026年春季学期减负督查情况的通报", "珠晖教通〔2026〕1号", "各中小学校：",
                     "湘教发〔2018〕21号", "未发现违规1所", "移送县市区纪检监察部门查处1所", "珠晖区第三实验学校",
                     "屡查屡犯", "珠晖区教育局"):
        assert expected in text.replace(" ", ""), expected
    rows = sheet_rows(files["2026年春季学期减负督查各校结论.xlsx"], "各校结论")
    assert rows[1] == ["珠晖区第一中学", None, "未发现违规", "合规"]


SEVERITY_CASES = [  # (school, findings, other answers, held by the city?, expected severity and basis)
    ("hengdong-s001", {"homework": True, "exams": True, "competitions": True, "materials": True}, {}, False,
     ("一般违规", "多项违规，限期整改")),
    ("hengdong-s002", {"paid_classes": True}, {}, False, ("一般违规", "违规补课、办班，限期整改并清退费用")),
    ("hengdong-s003", {"homework": True}, {"serious_consequence": True}, False,
     ("严重违规", "违规行为造成严重后果，移送纪检监察部门查处")),
    ("hengshan-s001", {"exams": True}, {"serious_consequence": True}, True,
     ("严重违规", "违规行为造成严重后果，移送纪检监察部门查处")),
]


def test_the_handling_table_and_the_inspector_of_the_tier_that_holds_the_check(demo: Huhua) -> None:
    for school, findings, extra, city, expected in SEVERITY_CASES:
        county = school.rsplit("-", 1)[0]
        variables = {"round_title": "专项督查"} | ({"checker_roles": "programme_officer@city"} if city else {})
        started = demo.execute(StartInstance("burden_school", "admin", org_scope=school, variables=variables,
                                             origin=ENGINE))  # as a fan-out
        complete(demo, f"{school}-zr", "burden_self_report", SELF_REPORT)
        complete(demo, "hy-zr" if city else f"{county}-zr", "burden_county_check",
                 {"findings": NO_FINDINGS | findings, "check_opinion": "核查"} | extra)
        data = demo.queries.instance(started["id"])["data"]
        assert (data["severity"], data["severity_basis"]) == expected, school
        referred_to = [who for who in ("hy-jjjc", f"{county}-jjjc") if ("burden_inspect", school) in inbox(demo, who)]
        assert referred_to == ([] if expected[0] != "严重违规" else ["hy-jjjc"] if city else [f"{county}-jjjc"]), school
        assert (("burden_rectify", school) in inbox(demo, f"{school}-xz")) == (not referred_to), school


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
