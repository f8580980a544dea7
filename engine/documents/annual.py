"""年度目标管理考评: each school's and each county bureau's annual score, grade and honours, as §四.9 asks.

The notice puts the bureaus' supervision (督查考核) into each unit's annual target-management score and ties it
to the unit's awards; the school's own monthly check goes into *teacher* appraisal. So a school's score is its
supervision score, with a smaller share for whether it ran its monthly check each month (a duty the bureaus
oversee; the teachers' monthly scores stay in the appraisal ledger). A county bureau's score adds its own duties
to its schools' average. Every weight, point, target, grade cut-off and honour rule comes from the process's
DMN tables (``annual_weights``, ``annual_county_duties``, ``annual_grades``, ``annual_honours``), passed here as
lists; this module only measures.

What it reads, by process key and documented figure (so the processes may change around it):

- ``supervision_round``: data ``supervision_score`` and ``year`` (every round of the year, averaged);
- ``monthly_school_check``: ``instance_figure.period`` (the month it was scheduled for) and the instance state
  (completed or not): the share of the year's monthly checks the school completed;
- ``burden_school``: data ``severity_code == "serious"`` (burden_severity.dmn) in an instance started in the year
  (a school referred to 纪检监察 is not honoured when the honour rule says so);
- ``mh_training_county`` at the county: data ``sessions[*].held_on`` in the year (trainings held);
- ``ct_training_county`` at the county, started in the year: state ``completed`` (the tiered rollout reached
  every school), and :func:`engine.coverage.coverage` of it and of ``mh_training_county`` (不漏一校、不漏一人);
- ``human_task`` at the county's own scope created in the year: completed by its due date (timely work).
"""

from __future__ import annotations

import json
import math
import statistics
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, extract, select

from engine.coverage import coverage
from engine.documents.inputs import required_text, schools_in
from engine.documents.layout import workbook
from engine.documents.rendered import XLSX, DocumentError, Rendered
from engine.store import tables
from engine.store.database import Database

_i, _f, _t = tables.process_instance, tables.instance_figure, tables.human_task
SUPERVISION = "supervision_round"
MONTHLY_CHECK = "monthly_school_check"
BURDEN = "burden_school"
MH_TRAINING = "mh_training_county"
CT_TRAINING = "ct_training_county"
DUTIES = ("schools", "mh_trainings", "rollout", "coverage", "timely")


def annual_assessment(database: Database, params: dict[str, Any], now: datetime) -> tuple[list[Rendered], dict]:
    """The year's scores of every school and county bureau, their grades, and the honours the rules give."""
    year = required_text(params, "year", 4)
    if not year.isdigit():
        raise DocumentError(f"year must be a year like 2026, not '{year}'")
    weights = _table(params, "weights", ("component", "label", "weight"))
    duties = _table(params, "duties", ("duty", "label", "points", "target"))
    grades = sorted(_table(params, "grades", ("grade", "min_score")), key=lambda g: -float(g["min_score"]))
    honours = _table(params, "honours", ("kind", "honour", "min_score", "max_share", "min_duty_rate",
                                         "clean_burden"))
    if abs(sum(float(w["weight"]) for w in weights) - 1) > 0.0001:
        raise DocumentError("the weights of annual_weights must add up to 1")
    unknown = {d["duty"] for d in duties} - set(DUTIES)
    if unknown:
        raise DocumentError(f"annual_county_duties names duties this assessment cannot measure: {sorted(unknown)} "
                            f"(known: {', '.join(DUTIES)})")
    schools, counties = schools_in(database, params.get("scope"))
    with database.engine.connect() as connection:
        supervised = _supervision(connection, year, schools)
        monthly = _monthly(connection, year, schools)
        referred = _referred(connection, year, schools)
        county_figures = {county: _county_figures(connection, database, year, county, now) for county in counties}

    def grade_of(score: float | None) -> str:
        return "" if score is None else next((g["grade"] for g in grades if score >= float(g["min_score"])), "")

    school_rows, by_county = [], defaultdict(list)
    for school, (name, county) in schools.items():
        parts = {"supervision": statistics.fmean(supervised[school]) if supervised[school] else None,
                 "monthly_completion": monthly[school][1] * 100 / monthly[school][0] if monthly[school][0] else None}
        score = _weighted(parts, weights)
        school_rows.append({"id": school, "name": name, "county": county, "score": score, "grade": grade_of(score),
                            "supervision": parts["supervision"], "monthly": monthly[school],
                            "referred": school in referred})
        if score is not None:
            by_county[county].append(score)
    county_rows = []
    for county, name in counties.items():
        figures = county_figures[county]
        figures["schools"] = statistics.fmean(by_county[county]) if by_county[county] else 0.0
        earned = {d["duty"]: float(d["points"]) * min(figures[d["duty"]] / float(d["target"]), 1.0)
                  if float(d["target"]) else float(d["points"]) for d in duties}
        own = [d for d in duties if d["duty"] != "schools"]
        duty_rate = sum(earned[d["duty"]] for d in own) * 100 / sum(float(d["points"]) for d in own) if own else 100
        score = round(sum(earned.values()), 1)
        county_rows.append({"id": county, "name": name, "score": score, "grade": grade_of(score),
                            "earned": earned, "figures": figures, "duty_rate": duty_rate, "referred": False})
    county_rows.sort(key=lambda r: -r["score"])
    awards = _honours(honours, {"county": county_rows, "school": school_rows}, counties)
    files, body = _files(year, weights, duties, school_rows, county_rows, awards, counties)
    return files, {"title": f"关于{year}年度心育护花行动目标管理考评结果的通报", "body": body,
                   "attachments": [f"{year}年度目标管理考评结果明细"],
        "year": year, "schools": len(school_rows), "counties": [r["name"] for r in county_rows],
        "top_county": county_rows[0]["name"] if county_rows else None,
        "county_scores": {r["id"]: r["score"] for r in county_rows},
        "county_duties": {r["id"]: {k: round(v, 1) for k, v in r["earned"].items()} for r in county_rows},
        "school_scores": {r["id"]: _round(r["score"]) for r in school_rows if r["score"] is not None},
        "awards": awards}


def _table(params: dict[str, Any], name: str, columns: tuple[str, ...]) -> list[dict[str, Any]]:
    """The rows of a COLLECT decision passed as ``{column: [values…]}``: one dict per rule."""
    given = params.get(name)
    if not isinstance(given, dict) or not all(isinstance(given.get(c), list) for c in columns):
        raise DocumentError(f"the assessment needs '{name}' with the columns {', '.join(columns)}")
    lengths = {len(given[c]) for c in columns}
    if len(lengths) != 1 or not lengths.pop():
        raise DocumentError(f"'{name}' needs at least one rule and the same number of values in every column")
    return [dict(zip(columns, values, strict=True)) for values in zip(*(given[c] for c in columns), strict=True)]


def _weighted(parts: dict[str, float | None], weights: list[dict[str, Any]]) -> float | None:
    """The weighted score over the parts a unit has; a part it has no figure for shares its weight out."""
    present = [(value, float(w["weight"])) for w in weights if (value := parts.get(w["component"])) is not None]
    total = sum(weight for _, weight in present)
    return sum(value * weight for value, weight in present) / total if present and total else None


def _supervision(connection: Any, year: str, schools: dict[str, Any]) -> dict[str, list[float]]:
    found: dict[str, list[float]] = defaultdict(list)
    for scope, data in connection.execute(select(_i.c.org_scope, _i.c.data).where(
            _i.c.process_key == SUPERVISION, _i.c.org_scope.in_(list(schools)))):
        values = json.loads(data or "{}")
        score = values.get("supervision_score")
        if isinstance(score, int | float) and str(values.get("year", "")) == year:
            found[scope].append(float(score))
    return found


def _monthly(connection: Any, year: str, schools: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """School -> (monthly checks of the year, of which completed), from the narrow figure table."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for scope, state in connection.execute(select(_i.c.org_scope, _i.c.state).join(_f, _f.c.instance_id == _i.c.id)
                                           .where(_f.c.process_key == MONTHLY_CHECK, _f.c.period.like(f"{year}-%"),
                                                  _i.c.org_scope.in_(list(schools)))):
        counts[scope][0] += 1
        counts[scope][1] += state == "completed"
    return defaultdict(lambda: (0, 0), {k: (v[0], v[1]) for k, v in counts.items()})


def _referred(connection: Any, year: str, schools: dict[str, Any]) -> set[str]:
    found = set()
    for scope, data in connection.execute(select(_i.c.org_scope, _i.c.data).where(
            _i.c.process_key == BURDEN, _i.c.org_scope.in_(list(schools)),
            extract("year", _i.c.started_at) == int(year))):
        if json.loads(data or "{}").get("severity_code") == "serious":  # set when checked, before any referral ends
            found.add(scope)
    return found


def _county_figures(connection: Any, database: Database, year: str, county: str, now: datetime) -> dict[str, float]:
    """The county bureau's own duties as measured figures (the DMN gives their points and targets)."""
    started_this_year = and_(_i.c.org_scope == county, extract("year", _i.c.started_at) == int(year))
    sessions = 0
    trainings = connection.execute(select(_i.c.id, _i.c.data).where(
        _i.c.process_key == MH_TRAINING, _i.c.org_scope == county)).all()
    for _, data in trainings:
        held = json.loads(data or "{}").get("sessions") or []
        sessions += sum(1 for s in held if isinstance(s, dict) and str(s.get("held_on", "")).startswith(year))
    rollouts = connection.execute(select(_i.c.id, _i.c.state).where(
        _i.c.process_key == CT_TRAINING, started_this_year)).all()
    reached = [coverage(database, row.id, now) for row in rollouts] + [
        coverage(database, row.id, now) for row in connection.execute(select(_i.c.id).where(
            _i.c.process_key == MH_TRAINING, started_this_year))]
    reached = [c for c in reached if c["units"]["total"]]  # a rollout not yet handed to the schools reaches nobody
    tasks = connection.execute(select(_t.c.state, _t.c.due_at, _t.c.completed_at).where(
        _t.c.org_scope == county, _t.c.due_at.is_not(None), _t.c.state != "cancelled",
        extract("year", _t.c.created_at) == int(year))).all()
    due = [t for t in tasks if t.state == "completed" or _aware(t.due_at) < now]
    on_time = [t for t in due if t.state == "completed" and _aware(t.completed_at) <= _aware(t.due_at)]
    return {"mh_trainings": float(sessions),
            "rollout": 1.0 if any(row.state == "completed" for row in rollouts) else 0.0,
            "coverage": statistics.fmean(c["percent"] for c in reached) if reached else 0.0,
            "timely": len(on_time) * 100 / len(due) if due else 100.0}


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _honours(rules: list[dict[str, Any]], ranked: dict[str, list[dict[str, Any]]],
             counties: dict[str, str]) -> list[dict[str, Any]]:
    """Each honour rule: units of its kind at or above its score, duty rate and record, best first, at most its share
    of all units of that kind (at least one when anyone qualifies)."""
    awards = []
    for rule in rules:
        units = ranked.get(str(rule["kind"]), [])
        scored = sorted((r for r in units if r["score"] is not None), key=lambda r: -r["score"])
        eligible = [r for r in scored if r["score"] >= float(rule["min_score"])
                    and r.get("duty_rate", 100) >= float(rule["min_duty_rate"] or 0)
                    and not (rule["clean_burden"] and r["referred"])]
        quota = max(1, math.floor(float(rule["max_share"]) * len(units))) if units else 0
        awards += [{"recipient": r["name"], "honour": str(rule["honour"]), "kind": rule["kind"], "unit_id": r["id"],
                    "unit": counties.get(r.get("county", ""), r["name"]), "score": round(r["score"], 1)}
                   for r in eligible[:quota]]
    return awards


def _files(year: str, weights: list[dict[str, Any]], duties: list[dict[str, Any]], schools: list[dict[str, Any]],
           counties: list[dict[str, Any]], awards: list[dict[str, Any]],
           names: dict[str, str]) -> tuple[list[Rendered], list[list[Any]]]:
    """The detail workbook, and the body of the circular that announces the result (JSON-ready blocks)."""
    duty_labels = [str(d["label"]) for d in duties]
    county_header = ["县市区", *duty_labels, "年度得分", "等级"]
    county_table = [[r["name"], *(round(r["earned"][d["duty"]], 1) for d in duties), r["score"], r["grade"]]
                    for r in counties]
    school_header = ["县市区", "学校", "督查考核得分", "应开展月查", "已完成月查", "年度得分", "等级", "移送纪检监察"]
    school_table = [[names[r["county"]], r["name"], _round(r["supervision"]), r["monthly"][0], r["monthly"][1],
                     _round(r["score"]), r["grade"], "是" if r["referred"] else ""] for r in schools]
    weighting = "、".join(f"{w['label']}占{float(w['weight']) * 100:g}%" for w in weights)
    honoured = [a for a in awards if a["kind"] == "county"], [a for a in awards if a["kind"] == "school"]
    blocks: list[tuple[str, Any]] = [
        ("p", f"按照衡教通〔2019〕41号“督查考核情况量化计分，纳入年度目标管理考评，与单位年度评优评先挂钩”的要求，"
              f"对全市{len(counties)}个县市区教育局和{len(schools)}所学校进行{year}年度目标管理考评。学校得分中，{weighting}；"
              "各校每月检查中对教师的量化计分纳入学校对教师的考评，不计入学校得分。县市区得分由辖区学校平均得分和本级"
              f"履职情况（{'、'.join(duty_labels[1:])}）构成。"),
        ("h", "一、县市区考评结果"), ("t", (county_header, county_table)),
        ("h", "二、先进单位"),
        ("p", ("县市区：" + ("、".join(a["recipient"] for a in honoured[0]) or "无") + "；学校："
               + ("、".join(a["recipient"] for a in honoured[1]) or "无") + "。")),
        ("h", "三、无考评数据的学校"),
        ("p", "、".join(r[1] for r in school_table if r[5] == "") or "无"),
        ("p", "各单位要对照考评结果查找差距、抓好整改。各校得分见附件。"),
    ]
    body = [[kind, [list(value[0]), [list(row) for row in value[1]]] if kind == "t" else value]
            for kind, value in blocks]
    return [Rendered(f"{year}年度目标管理考评.xlsx", XLSX, workbook([
                ("县市区", county_header, county_table), ("学校", school_header, school_table),
                ("先进单位", ["类别", "单位", "所属县市区", "年度得分", "荣誉"],
                 [["县市区" if a["kind"] == "county" else "学校", a["recipient"], a["unit"], a["score"], a["honour"]]
                  for a in awards])]))], body


def _round(value: float | None) -> float | str:
    return "" if value is None else round(value, 1)
