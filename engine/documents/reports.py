"""The programme's documents that are not official circulars (each template gathers its figures and returns its
files and a summary): honour certificates with their register. The annual assessment
is :mod:`engine.documents.annual`, the case volume :mod:`engine.documents.case_volume`, and every circular an
official document (:mod:`engine.documents.official_templates`), e.g. each school's own monthly circular
(:mod:`engine.documents.official_templates.monthly_check`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.clock import BUSINESS_TZ
from engine.documents.layout import certificates_pdf, workbook
from engine.documents.rendered import PDF, XLSX, DocumentError, Rendered
from engine.store.database import Database


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

