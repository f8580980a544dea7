"""Each school's counselling room register (§四.5), kept beside the instance that records it, in its transaction.

The school records its rooms, opening hours and duty roster and the new students' visit in a
``counselling_room_school`` instance; the county checks the register against the standard (DMN
``counselling_room_standard``). What the instance settled — ``room_register`` once the county accepted it,
``orientation_record`` once the visit is reported — is copied into ``counselling_room`` (one row per school and
school year) whenever the instance is persisted, so appointments, supervision and the county's list read a narrow
row instead of instance data.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import insert, select, update

from engine.commands.figures import finite_score
from engine.commands.unit_of_work import UnitOfWork
from engine.store import tables

#: The process whose instances record a school's register.
REGISTER_PROCESS = "counselling_room_school"
_room = tables.counselling_room
_REGISTER_COLUMNS = frozenset({"rooms", "opening_hours", "class_hours", "largest_area", "parent_access",
                               "standard_met", "shortfalls", "accepted_at"})


def keep_counselling_room(uow: UnitOfWork, instance_id: int, process_key: str, org_scope: str | None,
                          data: dict[str, Any]) -> None:
    """Copy what a register instance settled into the school's row for its school year (nothing before that)."""
    if process_key != REGISTER_PROCESS or org_scope is None:
        return
    year, register, orientation = data.get("school_year"), data.get("room_register"), data.get("orientation_record")
    if not isinstance(year, str) or not 0 < len(year) <= 20:
        return
    values: dict[str, Any] = {}
    if isinstance(register, dict):
        values.update(_register_values(register))
        values["accepted_at"] = uow.now
    if isinstance(orientation, dict):
        values["orientation"] = _json(orientation)
    if not values:
        return
    where = (_room.c.school_id == org_scope, _room.c.school_year == year)
    row = uow.read(select(_room.c.id, _room.c.instance_id, _room.c.rooms, _room.c.orientation).where(*where)).first()
    if row is None:
        uow.execute(insert(_room).values(school_id=org_scope, school_year=year, instance_id=instance_id,
                                         updated_at=uow.now, **values))
        return
    if row.instance_id == instance_id:  # an earlier persist of this instance wrote some: only what is new
        if row.rooms is not None:
            values = {k: v for k, v in values.items() if k not in _REGISTER_COLUMNS}
        if row.orientation is not None and row.orientation == values.get("orientation"):
            values.pop("orientation")
    if values:
        uow.execute(update(_room).where(*where).values(instance_id=instance_id, updated_at=uow.now, **values))


def _register_values(register: dict[str, Any]) -> dict[str, Any]:
    shortfalls = register.get("shortfalls")
    return {"rooms": _json(register.get("rooms") or []), "opening_hours": _json(register.get("opening_hours") or []),
            "class_hours": _json(register.get("class_hours") or {}),
            "largest_area": finite_score(register.get("largest_area")),
            "parent_access": register.get("parent_access") is True,
            "standard_met": register.get("standard_met") is True,
            "shortfalls": _json(shortfalls if isinstance(shortfalls, list) else [])}


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
