"""The programme's documents: each template gathers its figures and returns its files and a summary.

The monthly circular reads the instances of the monthly check (the annual assessment is engine.documents.annual)
from the narrow instance table: one row per school and month, its data holding
the total and band the scoring DMN gave. Units without a result are listed, not skipped: a circular
that leaves out the schools that did not report would hide exactly what it is for.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select

from engine.clock import BUSINESS_TZ
from engine.documents import PDF, XLSX, DocumentError, Rendered
from engine.documents.layout import certificates_pdf, report_pdf, workbook
from engine.store import tables
from engine.store.database import Database

_i, _u = tables.process_instance, tables.org_unit
BANDS = ("优秀", "良好", "合格", "不合格")
MONTHLY_CHECK = "monthly_school_check"


def monthly_circular(database: Database, params: dict[str, Any], now: datetime) -> tuple[list[Rendered], dict]:
    """一月一查通报: every school of the scope with its score and band for ``month`` (YYYY-MM)."""
    month = _text(params, "month", 7)
    year, number = month.split("-") if "-" in month else ("", "")
    if not (year.isdigit() and number.isdigit() and 1 <= int(number) <= 12):
        raise DocumentError(f"month must look like 2026-10, not '{month}'")
    schools, counties = _schools(database, params.get("scope"))
    results = {school: data for school, data in _results(database, MONTHLY_CHECK, schools)
               if str(data.get("scheduled_for", "")).startswith(month)}
    rows, per_county = [], defaultdict(list)
    for school, (name, county) in schools.items():
        data = results.get(school)
        band = data.get("band") if data else None
        state = "已完成" if band else "进行中" if data is not None else "未启动"
        rows.append([counties[county], name, data.get("total", "") if band else "", band or "", state])
        per_county[county].append((data.get("total") if band else None, band))
    summary_rows = []
    for county, entries in per_county.items():
        totals = [t for t, _ in entries if t is not None]
        summary_rows.append([counties[county], len(entries), len(totals)] + [sum(b == band for _, b in entries)
                                                                             for band in BANDS]
                            + [round(statistics.fmean(totals), 1) if totals else "", _rate(len(totals), len(entries))])
    done = [r for r in rows if r[4] == "已完成"]
    counts = {band: sum(r[3] == band for r in rows) for band in BANDS}
    title = f"关于{int(year)}年{int(number)}月“一月一查”情况的通报"
    header = ["县市区", "学校数", "已完成", *BANDS, "平均分", "完成率"]
    blocks: list[tuple[str, Any]] = [
        ("p", f"按照“一月一查一通报一总结”要求，{int(year)}年{int(number)}月全市应查学校{len(rows)}所，"
              f"已完成检查{len(done)}所，完成率{_rate(len(done), len(rows))}。其中优秀{counts['优秀']}所、"
              f"良好{counts['良好']}所、合格{counts['合格']}所、不合格{counts['不合格']}所。现将有关情况通报如下。"),
        ("h", "一、各县市区情况"), ("t", (header, summary_rows)),
        ("h", "二、予以表扬的学校（优秀）"),
        ("p", "、".join(f"{r[0]}{r[1]}" for r in rows if r[3] == "优秀") or "无"),
        ("h", "三、限期整改的学校（不合格）"),
        ("p", "、".join(f"{r[0]}{r[1]}" for r in rows if r[3] == "不合格") or "无"),
        ("h", "四、未按时完成检查的学校"),
        ("p", "、".join(f"{r[0]}{r[1]}（{r[4]}）" for r in rows if r[4] != "已完成") or "无"),
        ("p", "各县市区教育局要对照通报问题抓好整改，整改情况纳入年度目标管理考评。"),
    ]
    files = [Rendered(f"{month}一月一查通报.xlsx", XLSX, workbook([
                 ("各县市区汇总", header, summary_rows),
                 ("学校明细", ["县市区", "学校", "总分", "等级", "状态"], rows)])),
             Rendered(f"{month}一月一查通报.pdf", PDF, report_pdf(title, blocks))]
    return files, {"month": month, "schools": len(rows), "completed": len(done), **counts,
                   "missing": [r[1] for r in rows if r[4] != "已完成"][:200]}


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

