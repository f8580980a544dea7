"""优秀案例征集展示: schools submit, counties pre-select, experts score, the best are compiled and commended."""

from __future__ import annotations

from datetime import datetime

from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ, VirtualClock
from engine.commands import CompleteTask, StartInstance
from tests.library.conftest import complete, inbox
from tests.library.documents import documents_of, pdf_text, sheet_rows
from workers.job_worker import run_due_jobs

EXPERTS = [f"zj{n:02d}" for n in range(1, 7)]


def test_cases_go_from_schools_through_counties_to_experts_and_the_best_are_commended(
        demo: Huhua, clock: VirtualClock) -> None:
    clock.set(datetime(2026, 9, 7, 9, tzinfo=BUSINESS_TZ))
    started = demo.execute(StartInstance("case_collection", "hy-zr", org_scope="hy"))
    run_due_jobs(demo)
    schools = sorted(u["id"] for u in demo.queries.units(kind="school", limit=500))
    assert inbox(demo, "zhuhui-s001-zr") == [("submit_case", "zhuhui-s001")]
    assert inbox(demo, "zhuhui-s001-bzr1") == [] and inbox(demo, "zhuhui-zr") == []
    for school in schools:
        if school == "changning-s002":
            continue  # this school never submits
        complete(demo, f"{school}-zr", "submit_case", {
            "category": "心理健康教育与辅导案例" if school.endswith("1") else "班主任工作案例",
            "title": f"{school}的成长故事", "author": f"{school}-bzr1", "case_summary": "从家访到转变的一学期"})
    clock.set(datetime(2026, 9, 30, 9, tzinfo=BUSINESS_TZ))  # past the 15 working days: 常宁二校 closes unsent
    run_due_jobs(demo)
    for county in [u["id"] for u in demo.queries.units(kind="county")]:
        tasks = [t for t in demo.queries.tasks(user=f"{county}-zr", limit=50) if t["element_id"] == "preselect"]
        assert len(tasks) == (2 if county == "changning" else 3)
        assert all(t["org_scope"] == county for t in tasks)
        for task in tasks:
            title = task["item"]["submission"]["title"]
            recommend = "yes" if title.startswith(("zhuhui", "qidong")) else "no"
            demo.execute(CompleteTask(task["id"], f"{county}-zr", {"preselection": {"recommend": recommend}}))
    run_due_jobs(demo)
    reviews = [t for t in demo.queries.tasks(user="zj03", limit=50) if t["element_id"] == "expert_review"]
    assert len(reviews) == 6 and inbox(demo, "hy-zr") == []  # six recommended cases; experts only
    scores = iter([95, 85, 75, 65, 92, 88])
    for n, task in enumerate(reviews):  # any expert of the pool may take a case
        demo.execute(CompleteTask(task["id"], EXPERTS[n], {"expert": {"score": next(scores), "comment": "实践性强"}}))
    run_due_jobs(demo)
    data = demo.queries.instance(started["id"])["data"]
    assert sorted(c["award"] for c in data["scored"]) == ["", "一等奖", "一等奖", "三等奖", "二等奖", "二等奖"]
    assert len(data["winners"]) == 5
    files = documents_of(demo, started["id"])
    volume = sheet_rows(files["心育护花优秀案例汇编目录.xlsx"], "目录")
    assert [row[5] for row in volume[1:]] == [95, 92, 88, 85, 75]  # best first
    assert "心育护花优秀案例汇编" in pdf_text(files["心育护花优秀案例汇编.pdf"])
    complete(demo, "hy-zr", "commend", {"circular_number": "衡教通〔2026〕88号", "commendation_text": "予以通报表彰"})
    finished = demo.queries.instance(started["id"])
    assert finished["state"] == "completed" and finished["data"]["certificate_set"]["certificates"] == 5
    register = sheet_rows(documents_of(demo, started["id"])["荣誉证书登记表.xlsx"], "证书登记")
    assert [row[2] for row in register[1:]].count("优秀案例一等奖") == 2
