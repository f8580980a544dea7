"""Every .xlsx and .csv the product writes keeps names and titles as text: a unit, person or case named like a
formula (``=HYPERLINK(…)``, ``=1+1``, ``@SUM(1)``, ``+1``, ``-1``) never becomes a live formula, real numbers
stay numbers, and an exported directory loads back to the same names."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ, VirtualClock
from engine.commands import (
    ENGINE,
    CompleteTask,
    DeployShippedProcesses,
    LoadDirectory,
    SetPassword,
    StartInstance,
)
from engine.org.directory import Directory
from engine.org.profiles import generate
from engine.web import create_app
from tests.helpers import cli_json, deploy_fixtures
from tests.library.documents import documents_of
from tests.library.monthly_checks import CLASS_ITEMS, MH_ITEMS, marks
from workers.job_worker import run_due_jobs

#: One database: what a spreadsheet cell may hold, decided while writing the workbook.
DATABASES = ("sqlite",)

HOSTILE = ['=HYPERLINK("http://x","y")', "=1+1", "@SUM(1)", "+1", "-1", "\t=1+1", "\r=1+1", "'=1+1"]
#: Names the directory accepts (no '/', no surrounding white space), each like a formula.
UNITS = {"zhuhui": '=HYPERLINK("x","y")', "zhuhui-s001": "=1+1", "zhuhui-s002": "@SUM(1)", "yanfeng-s001": "'=1+1"}
PEOPLE = {"zhuhui-s001-bzr1": "+1", "zhuhui-s001-bzr2": "-1", "zhuhui-s001-bzr3": "=cmd|'calc'!A0"}
RISKY_STARTS = ("=", "+", "-", "@", "\t", "\r")
ADMIN = {"X-Huhua-User": "admin"}


def _assert_inert(cells: list[object], hostile: list[str]) -> None:
    """No text cell starts with a formula character; each hostile text is there, quoted."""
    texts = [c for c in cells if isinstance(c, str)]
    assert not [t for t in texts if t.startswith(RISKY_STARTS)], texts
    for text in hostile:
        assert "'" + text in texts, (text, texts)


def _xlsx_cells(content: bytes) -> list[object]:
    """Every cell value of every sheet, reading formulas as what they are (data_type 'f')."""
    book = load_workbook(io.BytesIO(content))
    cells = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                cells.append(cell.value)
    return cells


PHONE = "+8613800000000"


def _hostile_directory() -> Directory:
    """The demo directory with a county, schools and people named like formulas, and phones in + form."""
    directory = generate("demo")
    directory.units = [replace(u, name=UNITS.get(u.id, u.name)) for u in directory.units]
    directory.people = [replace(p, name=PEOPLE[p.id], phone=PHONE) if p.id in PEOPLE else p for p in directory.people]
    return directory


@pytest.fixture
def hostile(huhua: Huhua) -> Huhua:
    huhua.execute(LoadDirectory(_hostile_directory(), "admin", source="test"))
    return huhua


def test_the_org_export_as_xlsx_and_csv_is_inert_and_loads_back_to_the_same_names(
        cli, hostile: Huhua, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "org.xlsx"
    cli_json(cli("org", "export", str(target), "--json"))
    cells = _xlsx_cells(target.read_bytes())
    _assert_inert(cells, [*UNITS.values(), *PEOPLE.values(), PHONE])

    written = cli_json(cli("org", "export", str(tmp_path / "org.csv"), "--json"))
    csv_cells = [cell for f in written["files"]
                 for row in csv.reader(io.StringIO(Path(f).read_bytes().decode("utf-8-sig"))) for cell in row]
    _assert_inert(csv_cells, [*UNITS.values(), *PEOPLE.values(), PHONE])

    for source in ([str(target)], written["files"]):
        cli_json(cli("org", "load", "demo", "--json"))  # the names are gone …
        cli_json(cli("org", "load", *source, "--json"))  # … and come back from the file exactly
        listed = {u["id"]: u["name"] for u in hostile.queries.units(limit=500)}
        assert {unit: listed[unit] for unit in UNITS} == UNITS
        named = {p["id"]: p for p in cli_json(cli("users", "--unit", "zhuhui-s001", "--json"))}
        assert {person: named[person]["name"] for person in PEOPLE} == PEOPLE


def test_the_org_export_over_the_api_is_inert(hostile: Huhua) -> None:
    client = create_app(hostile, {"TESTING": True}).test_client()
    answer = client.get("/api/v1/org/export.xlsx", headers=ADMIN)
    assert answer.status_code == 200
    _assert_inert(_xlsx_cells(answer.data), [*UNITS.values(), *PEOPLE.values()])


def test_the_school_circulars_annex_and_the_annual_assessment_keep_names_as_text(
        hostile: Huhua, clock: VirtualClock) -> None:
    """The school's monthly circular lists its teachers and the 德育处's notes in its .xlsx annex; the annual
    assessment's workbook names the counties and schools: text like a formula stays text, scores stay numbers."""
    hostile.execute(DeployShippedProcesses(str(hostile.settings.processes_dir)))
    clock.set(datetime(2026, 10, 8, 8, 30, tzinfo=BUSINESS_TZ))
    check = hostile.execute(StartInstance("monthly_school_check", "scheduler", org_scope="zhuhui-s001",
                                          variables={"scheduled_for": "2026-10-08T08:30:00+08:00"}, origin=ENGINE))
    run_due_jobs(hostile)  # the roster: the teachers named like formulas are on the sheet
    data = hostile.queries.instance(check["id"])["data"]
    notes = dict(zip(PEOPLE, HOSTILE[1:4], strict=True))
    open_sheets = {t["element_id"]: t["id"] for t in hostile.queries.tasks(user="zhuhui-s001-dy")}
    hostile.execute(CompleteTask(open_sheets["check_class_teachers"], "zhuhui-s001-dy", {
        "class_teacher_scores": [{**row, **marks(CLASS_ITEMS, 10), "note": notes.get(row["teacher"], "")}
                                 for row in data["class_teacher_scores"]],
        "class_problems": "无", "class_requirements": "无"}))
    hostile.execute(CompleteTask(open_sheets["check_mh_work"], "zhuhui-s001-dy", {
        "mh_teacher_scores": [{**row, **MH_ITEMS, "note": HOSTILE[0]} for row in data["mh_teacher_scores"]],
        "mh_problems": "无", "mh_requirements": "无"}))
    run_due_jobs(hostile)  # the draft circular and its annex
    sign = next(t for t in hostile.queries.tasks(user="zhuhui-s001-xz") if t["element_id"] == "od_sign")
    hostile.execute(CompleteTask(sign["id"], "zhuhui-s001-xz", {"od_decision": "signed"}))
    run_due_jobs(hostile)
    number = hostile.queries.instance(check["id"])["data"]["circular_number"]
    clock.set(datetime(2026, 12, 21, 9, tzinfo=BUSINESS_TZ))
    assessment = hostile.execute(StartInstance("annual_assessment", "scheduler", org_scope="hy",
                                               variables={"scheduled_for": "2026-12-21T09:00:00+08:00"},
                                               origin=ENGINE))
    run_due_jobs(hostile)
    files = documents_of(hostile, check["id"])
    drafts = [name for name in files if name.endswith("（附件·草稿）.xlsx")]
    assert len(drafts) == 1 and f"{number}附件.xlsx" in files
    for name in (drafts[0], f"{number}附件.xlsx"):  # the draft the principal reads and the issued annex
        cells = _xlsx_cells(files[name])
        _assert_inert(cells, [*PEOPLE.values(), *HOSTILE[:4]])
        assert 90 in cells and 100 in cells  # the scores stay numbers
    cells = _xlsx_cells(documents_of(hostile, assessment["id"])["2026年度目标管理考评.xlsx"])
    _assert_inert(cells, [UNITS["zhuhui"], UNITS["zhuhui-s001"], UNITS["zhuhui-s002"]])
    assert any(isinstance(c, int | float) for c in cells)  # the counts stay numbers


def test_the_case_volume_and_the_certificate_register_keep_titles_and_names_as_text(huhua: Huhua) -> None:
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    deploy_fixtures(huhua, "formula_documents.bpmn")
    cases = [{"category": "+1", "title": HOSTILE[0], "author": "=1+1", "school": "@SUM(1)", "score": 95,
              "award": "-1"}, {"category": HOSTILE[5], "title": HOSTILE[6], "author": HOSTILE[7], "school": "一中",
                               "score": -3.5, "award": ""}]
    awards = [{"recipient": HOSTILE[0], "honour": "=1+1", "unit": "@SUM(1)"}]
    started = huhua.execute(StartInstance("formula_documents", "admin", org_scope="hy",
                                          variables={"cases": cases, "awards": awards}, origin=ENGINE))
    run_due_jobs(huhua)
    files = documents_of(huhua, started["id"])
    volume = _xlsx_cells(files["案例汇编目录.xlsx"])
    _assert_inert(volume, HOSTILE)
    assert 1 in volume and 2 in volume  # the running numbers stay numbers
    assert 95 not in volume and -3.5 not in volume  # a 汇编 prints the cases, not the experts' scores
    _assert_inert(_xlsx_cells(files["荣誉证书登记表.xlsx"]), [HOSTILE[0], "=1+1", "@SUM(1)"])


def test_the_dashboard_exports_keep_names_as_text(hostile: Huhua) -> None:
    deploy_fixtures(hostile, "rollout_city.bpmn", "rollout_county.bpmn", "rollout_school.bpmn")
    started = hostile.execute(StartInstance("rollout_city", "admin", org_scope="hy", variables={"course": "=1+1"},
                                             origin=ENGINE))
    run_due_jobs(hostile)
    for task in hostile.queries.tasks(limit=500):
        if task["assignee"] != "zhuhui-s001-bzr1":
            hostile.execute(CompleteTask(task["id"], task["assignee"], {"attended": True}))
    client = create_app(hostile, {"TESTING": True}).test_client()
    base = f"/api/v1/dashboard/rollouts/{started['id']}/export"
    top = _xlsx_cells(client.get(base, headers=ADMIN).data)
    _assert_inert(top, [UNITS["zhuhui"]])
    school = _xlsx_cells(client.get(base, query_string={"unit": "zhuhui-s001"}, headers=ADMIN).data)
    _assert_inert(school, [*PEOPLE.values(), PHONE])
    for export in ("/api/v1/dashboard/overdue/export", "/api/v1/dashboard/monthly-checks/export"):
        answer = client.get(export, headers=ADMIN)
        assert answer.status_code == 200, (export, answer.data[:200])
        _xlsx_cells(answer.data)  # no formula anywhere
    hostile.execute(SetPassword("admin", "correct horse", "admin"))
    app = create_app(hostile, {"SECRET_KEY": "pages", "TRUST_USER_HEADER": False, "WTF_CSRF_ENABLED": False})
    with app.test_client() as browser:
        browser.post("/login", data={"username": "admin", "password": "correct horse"})
        page_export = browser.get("/admin/dashboard.xlsx")
    assert page_export.status_code == 200
    _xlsx_cells(page_export.data)


def test_spreadsheets_are_written_in_two_places_only_both_through_inert() -> None:
    """A new export must go through layout.workbook or the directory's writers, which make every cell inert."""
    project = Path(__file__).resolve().parent.parent
    writers = {}
    for path in sorted((project / "engine").rglob("*.py")) + sorted((project / "workers").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if "Workbook(" in text or "csv.writer(" in text or "DictWriter(" in text:
            writers[str(path.relative_to(project))] = "inert_row(" in text
    assert writers == {"engine/documents/layout.py": True, "engine/org/spreadsheets.py": True}
