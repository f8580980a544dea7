"""What several templates read the same way: a required text parameter, and the schools a document covers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine.documents.rendered import DocumentError
from engine.store import tables
from engine.store.database import Database

_u = tables.org_unit


def required_text(params: dict[str, Any], name: str, length: int) -> str:
    """The parameter ``name`` as text of at most ``length`` characters; DocumentError naming it if missing or longer."""
    value = str(params.get(name) or "")
    if not value or len(value) > length:
        raise DocumentError(f"the document needs '{name}'")
    return value


def schools_in(database: Database, scope: Any) -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
    """Schools under the county ``scope`` (or all) as id -> (name, county id), and county id -> name."""
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
