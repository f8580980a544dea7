"""Official documents (公文): a process calls official_document; the leader signs off or returns the draft; only the
issued document carries a 文号, numbered without gaps per issuing unit, 代字 and year."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pypdf import PdfReader

from engine.bootstrap import Huhua
from engine.commands import CompleteTask, DeployModels, LoadDirectory, SetDocumentCode
from engine.errors import InvalidInput
from engine.org.profiles import generate
from tests.helpers import FIXTURES, start_at
from workers.job_worker import run_due_jobs

PROCESSES = Path(__file__).parent.parent / "processes"
FILES = ("official_document.bpmn", "forms/official_document_sign.form.json",
         "forms/official_document_revise.form.json")


@pytest.fixture
def circulars(huhua: Huhua) -> Huhua:
    """The demo directory, the test process and the shipped official_document process with its forms."""
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    files = [("school_circular.bpmn", (FIXTURES / "school_circular.bpmn").read_bytes())]
    files += [(name, (PROCESSES / name).read_bytes()) for name in FILES]
    huhua.execute(DeployModels(files=tuple(files), actor="admin"))
    return huhua


def act(huhua: Huhua, user: str, element_id: str, instance_id: int, data: dict) -> None:
    tasks = [t for t in huhua.queries.tasks(user=user, limit=100)
             if t["element_id"] == element_id and t["instance_id"] == instance_id]
    assert len(tasks) == 1, (user, element_id, huhua.queries.tasks(instance_id=instance_id))
    huhua.execute(CompleteTask(tasks[0]["id"], user, data))
    run_due_jobs(huhua)


def pdf_text(huhua: Huhua, document_id: int) -> str:
    _name, _type, content = huhua.queries.document(document_id)
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages).replace(" ", "")


def issue(huhua: Huhua, school: str) -> dict:
    """A circular of ``school`` its principal signs at once; the caller's data after the call."""
    instance = start_at(huhua, "school_circular", school, month="2026年3月")
    run_due_jobs(huhua)
    act(huhua, f"{school}-xz", "od_sign", instance, {"od_decision": "signed"})
    return huhua.queries.instance(instance)


def test_draft_returned_revised_signed_and_numbered_in_order(circulars: Huhua) -> None:
    huhua = circulars
    instance = start_at(huhua, "school_circular", "zhuhui-s001", month="2026年3月")
    run_due_jobs(huhua)
    drafts = huhua.queries.documents(instance)
    assert sorted(d["kind"] for d in drafts) == ["official_draft", "official_draft"]  # the PDF and the .xlsx annex
    draft_pdf = next(d for d in drafts if d["name"].endswith(".pdf"))
    text = pdf_text(huhua, draft_pdf["id"])
    assert "草稿" in text and "〔签发后编号〕" in text and "〔2026〕" not in text
    assert [t["element_id"] for t in huhua.queries.tasks(user="zhuhui-s001-zr", limit=100)] == []

    act(huhua, "zhuhui-s001-xz", "od_sign", instance, {"od_decision": "returned", "od_comment": "请补充工作要求"})
    act(huhua, "zhuhui-s001-zr", "od_revise", instance,
        {"od_copy_to": "珠晖区教育局", "od_note": "请各年级组于本月底前报送整改情况。"})
    assert len(huhua.queries.documents(instance)) == 4  # a second draft, the first kept
    act(huhua, "zhuhui-s001-xz", "od_sign", instance, {"od_decision": "signed", "od_comment": "同意"})

    data = huhua.queries.instance(instance)
    assert data["state"] == "completed"
    assert data["data"]["circular_number"] == "珠一中发〔2026〕1号"
    issued = data["data"]["issued_document"]
    assert issued["signed_by"] == "zhuhui-s001-xz" and issued["number"] == "珠一中发〔2026〕1号"
    text = pdf_text(huhua, issued["documents"][0]["id"])
    for expected in ("珠晖区第一中学文件", "珠一中发〔2026〕1号", "关于2026年3月班主任工作检查情况的通报",
                     "校内各处室、各年级组、全体班主任：", "二〇二六年三月二日", "抄送：珠晖区教育局。",
                     "请各年级组于本月底前报送整改情况。", "王老师"):
        assert expected in text, expected
    assert "草稿" not in text

    assert issue(huhua, "zhuhui-s001")["data"]["circular_number"] == "珠一中发〔2026〕2号"
    assert issue(huhua, "zhuhui-s002")["data"]["circular_number"] == "珠二小发〔2026〕1号"  # each unit its own

    huhua.execute(SetDocumentCode("zhuhui-s001", "珠晖一中", "admin"))
    assert issue(huhua, "zhuhui-s001")["data"]["circular_number"] == "珠晖一中〔2026〕1号"  # a new 代字 starts at 1
    with pytest.raises(InvalidInput, match="代字"):
        huhua.execute(SetDocumentCode("zhuhui-s001", "珠〔一〕", "admin"))
