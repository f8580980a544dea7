"""The programme's documents: each template gathers its figures and returns its files and a summary.

The monthly circular and the annual assessment read the instances of the monthly check (and of the
supervision rounds) from the narrow instance table: one row per school and month, its data holding
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
SUPERVISION = "supervision_round"


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


# --- 督查考核通报 (supervision_campaign) -----------------------------------------------------------------------

SUPERVISION_PARTS = (("class_teacher", "班主任工作"), ("counselling", "心理健康教育与辅导"),
                     ("lessons", "课程与活动"), ("burden", "落实减负"))
NOTICE = "《关于进一步提升全市中小学班主任工作素养加强中小学生生命健康教育工作的实施方案》（衡教通〔2019〕41号）"


def supervision_circular(database: Database, params: dict[str, Any], now: datetime) -> tuple[list[Rendered], dict]:
    """督查考核通报: the round's schools with their part scores and grades, the indicators most often short, the
    counselling rooms below the standard, the rectifications and re-checks, the organiser's requirements."""
    round_title = _text(params, "round_title", 100)
    results = [r for r in params.get("results") or [] if isinstance(r, dict) and r.get("school")]
    if not results:
        raise DocumentError("a supervision circular needs the round's results (none of its schools has finished)")
    schools, counties = _schools(database, None)
    issuer = _issuer(database, params.get("organiser"), [schools.get(r["school"]) for r in results], counties)
    ordered = sorted(results, key=lambda r: -float(r.get("score") or 0))
    rows = [[counties.get(schools.get(r["school"], ("", ""))[1], ""), schools.get(r["school"], (r["school"],))[0]]
            + [(r.get("parts") or {}).get(part, "") for part, _ in SUPERVISION_PARTS] + [r.get("score", ""),
                                                                                         r.get("grade", "")]
            for r in ordered]
    grades = {band: sum(r.get("grade") == band for r in results) for band in BANDS}
    average = round(statistics.fmean(float(r.get("score") or 0) for r in results), 1)
    weak: dict[str, int] = defaultdict(int)
    for r in results:
        for label in r.get("weak_items") or []:
            weak[str(label)] += 1
    common = sorted(weak.items(), key=lambda kv: -kv[1])[:5]
    name_of = {r["school"]: row[1] for r, row in zip(ordered, rows, strict=True)}
    rooms_short = [name_of[r["school"]] for r in ordered if not (r.get("room") or {}).get("meets_standard", True)]
    unqualified = [r for r in ordered if r.get("grade") == "不合格"]
    excellent = [name_of[r["school"]] for r in ordered if r.get("grade") == "优秀"]
    day = now.astimezone(BUSINESS_TZ)
    header = ["县市区", "学校", *(label for _, label in SUPERVISION_PARTS), "总分", "等级"]
    blocks: list[tuple[str, Any]] = [
        ("p", str(params.get("circular_no") or "")),
        ("p", f"{params.get('recipients') or '各有关单位'}："),
        ("p", f"根据{NOTICE}要求，{issuer}组织开展了{round_title}，会同教研部门，采取平时考核与现场考核相结合的方式，"
              f"按督查考核细则对{len(results)}所学校的班主任工作、心理健康教育和辅导工作、落实“减负”工作逐项量化计分。"
              "现将有关情况通报如下。"),
        ("h", "一、总体情况"),
        ("p", f"参评学校{len(results)}所，平均得分{average}分。其中优秀{grades['优秀']}所、良好{grades['良好']}所、"
              f"合格{grades['合格']}所、不合格{grades['不合格']}所。"
              + (f"{'、'.join(excellent)}工作扎实、成效明显，予以通报表扬。" if excellent else "")),
        ("t", (header, rows)),
        ("h", "二、存在的主要问题"),
        ("p", "；".join(f"{label}（{count}所学校未达要求）" for label, count in common) + "。" if common
         else "各项指标总体达到要求。"),
        ("p", ("心理咨询室未达到配备标准（1间、使用面积不小于18平方米，具备心理咨询、心理测评、沙盘游戏治疗功能，"
               f"按值班表值班，新生入学参观）的学校：{'、'.join(rooms_short)}。") if rooms_short
         else "各校心理咨询室均达到配备标准。"),
        ("h", "三、整改和复查情况"),
        ("p", "、".join(f"{name_of[r['school']]}（{_recheck_text(r)}）" for r in unqualified) if unqualified
         else "本轮督查无不合格学校。"),
        ("h", "四、工作要求"),
        ("p", str(params.get("requirements") or "").strip() or "各单位要对照督查指出的问题，逐项抓好整改。"),
        ("p", "督查考核结果纳入年度目标管理考评，与单位年度评优评先挂钩。"),
        ("p", issuer), ("p", f"{day.year}年{day.month}月{day.day}日"),
    ]
    title = f"关于{round_title}情况的通报"
    files = [Rendered(f"{round_title}通报.pdf", PDF, report_pdf(title, blocks)),
             Rendered(f"{round_title}得分.xlsx", XLSX, workbook([("各校得分", header, rows)]))]
    return files, {"title": title, "issuer": issuer, "schools": len(results), "average": average, **grades,
                   "common_problems": [label for label, _ in common], "rooms_below_standard": rooms_short}


def _issuer(database: Database, organiser: Any, school_rows: list[tuple[str, str] | None],
            counties: dict[str, str]) -> str:
    """The issuing body: the city's bureau for a city round, else the county bureau its schools belong to."""
    county_ids = {row[1] for row in school_rows if row}
    if organiser != "city" and len(county_ids) == 1:
        return counties[county_ids.pop()]
    with database.engine.connect() as connection:
        return connection.execute(select(_u.c.name).where(_u.c.kind == "city").order_by(_u.c.id).limit(1)).scalar() \
            or "市教育局"


def _recheck_text(result: dict[str, Any]) -> str:
    recheck = result.get("recheck") or {}
    return "已整改，复查通过" if recheck.get("result") == "passed" else "正在整改"


# --- 减负督查通报 (burden_supervision) -----------------------------------------------------------------------------

BURDEN_RULES = "教育部有关规定和《关于进一步规范办学行为 减轻中小学生过重课业负担的若干规定》（湘教发〔2018〕21号）"


def burden_circular(database: Database, params: dict[str, Any], now: datetime) -> tuple[list[Rendered], dict]:
    """减负督查通报: how many schools kept to the rules, the violations found by area, each school's handling
    (rectified and re-checked, or referred to the inspectors of the tier that holds the check), the requirements."""
    round_title = _text(params, "round_title", 100)
    results = [r for r in params.get("results") or [] if isinstance(r, dict) and r.get("school")]
    if not results:
        raise DocumentError("a burden-reduction circular needs the round's results (no school has finished)")
    schools, counties = _schools(database, None)
    issuer = _issuer(database, params.get("organiser"), [schools.get(r["school"]) for r in results], counties)
    name = {r["school"]: schools.get(r["school"], (r["school"],))[0] for r in results}
    codes = [r.get("severity_code") for r in results]
    clean, general, serious = (codes.count(code) for code in ("clean", "general", "serious"))
    areas: dict[str, int] = defaultdict(int)
    for r in results:
        for area in r.get("violations") or []:
            areas[str(area)] += 1
    inspectors = "市纪检监察部门" if params.get("organiser") == "city" else "县市区纪检监察部门"
    handled = [[name[r["school"]], "、".join(r.get("violations") or []), r.get("basis", ""), r.get("outcome", "")]
               for r in results if r.get("severity_code") != "clean"]
    day = now.astimezone(BUSINESS_TZ)
    blocks: list[tuple[str, Any]] = [
        ("p", str(params.get("circular_no") or "")),
        ("p", f"{params.get('recipients') or '各有关单位'}："),
        ("p", f"为切实减轻学生过重课业负担，根据{BURDEN_RULES}和{NOTICE}要求，{issuer}组织开展了{round_title}。"
              f"各校对照规定自查，{issuer}逐校核查认定。现将有关情况通报如下。"),
        ("h", "一、总体情况"),
        ("p", f"本次督查学校{len(results)}所，未发现违规{clean}所，存在违规并已限期整改{general + serious}所，"
              f"其中违规造成严重后果、移送{inspectors}查处{serious}所。"),
        ("h", "二、发现的主要问题"),
        ("p", "；".join(f"{area}（{count}所）" for area, count in sorted(areas.items(), key=lambda kv: -kv[1])) + "。"
         if areas else "未发现违反减负规定的问题。"),
        ("h", "三、处理情况"),
        ("t", (["学校", "违规事项", "认定与处理", "结果"], handled)) if handled else ("p", "无。"),
        ("h", "四、工作要求"),
        ("p", str(params.get("requirements") or "").strip() or "各校要严格执行减负各项规定。"),
        ("p", "对因违反有关规定、造成严重后果的，由纪检监察部门对相关单位和人员严肃查处。"),
        ("p", issuer), ("p", f"{day.year}年{day.month}月{day.day}日"),
    ]
    title = f"关于{round_title}情况的通报"
    files = [Rendered(f"{round_title}通报.pdf", PDF, report_pdf(title, blocks)),
             Rendered(f"{round_title}结论.xlsx", XLSX, workbook([(
                 "各校结论", ["学校", "违规事项", "认定与处理", "结果"],
                 [[name[r["school"]], "、".join(r.get("violations") or []), r.get("basis", ""), r.get("outcome", "")]
                  for r in results])]))]
    return files, {"title": title, "issuer": issuer, "schools": len(results), "clean": clean, "rectified": general,
                   "referred": serious}
