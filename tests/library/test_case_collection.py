"""优秀案例征集展示 (§四.7) at both levels: schools submit several cases in both categories within the cap, each
county reviews, commends and certifies its own and recommends its best, the city's panel scores each case with
several experts (a declared conflict is replaced, a disagreement is settled by a further review), the winners'
full texts are compiled without scores, and the circulars go out only once the leader has signed them."""

from __future__ import annotations

from datetime import datetime

import pytest

from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ, VirtualClock
from engine.commands import CompleteTask, StartInstance
from engine.commands.requests import ENGINE
from engine.errors import Forbidden, NotFound
from tests.library.conftest import complete, inbox
from tests.library.documents import documents_of, pdf_text, sheet_rows
from workers.job_worker import run_due_jobs

#: One database: a scenario of the library; the engine's own tests hold its contract with each database, and
#: test_launch and test_ct_training run the library on PostgreSQL too.
DATABASES = ("sqlite",)

TEACHER_CASE, MH_CASE = "班主任工作案例", "心理健康教育与辅导案例"


def _case(title: str, category: str = TEACHER_CASE, action: str = "submit_more", **extra: str) -> dict:
    return {"action": action, "category": category, "title": title, "author": f"{title}作者", "author_post": "班主任",
            "author_class": "七年级3班", "case_summary": f"{title}的摘要",
            "full_text": f"{title}全文第一段：从家访开始。\n{title}全文第二段：一学期后的转变。", **extra}


def _review(total: int, conflict: str | None = None) -> dict:
    """The county's scores adding up to ``total`` (analysis ≤ 30, method ≤ 40, effect ≤ 30); an expert's
    also say whether they declare a conflict of interest."""
    analysis = min(total, 30)
    method = min(total - analysis, 40)
    review = {"analysis": analysis, "method": method, "effect": total - analysis - method,
              "comment": "回避：与作者同校" if conflict == "declared" else "实践性强"}
    return {"review": review if conflict is None else {**review, "conflict": conflict}}


def _tasks(demo: Huhua, user: str, element_id: str) -> list[dict]:
    return [t for t in demo.queries.tasks(user=user, limit=500) if t["element_id"] == element_id]


def _county(demo: Huhua, county: str) -> dict:
    found = next(i for i in demo.queries.instances(process_key="case_collection_county", limit=50)
                 if i["org_scope"] == county)
    return demo.queries.instance(found["id"])


def _score_as(demo: Huhua, expert: str, totals: dict[str, int | str]) -> None:
    """``expert`` completes each of their open reviews: case title -> total, or "declared" for a conflict."""
    tasks = _tasks(demo, expert, "expert_review")
    assert sorted(t["item"]["review_item"]["case"]["title"] for t in tasks) == sorted(totals), expert
    for task in tasks:
        value = totals[task["item"]["review_item"]["case"]["title"]]
        demo.execute(CompleteTask(task["id"], expert, _review(0, "declared") if value == "declared"
                                  else _review(value, "none")))


def _flat(pdf: bytes) -> str:
    """A PDF's text without the line breaks its layout put inside sentences."""
    return pdf_text(pdf).replace("\n", "")


def _issued(demo: Huhua, instance_id: int) -> tuple[str, str]:
    """The number of the instance's issued circular and its text."""
    issued = demo.queries.instance(instance_id)["data"]["issued_document"]
    return issued["number"], _flat(demo.queries.document(issued["documents"][0]["id"])[2])


def test_schools_counties_and_the_city_panel_from_call_to_signed_commendation(demo: Huhua, clock: VirtualClock) -> None:
    clock.set(datetime(2026, 9, 7, 9, tzinfo=BUSINESS_TZ))
    # the scheduler starts it (second half of the year) without variables: the city officer's call sets the year
    city = demo.execute(StartInstance("case_collection", "scheduler", org_scope="hy", origin=ENGINE))["id"]
    complete(demo, "hy-zr", "publish_call", {"year": "2026", "notice": "每校每类限报2篇，10月9日前报送"})
    assert inbox(demo, "zhuhui-s001-zr") == [("submit_case", "zhuhui-s001")]
    assert inbox(demo, "zhuhui-s001-bzr1") == [] and inbox(demo, "zhuhui-zr") == []

    # several cases per school, in both categories, each with the author's post and class and its full text
    complete(demo, "zhuhui-s001-zr", "submit_case", _case("甲"))
    complete(demo, "zhuhui-s001-zr", "submit_case", {"action": "submit_more", "category": TEACHER_CASE,
                                                      "title": "缺全文"})  # incomplete: not registered
    complete(demo, "zhuhui-s001-zr", "submit_case", _case("乙"))
    complete(demo, "zhuhui-s001-zr", "submit_case", _case("丙"))  # a third 班主任 case: over the cap of 2
    school = demo.queries.instances(process_key="case_collection_school", limit=100)
    mine = next(i for i in school if i["org_scope"] == "zhuhui-s001")
    assert "每校限报2篇" in demo.queries.instance(mine["id"])["data"]["case_problem"]
    complete(demo, "zhuhui-s001-zr", "submit_case",
             _case("丁", MH_CASE, "submit_last", author_post="专职心理健康教育教师"))
    kept = demo.queries.instance(mine["id"])["data"]["cases"]
    assert [(c["title"], c["category"], c["author_post"]) for c in kept] == [
        ("甲", TEACHER_CASE, "班主任"), ("乙", TEACHER_CASE, "班主任"), ("丁", MH_CASE, "专职心理健康教育教师")]
    complete(demo, "zhuhui-s002-zr", "submit_case", _case("戊", MH_CASE, "submit_last"))
    complete(demo, "hengnan-s001-zr", "submit_case", _case("己", action="submit_last"))
    complete(demo, "qidong-s001-zr", "submit_case", {"action": "none"})
    clock.set(datetime(2026, 9, 30, 9, tzinfo=BUSINESS_TZ))  # past the 15 working days: the rest close unsent
    run_due_jobs(demo)

    # each county reviews its own cases; only counties with submissions have work
    assert inbox(demo, "qidong-zr") == [] and inbox(demo, "yanfeng-zr") == []
    county_scores = {"甲": 92, "乙": 88, "丁": 70, "戊": 60, "己": 90}
    for county in ("zhuhui", "hengnan"):
        tasks = _tasks(demo, f"{county}-zr", "county_review")
        assert all(t["org_scope"] == county for t in tasks)
        with pytest.raises(NotFound):  # another county's review: as if missing
            demo.execute(CompleteTask(tasks[0]["id"], "yanfeng-zr", _review(90)))
        for task in tasks:
            title = task["item"]["submission"]["title"]
            demo.execute(CompleteTask(task["id"], f"{county}-zr", _review(county_scores[title])))
    run_due_jobs(demo)

    # the county's own commendation: generated, signed off by its 局长 (returned once to the officer), numbered
    assert inbox(demo, "zhuhui-jz") == [("od_sign", "zhuhui")] and inbox(demo, "zhuhui-zr") == []
    with pytest.raises((Forbidden, NotFound)):  # the officer cannot sign it off
        demo.execute(CompleteTask(_tasks(demo, "zhuhui-jz", "od_sign")[0]["id"], "zhuhui-zr",
                                  {"od_decision": "signed"}))
    complete(demo, "zhuhui-jz", "od_sign", {"od_decision": "returned", "od_comment": "补充工作要求"})
    complete(demo, "zhuhui-zr", "od_revise", {"od_note": "各校要组织教师学习交流获奖案例。"})
    assert "certificate_set" not in _county(demo, "zhuhui")["data"]  # nothing is certified before it is signed
    complete(demo, "zhuhui-jz", "od_sign", {"od_decision": "signed", "od_comment": "同意印发"})
    complete(demo, "hengnan-jz", "od_sign", {"od_decision": "signed"})
    zhuhui = _county(demo, "zhuhui")
    data = zhuhui["data"]
    assert [(c["title"], c["county_award"]) for c in data["county_winners"]] == [
        ("甲", "一等奖"), ("乙", "一等奖"), ("丁", "三等奖")]
    assert [c["title"] for c in data["recommended"]] == ["甲", "乙"]  # the county's 一等奖 go to the city
    number, text = _issued(demo, zhuhui["id"])
    assert number == "珠晖教通〔2026〕1号" and number in text
    for expected in ("关于表彰2026年度心育护花优秀案例的通报", "各中小学校：", "一等奖2篇、二等奖0篇、三等奖1篇",
                     "各校要组织教师学习交流获奖案例。", "抄送：衡阳市教育局", "乙作者"):
        assert expected in text, expected
    files = documents_of(demo, zhuhui["id"])
    register = sheet_rows(files["荣誉证书登记表.xlsx"], "证书登记")
    assert [(row[1], row[2]) for row in register[1:]] == [("甲作者", "优秀案例一等奖"), ("乙作者", "优秀案例一等奖"),
                                                          ("丁作者", "优秀案例三等奖")]
    assert "2026年度珠晖区心育护花优秀案例评选" in _flat(files["荣誉证书.pdf"])

    # the city's panel: three experts a case, in rotation; the experts only see their own
    assert inbox(demo, "hy-zr") == [] and inbox(demo, "zhuhui-zr") == []
    first = {"zj01": {"己": "declared", "乙": 75}, "zj02": {"己": 90, "乙": 72}, "zj03": {"己": 88, "乙": 78},
             "zj04": {"甲": 95}, "zj05": {"甲": 93}, "zj06": {"甲": 60}}
    theirs = _tasks(demo, "zj01", "expert_review")[0]
    with pytest.raises(Forbidden):
        demo.execute(CompleteTask(theirs["id"], "zj02", _review(90, "none")))
    for expert, totals in first.items():
        _score_as(demo, expert, totals)
    run_due_jobs(demo)
    # 己: zj01 declared a conflict, so zj04 reviews it; 甲: 95/93/60 differ by more than 15, so zj01 reviews again
    assert [t["item"]["review_item"]["round"] for t in _tasks(demo, "zj04", "expert_review")] == ["评审"]
    assert [t["item"]["review_item"]["round"] for t in _tasks(demo, "zj01", "expert_review")] == ["复评"]
    _score_as(demo, "zj04", {"己": 86})
    _score_as(demo, "zj01", {"甲": 91})
    run_due_jobs(demo)
    data = demo.queries.instance(city)["data"]
    settled = {c["title"]: (c["score"], c["award"], sorted(s["total"] for s in c["scores"]), c["declined"])
               for c in data["cases"]}
    assert settled == {"己": (88.0, "二等奖", [86, 88, 90], ["zj01"]),
                       "甲": (93.0, "一等奖", [60, 91, 93, 95], []),  # the outlier 60 dropped after the 复评
                       "乙": (75.0, "三等奖", [72, 75, 78], [])}
    assert "去掉偏离中位数最远的60分" in next(c for c in data["cases"] if c["title"] == "甲")["settlement"]

    # the volume: full texts, authors' posts and classes, no scores
    files = documents_of(demo, city)
    volume = _flat(files["2026年度心育护花优秀案例汇编.pdf"])
    assert "甲全文第二段：一学期后的转变。" in volume and "七年级3班" in volume
    assert "专职心理健康教育教师" not in volume  # 丁 (a county 三等奖) did not reach the city
    assert "93.0" not in volume and "88.0" not in volume
    contents = sheet_rows(files["2026年度心育护花优秀案例汇编目录.xlsx"], "目录")
    assert contents[0] == ["序号", "类别", "题目", "作者", "岗位", "任教班级", "学校", "县市区", "等次"]
    assert [row[2] for row in contents[1:]] == ["甲", "己", "乙"]

    # the city's circular goes out only when the 分管副局长 signs it off; then the certificates
    assert inbox(demo, "hy-fgjz") == [("od_sign", "hy")] and inbox(demo, "hy-zr") == []
    assert "certificate_set" not in demo.queries.instance(city)["data"]
    complete(demo, "hy-fgjz", "od_sign", {"od_decision": "signed"})
    final = demo.queries.instance(city)
    assert final["state"] == "completed" and final["data"]["certificate_set"]["certificates"] == 3
    number, circular = _issued(demo, city)
    assert number == "衡教通〔2026〕1号" and final["data"]["issued_document"]["signed_by"] == "hy-fgjz"
    for expected in ("衡阳市教育局", number, "各县市区教育局、市直各中小学校：", "共评审案例3篇",
                     "一等奖1篇、二等奖1篇、三等奖1篇"):
        assert expected in circular, expected
