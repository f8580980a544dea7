"""年度目标管理考评: the year's monthly scores roll up per school and county; counties confirm or appeal."""

from __future__ import annotations

from datetime import datetime

from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ, VirtualClock
from engine.commands import ENGINE, StartInstance
from tests.library.conftest import complete, inbox
from tests.library.documents import documents_of, pdf_text, sheet_rows
from tests.library.monthly_checks import run_october_checks
from workers.job_worker import run_due_jobs


def test_the_year_rolls_up_and_a_county_appeal_is_reviewed_before_the_head_signs(
        demo: Huhua, clock: VirtualClock) -> None:
    run_october_checks(demo, clock, {"zhuhui-s001": 95, "zhuhui-s002": 91, "zhuhui-s003": 93,
                                     "leiyang-s002": 50}, skip={"changning-s003"})
    clock.set(datetime(2026, 12, 21, 9, tzinfo=BUSINESS_TZ))
    started = demo.execute(StartInstance("annual_assessment", "scheduler", org_scope="hy",
                                         variables={"scheduled_for": "2026-12-21T09:00:00+08:00"},
                                         origin=ENGINE))  # as the scheduler starts it
    run_due_jobs(demo)
    data = demo.queries.instance(started["id"])["data"]
    assert (data["monthly_weight"], data["supervision_weight"]) == (0.7, 0.3)  # from annual_weights.dmn
    assert data["assessment"]["top_county"] == "珠晖区教育局"  # 95, 91, 93 against everyone's 85
    files = documents_of(demo, started["id"])
    schools = {row[1]: row for row in sheet_rows(files["2026年度目标管理考评.xlsx"], "学校")[1:]}
    assert schools["耒阳市第二小学"][2:] == [1, 50, None, 50, "不合格"]
    assert schools["常宁市第三实验学校"][5] is None  # no result this year: listed without a score
    assert "2026年度心育护花行动目标管理考评结果" in pdf_text(files["2026年度目标管理考评.pdf"])

    for county in [u["id"] for u in demo.queries.units(kind="county")]:
        assert inbox(demo, f"{county}-jz") == [("confirm", county)]  # the county's head, nobody else
        verdict = {"verdict": "appeal", "appeal_reason": "第三小学10月得分有误"} if county == "leiyang" \
            else {"verdict": "confirm"}
        complete(demo, f"{county}-jz", "confirm", verdict)
    assert inbox(demo, "hy-jz") == []  # appeals are reviewed first
    complete(demo, "hy-zr", "review_appeals", {"appeal_resolution": "经核实维持原评分"})
    assert inbox(demo, "hy-jz") == [("sign", "hy")] and inbox(demo, "hy-zr") == []
    complete(demo, "hy-jz", "sign", {"signed": True})
    finished = demo.queries.instance(started["id"])
    assert finished["state"] == "completed"
    assert [a["value"]["verdict"] for a in finished["data"]["confirmations"]["collected"]].count("appeal") == 1
    certificates = pdf_text(documents_of(demo, started["id"])["荣誉证书.pdf"])
    assert "珠晖区教育局" in certificates and "荣" in certificates
    assert finished["data"]["certificate_set"]["certificates"] == 3


def test_a_county_that_does_not_answer_in_five_working_days_is_taken_to_confirm(
        demo: Huhua, clock: VirtualClock) -> None:
    clock.set(datetime(2026, 12, 21, 9, tzinfo=BUSINESS_TZ))
    started = demo.execute(StartInstance("annual_assessment", "scheduler", org_scope="hy",
                                         variables={"scheduled_for": "2026-12-21T09:00:00+08:00"},
                                         origin=ENGINE))  # as the scheduler starts it
    run_due_jobs(demo)
    for county in [u["id"] for u in demo.queries.units(kind="county") if u["id"] != "shizhi"]:
        complete(demo, f"{county}-jz", "confirm", {"verdict": "confirm"})
    clock.set(datetime(2026, 12, 28, 18, tzinfo=BUSINESS_TZ))  # 5 working days on: 市直 never answered
    run_due_jobs(demo)
    assert inbox(demo, "hy-jz") == [("sign", "hy")]  # no appeal: straight to the head
    verdicts = demo.queries.instance(started["id"])["data"]["confirmations"]["collected"]
    assert {"county": "shizhi", "verdict": "confirm", "reason": "逾期视为确认"} in [v["value"] for v in verdicts]
