"""Training attendance registers, kept beside the instance in the same transaction.

"不漏一人" counts attendance, not answers: a teacher who answers "I did not attend" has answered, but is not
trained. The school-level trainings keep a register in their data (``attendance_register``: one entry per
person with ``status`` pending, attended, excused or absent, the reason of an absence or excuse, and the
hours) and move each person along it (absent → make-up → attended, or excused by the principal). Each
persist of such an instance copies the register into ``training_attendance``, so coverage and the dashboard
read a narrow table instead of instance data at city scale.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import delete, insert, select, update

from engine.commands.unit_of_work import UnitOfWork
from engine.store import tables

#: The processes that keep an attendance register, and the data variable that holds it.
REGISTERS = {"ct_training_school": "attendance_register", "mh_training_school": "attendance_register"}
STATUSES = frozenset({"pending", "attended", "excused", "absent"})
#: The standings that cover a person: they attended, or their absence was accepted with a reason.
COVERED = ("attended", "excused")
_a = tables.training_attendance


def register_of(process_key: str, data: dict[str, Any]) -> dict[str, dict[str, Any]] | None:
    """The register's rows by person (only well-formed entries), or None when the process keeps none."""
    variable = REGISTERS.get(process_key)
    if variable is None or not isinstance(data.get(variable), list):
        return None
    rows: dict[str, dict[str, Any]] = {}
    for entry in data[variable]:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) or not 0 < len(entry["id"]) <= 100:
            continue
        status = entry.get("status") if entry.get("status") in STATUSES else "pending"
        reason = entry.get("reason")
        hours = entry.get("hours")
        rows[entry["id"]] = {
            "status": status, "reason": reason[:300] if isinstance(reason, str) and reason else None,
            "hours": float(hours) if isinstance(hours, int | float) and not isinstance(hours, bool)
            and math.isfinite(hours) else None}
    return rows


def keep_attendance(uow: UnitOfWork, instance_id: int, process_key: str, data: dict[str, Any], *,
                    new: bool = False) -> None:
    """Bring the instance's rows in line with its register: only the rows that changed are written."""
    register = register_of(process_key, data)
    if register is None:
        return
    stored = {} if new else {row.person_id: {"status": row.status, "reason": row.reason, "hours": row.hours}
                             for row in uow.read(select(_a.c.person_id, _a.c.status, _a.c.reason, _a.c.hours)
                                                 .where(_a.c.instance_id == instance_id))}
    added = [{"instance_id": instance_id, "person_id": person, "updated_at": uow.now, **row}
             for person, row in register.items() if person not in stored]
    if added:
        uow.execute(insert(_a), added)
    for person, row in register.items():
        if person in stored and stored[person] != row:
            uow.execute(update(_a).where(_a.c.instance_id == instance_id, _a.c.person_id == person)
                        .values(updated_at=uow.now, **row))
    gone = [person for person in stored if person not in register]
    if gone:
        uow.execute(delete(_a).where(_a.c.instance_id == instance_id, _a.c.person_id.in_(gone)))
