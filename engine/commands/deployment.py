"""Deploying models: new versions only for processes whose content changed; nothing stored on error."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from engine.bpmn.parser import ModelFile, inspect_models
from engine.commands.model import DeployModels, DeployShippedProcesses
from engine.commands.unit_of_work import UnitOfWork
from engine.errors import InvalidInput
from engine.store.models import Deployment, DeploymentResource, ProcessDefinition, ShippedFile

MODEL_SUFFIXES = (".bpmn", ".dmn")


def deploy_models(command: DeployModels, uow: UnitOfWork) -> dict[str, Any]:
    files = [ModelFile(name, content) for name, content in command.files]
    return _deploy(uow, files, command.actor, command.source, command.name, command.only_files)


def deploy_shipped_processes(command: DeployShippedProcesses, uow: UnitOfWork) -> dict[str, Any]:
    """Deploy the shipped files that changed since they were last shipped.

    A file that is unchanged since it was last shipped is never deployed again, so an
    administrator's later edit of the same process survives every restart.
    """
    directory = Path(command.directory)
    if not directory.is_dir():
        raise InvalidInput(f"{directory} is not a directory")
    paths = sorted(p for p in directory.rglob("*") if p.suffix in MODEL_SUFFIXES and p.is_file())
    files = [ModelFile(p.relative_to(directory).as_posix(), p.read_bytes()) for p in paths]
    shipped = {row.path: row.sha256 for row in uow.session.scalars(select(ShippedFile))}
    changed = frozenset(f.name for f in files if shipped.get(f.name) != f.sha256)
    if not changed:
        return {"deployment_id": None, "processes": [], "changed_files": []}
    result = _deploy(uow, files, command.actor, "shipped", "processes/", changed)
    for model in files:
        if model.name not in changed:
            continue
        row = uow.session.get(ShippedFile, model.name)
        if row is None:
            uow.session.add(ShippedFile(path=model.name, sha256=model.sha256, shipped_at=uow.now))
        else:
            row.sha256, row.shipped_at = model.sha256, uow.now
    result["changed_files"] = sorted(changed)
    return result


def _deploy(uow: UnitOfWork, files: list[ModelFile], actor: str, source: str, name: str | None,
            only_files: frozenset[str] | None) -> dict[str, Any]:
    summaries = inspect_models(files, uow.services.settings.max_model_bytes)
    if only_files is not None:
        summaries = [s for s in summaries if s.filename in only_files]
    session = uow.session
    plan = []
    for summary in summaries:
        latest = session.execute(
            select(ProcessDefinition.id, ProcessDefinition.version, ProcessDefinition.content_hash)
            .where(ProcessDefinition.key == summary.key)
            .order_by(ProcessDefinition.version.desc()).limit(1)
        ).first()
        plan.append((summary, latest))
    if all(latest is not None and latest.content_hash == s.content_hash for s, latest in plan):
        return {"deployment_id": None, "processes": [
            {"key": s.key, "name": s.name, "version": latest.version, "definition_id": latest.id, "changed": False}
            for s, latest in plan]}

    deployment_id = session.execute(insert(Deployment).values(
        name=name or ", ".join(f.name for f in files)[:200], source=source, deployed_by=actor, deployed_at=uow.now,
    ).returning(Deployment.id)).scalar_one()
    session.execute(insert(DeploymentResource), [
        {"deployment_id": deployment_id, "name": f.name, "content": f.content,
         "sha256": hashlib.sha256(f.content).hexdigest()} for f in files])
    processes = []
    for summary, latest in plan:
        if latest is not None and latest.content_hash == summary.content_hash:
            processes.append({"key": summary.key, "name": summary.name, "version": latest.version,
                              "definition_id": latest.id, "changed": False})
            continue
        version = (latest.version if latest is not None else 0) + 1
        definition_id = session.execute(insert(ProcessDefinition).values(
            key=summary.key, version=version, name=summary.name, content_hash=summary.content_hash,
            deployment_id=deployment_id, resource_name=summary.filename, deployed_at=uow.now,
        ).returning(ProcessDefinition.id)).scalar_one()
        uow.record("process_deployed", actor=actor, process_key=summary.key, version=version,
                   definition_id=definition_id, deployment_id=deployment_id)
        processes.append({"key": summary.key, "name": summary.name, "version": version,
                          "definition_id": definition_id, "changed": True})
    return {"deployment_id": deployment_id, "processes": processes}


def latest_definition_id(uow: UnitOfWork, key: str) -> int | None:
    """The id of the newest version of process ``key``, or None."""
    newest = select(func.max(ProcessDefinition.version)).where(ProcessDefinition.key == key).scalar_subquery()
    return uow.session.scalar(
        select(ProcessDefinition.id).where(ProcessDefinition.key == key, ProcessDefinition.version == newest))
