"""The teacher appraisal ledger (教师考评台账), kept beside the monthly check's instance in the same transaction.

§四.9 puts the school's monthly check into the school's appraisal of its teachers (职称评定、绩效考核、评优评先).
Once the check's sheets are tallied, the instance's data holds ``appraisal`` (one row per teacher: score, band,
or the reason they were not scored) and ``month``; each persist of the instance makes the ledger's rows for
that instance equal to them (read, compare, rewrite only on a change), so the ledger outlives the instance
data and the directory, and a corrected sheet corrects the ledger.
"""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import delete, insert, select

from engine.commands.figures import finite_score
from engine.commands.unit_of_work import UnitOfWork
from engine.store import tables

#: The processes that write the ledger: the variable holding the rows, and the one holding the month.
LEDGERS = {"monthly_school_check": ("appraisal", "month")}
ROLES = ("class_teacher", "mh_teacher")
_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
_a = tables.teacher_appraisal
_COMPARED = ("person_id", "person_name", "role", "score", "band", "reason", "item_scores", "note")


def keep_appraisal(uow: UnitOfWork, instance_id: int, process_key: str, school: str | None,
                   data: dict[str, Any]) -> None:
    """Make the ledger's rows of the instance those of its data (nothing before the sheets are tallied)."""
    names = LEDGERS.get(process_key)
    if names is None or not school:
        return
    rows_name, month_name = names
    listed, month = data.get(rows_name), data.get(month_name)
    if not isinstance(listed, list) or not isinstance(month, str) or not _MONTH.fullmatch(month):
        return
    wanted = _rows(listed)
    kept = [dict(zip(_COMPARED, row, strict=True)) for row in uow.read(
        select(*(_a.c[name] for name in _COMPARED)).where(_a.c.instance_id == instance_id)
        .order_by(_a.c.person_id, _a.c.role)).all()]
    if kept == sorted(wanted, key=lambda r: (r["person_id"], r["role"])):
        return
    uow.execute(delete(_a).where(_a.c.instance_id == instance_id))
    if wanted:
        uow.execute(insert(_a), [{**row, "instance_id": instance_id, "school_id": school, "month": month,
                                  "recorded_at": uow.now} for row in wanted])


def _rows(listed: list[Any]) -> list[dict[str, Any]]:
    """The ledger's columns of each well-formed row, each teacher once per role (the first row counts)."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for entry in listed:
        if not isinstance(entry, dict) or not isinstance(entry.get("teacher"), str) or not entry["teacher"]:
            continue
        score = finite_score(entry.get("score"))
        items = entry.get("items") if isinstance(entry.get("items"), dict) else {}
        role = entry.get("role") if entry.get("role") in ROLES else "class_teacher"
        rows.setdefault((entry["teacher"][:100], role), {
            "person_id": entry["teacher"][:100], "person_name": str(entry.get("name") or entry["teacher"])[:200],
            "role": role,
            "score": score, "band": str(entry["band"])[:20] if score is not None and entry.get("band") else None,
            "reason": str(entry.get("reason") or "")[:100] or None,
            "item_scores": json.dumps(items, ensure_ascii=False, sort_keys=True) if items else None,
            "note": str(entry.get("note") or "")[:500] or None})
    return list(rows.values())
