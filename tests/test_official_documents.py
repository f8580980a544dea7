"""Official documents (公文): a process calls official_document; the leader signs off or returns the draft; only the
issued document carries a 文号, numbered without gaps per issuing unit, 代字 and year."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pypdf import PdfReader

from engine.bootstrap import Huhua
from engine.commands import CompleteTask, DeployModels, LoadDirectory, SetDocumentCode, SetPassword
from engine.errors import InvalidInput
from engine.org.profiles import generate
from tests.helpers import FIXTURES, cli_json, served_client, start_at
from workers.job_worker import JobWorker, run_due_jobs

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
    assert [d["size"] for d in drafts] == [None, None]  # drawn when read, the same file each time
    assert huhua.queries.document(draft_pdf["id"]) == huhua.queries.document(draft_pdf["id"])
    text = pdf_text(huhua, draft_pdf["id"])
    assert "草稿" in text and "〔签发后编号〕" in text and "〔2026〕" not in text
    annex = next(d for d in drafts if d["name"].endswith(".xlsx"))
    assert huhua.queries.document(annex["id"])[2].startswith(b"PK")  # the annex, an .xlsx (a zip)
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
    assert pdf_text(huhua, draft_pdf["id"]) == pdf_text(huhua, draft_pdf["id"])  # the first draft, as it was drafted
    assert "草稿" in pdf_text(huhua, draft_pdf["id"]) and "请补充" not in pdf_text(huhua, draft_pdf["id"])

    assert issue(huhua, "zhuhui-s001")["data"]["circular_number"] == "珠一中发〔2026〕2号"
    assert issue(huhua, "zhuhui-s002")["data"]["circular_number"] == "珠二小发〔2026〕1号"  # each unit its own

    huhua.execute(SetDocumentCode("zhuhui-s001", "珠晖一中", "admin"))
    assert issue(huhua, "zhuhui-s001")["data"]["circular_number"] == "珠晖一中〔2026〕1号"  # a new 代字 starts at 1
    with pytest.raises(InvalidInput, match="代字"):
        huhua.execute(SetDocumentCode("zhuhui-s001", "珠〔一〕", "admin"))


def test_concurrent_issues_of_one_unit_take_consecutive_numbers(circulars: Huhua) -> None:
    """Two workers issue eight circulars of one school at once: numbers 1 to 8, each once."""
    huhua = circulars
    instances = [start_at(huhua, "school_circular", "zhuhui-s003", month="2026年3月") for _ in range(8)]
    run_due_jobs(huhua)
    for task in huhua.queries.tasks(user="zhuhui-s003-xz", limit=100):
        huhua.execute(CompleteTask(task["id"], "zhuhui-s003-xz", {"od_decision": "signed"}))
    workers = [JobWorker(huhua, f"w{n}", batch=1) for n in range(2)]
    with ThreadPoolExecutor(2) as pool:
        for _ in range(8):
            list(pool.map(lambda w: w.run_once(), workers))
    run_due_jobs(huhua)
    numbers = sorted(huhua.queries.instance(i)["data"]["circular_number"] for i in instances)
    assert sorted(numbers, key=lambda n: int(n.split("〕")[1][:-1])) == [f"珠三实验发〔2026〕{n}号"
                                                                        for n in range(1, 9)]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # pages and access; numbering runs on both
def test_documents_are_linked_from_task_and_instance_and_the_register_is_for_the_units_leaders(
        circulars: Huhua, cli) -> None:  # type: ignore[no-untyped-def]
    huhua = circulars
    instance = start_at(huhua, "school_circular", "zhuhui-s001", month="2026年3月")
    run_due_jobs(huhua)
    for person in ("zhuhui-s001-xz", "zhuhui-s001-bzr1", "yanfeng-s001-xz", "admin"):
        huhua.execute(SetPassword(person, "secret-words", "admin", is_admin=person == "admin"))
    with served_client(huhua, WTF_CSRF_ENABLED=False) as client:
        def login(person: str) -> None:
            assert client.post("/login", data={"username": person, "password": "secret-words"}).status_code == 302

        login("zhuhui-s001-xz")
        sign = huhua.queries.tasks(user="zhuhui-s001-xz")[0]
        page = client.get(f"/inbox/tasks/{sign['id']}").get_data(as_text=True)
        draft = next(d for d in huhua.queries.documents(instance) if d["name"].endswith(".pdf"))
        assert f'href="/api/v1/documents/{draft["id"]}"' in page and "草稿" in page
        assert client.get(f"/api/v1/documents/{draft['id']}").status_code == 200
        assert client.post(f"/api/v1/tasks/{sign['id']}/complete", json={"data": {"od_decision": "signed"}}
                           ).status_code == 200
        run_due_jobs(huhua)
        listed = client.get(f"/api/v1/process-instances/{instance}/documents").json
        issued = [d for d in listed if d.get("official") == "issued"]
        assert sorted((d["name"][-4:], d["number"], d["signed_by"]) for d in issued) == [  # the PDF and its annex
            (".pdf", "珠一中发〔2026〕1号", "zhuhui-s001-xz"), ("xlsx", "珠一中发〔2026〕1号", "zhuhui-s001-xz")]
        register = client.get("/api/v1/units/zhuhui-s001/documents?year=2026").json
        assert [(d["number"], d["signed_by_name"] is not None) for d in register["documents"]] == [
            ("珠一中发〔2026〕1号", True)]
        assert "珠一中发〔2026〕1号" in client.get("/documents/zhuhui-s001?year=2026").get_data(as_text=True)
        assert client.get("/api/v1/units/zhuhui-s001/documents?year=20x6").status_code == 400

        login("admin")
        assert "珠一中发〔2026〕1号" in client.get(f"/admin/instances/{instance}").get_data(as_text=True)
        for outsider in ("yanfeng-s001-xz", "zhuhui-s001-bzr1"):  # another county's principal, a class teacher
            login(outsider)
            assert client.get("/api/v1/units/zhuhui-s001/documents").status_code == 404
            assert client.get("/documents/zhuhui-s001").status_code == 404
            assert client.get(f"/api/v1/documents/{issued[0]['id']}").status_code == 404

    shown = cli_json(cli("documents", "--unit", "zhuhui-s001", "--year", "2026", "--json"))
    assert [d["number"] for d in shown["documents"]] == ["珠一中发〔2026〕1号"]  # type: ignore[index]
    assert cli_json(cli("document-code", "zhuhui-s001", "珠晖一中", "--json")) == {"unit": "zhuhui-s001",
                                                                                  "code": "珠晖一中"}
