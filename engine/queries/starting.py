"""发起事项: the processes a person may start by hand, for which units, with their start forms; and, once one is
started, where its work went next.

The answer follows the same rule the start command applies (:func:`engine.access.starting.may_start`), asked
for each unit within the person's reach, so the page offers nothing the command would refuse. The command still
decides on every start: this list only spares people a refusal.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from engine.access import policy
from engine.access.identity import holdings, is_administrator
from engine.access.starting import Holding, Scope, StartRule, may_start, start_rule
from engine.bpmn.start_declaration import StartDeclaration, start_declaration
from engine.org.directory import ROLES, TIER_OF_KIND
from engine.queries.models import model_description, shown_name
from engine.store.database import Database
from engine.store.models import (
    DeploymentResource,
    HumanTask,
    OrgUnit,
    Person,
    ProcessDefinition,
    ProcessInstance,
    ProcessModel,
    RoleAssignment,
    TaskCandidate,
)

#: Declarations by (file hash, process key): a deployed file never changes under its hash.
_DECLARATIONS: dict[tuple[str, str], StartDeclaration | None] = {}
#: The tiers a startable process is grouped under, the widest first.
GROUP_ORDER = ("city", "county", "school")


class StartingFamily:
    """The 发起事项 questions of :class:`engine.queries.Queries`."""

    database: Database

    def startable(self, user: str, process_key: str | None = None) -> list[dict[str, Any]]:
        """The processes ``user`` may start by hand (only ``process_key``, when given), the widest tier first:
        key, name, description, definition id, start form key, the units it may be started for (id, name, kind)
        and the tier they belong to (``group``: city, county or school)."""
        with self.database.read() as session:
            found = list(_startable(session, user, process_key))
        return sorted(found, key=lambda p: (GROUP_ORDER.index(p["group"]), p["name"]))

    def may_start_something(self, user: str) -> bool:
        """Whether ``user`` may start any process by hand (the pages' 发起 entry points): the first one found
        answers, each with one unit in reach at most."""
        with self.database.read() as session:
            return next(iter(_startable(session, user, None, most_units=1)), None) is not None

    def started_next(self, user: str, instance_id: int) -> dict[str, Any]:
        """Where a just-started instance's work went, by ids: the first open task ``user`` may work on (``mine``,
        a task id or None), the unit it runs for (``unit``, an id or None), and each open task's name with whom
        it is offered to (``offered``: ``[kind, value]`` pairs, a ``user`` id or a ``role`` as role@unit).
        :meth:`offered_names` names them when the confirmation is shown.

        Asked only by the page that started the instance, for the person who started it, in the same request:
        having started an instance grants no reading of it afterwards (engine.access.policy)."""
        with self.database.read() as session:
            tasks = session.execute(select(HumanTask.id, HumanTask.name, HumanTask.assignee).where(
                HumanTask.instance_id == instance_id, HumanTask.state == "open").order_by(HumanTask.id)).all()
            mine = next((t.id for t in tasks if t.assignee == user or (
                t.assignee is None and policy.is_candidate(session, t.id, user))), None)
            candidates: dict[int, list[list[str]]] = {}
            for row in session.execute(select(TaskCandidate.task_id, TaskCandidate.kind, TaskCandidate.value)
                                       .where(TaskCandidate.task_id.in_([t.id for t in tasks]))
                                       .order_by(TaskCandidate.kind, TaskCandidate.value)):
                candidates.setdefault(row.task_id, []).append([row.kind, row.value])
            scope = session.scalar(select(ProcessInstance.org_scope).where(ProcessInstance.id == instance_id))
        steps = [{"task": t.name, "offered": [["user", t.assignee]] if t.assignee else candidates.get(t.id, [])}
                 for t in tasks]
        return {"mine": mine, "unit": scope or None, "steps": steps}

    def offered_names(self, unit: str | None, steps: list[dict[str, Any]]) -> dict[str, Any]:
        """The unit's name and each step of :meth:`started_next` with whom it is offered to as people read it
        (``who``): a role's name, its unit's and its holders' names, or a person's name. Looked up when shown,
        so the confirmation carries no one's name in the session."""
        offered = [(kind, value) for step in steps for kind, value in step["offered"]]
        roles = {value for kind, value in offered if kind == "role"}
        units = {value.partition("@")[2] for value in roles} | ({unit} if unit else set())
        people = {value for kind, value in offered if kind == "user"}
        with self.database.read() as session:
            unit_names = dict(session.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(units))).all())
            person_names = dict(session.execute(select(Person.id, Person.name).where(Person.id.in_(people))).all())
            holders: dict[str, list[str]] = {}
            for row in session.execute(select(RoleAssignment.role, RoleAssignment.unit_id, Person.name)
                                       .join(Person, Person.id == RoleAssignment.person_id)
                                       .where(RoleAssignment.role.in_({r.partition("@")[0] for r in roles}),
                                              RoleAssignment.unit_id.in_(units))
                                       .order_by(RoleAssignment.id)):
                holders.setdefault(f"{row.role}@{row.unit_id}", []).append(row.name)

        def who(kind: str, value: str) -> dict[str, Any]:
            if kind != "role":
                return {"people": [person_names.get(value, value)]}
            role, _, at = value.partition("@")
            return {"role": ROLES.get(role, role), "unit": unit_names.get(at, at), "people": holders.get(value, [])}

        return {"unit": unit_names.get(unit, "") if unit else "",
                "steps": [{"task": step["task"], "who": [who(kind, value) for kind, value in step["offered"]]}
                          for step in steps]}


def _startable(session: Session, user: str, process_key: str | None,
               most_units: int | None = None) -> Iterator[dict[str, Any]]:
    """Each process ``user`` may start, found one at a time (see :meth:`StartingFamily.startable`)."""
    administrator = is_administrator(session, user)
    held = [Holding(h.role, h.unit_path) for h in holdings(session, user) if h.unit_path is not None]
    if not held and not administrator:
        return
    for definition, declaration in _newest_declarations(session, process_key):
        try:
            rule = start_rule(declaration.properties, declaration.triggers, declaration.has_none_start)
        except ValueError:  # a declaration the command would refuse too
            continue
        if rule.started_by is not None or not (administrator or rule.roles & {h.role for h in held}):
            continue
        units = _units_in_reach(session, rule, held, administrator, most_units)
        if not units and not (administrator and not rule.unit_kinds):
            continue
        model = session.get(ProcessModel, definition.model_path) if definition.model_path else None
        yield {"key": definition.key, "name": shown_name(definition.key, definition.name, model),
               "description": declaration.description or model_description(definition.key, model),
               "definition_id": definition.id,
               "form_key": declaration.form_key, "units": units, "group": _group(units)}


def _newest_declarations(session: Session, process_key: str | None) -> list[tuple[Any, StartDeclaration]]:
    """The newest version of each deployed process (or of ``process_key``) with its start declaration."""
    d, r = ProcessDefinition, DeploymentResource
    newest = select(d.key, func.max(d.version).label("version")).group_by(d.key)
    if process_key is not None:
        newest = newest.where(d.key == process_key)
    newest_versions = newest.subquery()
    rows = session.execute(
        select(d.id, d.key, d.name, d.model_path, r.sha256, r.name.label("resource"), r.id.label("resource_id"))
        .join(newest_versions, (newest_versions.c.key == d.key) & (newest_versions.c.version == d.version))
        .join(r, (r.deployment_id == d.deployment_id) & (r.name == d.resource_name))).all()
    found = []
    for row in rows:
        cache_key = (row.sha256, row.key)
        if cache_key not in _DECLARATIONS:  # the file itself is read only the first time its content is met
            content = session.scalar(select(r.content).where(r.id == row.resource_id))
            _DECLARATIONS[cache_key] = start_declaration(bytes(content or b""), row.key, filename=row.resource)
        declaration = _DECLARATIONS[cache_key]
        if declaration is not None:
            found.append((row, declaration))
    return found


def _units_in_reach(session: Session, rule: StartRule, holdings: list[Holding], administrator: bool,
                    most: int | None = None) -> list[dict[str, str]]:
    """The units the person may start a process under ``rule`` for, in directory order (each checked by the same
    rule the command applies); the first ``most`` of them when given."""
    query = select(OrgUnit.id, OrgUnit.name, OrgUnit.kind, OrgUnit.path)
    if rule.unit_kinds:
        query = query.where(OrgUnit.kind.in_(sorted(rule.unit_kinds)))
    if not administrator:
        paths = [h.unit_path for h in holdings if h.role in rule.roles]
        if not paths:
            return []
        if "below" in rule.tiers:  # at or under a unit where the person holds the role (may_start decides which)
            query = query.where(or_(*(OrgUnit.path.startswith(path, autoescape=True) for path in paths)))
        else:
            query = query.where(OrgUnit.path.in_(paths))
    elif not rule.unit_kinds:
        return []  # an administrator starts it with no unit named (see startable)
    units = []
    for row in session.execute(query.order_by(OrgUnit.path)):
        decision = may_start(rule, administrator=administrator, holdings=holdings,
                             scope=Scope(row.id, row.kind, row.path))
        if decision.allowed:
            units.append({"id": row.id, "name": row.name, "kind": row.kind})
            if most is not None and len(units) >= most:
                break
    return units


def _group(units: list[dict[str, str]]) -> str:
    """The widest tier among the units (city for a process started with no unit)."""
    tiers = {TIER_OF_KIND.get(u["kind"], "city") for u in units} or {"city"}
    return next((tier for tier in GROUP_ORDER if tier in tiers), "city")
