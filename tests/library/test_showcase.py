"""交流展示与评优 (§四.2, 9–11月) at both levels: schools nominate several people per category and themselves as a
先进单位, each county holds its own exchange event, commends and certifies its own and recommends within a quota the
DMN sets by its number of schools (its bureau may stand as a 先进单位); the city's experts score, the city records its
event, titles carry no grade, objections are checked in the publicity period, and the circular goes out only once the
leader has signed it, with certificates."""

from __future__ import annotations

from datetime import datetime

import pytest

from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ, VirtualClock
from engine.commands import CompleteTask, CorrelateMessage, SetServiceAccount, StartInstance
from engine.commands.requests import ENGINE
from engine.errors import Forbidden, InvalidInput, NotFound
from tests.library.conftest import complete, inbox
from tests.library.documents import documents_of, pdf_text, sheet_rows
from workers.job_worker import run_due_jobs

#: One database: a scenario of the library; the engine's own tests hold its contract with each database, and
#: test_launch and test_ct_training run the library on PostgreSQL too.
DATABASES = ("sqlite",)

EXPERTS = [f"zj{n:02d}" for n in range(1, 7)]
KEY = "showcase-2026"
TEACHER, INDIVIDUAL, UNIT = "excellent_class_teacher", "advanced_individual", "advanced_unit"


def _tasks(demo: Huhua, user: str, element_id: str) -> list[dict]:
    return [t for t in demo.queries.tasks(user=user, limit=500) if t["element_id"] == element_id]


def _score(total: int) -> dict:
    """One expert's review totalling ``total`` (deeds ≤ 40, demonstration ≤ 30, material ≤ 30)."""
    deeds = min(total, 40)
    demonstration = min(total - deeds, 30)
    return {"review": {"deeds": deeds, "demonstration": demonstration, "material": total - deeds - demonstration,
                       "comment": "材料翔实"}}


def _nominate(demo: Huhua, school: str, category: str, nominee: str | None, intent: str = "nominate_more") -> None:
    complete(demo, f"{school}-zr", "showcase_nominate", {
        "intent": intent, "category": category, "nominee": nominee, "deeds": "坚持家访，建立学生成长档案",
        "showcase_title": f"{nominee or school}的育人故事"}, school)


def _flat(pdf: bytes) -> str:
    return pdf_text(pdf).replace("\n", "")


def _event(options: list[str]) -> dict:
    return {"event_date": "2026-10-16", "venue": "衡阳市第八中学报告厅", "participants": 260, "presented": options,
            "event_summary": "优秀班主任现场交流育人案例和成果"}


def _issued(demo: Huhua, instance_id: int) -> tuple[str, str]:
    """The number of the instance's issued circular and its text."""
    issued = demo.queries.instance(instance_id)["data"]["issued_document"]
    return issued["number"], _flat(demo.queries.document(issued["documents"][0]["id"])[2])


def _county(demo: Huhua, county: str) -> dict:
    found = next(i for i in demo.queries.instances(process_key="showcase_county", limit=50) if i["org_scope"] == county)
    return demo.queries.instance(found["id"])


def test_schools_counties_and_the_city_from_nomination_to_signed_circular_and_certificates(
        demo: Huhua, clock: VirtualClock) -> None:
    clock.set(datetime(2026, 9, 7, 8, 30, tzinfo=BUSINESS_TZ))
    # the scheduler starts the round in September, without variables
    city = demo.execute(StartInstance("showcase_selection", "scheduler", org_scope="hy", business_key=KEY,
                                      origin=ENGINE))["id"]
    assert inbox(demo, "hy-zr") == [("showcase_publish", "hy")] == inbox(demo, "hy-zr2")
    complete(demo, "hy-zr", "showcase_publish", {"year": "2026", "notice": "9月至11月开展交流展示与评优"})
    assert len(demo.queries.instances(process_key="showcase_school", limit=100)) == 39  # 不漏一校
    assert inbox(demo, "zhuhui-s001-zr") == [("showcase_nominate", "zhuhui-s001")]
    for outsider in ("zhuhui-s001-xz", "zhuhui-s001-bzr1", "zhuhui-zr", "hy-zr", "zj01"):
        assert inbox(demo, outsider) == [], outsider
    with pytest.raises(NotFound):  # another school's: as if missing
        demo.execute(CompleteTask(_tasks(demo, "zhuhui-s001-zr", "showcase_nominate")[0]["id"], "zhuhui-s002-zr",
                                  {"intent": "none"}))

    # several nominees per school and category (cap 2 from the DMN), and the school itself as a 先进单位
    _nominate(demo, "zhuhui-s001", TEACHER, "刘芳")
    _nominate(demo, "zhuhui-s001", TEACHER, "王强")
    _nominate(demo, "zhuhui-s001", TEACHER, "多一名")  # over the school's cap: not registered, asked again
    school = next(i for i in demo.queries.instances(process_key="showcase_school", limit=100)
                  if i["org_scope"] == "zhuhui-s001")
    assert "每校限推荐2名" in demo.queries.instance(school["id"])["data"]["nomination_problem"]
    _nominate(demo, "zhuhui-s001", INDIVIDUAL, "陈静")
    _nominate(demo, "zhuhui-s001", UNIT, None, "nominate")  # the school itself; then to the principal
    assert inbox(demo, "zhuhui-s001-xz") == [("showcase_approve", "zhuhui-s001")]
    complete(demo, "zhuhui-s001-xz", "showcase_approve", {"approval": "approved", "approve_opinion": "同意"})
    assert [(n["category"], n["nominee"]) for n in demo.queries.instance(school["id"])["data"]["nominations"]] == [
        (TEACHER, "刘芳"), (TEACHER, "王强"), (INDIVIDUAL, "陈静"), (UNIT, "珠晖区第一中学")]
    # zhuhui-s002: an incomplete nomination comes back; the principal returns the list, which is made again
    complete(demo, "zhuhui-s002-zr", "showcase_nominate", {"intent": "nominate", "category": TEACHER})
    _nominate(demo, "zhuhui-s002", TEACHER, "赵敏", "nominate")
    complete(demo, "zhuhui-s002-xz", "showcase_approve", {"approval": "returned", "approve_opinion": "补充成果材料"})
    _nominate(demo, "zhuhui-s002", TEACHER, "赵敏", "nominate")
    complete(demo, "zhuhui-s002-xz", "showcase_approve", {"approval": "approved"})
    complete(demo, "zhuhui-s003-zr", "showcase_nominate", {"intent": "none"})
    _nominate(demo, "hengnan-s001", INDIVIDUAL, "周洁", "nominate")
    complete(demo, "hengnan-s001-xz", "showcase_approve", {"approval": "approved"})
    clock.set(datetime(2026, 9, 21, 9, tzinfo=BUSINESS_TZ))  # the others let the 10 working days pass
    run_due_jobs(demo)
    statuses = [demo.queries.instance(i["id"])["data"].get("nomination_status")
                for i in demo.queries.instances(process_key="showcase_school", limit=100)]
    assert (statuses.count("逾期未报"), statuses.count("已推荐"), statuses.count("本校不推荐")) == (35, 3, 1)
    assert inbox(demo, "yanfeng-zr") == []  # nobody nominated there: nothing to hold

    # the county's own exchange event, its own honours, and the recommendation within the DMN's quota
    zhuhui = _county(demo, "zhuhui")
    assert (zhuhui["data"]["school_count"], zhuhui["data"]["quota_class_teacher"], zhuhui["data"]["quota_unit"]) == (
        3, 2, 1)
    ids = {o["label"].split("：")[1].split("（")[0]: o["value"] for o in zhuhui["data"]["nomination_options"]}
    complete(demo, "zhuhui-zr", "showcase_county_event", _event([ids["刘芳"], ids["赵敏"]]))
    everyone = list(ids.values())
    complete(demo, "zhuhui-zr", "showcase_preselect", {
        "county_awarded": everyone, "selected": [ids["刘芳"], ids["王强"], ids["赵敏"]], "nominate_bureau": "no",
        "preselect_opinion": "三人均优秀"})
    assert "优秀班主任推荐3名，超出名额2名" in _county(demo, "zhuhui")["data"]["quota_problem"]
    complete(demo, "zhuhui-zr", "showcase_preselect", {
        "county_awarded": [ids["刘芳"], ids["赵敏"]], "selected": [ids["刘芳"], ids["陈静"]],
        "nominate_bureau": "no", "preselect_opinion": "择优"})
    assert "须先列入县级表彰名单" in _county(demo, "zhuhui")["data"]["quota_problem"]
    complete(demo, "zhuhui-zr", "showcase_preselect", {
        "county_awarded": everyone, "selected": [ids["刘芳"], ids["陈静"], ids["珠晖区第一中学"]],
        "nominate_bureau": "yes", "bureau_deeds": "全区班主任培训全覆盖", "preselect_opinion": "择优推荐"})
    complete(demo, "zhuhui-jz", "od_sign", {"od_decision": "signed"})  # the county's circular, signed off
    number, circular = _issued(demo, _county(demo, "zhuhui")["id"])
    assert number == "珠晖教通〔2026〕1号" and number in circular and "衡阳市第八中学报告厅" in circular
    assert "2项优秀班主任工作案例和成果作了交流展示" in circular
    assert "先进单位1个、优秀班主任3名、先进个人1名" in circular
    files = documents_of(demo, _county(demo, "zhuhui")["id"])
    register = sheet_rows(files["荣誉证书登记表.xlsx"], "证书登记")
    assert sorted(row[2] for row in register[1:]) == ["优秀班主任"] * 3 + ["先进个人", "先进单位"]
    complete(demo, "hengnan-zr", "showcase_county_event", _event([]))
    hengnan = _county(demo, "hengnan")["data"]["nomination_options"][0]["value"]
    complete(demo, "hengnan-zr", "showcase_preselect", {"county_awarded": [hengnan], "selected": [hengnan],
                                                        "nominate_bureau": "no", "preselect_opinion": "推荐"})
    assert _tasks(demo, "zj01", "showcase_review") == []  # the experts wait for every county
    complete(demo, "hengnan-jz", "od_sign", {"od_decision": "signed"})

    # every expert of the pool scores every recommended candidate in a task of their own
    mine = _tasks(demo, "zj01", "showcase_review")
    assert sorted(t["item"]["review_item"]["nominee"] for t in mine) == sorted(
        ["刘芳", "周洁", "珠晖区第一中学", "珠晖区教育局", "陈静"])
    with pytest.raises(Forbidden):
        demo.execute(CompleteTask(mine[0]["id"], "zj02", _score(90)))
    with pytest.raises(InvalidInput):  # deeds are worth 40 at most
        demo.execute(CompleteTask(mine[0]["id"], "zj01",
                                  {"review": {"deeds": 41, "demonstration": 30, "material": 30}}))
    totals = {"刘芳": 92, "陈静": 72, "珠晖区第一中学": 88, "珠晖区教育局": 85, "周洁": 90}
    for n, expert in enumerate(EXPERTS):
        for task in _tasks(demo, expert, "showcase_review"):
            total = totals[task["item"]["review_item"]["nominee"]] - n % 2  # 92, 91, 92, 91, …
            demo.execute(CompleteTask(task["id"], expert, _score(total)))
    run_due_jobs(demo)
    options = demo.queries.instance(city)["data"]["candidate_options"]
    complete(demo, "hy-zr", "showcase_event", _event([o["value"] for o in options]))
    data = demo.queries.instance(city)["data"]
    assert data["city_event"]["presented"] == 5 and data["city_event"]["venue"] == "衡阳市第八中学报告厅"
    assert {c["nominee"]: (c["average"], c["awarded"]) for c in data["candidates"]} == {
        "刘芳": (91.5, True), "陈静": (71.5, False), "珠晖区第一中学": (87.5, True), "珠晖区教育局": (84.5, True),
        "周洁": (89.5, True)}

    # the publicity period: objections come through the city's portal and are checked
    demo.execute(SetServiceAccount("public", ("showcase_objection",), "admin"))
    with pytest.raises(NotFound):  # correlated by the round's business key
        demo.execute(CorrelateMessage("showcase_objection", "public", "showcase-2025",
                                      {"objection_school": "zhuhui-s001", "objection_reason": "x"}))
    with pytest.raises(InvalidInput) as refused:  # the portal may bring an objection, never a new award list
        demo.execute(CorrelateMessage("showcase_objection", "public", KEY, {
            "objection_school": "zhuhui-s001", "objection_reason": "x", "awardees": [], "verdict": "upheld"}))
    assert [p.field for p in refused.value.problems] == ["variables.awardees", "variables.verdict"]
    clock.set(datetime(2026, 9, 22, 10, tzinfo=BUSINESS_TZ))
    demo.execute(CorrelateMessage("showcase_objection", "public", KEY,
                                  {"objection_school": "zhuhui-s001", "objection_reason": "推荐对象并非班主任"}))
    complete(demo, "hy-zr", "showcase_check_objection", {"verdict": "dismissed", "check_note": "经核实担任班主任"})
    demo.execute(CorrelateMessage("showcase_objection", "public", KEY, {
        "objection_school": "hengnan-s001", "objection_nominee": "周洁", "objection_reason": "事迹材料与实际不符"}))
    complete(demo, "hy-zr2", "showcase_check_objection", {"verdict": "upheld", "check_note": "经核查属实"})
    assert inbox(demo, "hy-zr") == []  # the publicity period runs to its end
    clock.set(datetime(2026, 9, 30, 9, tzinfo=BUSINESS_TZ))
    run_due_jobs(demo)

    # the officer confirms; the circular goes out when the 分管副局长 signs it off (returned once to the officer)
    complete(demo, "hy-zr", "showcase_confirm", {"requirements": "各地要以先进为榜样。"})
    assert inbox(demo, "hy-fgjz") == [("od_sign", "hy")] and inbox(demo, "hy-zr") == []
    complete(demo, "hy-fgjz", "od_sign", {"od_decision": "returned", "od_comment": "补充活动情况"})
    assert "certificate_set" not in demo.queries.instance(city)["data"]
    complete(demo, "hy-zr", "od_revise", {"od_note": "交流展示活动由各县市区分会场同步组织。"})
    complete(demo, "hy-fgjz", "od_sign", {"od_decision": "signed", "od_comment": "同意"})
    final = demo.queries.instance(city)
    assert final["state"] == "completed" and final["data"]["certificate_set"]["certificates"] == 3
    assert sorted((a["recipient"], a["honour"]) for a in final["data"]["awards"]) == sorted(
        [("刘芳", "优秀班主任"), ("珠晖区教育局", "先进单位"), ("珠晖区第一中学", "先进单位")])  # titles, no grades
    number, circular = _issued(demo, city)
    assert number == "衡教通〔2026〕1号" and "先进单位2个、优秀班主任1名" in circular and "（一等）" not in circular
    for expected in ("各县市区教育局、市直各中小学校：", "各地要以先进为榜样。", "珠晖区教育局",
                     "交流展示活动由各县市区分会场同步组织。", "5项优秀班主任工作案例和成果作了交流展示"):
        assert expected in circular, expected
    files = documents_of(demo, city)
    certificates = _flat(files["荣誉证书.pdf"])
    assert "被评为“优秀班主任”" in certificates and "衡阳市教育局" in certificates
