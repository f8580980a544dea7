"""The content of the oversight circulars: the supervision round's (督查考核通报), the burden check's (减负督查通报).

Each template reads the results the campaign collected from its schools (``supervision_result``,
``burden_result``) with the schools' names from the directory, writes the per-school detail as an .xlsx, and
returns the circular's title and body blocks in its summary. The campaign hands those to the official-document
facility (:mod:`engine.documents.official`, the ``official_document`` process), which lays the circular out as a
公文 under the campaign's unit, has the responsible leader sign it off and gives it its 文号.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select

from engine.documents.inputs import required_text, schools_in
from engine.documents.layout import workbook
from engine.documents.rendered import XLSX, DocumentError, Rendered
from engine.grades import BANDS
from engine.store import tables
from engine.store.database import Database

_u = tables.org_unit
SUPERVISION_PARTS = (("class_teacher", "班主任工作"), ("counselling", "心理健康教育与辅导"),
                     ("lessons", "课程与活动"), ("burden", "落实减负"))
NOTICE = "《关于进一步提升全市中小学班主任工作素养加强中小学生生命健康教育工作的实施方案》（衡教通〔2019〕41号）"


def supervision_circular(database: Database, params: dict[str, Any], now: datetime) -> tuple[list[Rendered], dict]:
    """督查考核通报: the round's schools with their part scores and grades, the indicators most often short, the
    counselling rooms below the standard, the rectifications and re-checks, the organiser's requirements."""
    round_title = required_text(params, "round_title", 100)
    results = [r for r in params.get("results") or [] if isinstance(r, dict) and r.get("school")]
    if not results:
        raise DocumentError("a supervision circular needs the round's results (none of its schools has finished)")
    schools, counties = schools_in(database, None)
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
    header = ["县市区", "学校", *(label for _, label in SUPERVISION_PARTS), "总分", "等级"]
    blocks: list[tuple[str, Any]] = [
        ("p", f"根据{NOTICE}要求，{issuer}组织开展了{round_title}，会同教研部门，采取平时考核与现场考核相结合的方式，"
              f"按督查考核细则对{len(results)}所学校的班主任工作、心理健康教育和辅导工作、落实“减负”工作逐项量化计分。"
              "现将有关情况通报如下。"),
        ("h", "一、总体情况"),
        ("p", f"参评学校{len(results)}所，平均得分{average}分。其中优秀{grades['优秀']}所、良好{grades['良好']}所、"
              f"合格{grades['合格']}所、不合格{grades['不合格']}所。"
              + (f"{'、'.join(excellent)}工作扎实、成效明显，予以通报表扬。" if excellent else "")),
        ("t", _by_county(rows, counties) if params.get("organiser") == "city" else (header[1:], [r[1:] for r in rows])),
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
        ("p", "督查考核结果纳入年度目标管理考评，与单位年度评优评先挂钩。详细得分见附件。"),
    ]
    title = f"关于{round_title}情况的通报"
    files = [Rendered(f"{round_title}各校得分.xlsx", XLSX, workbook([("各校得分", header, rows)]))]
    return files, {"title": title, "body": _json_blocks(blocks), "attachments": [f"{round_title}各校得分"],
                   "schools": len(results), "average": average, **grades,
                   "common_problems": [label for label, _ in common], "rooms_below_standard": rooms_short}


def _by_county(rows: list[list[Any]], counties: dict[str, str]) -> tuple[list[str], list[list[Any]]]:
    """A city round's body table: one row per county (the schools are in the annex)."""
    grouped: dict[str, list[list[Any]]] = defaultdict(list)
    for row in rows:
        grouped[row[0]].append(row)
    table = [[county, len(found), round(statistics.fmean(float(r[-2] or 0) for r in found), 1),
              *(sum(r[-1] == band for r in found) for band in BANDS)]
             for county, found in grouped.items()]
    return ["县市区", "学校数", "平均分", *BANDS], table


def _json_blocks(blocks: list[tuple[str, Any]]) -> list[list[Any]]:
    """Body blocks as JSON-ready lists (the ``body`` of the official-document facility's ``circular`` template)."""
    return [[kind, [list(value[0]), [list(row) for row in value[1]]] if kind == "t" else value]
            for kind, value in blocks]


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
    round_title = required_text(params, "round_title", 100)
    results = [r for r in params.get("results") or [] if isinstance(r, dict) and r.get("school")]
    if not results:
        raise DocumentError("a burden-reduction circular needs the round's results (no school has finished)")
    schools, counties = schools_in(database, None)
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
    blocks: list[tuple[str, Any]] = [
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
    ]
    title = f"关于{round_title}情况的通报"
    files = [Rendered(f"{round_title}各校结论.xlsx", XLSX, workbook([(
                 "各校结论", ["学校", "违规事项", "认定与处理", "结果"],
                 [[name[r["school"]], "、".join(r.get("violations") or []), r.get("basis", ""), r.get("outcome", "")]
                  for r in results])]))]
    return files, {"title": title, "body": _json_blocks(blocks), "attachments": [f"{round_title}各校结论"],
                   "schools": len(results), "clean": clean, "rectified": general, "referred": serious}
