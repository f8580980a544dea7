"""督查考核 (supervision_campaign, supervision_round): the bureau's team, the county's routine record and the
research office (教研部门) score a school item by item against the 督查考核细则 (supervision_indicators.dmn), the
routine and on-site shares combined per item; a failing school rectifies until the team's re-check passes; the
campaign's circular is generated and goes out only when the responsible leader signs it."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from lxml import etree

from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ, VirtualClock
from engine.commands import ENGINE, CompleteTask, StartInstance
from engine.errors import InvalidInput, NotFound
from tests.library.conftest import complete, inbox
from tests.library.documents import documents_of, pdf_text, sheet_rows

#: One database: a scenario of the library; the engine's own tests hold its contract with each database, and
#: test_launch and test_ct_training run the library on PostgreSQL too.
DATABASES = ("sqlite",)

FORMS = Path(__file__).resolve().parents[2] / "processes" / "forms"
SELF = {"self_scores": {"class_teacher": 28}, "self_summary": "台账齐全"}
ROOM = {"rooms": 1, "area": 24, "functions": ["counselling", "assessment", "sandplay"],
        "opening_hours": "周一至周五 12:10—13:30", "duty_roster_posted": True, "new_students_visited": True}


def _items(form: str, path: str) -> dict[str, int]:
    """The indicators a form scores (key -> most points), read from the shipped form."""
    found = {}
    for group in json.loads((FORMS / f"{form}.form.json").read_text(encoding="utf-8"))["components"]:
        if group.get("type") == "group" and group.get("path") == path:
            found |= {c["key"]: c["validate"]["max"] for c in group["components"]}
    return found


def _marks(form: str, path: str, full: bool = True, **given: int) -> dict[str, int]:
    return {key: (most if full else 0) for key, most in _items(form, path).items()} | given


def _assess(demo: Huhua, school: str, routine: dict, onsite: dict, teaching: dict, *, team: str, research: str,
            room: dict = ROOM) -> None:
    county = school.rsplit("-", 1)[0]
    complete(demo, f"{school}-zr", "supervision_self_report", SELF)
    complete(demo, f"{county}-zr", "supervision_routine", {"routine": routine, "routine_basis": "月查与台账"}, school)
    complete(demo, team, "supervision_onsite", {"room": room, "onsite": onsite, "onsite_date": "2026-06-10",
                                                "onsite_opinion": "查看心理咨询室、访谈师生"}, school)
    complete(demo, research, "supervision_teaching", {"lessons_observed": 2, "teaching": teaching,
                                                      "teaching_opinion": "活动教学为主"}, school)


def test_a_county_round_scores_every_indicator_rechecks_and_circulates_after_the_head_signs(demo: Huhua) -> None:
    campaign = demo.execute(StartInstance("supervision_campaign", "admin", org_scope="nanyue"))
    complete(demo, "nanyue-zr", "supervision_launch", {"year": "2026", "round_title": "2026年上半年督查考核",
                                                        "organiser": "county", "focus": "心理咨询室与减负"})
    rounds = {r["org_scope"]: r["id"] for r in demo.queries.instances(process_key="supervision_round", limit=50)}
    assert sorted(rounds) == ["nanyue-s001", "nanyue-s002", "nanyue-s003"]  # 不漏一校

    complete(demo, "nanyue-s001-zr", "supervision_self_report", SELF)
    # three assessments side by side: the county's routine record, the team on site, the county's 教研室
    assert sorted(inbox(demo, "nanyue-zr")) == [("supervision_onsite", "nanyue-s001"),
                                                ("supervision_routine", "nanyue-s001")]
    assert inbox(demo, "nanyue-jys") == [("supervision_teaching", "nanyue-s001")]
    for outsider in ("hy-jky-jyy", "hengshan-jys", "hy-zr", "nanyue-s001-zr", "nanyue-s001-xl1"):
        assert inbox(demo, outsider) == [], outsider
    teaching = next(t for t in demo.queries.tasks(user="nanyue-jys") if t["element_id"] == "supervision_teaching")
    assert teaching["candidate_roles"] == ["researcher@nanyue"]
    with pytest.raises(InvalidInput):  # the bi-weekly lesson is worth 6 at most
        demo.execute(CompleteTask(teaching["id"], "nanyue-jys", {
            "lessons_observed": 1, "teaching": _marks("supervision_teaching", "teaching", biweekly_lesson=7),
            "teaching_opinion": "x"}))
    with pytest.raises(NotFound):  # another county's research office: as if missing
        demo.execute(CompleteTask(teaching["id"], "hengshan-jys", {}))
    county_forms = {"team": "nanyue-zr", "research": "nanyue-jys"}
    full = (_marks("supervision_routine", "routine"), _marks("supervision_onsite", "onsite"),
            _marks("supervision_teaching", "teaching"))
    complete(demo, "nanyue-zr", "supervision_routine", {"routine": full[0], "routine_basis": "月查"}, "nanyue-s001")
    complete(demo, "nanyue-zr", "supervision_onsite", {"room": ROOM, "onsite": full[1], "onsite_date": "2026-06-10",
                                                       "onsite_opinion": "好"}, "nanyue-s001")
    complete(demo, "nanyue-jys", "supervision_teaching", {"lessons_observed": 2, "teaching": full[2],
                                                          "teaching_opinion": "好"}, "nanyue-s001")
    # a room of 12 m² without sand-play, and homework over the limit: those items lose their points
    short = {"room_area": 0, "room_functions": 0, "homework": 0}
    _assess(demo, "nanyue-s002", full[0] | short, full[1] | short, full[2], **county_forms,
            room=ROOM | {"area": 12, "functions": ["counselling", "assessment"]})
    # nothing but the lessons: 6×0.6 + 4×0.7 + 3×0.6 + 3×0.5 on site (supervision_indicators.dmn)
    _assess(demo, "nanyue-s003", _marks("supervision_routine", "routine", full=False),
            _marks("supervision_onsite", "onsite", full=False), full[2], **county_forms)

    first, second, third = (demo.queries.instance(rounds[f"nanyue-s00{n}"])["data"] for n in (1, 2, 3))
    assert (first["supervision_score"], first["supervision_grade"]) == (100.0, "优秀")
    assert first["part_scores"] == {"class_teacher": 30, "counselling": 34, "lessons": 16, "burden": 20}
    assert (second["supervision_score"], second["supervision_grade"]) == (87.0, "良好")
    assert second["supervision_result"]["room"]["meets_standard"] is False and first["room_check"]["meets_standard"]
    assert len(second["supervision_result"]["weak_items"]) == 3
    assert (third["supervision_score"], third["supervision_grade"]) == (9.7, "不合格")
    assert third["part_scores"]["lessons"] == 9.7 and third["part_scores"]["class_teacher"] == 0

    # the failing school rectifies; the team re-checks, sends it back once, then passes it
    assert inbox(demo, "nanyue-s003-xz") == [("supervision_rectify", "nanyue-s003")]
    for verdict in ("failed", "passed"):
        complete(demo, "nanyue-s003-xz", "supervision_rectify", {"rectify_measures": "配齐心理咨询室和专职教师",
                                                                 "rectified_on": "2026-07-01"})
        assert inbox(demo, "nanyue-s003-xz") == []
        complete(demo, "nanyue-zr", "supervision_recheck", {"recheck_result": verdict, "recheck_note": "到校复查"},
                 "nanyue-s003")
    third = demo.queries.instance(rounds["nanyue-s003"])
    assert third["state"] == "completed"
    assert third["data"]["supervision_result"]["recheck"] == {"result": "passed", "rectified_on": "2026-07-01"}

    summary = demo.queries.instance(campaign["id"])["data"]["supervision_summary"]
    assert summary == {"schools": 3, "average": 65.6, "grades": {"优秀": 1, "良好": 1, "合格": 0, "不合格": 1},
                       "unqualified": ["nanyue-s003"]}
    complete(demo, "nanyue-zr", "supervision_circular", {"circular_requirements": "各校要在秋季开学前配齐心理咨询室。"})
    assert inbox(demo, "nanyue-zr") == [] and inbox(demo, "hy-fgjz") == []
    # the county's 局长 signs it off (returning it once); the number comes with the signature
    complete(demo, "nanyue-jz", "od_sign", {"od_decision": "returned", "od_comment": "补充整改时限"})
    complete(demo, "nanyue-zr", "od_revise", {"od_note": "未达标的学校于9月30日前完成整改，逾期纳入年度考评扣分。"})
    assert demo.queries.instance(campaign["id"])["state"] == "running"  # not out before the head signs
    complete(demo, "nanyue-jz", "od_sign", {"od_decision": "signed"})
    finished = demo.queries.instance(campaign["id"])
    assert finished["state"] == "completed"
    issued = finished["data"]["issued_document"]
    assert issued["number"] == "南岳教通〔2026〕1号" and issued["signed_by"] == "nanyue-jz"
    text = pdf_text(documents_of(demo, campaign["id"])[issued["documents"][0]["name"]]).replace("\n", "")
    for expected in ("南岳区教育局", "南岳教通〔2026〕1号", "关于2026年上半年督查考核情况的通报", "各中小学校：",
                     "会同教研部门", "平时考核与现场考核相结合", "心理咨询室未达到配备标准", "南岳区第二小学",
                     "南岳区第三实验学校（已整改，复查通过）", "秋季开学前", "9月30日前", "纳入年度目标管理考评"):
        assert expected in text.replace(" ", ""), expected
    scores = sheet_rows(documents_of(demo, campaign["id"])["2026年上半年督查考核各校得分.xlsx"], "各校得分")
    assert scores[1][1:] == ["南岳区第一中学", 30, 34, 16, 20, 100, "优秀"]


def test_a_scheduled_city_round_brings_the_city_team_and_the_research_institute(
        demo: Huhua, clock: VirtualClock) -> None:
    clock.set(datetime(2026, 11, 2, 9, tzinfo=BUSINESS_TZ))
    demo.execute(StartInstance("supervision_campaign", "scheduler", org_scope="hy", origin=ENGINE,
                               variables={"scheduled_for": "2026-11-02T09:00:00+08:00", "late": False}))
    assert inbox(demo, "hy-zr") == [("supervision_launch", "hy")] and inbox(demo, "nanyue-zr") == []
    complete(demo, "hy-zr", "supervision_launch", {"year": "2026", "round_title": "2026年全市督查考核",
                                                    "organiser": "city", "focus": "三项工作"})
    assert len(demo.queries.instances(process_key="supervision_round", limit=100)) == 39  # every school
    complete(demo, "shigu-s002-zr", "supervision_self_report", SELF)
    assert inbox(demo, "shigu-zr") == [("supervision_routine", "shigu-s002")]
    assert inbox(demo, "hy-zr") == [("supervision_onsite", "shigu-s002")]
    assert inbox(demo, "hy-jky-jyy") == [("supervision_teaching", "shigu-s002")]  # the city's 教科院
    assert inbox(demo, "shigu-jys") == []


def test_the_forms_score_exactly_the_indicators_of_the_decision_table() -> None:
    """Whoever edits the 细则 (supervision_indicators.dmn) edits the forms with it: same items, same points."""
    table = etree.parse(str(FORMS.parent / "supervision_indicators.dmn"))
    rules = [[e.text.strip('"') for e in rule.iterfind("{*}outputEntry/{*}text")]
             for rule in table.iterfind(".//{*}rule")]
    indicators = {code: (int(points), assessor) for code, _part, _label, points, assessor, *_ in rules}
    assert sum(points for points, _ in indicators.values()) == 100
    routine = _items("supervision_routine", "routine")
    on_site = _items("supervision_onsite", "onsite") | _items("supervision_teaching", "teaching")
    assert routine == on_site == {code: points for code, (points, _) in indicators.items()}
    research = {code for code, (_, who) in indicators.items() if who == "research"}
    assert set(_items("supervision_teaching", "teaching")) == research
