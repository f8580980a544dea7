"""The programme's documents: each template gathers its figures and returns its files and a summary.

The annual assessment reads the instances of the monthly check (and of the supervision rounds) from the
narrow instance table: one row per school and month, its data holding the school's average teacher score
(``total``) and its band. Units without a result are listed, not skipped: a report that leaves out the
schools that did not report would hide exactly what it is for. (Each school's own monthly circular is an
official document: :mod:`engine.documents.official_templates.monthly_check`.)
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
SUPERVISION = "supervision_round"


def annual_assessment(database: Database, params: dict[str, Any], now: datetime) -> tuple[list[Rendered], dict]:
    """年度目标管理考评: each school's monthly average and supervision score rolled up, and each county's."""
    year = _text(params, "year", 4)
    if not year.isdigit():
        raise DocumentError(f"year must be a year like 2026, not '{year}'")
    monthly_weight = _weight(params, "monthly_weight", 0.7)
    supervision_weight = _weight(params, "supervision_weight", 0.3)
    schools, counties = _schools(database, params.get("scope"))
    monthly: dict[str, list[float]] = defaultdict(list)
    for school, data in _results(database, MONTHLY_CHECK, schools):
        if str(data.get("scheduled_for", "")).startswith(year) and isinstance(data.get("total"), int | float):
            monthly[school].append(float(data["total"]))
    supervised: dict[str, list[float]] = defaultdict(list)
    for school, data in _results(database, SUPERVISION, schools):
        score = data.get("supervision_score")
        if isinstance(score, int | float) and str(data.get("year", year)) == year:
            supervised[school].append(float(score))
    rows, by_county = [], defaultdict(list)
    for school, (name, county) in schools.items():
        month_avg = statistics.fmean(monthly[school]) if monthly[school] else None
        super_avg = statistics.fmean(supervised[school]) if supervised[school] else None
        if month_avg is None and super_avg is None:
            annual = None
        elif super_avg is None or month_avg is None:
            annual = month_avg if super_avg is None else super_avg
        else:
            annual = month_avg * monthly_weight + super_avg * supervision_weight
        grade = _grade(annual)
        rows.append([counties[county], name, len(monthly[school]), _round(month_avg), _round(super_avg),
                     _round(annual), grade])
        if annual is not None:
            by_county[county].append(annual)
    county_rows = sorted(([counties[c], len(scores), round(statistics.fmean(scores), 1),
                           _grade(statistics.fmean(scores))] for c, scores in by_county.items()), key=lambda r: -r[2])
    title = f"{year}年度心育护花行动目标管理考评结果"
    blocks: list[tuple[str, Any]] = [
        ("p", f"根据全年“一月一查”量化计分（权重{monthly_weight:g}）和督查考核得分（权重{supervision_weight:g}），"
              f"对全市{len(rows)}所学校和{len(county_rows)}个县市区进行年度目标管理考评，结果如下。"),
        ("h", "一、县市区排名"), ("t", (["县市区", "参评学校", "平均得分", "等级"], county_rows)),
        ("h", "二、无考评数据的学校"),
        ("p", "、".join(f"{r[0]}{r[1]}" for r in rows if r[5] == "") or "无"),
    ]
    files = [Rendered(f"{year}年度目标管理考评.xlsx", XLSX, workbook([
                 ("县市区", ["县市区", "参评学校", "平均得分", "等级"], county_rows),
                 ("学校", ["县市区", "学校", "月查次数", "月查平均分", "督查得分", "年度得分", "等级"], rows)])),
             Rendered(f"{year}年度目标管理考评.pdf", PDF, report_pdf(title, blocks))]
    return files, {"year": year, "schools": len(rows), "counties": [r[0] for r in county_rows],
                   "top_county": county_rows[0][0] if county_rows else None,
                   "school_scores": {school: r[5] for school, r in zip(schools, rows, strict=True) if r[5] != ""}}


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


def case_volume(database: Database, params: dict[str, Any], now: datetime) -> tuple[list[Rendered], dict]:
    """优秀案例汇编: the selected cases in order of score, with their authors and schools."""
    cases = params.get("cases")
    if not isinstance(cases, list) or not cases:
        raise DocumentError("a case volume needs a non-empty list of cases")
    ordered = sorted((c for c in cases if isinstance(c, dict)), key=lambda c: -float(c.get("score") or 0))
    title = str(params.get("title") or "优秀案例汇编")
    header = ["序号", "类别", "题目", "作者", "学校", "得分", "等次"]
    rows = [[n, c.get("category", ""), c.get("title", ""), c.get("author", ""), c.get("school", ""),
             c.get("score", ""), c.get("award", "")] for n, c in enumerate(ordered, start=1)]
    blocks: list[tuple[str, Any]] = [("h", "目录"), ("t", (header, rows))]
    for n, case in enumerate(ordered, start=1):
        blocks += [("h", f"{n}. {case.get('title', '')}（{case.get('author', '')}，{case.get('school', '')}）"),
                   ("p", str(case.get("summary") or ""))]
    files = [Rendered(f"{title}.pdf", PDF, report_pdf(title, blocks)),
             Rendered(f"{title}目录.xlsx", XLSX, workbook([("目录", header, rows)]))]
    return files, {"cases": len(rows)}


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


def _weight(params: dict[str, Any], name: str, default: float) -> float:
    value = params.get(name, default)
    if not isinstance(value, int | float) or not 0 <= value <= 1:
        raise DocumentError(f"{name} must be a number from 0 to 1")
    return float(value)


def _grade(score: float | None) -> str:
    if score is None:
        return ""
    return "优秀" if score >= 90 else "良好" if score >= 75 else "合格" if score >= 60 else "不合格"


def _round(value: float | None) -> float | str:
    return "" if value is None else round(value, 1)


def _rate(part: int, whole: int) -> str:
    return f"{part * 100 / whole:.1f}%" if whole else "—"
