"""督查考核 (supervision_round, supervision_campaign): routine and on-site assessment scored per part, weighted by
the DMN into supervision_score and supervision_grade, which stay in the school's instance data for the annual
assessment."""

from __future__ import annotations

import pytest

from engine.bootstrap import Huhua
from engine.commands import CompleteTask, StartInstance
from engine.errors import InvalidInput, NotFound
from tests.library.conftest import complete, inbox

SELF = {"self_scores": {"class_teacher": 36}, "self_summary": "台账齐全"}


def _scores(class_teacher: int, counselling: int, burden: int) -> dict:
    return {"class_teacher": class_teacher, "counselling": counselling, "burden": burden}


def _assess(demo: Huhua, school: str, routine: dict, onsite: dict, onsite_by: str | None = None) -> None:
    county = school.rsplit("-", 1)[0]
    complete(demo, f"{county}-zr", "supervision_routine", {"routine": routine, "routine_basis": "月查与台账"}, school)
    complete(demo, onsite_by or f"{county}-zr", "supervision_onsite", {
        "onsite": onsite, "onsite_date": "2026-06-10", "onsite_opinion": "心理咨询室按时开放"}, school)


def test_routine_and_on_site_scores_are_weighted_into_the_supervision_score(demo: Huhua) -> None:
    started = demo.execute(StartInstance("supervision_round", "admin", org_scope="qidong-s002",
                                         variables={"year": 2026}))
    assert inbox(demo, "qidong-s002-zr") == [("supervision_self_report", "qidong-s002")]
    for outsider in ("qidong-s002-xz", "qidong-s001-zr", "qidong-zr", "hy-zr", "qidong-s002-bzr1"):
        assert inbox(demo, outsider) == [], outsider
    complete(demo, "qidong-s002-zr", "supervision_self_report", SELF)

    # routine and on-site assessment run side by side, both by the county's programme officer here
    assert sorted(inbox(demo, "qidong-zr")) == [("supervision_onsite", "qidong-s002"),
                                                ("supervision_routine", "qidong-s002")]
    assert inbox(demo, "leiyang-zr") == [] and inbox(demo, "hy-zr") == [] and inbox(demo, "qidong-s002-zr") == []
    routine = next(t for t in demo.queries.tasks(user="qidong-zr") if t["element_id"] == "supervision_routine")
    with pytest.raises(InvalidInput):  # class-teacher work is worth 40 at most
        demo.execute(CompleteTask(routine["id"], "qidong-zr", {"routine": _scores(41, 30, 10), "routine_basis": "x"}))
    with pytest.raises(NotFound):  # another unit's: as if missing
        demo.execute(CompleteTask(routine["id"], "leiyang-zr", {"routine": _scores(36, 32, 18), "routine_basis": "x"}))
    _assess(demo, "qidong-s002", _scores(36, 32, 18), _scores(34, 30, 12))

    view = demo.queries.instance(started["id"])
    data = view["data"]
    # weights (supervision_weights.dmn): routine 0.4 / on-site 0.6 for class-teacher work and counselling,
    # 0.3 / 0.7 for burden reduction: 0.4*36+0.6*34 = 34.8, 0.4*32+0.6*30 = 30.8, 0.3*18+0.7*12 = 13.8
    assert data["part_scores"] == {"class_teacher": 34.8, "counselling": 30.8, "burden": 13.8}
    assert (data["supervision_score"], data["supervision_grade"], data["year"]) == (79.4, "良好", "2026")
    assert data["supervision_result"] == {"year": "2026", "score": 79.4, "grade": "良好", "parts": data["part_scores"]}
    assert view["state"] == "completed" and inbox(demo, "qidong-s002-xz") == []


def test_a_city_team_assesses_on_site_and_a_failing_school_rectifies(demo: Huhua) -> None:
    started = demo.execute(StartInstance("supervision_round", "admin", org_scope="hengnan-s001",
                                         variables={"year": 2026, "onsite_roles": "programme_officer@city"}))
    complete(demo, "hengnan-s001-zr", "supervision_self_report", SELF)
    assert inbox(demo, "hengnan-zr") == [("supervision_routine", "hengnan-s001")]
    assert inbox(demo, "hy-zr") == [("supervision_onsite", "hengnan-s001")] == inbox(demo, "hy-zr2")
    assert demo.queries.tasks(user="hy-zr")[0]["candidate_roles"] == ["programme_officer@hy"]
    _assess(demo, "hengnan-s001", _scores(20, 18, 10), _scores(18, 16, 8), onsite_by="hy-zr2")
    data = demo.queries.instance(started["id"])["data"]
    assert (data["supervision_score"], data["supervision_grade"]) == (44.2, "不合格")
    assert inbox(demo, "hengnan-s001-xz") == [("supervision_rectify", "hengnan-s001")]
    complete(demo, "hengnan-s001-xz", "supervision_rectify", {"rectify_measures": "配齐专职心理教师",
                                                              "rectified_on": "2026-06-30"})
    assert demo.queries.instance(started["id"])["state"] == "completed"


def test_a_county_campaign_supervises_every_school_and_sums_up(demo: Huhua) -> None:
    started = demo.execute(StartInstance("supervision_campaign", "admin", org_scope="nanyue"))
    assert inbox(demo, "nanyue-zr") == [("supervision_launch", "nanyue")] and inbox(demo, "hy-zr") == []
    complete(demo, "nanyue-zr", "supervision_launch", {"year": "2026", "round_title": "2026年上半年督查考核",
                                                        "organiser": "county", "focus": "心理咨询室与减负"})
    rounds = demo.queries.instances(process_key="supervision_round", limit=50)
    assert sorted(r["org_scope"] for r in rounds) == ["nanyue-s001", "nanyue-s002", "nanyue-s003"]
    scores = {"nanyue-s001": (_scores(40, 40, 20), _scores(38, 36, 18)),
              "nanyue-s002": (_scores(36, 32, 18), _scores(34, 30, 12)),
              "nanyue-s003": (_scores(20, 18, 10), _scores(18, 16, 8))}
    for school, (routine, onsite) in scores.items():
        complete(demo, f"{school}-zr", "supervision_self_report", SELF)
        _assess(demo, school, routine, onsite)
    assert inbox(demo, "nanyue-zr") == []  # the campaign waits for nanyue-s003's rectification
    complete(demo, "nanyue-s003-xz", "supervision_rectify", {"rectify_measures": "整改", "rectified_on": "2026-07-01"})
    results = {demo.queries.instance(r["id"])["org_scope"]: demo.queries.instance(r["id"])["data"]["supervision_score"]
               for r in rounds}
    assert results == {"nanyue-s001": 95.0, "nanyue-s002": 79.4, "nanyue-s003": 44.2}
    summary = demo.queries.instance(started["id"])["data"]["supervision_summary"]
    assert summary == {"schools": 3, "average": 72.9, "grades": {"优秀": 1, "良好": 1, "合格": 0, "不合格": 1},
                       "unqualified": ["nanyue-s003"]}
    complete(demo, "nanyue-zr", "supervision_circular", {"circular_no": "南教通〔2026〕9号", "circular_summary": "略"})
    assert demo.queries.instance(started["id"])["state"] == "completed"


def test_a_city_campaign_reaches_every_school_and_the_city_assesses_on_site(demo: Huhua) -> None:
    demo.execute(StartInstance("supervision_campaign", "admin", org_scope="hy"))
    assert inbox(demo, "hy-zr") == [("supervision_launch", "hy")] and inbox(demo, "nanyue-zr") == []
    complete(demo, "hy-zr", "supervision_launch", {"year": "2026", "round_title": "2026年全市督查考核",
                                                    "organiser": "city", "focus": "三项工作"})
    assert len(demo.queries.instances(process_key="supervision_round", limit=100)) == 39  # 不漏一校
    complete(demo, "shigu-s002-zr", "supervision_self_report", SELF)
    assert inbox(demo, "shigu-zr") == [("supervision_routine", "shigu-s002")]
    assert inbox(demo, "hy-zr") == [("supervision_onsite", "shigu-s002")]
