"""The org directory: people with their roles, units, the whole directory, the units a fan-out iterates, and
people's names."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select

from engine.errors import NotFound
from engine.org.directory import ROLES, role_code
from engine.org.directory import Directory as OrgDirectory
from engine.org.directory import Person as PersonRow
from engine.org.directory import Role as RoleRow
from engine.org.directory import Unit as OrgUnitRow
from engine.queries.rows import page_limit
from engine.store.database import Database
from engine.store.models import OrgUnit, Person, RoleAssignment


class DirectoryFamily:
    """The directory questions of :class:`engine.queries.Queries`."""

    database: Database

    def users(self, *, unit: str | None = None, role: str | None = None, under: str | None = None,
              ids: list[str] | None = None, search: str | None = None, limit: int = 100,
              offset: int = 0) -> list[dict[str, Any]]:
        """People with their roles; ``unit``: holding a role there; ``under``: at that unit or below it;
        ``search``: part of their name or id (either case)."""
        query = select(Person) if ids is None else select(Person).where(Person.id.in_(ids))
        if search and search.strip():
            needle = search.strip().lower()
            query = query.where(or_(func.lower(Person.id).contains(needle, autoescape=True),
                                    func.lower(Person.name).contains(needle, autoescape=True)))
        if role is not None or unit is not None or under is not None:
            holding = select(RoleAssignment.person_id).join(OrgUnit, OrgUnit.id == RoleAssignment.unit_id)
            if role is not None:
                holding = holding.where(RoleAssignment.role == (role_code(role) or role))
            if unit is not None:
                holding = holding.where(RoleAssignment.unit_id == unit)
            if under is not None:
                path = unit_path(self.database, under)
                holding = holding.where(OrgUnit.path.startswith(path, autoescape=True))
            query = query.where(Person.id.in_(holding))
        with self.database.read() as session:
            people = session.scalars(query.order_by(Person.unit_id, Person.id)
                                     .limit(page_limit(limit)).offset(offset)).all()
            roles: dict[str, list[dict[str, str]]] = {}
            if people:
                for row in session.execute(select(RoleAssignment.person_id, RoleAssignment.role, RoleAssignment.unit_id,
                                                  OrgUnit.name.label("unit_name"))
                                           .outerjoin(OrgUnit, OrgUnit.id == RoleAssignment.unit_id)
                                           .where(RoleAssignment.person_id.in_([p.id for p in people]))
                                           .order_by(RoleAssignment.id)):
                    roles.setdefault(row.person_id, []).append(
                        {"role": row.role, "role_name": ROLES[row.role], "unit": row.unit_id,
                         "unit_name": row.unit_name or row.unit_id})
            units = dict(session.execute(select(OrgUnit.id, OrgUnit.name).where(
                OrgUnit.id.in_({p.unit_id for p in people}))).all()) if people else {}
            return [{"id": p.id, "name": p.name, "unit": p.unit_id, "unit_name": units.get(p.unit_id, p.unit_id),
                     "phone": p.phone, "email": p.email, "roles": roles.get(p.id, [])} for p in people]

    def units(self, *, kind: str | None = None, under: str | None = None,
              limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        """Org units in directory order; ``under``: that unit and everything below it."""
        query = select(OrgUnit)
        if kind is not None:
            query = query.where(OrgUnit.kind == kind)
        if under is not None:
            query = query.where(OrgUnit.path.startswith(unit_path(self.database, under), autoescape=True))
        with self.database.read() as session:
            return [{"id": u.id, "name": u.name, "kind": u.kind, "parent": u.parent_id, "path": u.path}
                    for u in session.scalars(query.order_by(OrgUnit.path)
                                             .limit(page_limit(limit, 5000)).offset(offset))]

    def directory(self) -> OrgDirectory:
        """The whole org directory as loaded (for export, or to keep one part while a file replaces the other)."""
        with self.database.read() as session:
            units = [OrgUnitRow(u.id, u.name, u.kind, u.parent_id, u.sort_order)
                     for u in session.scalars(select(OrgUnit).order_by(OrgUnit.path))]
            people = [PersonRow(p.id, p.name, p.unit_id, p.phone, p.email)
                      for p in session.scalars(select(Person).order_by(Person.unit_id, Person.id))]
            roles = [RoleRow(r.person_id, r.unit_id, r.role)
                     for r in session.scalars(select(RoleAssignment).order_by(RoleAssignment.id))]
        return OrgDirectory(units, people, roles)

    def unit_ids(self, kind: str) -> list[str]:
        """Every unit of ``kind``, in directory order: what a fan-out over the directory iterates."""
        with self.database.read() as session:
            return list(session.scalars(select(OrgUnit.id).where(OrgUnit.kind == kind).order_by(OrgUnit.path)))

    def person_names(self, ids: list[str]) -> dict[str, str]:
        """Names of the people among ``ids`` (ids not in the directory are left out)."""
        if not ids:
            return {}
        with self.database.read() as session:
            return dict(session.execute(select(Person.id, Person.name).where(Person.id.in_(ids))).all())


def unit_path(database: Database, unit_id: str) -> str:
    """The tree path of a unit (what "at that unit or below it" filters by); NotFound for an unknown unit."""
    with database.read() as session:
        path = session.scalar(select(OrgUnit.path).where(OrgUnit.id == unit_id))
    if path is None:
        raise NotFound(f"org unit '{unit_id}' does not exist")
    return path
