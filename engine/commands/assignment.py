"""Who is offered a human task: named users, groups, or a role at a unit of the instance's org scope.

A task (or its lane) names a role, optionally with the tier it is held at: ``principal`` (at the
instance's own unit), ``programme_officer@county`` (at the county above it), ``programme_officer@up``
(one tier above the scope: where escalations go), or ``expert@hy-zjk`` (at a unit named outright). The
role is resolved to one unit when the task is
created and stored as a ``role`` candidate ``principal@zhuhui-s001``; who holds it is read from the
directory when somebody opens the inbox or acts, so a change of staff reaches open tasks at once.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, or_, select

from engine.commands.unit_of_work import UnitOfWork
from engine.org.directory import TIER_OF_KIND, TIERS, role_code
from engine.store import tables

_u, _r = tables.org_unit, tables.role_assignment
#: Why a task was assigned when it was created, as its history says: one person holds the role it is offered to.
SOLE_HOLDER = "仅一人可办，直接分派，无需认领"


def candidates_of(uow: UnitOfWork, org_scope: str | None, properties: dict[str, str],
                  lane: str | None) -> list[tuple[str, str]]:
    """(kind, value) candidates: ``candidateUsers``, ``candidateGroups`` and ``candidateRoles`` (or the lane's role)."""
    found = [("user", u) for u in split(properties.get("candidateUsers"))]
    groups = split(properties.get("candidateGroups"))
    found += [("group", g) for g in groups if role_code(g.split("@", 1)[0]) is None]
    # a candidate group named after a role is that role here (the directory has roles, not groups)
    roles = split(properties.get("candidateRoles")) + [g for g in groups if role_code(g.split("@", 1)[0])]
    if not roles and not found and not properties.get("assignee") and lane:
        roles = [entry for entry in split(lane) if role_code(entry.split("@", 1)[0])]
    for entry in roles:
        name, _, tier = entry.partition("@")
        code = role_code(name)
        unit = _unit_at(uow, org_scope, tier.strip() or None)
        if code is not None and unit is not None:
            found.append(("role", f"{code}@{unit}"))
    return found


def holders(uow: UnitOfWork, role_candidates: list[str]) -> list[str]:
    """The people holding any of the ``role@unit`` candidates, now."""
    if not role_candidates:
        return []
    query = select(_r.c.person_id).where(_held_as(role_candidates)).distinct().order_by(_r.c.person_id)
    return list(uow.read(query).scalars())


def pool_of(uow: UnitOfWork, offered: list[tuple[str, str]]) -> list[str] | None:
    """Everyone a task offered to roles is offered to: the roles' holders, now.

    None when it is offered to nobody, or also to named users or groups (a list someone wrote out is kept as
    it was written). A pool of one is assigned at once: there is nobody to claim the task from.
    """
    if not offered or any(kind != "role" for kind, _value in offered):
        return None
    return holders(uow, [value for _kind, value in offered])


def holds_any(uow: UnitOfWork, person: str, role_candidates: list[str]) -> bool:
    if not role_candidates:
        return False
    query = select(_r.c.id).where(_r.c.person_id == person, _held_as(role_candidates)).limit(1)
    return uow.read(query).first() is not None


def _held_as(role_candidates: list[str]) -> ColumnElement[bool]:
    pairs = [value.split("@", 1) for value in role_candidates]
    return or_(*(and_(_r.c.role == role, _r.c.unit_id == unit) for role, unit in pairs))


def split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _unit_at(uow: UnitOfWork, org_scope: str | None, tier: str | None) -> str | None:
    """The unit of the scope's chain at ``tier`` (``up``: the tier above the scope's); no scope means the city.

    ``@school`` from a teaching point is the school it belongs to (the point itself counts as that tier).
    """
    chain = _chain(uow, org_scope)  # (id, tier, kind) from the scope up to the root
    if not chain:
        return org_scope
    if tier is None:
        return chain[0][0]
    if tier == "up":
        own = TIERS.index(chain[0][1]) if chain[0][1] in TIERS else len(TIERS) - 1
        tier = TIERS[min(own + 1, len(TIERS) - 1)]
    if tier not in TIERS:  # a unit named outright: expert@hy-zjk, the city's expert pool
        return tier if _chain(uow, tier) else None
    if tier == "school":
        school = next((unit for unit, _, kind in chain if kind == "school"), None)
        if school is not None:
            return school
    return next((unit for unit, unit_tier, _ in chain if unit_tier == tier), None)


def prime_chains(uow: UnitOfWork, unit_ids: list[str]) -> None:
    """Read the chains of many units in one query (a batch of scheduled starts, say)."""
    cache: dict[str | None, list[tuple[str, str, str]]] = uow.memo.setdefault("org_chain", {})
    wanted = [u for u in unit_ids if u not in cache]
    if wanted:
        for unit, path in uow.read(select(_u.c.id, _u.c.path).where(_u.c.id.in_(wanted))).all():
            cache[unit] = _chain_of(path)


def _chain(uow: UnitOfWork, org_scope: str | None) -> list[tuple[str, str, str]]:
    """(unit, tier, kind) from the scope up to the city, read off the scope's path."""
    cache: dict[str | None, list[tuple[str, str, str]]] = uow.memo.setdefault("org_chain", {})
    if org_scope not in cache:
        if org_scope is None:
            root = uow.read(select(_u.c.path).where(_u.c.kind == "city").order_by(_u.c.id).limit(1)).scalar()
        else:
            root = uow.read(select(_u.c.path).where(_u.c.id == org_scope)).scalar()
        cache[org_scope] = _chain_of(root or "")
    return cache[org_scope]


def _chain_of(path: str) -> list[tuple[str, str, str]]:
    steps = [step.split(":", 1) for step in path.split("/") if step]
    return [(unit, TIER_OF_KIND.get(kind, "outside"), kind) for kind, unit in reversed(steps)]
