"""The case volume (优秀案例汇编) of the case collection.

The volume prints what a reader of the cases needs — the full texts, their authors with their posts and
classes, and the award — and no scores: a score is the panel's working, not part of the published collection.
The commendation circulars are official documents (:mod:`engine.documents.official_templates.cases`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.documents.layout import report_pdf, workbook
from engine.documents.rendered import PDF, XLSX, DocumentError, Rendered
from engine.store.database import Database

MAX_ENTRIES = 5000


def case_volume(database: Database, params: dict[str, Any], now: datetime) -> tuple[list[Rendered], dict]:
    """优秀案例汇编: a contents table, then each case in full (category, author, post and class, school)."""
    cases = _entries(params, "cases")
    title = _text(params, "title", 100)
    order = {"一等奖": 0, "二等奖": 1, "三等奖": 2}
    ordered = sorted(cases, key=lambda c: (str(c.get("category", "")), order.get(str(c.get("award", "")), 9)))
    header = ["序号", "类别", "题目", "作者", "岗位", "任教班级", "学校", "县市区", "等次"]
    rows = [[n, c.get("category", ""), c.get("title", ""), c.get("author", ""), c.get("author_post", ""),
             c.get("author_class", ""), c.get("school", ""), c.get("county", ""), c.get("award", "")]
            for n, c in enumerate(ordered, start=1)]
    blocks: list[tuple[str, Any]] = [("h", "目录"), ("t", (header, rows))]
    for n, case in enumerate(ordered, start=1):
        byline = "，".join(str(part) for part in (case.get("author"), case.get("author_post"),
                                                  case.get("author_class"), case.get("school")) if part)
        blocks += [("h", f"{n}. {case.get('title', '')}"), ("p", f"{case.get('category', '')}　{byline}"),
                   ("p", f"【摘要】{case.get('summary') or ''}")]
        blocks += [("p", paragraph) for paragraph in str(case.get("full_text") or "").splitlines() if paragraph.strip()]
    files = [Rendered(f"{title}.pdf", PDF, report_pdf(title, blocks)),
             Rendered(f"{title}目录.xlsx", XLSX, workbook([("目录", header, rows)]))]
    return files, {"cases": len(rows)}


def _entries(params: dict[str, Any], name: str) -> list[dict[str, Any]]:
    value = params.get(name)
    if not isinstance(value, list) or not value or len(value) > MAX_ENTRIES:
        raise DocumentError(f"the document needs a non-empty list '{name}' (at most {MAX_ENTRIES:,})")
    if not all(isinstance(entry, dict) for entry in value):
        raise DocumentError(f"every entry of '{name}' must be an object")
    return value


def _text(params: dict[str, Any], name: str, length: int) -> str:
    value = str(params.get(name) or "").strip()
    if not value or len(value) > length:
        raise DocumentError(f"the document needs '{name}' (text of at most {length} characters)")
    return value
