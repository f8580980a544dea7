"""Starting a fan-out's children: one instance per unit, in batches, each at most once.

A child starts scoped to its unit, with the fan-out's variables, ``unit`` (id, name, kind), and, when
the fan-out names a role, ``people``: that role's holders at the unit (a school's class teachers),
which the child's multi-instance task can hand one item each.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select, tuple_, update

from engine.commands.assignment import prime_chains
from engine.commands.fan_out_state import count_child
from engine.commands.instances import begin_instance
from engine.commands.requests import ENGINE, StartChildren, StartInstance
from engine.commands.unit_of_work import UnitOfWork
from engine.errors import InvalidInput, Problem, StaleVersion
from engine.store import tables

_fo, _fc, _u, _j = tables.fan_out, tables.fan_out_child, tables.org_unit, tables.job
_r, _p, _i = tables.role_assignment, tables.person, tables.process_instance
MAX_BATCH = 50


def start_children(command: StartChildren, uow: UnitOfWork) -> dict[str, Any]:
    if not 1 <= len(command.job_ids) <= MAX_BATCH:
        raise InvalidInput(f"give 1 to {MAX_BATCH} job ids", [Problem("out of range", field="job_ids")])
    jobs = uow.read(select(_j.c.id, _j.c.payload).where(
        _j.c.id.in_(command.job_ids), _j.c.kind == "child_start", _j.c.state == "pending",
        _j.c.due_at <= uow.now).order_by(_j.c.id)).all()
    wanted = [(job.id, json.loads(job.payload)) for job in jobs]
    if not wanted:
        return {"jobs": [], "instances": []}
    fan_outs = {row.id: row for row in uow.read(select(_fo).where(_fo.c.id.in_({w["fan_out"] for _, w in wanted})))}
    children = {(row.fan_out_id, row.unit_id): row for row in uow.read(select(_fc).where(
        tuple_(_fc.c.fan_out_id, _fc.c.unit_id).in_([(w["fan_out"], w["unit"]) for _, w in wanted])))}
    unit_ids = [w["unit"] for _, w in wanted]
    units = {row.id: {"id": row.id, "name": row.name, "kind": row.kind}
             for row in uow.read(select(_u.c.id, _u.c.name, _u.c.kind).where(_u.c.id.in_(unit_ids)))}
    prime_chains(uow, unit_ids)
    parents = {row.id: row.business_key for row in uow.read(select(_i.c.id, _i.c.business_key).where(
        _i.c.id.in_({f.parent_instance_id for f in fan_outs.values()})))}
    people = _people(uow, fan_outs, unit_ids)
    started = []
    for _, work in wanted:
        fan_out, child = fan_outs.get(work["fan_out"]), children.get((work["fan_out"], work["unit"]))
        if fan_out is None or child is None or child.instance_id is not None or fan_out.state == "closed":
            continue  # started already, or the parent stopped waiting before this one began
        settings = json.loads(fan_out.settings)
        variables = {**settings["variables"], "unit": units.get(work["unit"], {"id": work["unit"]})}
        if settings.get("people"):
            variables["people"] = _holders(people, settings["people"], work["unit"])
        parent_key = parents.get(fan_out.parent_instance_id) or f"instance-{fan_out.parent_instance_id}"
        instance = begin_instance(uow, StartInstance(
            process_key=fan_out.process_key, actor=command.actor, org_scope=work["unit"],
            business_key=f"{parent_key}/{work['unit']}"[:200], variables=variables, origin=ENGINE),
            parent_instance_id=fan_out.parent_instance_id)
        uow.execute(update(_fc).where(_fc.c.fan_out_id == fan_out.id, _fc.c.unit_id == work["unit"])
                    .values(instance_id=instance["id"], state="running"))
        count_child(uow, fan_out.id, work["unit"], instance["state"])
        started.append(instance["id"])
    finished = uow.execute(update(_j).where(_j.c.id.in_([job_id for job_id, _ in wanted]), _j.c.state == "pending")
                           .values(state="done", attempts=_j.c.attempts + 1)).rowcount
    if finished != len(wanted):
        raise StaleVersion("another worker ran some of these jobs at the same time")
    return {"jobs": [job_id for job_id, _ in wanted], "instances": started}


def _holders(people: dict[tuple[str, str], list[dict]], roles: str, unit: str) -> list[dict]:
    """Holders of any of ``roles`` (comma-separated) at ``unit``, each once, in id order."""
    found = {p["id"]: p for role in _roles(roles) for p in people.get((role, unit), [])}
    return [found[key] for key in sorted(found)]


def _roles(text: str) -> list[str]:
    return [r.strip() for r in text.split(",") if r.strip()]


def _people(uow: UnitOfWork, fan_outs: dict[int, Any], unit_ids: list[str]) -> dict[tuple[str, str], list[dict]]:
    """Holders of each fan-out's roles at each unit, as ``{"id", "name"}`` in id order."""
    roles = {r for f in fan_outs.values() for r in _roles(json.loads(f.settings).get("people") or "")}
    found: dict[tuple[str, str], list[dict]] = {}
    if roles:
        rows = uow.read(select(_r.c.role, _r.c.unit_id, _p.c.id, _p.c.name).join(_p, _p.c.id == _r.c.person_id)
                        .where(_r.c.role.in_(roles), _r.c.unit_id.in_(unit_ids)).order_by(_p.c.id))
        for row in rows:
            found.setdefault((row.role, row.unit_id), []).append({"id": row.id, "name": row.name})
    return found
