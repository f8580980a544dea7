"""一月一查一通报一总结: the month's checks at every school, the circular made from them, the summaries."""

from __future__ import annotations

from datetime import datetime

from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ, VirtualClock
from engine.commands import ENGINE, StartInstance
from engine.schedules import load_schedules
from engine.store import tables
from tests.library.conftest import complete, inbox
from tests.library.documents import documents_of, pdf_text, sheet_rows
from workers.job_worker import run_due_jobs
from workers.scheduler import ScheduleRunner

FULL_MARKS = {"plan_summary": 8, "growth_portfolio": 8, "home_visits": 8, "theme_meetings": 8, "early_flags": 8,
              "biweekly_lesson": 10, "room_on_duty": 8, "case_records": 10, "teacher_training": 6,
              "safety_activities": 6, "homework_exams": 8, "no_paid_classes": 6, "pe_sleep_services": 6}


def run_october_checks(demo: Huhua, clock: VirtualClock, scores: dict[str, int], skip: set[str]) -> None:
    """The scheduler starts the October check at every school; each school (but ``skip``) is scored ``scores``."""
    clock.set(datetime(2026, 10, 8, 8, 31, tzinfo=BUSINESS_TZ))
    runner = ScheduleRunner(demo, load_schedules(demo.settings.schedules_file))
    runner.tick()
    run_due_jobs(demo)
    for school in sorted(u["id"] for u in demo.queries.units(kind="school", limit=500)):
        if school in skip:
            continue
        county = school.rsplit("-s", 1)[0]
        complete(demo, f"{school}-zr", "self_check", {"self_summary": "已按细则自查"}, scope=school)
        total = scores.get(school, 85)
        marks = _marks_for(total)
        complete(demo, f"{county}-zr", "county_check", {"scores": marks, "check_opinion": "已核查"}, scope=school)


def _marks_for(total: int) -> dict[str, int]:
    """Item scores within each item's maximum that add up to ``total``."""
    marks, left = {}, total
    for key, most in FULL_MARKS.items():
        marks[key] = min(most, left)
        left -= marks[key]
    return marks


def test_the_circular_lists_every_school_and_the_counties_sum_up(demo: Huhua, clock: VirtualClock) -> None:
    run_october_checks(demo, clock, {"zhuhui-s001": 95, "leiyang-s002": 50, "qidong-s003": 70},
                       skip={"hengnan-s002"})
    clock.set(datetime(2026, 10, 26, 9, tzinfo=BUSINESS_TZ))
    started = demo.execute(StartInstance("monthly_circular", "scheduler", org_scope="hy",
                                         variables={"scheduled_for": "2026-10-26T09:00:00+08:00"},
                                         origin=ENGINE))  # as the scheduler starts it
    run_due_jobs(demo)
    assert inbox(demo, "hy-zr") == [("issue_circular", "hy")] and inbox(demo, "zhuhui-zr") == []
    files = documents_of(demo, started["id"])
    rows = sheet_rows(files["2026-10一月一查通报.xlsx"], "学校明细")
    assert rows[0] == ["县市区", "学校", "总分", "等级", "状态"] and len(rows) == 1 + 39
    by_school = {row[1]: row for row in rows[1:]}
    assert by_school["珠晖区第一中学"][2:] == [95, "优秀", "已完成"]
    assert by_school["耒阳市第二小学"][2:] == [50, "不合格", "已完成"]
    assert by_school["祁东县第三实验学校"][2:] == [70, "合格", "已完成"]
    assert by_school["衡南县第二小学"][4] == "进行中"  # not scored: listed, not left out
    text = pdf_text(files["2026-10一月一查通报.pdf"])
    assert "关于2026年10月“一月一查”情况的通报" in text and "耒阳市第二小学" in text and "衡南县第二小学" in text
    summary = demo.queries.instance(started["id"])["data"]["circular"]
    assert (summary["schools"], summary["completed"], summary["不合格"], summary["优秀"]) == (39, 38, 1, 1)

    complete(demo, "hy-zr", "issue_circular", {"decision": "publish"})
    counties = [u["id"] for u in demo.queries.units(kind="county")]
    # hengnan-s002 never checked itself: its officer was chased, and the county officer has that too
    assert ("urge_self_check", "hengnan-s002") in inbox(demo, "hengnan-zr")
    for county in counties:
        assert ("write_summary", county) in inbox(demo, f"{county}-zr")
        assert [scope for element, scope in inbox(demo, f"{county}-zr") if element == "write_summary"] == [county]
        complete(demo, f"{county}-zr", "write_summary", {"summary_text": "本月各校按要求开展检查",
                                                         "measures": "督促不合格学校整改"})
    assert inbox(demo, "hy-zr2") == [("city_summary", "hy")]
    complete(demo, "hy-zr2", "city_summary", {"city_summary": "全市一月一查总体良好"})
    done = demo.queries.instance(started["id"])
    assert done["state"] == "completed"
    assert len(done["data"]["summaries"]["collected"]) == 13


def test_a_school_that_is_not_qualified_gets_a_rectification_and_the_circular_names_it(
        demo: Huhua, clock: VirtualClock) -> None:
    run_october_checks(demo, clock, {"shigu-s001": 40}, skip=set())
    assert inbox(demo, "shigu-s001-xz") == [("rectify", "shigu-s001")]
    with demo.services.database.engine.connect() as connection:
        i = tables.process_instance
        states = {row.org_scope: row.state for row in connection.execute(
            i.select().where(i.c.process_key == "monthly_school_check"))}
    assert states.pop("shigu-s001") == "running" and set(states.values()) == {"completed"}
