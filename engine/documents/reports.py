"""The programme's documents that are not official circulars (each template gathers its figures and returns its
files and a summary): honour certificates with their register. The annual assessment
is :mod:`engine.documents.annual`, the case volume :mod:`engine.documents.case_volume`, and every circular an
official document (:mod:`engine.documents.official_templates`), e.g. each school's own monthly circular
(:mod:`engine.documents.official_templates.monthly_check`).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select

from engine.clock import BUSINESS_TZ
from engine.documents.layout import certificates_pdf, workbook
from engine.documents.rendered import PDF, XLSX, DocumentError, Rendered
from engine.store import tables
from engine.store.database import Database

_i, _u = tables.process_instance, tables.org_unit
BANDS = ("优秀", "良好", "合格", "不合格")
MONTHLY_CHECK = "monthly_school_check"


def certificates(database: Database, params: dict[str, Any], now: datetime) -> tuple[list[Rendered], dict]:
    """荣誉证书: one page per award ({"recipient", "honour"}), numbered, with a register."""
    awards = params.get("awards")
    if not isinstance(awards, list) or not awards or len(awards) > 5000:
        raise DocumentError("certificates need a non-empty list of awards (at most 5,000)")
    issuer = str(params.get("issuer") or "衡阳市教育局")
    day = now.astimezone(BUSINESS_TZ)
    prefix = str(params.get("number_prefix") or f"HY{day.year}")
    pages = []
    for index, award in enumerate(awards, start=1):
        if not isinstance(award, dict) or not award.get("recipient") or not award.get("honour"):
            raise DocumentError(f"award {index} needs a recipient and an honour")
        pages.append({"number": f"{prefix}-{index:04d}", "recipient": str(award["recipient"])[:40],
                      "text": f"在{params.get('occasion') or '心育护花行动'!s}中被评为“{str(award['honour'])[:40]}”。",
                      "issuer": issuer, "date": f"{day.year}年{day.month}月{day.day}日"})
    register = [[p["number"], p["recipient"], a["honour"], a.get("unit", "")]
                for p, a in zip(pages, awards, strict=True)]
    files = [Rendered("荣誉证书.pdf", PDF, certificates_pdf(pages)),
             Rendered("荣誉证书登记表.xlsx", XLSX,
                      workbook([("证书登记", ["编号", "获奖者", "荣誉", "单位"], register)]))]
    return files, {"certificates": len(pages), "numbers": [p["number"] for p in pages]}


def _schools(database: Database, scope: Any) -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
    """Schools under ``scope`` (or all) as id -> (name, county id), and county id -> name."""
    with database.engine.connect() as connection:
        units = connection.execute(select(_u.c.id, _u.c.name, _u.c.kind, _u.c.parent_id, _u.c.path)
                                   .where(_u.c.kind.in_(("county", "school"))).order_by(_u.c.path)).all()
    prefix = next((u.path for u in units if u.id == scope), None) if scope else None
    if scope and prefix is None:
        raise DocumentError(f"'{scope}' is not a county of the org directory")
    counties = {u.id: u.name for u in units if u.kind == "county"}
    schools = {u.id: (u.name, u.parent_id) for u in units if u.kind == "school"
               and (prefix is None or u.path.startswith(prefix))}
    return schools, counties


def _results(database: Database, process_key: str, schools: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(school, data) of the process's instances scoped to those schools, oldest first."""
    with database.engine.connect() as connection:
        rows = connection.execute(select(_i.c.org_scope, _i.c.data).where(
            _i.c.process_key == process_key, _i.c.org_scope.in_(list(schools))).order_by(_i.c.id)).all()
    return [(row.org_scope, json.loads(row.data or "{}")) for row in rows]


def _text(params: dict[str, Any], name: str, length: int) -> str:
    value = str(params.get(name) or "")
    if not value or len(value) > length:
        raise DocumentError(f"the document needs '{name}'")
    return value


def _rate(part: int, whole: int) -> str:
    return f"{part * 100 / whole:.1f}%" if whole else "—"

