"""The people and units of an instance's own unit, as a service task asks for them (the ``roster`` operator).

A scheduled instance starts with nothing but its unit and the time; a school's monthly check still has to
list every class teacher of the directory on its checking sheet. The engine answers such a task itself (a
worker runs it like any service task, so the list is read when the step runs, not when the model was
written):

```xml
<spiffworkflow:serviceTaskOperator id="roster" resultVariable="roster">
  <spiffworkflow:parameters>
    <spiffworkflow:parameter id="people" type="any"
        value="{'class_teachers': 'class_teacher', 'mh_teachers': 'mh_teacher_full, mh_teacher_part'}"/>
    <spiffworkflow:parameter id="below" type="str" value="'teaching_point'"/>
  </spiffworkflow:parameters>
</spiffworkflow:serviceTaskOperator>
```

gives ``{"unit": {"id", "name", "kind"}, "class_teachers": [{"id", "name", "unit"}, …], "mh_teachers": […]}``:
the holders of those roles at the instance's unit and, with ``below``, at the units of those kinds right under
it (a school's teaching points), each person once per list. ``units`` (a unit kind) adds the units of that
kind under the instance's unit (a county's schools), as ``{"units": [{"id", "name"}, …]}``.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from engine.errors import InvalidInput, NotFound, Problem
from engine.org.directory import UNIT_KINDS, role_code
from engine.store import tables
from engine.store.database import Database

OPERATOR = "roster"
_i, _j, _u, _r, _p = (tables.process_instance, tables.job, tables.org_unit, tables.role_assignment, tables.person)
#: The most units a ``units`` list holds: a county's schools and teaching points.
MAX_UNITS = 5_000


def roster(database: Database, job_id: int, params: dict[str, Any]) -> dict[str, Any]:
    """The people (and units) a ``roster`` task asks for, at the unit of the instance its job belongs to."""
    lists = params.get("people") or {}
    if not isinstance(lists, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in lists.items()):
        raise InvalidInput("a roster task's 'people' maps list names to roles: {'class_teachers': 'class_teacher'}",
                           [Problem("not a map of names to roles", field="people")])
    below = _kinds(params.get("below"), "below")
    with database.engine.connect() as connection:
        unit_id = connection.execute(select(_i.c.org_scope).join(_j, _j.c.instance_id == _i.c.id)
                                     .where(_j.c.id == job_id)).scalar()
        unit = connection.execute(select(_u.c.id, _u.c.name, _u.c.kind, _u.c.path)
                                  .where(_u.c.id == unit_id)).first() if unit_id else None
        if unit is None:
            raise NotFound(f"job {job_id} belongs to no instance at a unit of the directory")
        result: dict[str, Any] = {"unit": {"id": unit.id, "name": unit.name, "kind": unit.kind}}
        here = [unit.id] + (list(connection.execute(select(_u.c.id).where(
            _u.c.parent_id == unit.id, _u.c.kind.in_(below))).scalars()) if below else [])
        for name, roles in lists.items():
            codes = [role_code(r.strip()) or r.strip() for r in roles.split(",") if r.strip()]
            rows = connection.execute(
                select(_p.c.id, _p.c.name, _r.c.unit_id).join(_r, _r.c.person_id == _p.c.id)
                .where(_r.c.role.in_(codes), _r.c.unit_id.in_(here))).all()
            seen: dict[str, dict[str, str]] = {}
            for row in sorted(rows, key=lambda r: (here.index(r.unit_id), _natural(r.id))):
                seen.setdefault(row.id, {"id": row.id, "name": row.name, "unit": row.unit_id})
            result[name] = list(seen.values())
        kinds = _kinds(params.get("units"), "units")
        if kinds:
            found = connection.execute(
                select(_u.c.id, _u.c.name).where(_u.c.kind.in_(kinds),
                                                  _u.c.path.startswith(unit.path, autoescape=True),
                                                  _u.c.id != unit.id)
                .order_by(_u.c.sort_order, _u.c.id).limit(MAX_UNITS)).all()
            result["units"] = [{"id": row.id, "name": row.name} for row in found]
    return result


def _kinds(value: Any, field: str) -> list[str]:
    kinds = [k.strip() for k in str(value or "").split(",") if k.strip()]
    unknown = [k for k in kinds if k not in UNIT_KINDS]
    if unknown:
        raise InvalidInput(f"a roster task's '{field}' names unit kinds ({', '.join(UNIT_KINDS)}), "
                           f"not {', '.join(unknown)}", [Problem("unknown unit kind", field=field)])
    return kinds


def _natural(text: str) -> tuple[Any, ...]:
    """bzr2 before bzr10."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text))
