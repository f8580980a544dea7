"""Schools' counselling room registers (§四.5): one school's, a county's list, and the register an instance's
school keeps (what an appointment is checked against, what supervision reads)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select

from engine.access import policy
from engine.errors import Forbidden, NotFound, Problem
from engine.store import tables
from engine.store.database import Database

_room, _u, _i, _j = tables.counselling_room, tables.org_unit, tables.process_instance, tables.job


class CounsellingRoomFamily:
    """The counselling room questions of :class:`engine.queries.Queries`."""

    database: Database

    def may_read_counselling_room(self, user: str, school: str) -> bool:
        """Whether ``user`` may read the school's register (engine.access.policy)."""
        with self.database.read() as session:
            return policy.may_read_counselling_room(session, user, school)

    def counselling_room(self, user: str, school: str) -> dict[str, Any]:
        """The school's registers, newest school year first: rooms, opening hours with the duty roster, whether
        they met the standard, the new students' visit. NotFound for whoever may not read them (as for no school).
        """
        with self.database.read() as session:
            if not policy.may_read_counselling_room(session, user, school):
                raise NotFound(f"school {school} does not exist", [Problem("not found", field="unit_id")])
            unit = session.execute(select(_u.c.id, _u.c.name, _u.c.kind).where(_u.c.id == school)).one()
            rows = session.execute(select(_room).where(_room.c.school_id == school)
                                   .order_by(_room.c.school_year.desc())).all()
        return {"school": {"id": unit.id, "name": unit.name, "kind": unit.kind},
                "registers": [_register(row) for row in rows]}

    def counselling_rooms_of_county(self, user: str, county: str | None,
                                    school_year: str | None = None) -> dict[str, Any]:
        """A county's schools with their register of ``school_year`` (the newest when not given): recorded or not,
        standard met, accepted, new students' visit reported. Without a county: the counts per county in the
        caller's dashboard scope."""
        with self.database.read() as session:
            try:
                scope = policy.dashboard_scope(session, user)
            except policy.NoDashboard as err:
                raise Forbidden(str(err)) from None
            year = school_year or session.execute(select(func.max(_room.c.school_year))).scalar()
            if county is None:
                counties = session.execute(select(_u.c.id, _u.c.name, _u.c.path).where(_u.c.kind == "county")
                                           .order_by(_u.c.path)).all()
                return {"school_year": year, "counties": [
                    {"id": c.id, "name": c.name, **_counts(self._county_rows(session, c.path, year))}
                    for c in counties if scope.allows_county(c.id)]}
            path = session.execute(select(_u.c.path).where(_u.c.id == county, _u.c.kind == "county")).scalar()
            if path is None or not scope.allows_county(county):
                raise policy.not_on_dashboard(f"county {county}", "county")
            rows = self._county_rows(session, path, year)
        return {"school_year": year, "county": county, **_counts(rows), "schools": [
            {"id": row.id, "name": row.name, "recorded": row.recorded_at is not None,
             "accepted": row.accepted_at is not None, "standard_met": row.standard_met,
             "largest_area": row.largest_area, "orientation": _loads(row.orientation)} for row in rows]}

    @staticmethod
    def _county_rows(session: Any, county_path: str, year: str | None) -> list[Any]:
        joined = _u.outerjoin(_room, (_room.c.school_id == _u.c.id) & (_room.c.school_year == (year or "")))
        return list(session.execute(
            select(_u.c.id, _u.c.name, _room.c.updated_at.label("recorded_at"), _room.c.accepted_at,
                   _room.c.standard_met, _room.c.largest_area, _room.c.orientation)
            .select_from(joined).where(_u.c.kind == "school", _u.c.path.startswith(county_path, autoescape=True))
            .order_by(_u.c.path)).all())

    def counselling_room_for_job(self, job_id: int) -> dict[str, Any]:
        """The newest accepted register of the school a job's instance runs at (the engine's own connector
        ``counselling_room``): what a model may read of its own school, never of another."""
        with self.database.read() as session:
            school = session.execute(select(_i.c.org_scope).join(_j, _j.c.instance_id == _i.c.id)
                                     .where(_j.c.id == job_id)).scalar()
            row = session.execute(select(_room).where(_room.c.school_id == school, _room.c.accepted_at.is_not(None))
                                  .order_by(_room.c.school_year.desc()).limit(1)).first() if school else None
        return {"registered": False, "school": school} if row is None else {
            "registered": True, "school": school, **_register(row)}


def _register(row: Any) -> dict[str, Any]:
    return {"school_year": row.school_year, "instance_id": row.instance_id, "rooms": _loads(row.rooms) or [],
            "opening_hours": _loads(row.opening_hours) or [], "class_hours": _loads(row.class_hours) or {},
            "largest_area": row.largest_area, "parent_access": row.parent_access, "standard_met": row.standard_met,
            "shortfalls": _loads(row.shortfalls) or [], "orientation": _loads(row.orientation),
            "accepted_at": row.accepted_at.isoformat() if row.accepted_at else None}


def _counts(rows: list[Any]) -> dict[str, int]:
    return {"school_count": len(rows), "accepted": sum(1 for r in rows if r.accepted_at is not None),
            "orientation_reported": sum(1 for r in rows if r.orientation is not None)}


def _loads(text: str | None) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None
