"""Moving a running instance to a newer version of its process, as Camunda's migration does with identity mapping.

The instance keeps its id, task ids, variables, open human tasks (assignee, claims, comments) and pending
timer jobs; from then on it runs on the target version's model. A dry run returns the same compatibility
report and changes nothing; an incompatible instance is refused with every offending element named.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from engine.commands.instance_state import (
    ACTIVE_STATES,
    compiled_definition,
    load_instance,
    persist,
    require_label,
)
from engine.commands.unit_of_work import UnitOfWork
from engine.errors import Conflict, InvalidInput, NotFound, Problem, StaleVersion
from engine.phrases import Phrase
from engine.runtime.migration import element_names, migrate_workflow, plan_migration
from engine.store import tables

_d, _i, _t = tables.process_definition, tables.process_instance, tables.human_task


@dataclass(frozen=True)
class MigrateInstance:
    """Move an instance to a newer version of its process; ``dry_run`` only reports whether it could."""

    instance_id: int
    target_definition_id: int
    actor: str
    dry_run: bool = False


@dataclass
class IncompatibleMigration(Conflict):
    """The instance is at elements the target version cannot take over; nothing was changed."""

    code: str = "incompatible_migration"


def migrate_instance(command: MigrateInstance, uow: UnitOfWork) -> dict[str, Any]:
    """Check, and unless ``dry_run`` apply, the move of one instance onto ``target_definition_id``."""
    require_label(command.actor, "actor", 100)
    row = uow.read(select(_i.c.state, _i.c.definition_id).where(_i.c.id == command.instance_id)).first()
    if row is None:
        raise NotFound(Phrase("process instance %(id)s does not exist", id=command.instance_id))
    if row.state == "suspended":
        raise Conflict(f"process instance {command.instance_id} is suspended; resume it before migrating it")
    if row.state not in ACTIVE_STATES:
        raise Conflict(f"process instance {command.instance_id} is {row.state}; only a running instance "
                       "can be migrated")
    source = _definition(uow, row.definition_id)
    target = _definition(uow, command.target_definition_id)
    if target is None:
        raise NotFound(f"process definition {command.target_definition_id} does not exist",
                       [Problem("no such process definition", field="target_definition_id")])
    if source is None or target.key != source.key:
        raise InvalidInput(
            f"process definition {target.id} is a version of '{target.key}', but instance {command.instance_id} "
            f"runs '{source.key if source else '?'}'; pick a version of the same process",
            [Problem("not a version of the instance's process", field="target_definition_id")])
    if target.version <= source.version:
        raise InvalidInput(
            f"instance {command.instance_id} runs version {source.version} of '{source.key}'; the target must be "
            f"a newer version, not version {target.version}",
            [Problem("not newer than the instance's version", field="target_definition_id")])

    loaded = load_instance(uow, command.instance_id)
    compiled = compiled_definition(uow, target.id)
    plan = plan_migration(loaded.workflow, compiled, f"version {target.version}")
    report = {
        "instance_id": command.instance_id, "process_key": source.key, "dry_run": command.dry_run,
        "from": {"definition_id": source.id, "version": source.version},
        "to": {"definition_id": target.id, "version": target.version},
        "compatible": plan.compatible, "at_elements": plan.at,
        "problems": [{"element_id": p.element_id, "reason": p.reason} for p in plan.problems],
        "added_elements": plan.added, "removed_elements": plan.removed, "element_names": plan.names,
        "migrated": False,
    }
    if command.dry_run:
        return report
    if not plan.compatible:
        raise IncompatibleMigration(
            f"process instance {command.instance_id} cannot move to version {target.version}: "
            + "; ".join(f"{p.element_id}: {p.reason}" for p in plan.problems),
            [Problem(p.reason, element_id=p.element_id) for p in plan.problems])

    workflow = loaded.workflow
    migrate_workflow(workflow, compiled)
    moved = uow.runtime.loads(uow.runtime.dumps(workflow), compiled)  # the state must restore on the new specs
    record = loaded.record
    was_incident = record.state == "incident"
    summary = persist(uow, record, moved, None, command.actor)
    state = "incident" if was_incident and summary["state"] == "running" and _open_incident(uow, record.id) \
        else summary["state"]
    written = uow.execute(update(_i).where(_i.c.id == record.id, _i.c.version == record.version)
                          .values(definition_id=target.id, state=state)).rowcount
    if written != 1:
        raise StaleVersion(f"process instance {record.id} was changed by someone else at the same time; retry")
    _rename_open_tasks(uow, record.id, element_names(compiled))
    uow.record("instance_migrated", instance_id=record.id, actor=command.actor, process_key=source.key,
               from_version=source.version, to_version=target.version, from_definition_id=source.id,
               to_definition_id=target.id, elements=plan.at)
    return {**report, "migrated": True, "instance": {**summary, "state": state, "definition_id": target.id}}


def _definition(uow: UnitOfWork, definition_id: int) -> Any:
    return uow.read(select(_d.c.id, _d.c.key, _d.c.version).where(_d.c.id == definition_id)).first()


def _open_incident(uow: UnitOfWork, instance_id: int) -> bool:
    incident = tables.incident
    return uow.read(select(incident.c.id).where(incident.c.instance_id == instance_id,
                                                incident.c.resolved_at.is_(None))).first() is not None


def _rename_open_tasks(uow: UnitOfWork, instance_id: int, names: dict[str, str]) -> None:
    """Open tasks keep their id, assignee and claims but show the target's name for their element."""
    rows = uow.read(select(_t.c.id, _t.c.element_id, _t.c.name).where(_t.c.instance_id == instance_id,
                                                                      _t.c.state == "open")).all()
    for task_id, element_id, name in rows:
        new_name = names.get(element_id)
        if new_name and new_name != name:
            uow.execute(update(_t).where(_t.c.id == task_id).values(name=new_name))
