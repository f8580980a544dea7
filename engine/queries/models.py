"""Deployed models: process definitions and their names, the BPMN, DMN and forms a version was deployed with,
and model files checked as a deployment would check them."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from engine.bpmn.parser import ModelFile, inspect_models, is_attachment
from engine.bpmn.safe_xml import parse_xml
from engine.commands.process_models import check_process_model, own_processes
from engine.commands.requests import DeployProcessModel
from engine.connectors.registry import ConnectorRegistry
from engine.errors import NotFound
from engine.json_schema_forms import bind_json_forms
from engine.phrases import Phrase
from engine.queries.rows import iso
from engine.runtime.script_audit import refuse_unsafe_scripts
from engine.store.database import Database
from engine.store.models import (
    DefinitionArtifact,
    DeploymentResource,
    FormDefinition,
    ProcessDefinition,
    ProcessInstance,
    ProcessModel,
)


def shown_name(key: str, name: str | None, model: ProcessModel | None) -> str:
    """A process's name where processes are listed: its model's display name for a model's primary process."""
    if model is not None and model.primary_process_id == key:
        return model.display_name
    return name or key


def model_description(key: str, model: ProcessModel | None) -> str:
    """The description a process model gives its primary process (empty for any other)."""
    return model.description if model is not None and model.primary_process_id == key else ""


class ModelFamily:
    """The model questions of :class:`engine.queries.Queries`."""

    database: Database
    max_model_bytes: int
    connectors: ConnectorRegistry

    def validate_models(self, files: tuple[tuple[str, bytes], ...]) -> list[dict[str, Any]]:
        """Check model files as a deployment would, storing nothing; raises InvalidModel with every problem."""
        models = [ModelFile(name, content) for name, content in files if not name.endswith(".json")]
        summaries = inspect_models(models, self.max_model_bytes, connectors=self.connectors)
        refuse_unsafe_scripts(models, summaries, self.max_model_bytes)
        bind_json_forms([(f.name, f.content) for f in models],
                        {name: content for name, content in files if name.endswith(".json")}, self.max_model_bytes)
        return [{"key": s.key, "name": s.name, "file": s.filename} for s in summaries]

    def validate_process_model(self, model: DeployProcessModel) -> dict[str, Any]:
        """Check a process model folder as deploying it would (its ``process_model.json``, its files, its primary
        process, and that no process id of it is another folder's), storing nothing; raises InvalidInput or
        InvalidModel naming what is wrong."""
        check_process_model(model)
        own = [(f"{model.path}/{name}", content) for name, content in model.files]
        context = [(name, content) for name, content in model.context if not name.startswith(f"{model.path}/")]
        files = [ModelFile(name, content) for name, content in [*own, *context] if not is_attachment(name)]
        summaries = inspect_models(files, self.max_model_bytes, connectors=self.connectors)
        refuse_unsafe_scripts(files, summaries, self.max_model_bytes)
        bind_json_forms([(name, content) for name, content in own if not is_attachment(name)],
                        {name: content for name, content in own if is_attachment(name)}, self.max_model_bytes)
        with self.database.read() as session:
            mine = own_processes(session.execute, model, summaries)
        return {"path": model.path, "display_name": model.display_name,
                "processes": [{"key": s.key, "name": s.name, "file": s.filename} for s in mine]}

    def definitions(self, *, key: str | None = None) -> list[dict[str, Any]]:
        """Every deployed version, oldest first per process, with its process model folder (``model``, None for
        files deployed on their own) and description; a model's primary process is named by its display name."""
        query = select(ProcessDefinition, ProcessModel).outerjoin(
            ProcessModel, ProcessModel.path == ProcessDefinition.model_path)
        if key:
            query = query.where(ProcessDefinition.key == key)
        with self.database.read() as session:
            counts = dict(session.execute(
                select(ProcessInstance.definition_id, func.count()).group_by(ProcessInstance.definition_id)).all())
            return [{"id": d.id, "key": d.key, "version": d.version, "name": shown_name(d.key, d.name, m),
                     "resource": d.resource_name, "deployment_id": d.deployment_id, "deployed_at": iso(d.deployed_at),
                     "instances": counts.get(d.id, 0), "model": d.model_path,
                     "description": model_description(d.key, m)}
                    for d, m in session.execute(query.order_by(ProcessDefinition.key, ProcessDefinition.version))]

    def definition(self, definition_id: int) -> dict[str, Any]:
        """One deployed version: its id, process key, version and name (the editors' header)."""
        with self.database.read() as session:
            found = session.get(ProcessDefinition, definition_id)
            if found is None:
                raise NotFound(Phrase("process definition %(id)s does not exist", id=definition_id))
            return {"id": found.id, "key": found.key, "version": found.version, "name": found.name or found.key}

    def process_names(self) -> list[tuple[str, str]]:
        """Each deployed process's key and the name of its newest version (the inbox's process filter)."""
        d = ProcessDefinition
        newest = select(d.key, func.max(d.version).label("version")).group_by(d.key).subquery()
        with self.database.read() as session:
            return [(row.key, shown_name(row.key, row.name, row.ProcessModel)) for row in session.execute(
                select(d.key, d.name, ProcessModel).join(newest, (newest.c.key == d.key)
                                                         & (newest.c.version == d.version))
                .outerjoin(ProcessModel, ProcessModel.path == d.model_path).order_by(d.key))]

    def definition_model(self, definition_id: int) -> tuple[str, str]:
        """The file name and BPMN XML of a deployed process version (for the modeler and the instance view)."""
        with self.database.read() as session:
            found = session.execute(
                select(DeploymentResource.name, DeploymentResource.content)
                .join(ProcessDefinition, (ProcessDefinition.deployment_id == DeploymentResource.deployment_id)
                      & (ProcessDefinition.resource_name == DeploymentResource.name))
                .where(ProcessDefinition.id == definition_id)).first()
        if found is None:
            raise NotFound(Phrase("process definition %(id)s does not exist", id=definition_id))
        return found.name, bytes(found.content).decode("utf-8")

    def definition_artifacts(self, definition_id: int) -> dict[str, Any]:
        """The DMN decisions (with their file) and the forms (with the pinned version) a process version uses."""
        with self.database.read() as session:
            if session.get(ProcessDefinition, definition_id) is None:
                raise NotFound(Phrase("process definition %(id)s does not exist", id=definition_id))
            rows = session.execute(select(DefinitionArtifact.kind, DefinitionArtifact.artifact_key,
                                          DefinitionArtifact.form_version, DefinitionArtifact.resource_name)
                                   .where(DefinitionArtifact.definition_id == definition_id)
                                   .order_by(DefinitionArtifact.kind, DefinitionArtifact.artifact_key)).all()
            pinned = [and_(FormDefinition.form_key == r.artifact_key, FormDefinition.version == r.form_version)
                      for r in rows if r.kind == "form"]
            names = dict(session.execute(select(FormDefinition.form_key, FormDefinition.name)
                                         .where(or_(*pinned))).all()) if pinned else {}
            decisions = self._decision_names(session, definition_id,
                                             {r.resource_name for r in rows if r.kind == "decision"})
        return {"decisions": [{"decision_id": r.artifact_key, "resource": r.resource_name,
                               "name": decisions.get(r.artifact_key)}
                              for r in rows if r.kind == "decision"],
                "forms": [{"form_key": r.artifact_key, "version": r.form_version, "name": names.get(r.artifact_key)}
                          for r in rows if r.kind == "form"]}

    def _decision_names(self, session: Session, definition_id: int, resources: set[str | None]) -> dict[str, str]:
        """Decision id to its name, from the DMN files a process version was deployed with (for the admin list)."""
        wanted = sorted(r for r in resources if r)
        if not wanted:
            return {}
        deployment = select(ProcessDefinition.deployment_id).where(ProcessDefinition.id == definition_id)
        names: dict[str, str] = {}
        for name, content in session.execute(select(DeploymentResource.name, DeploymentResource.content).where(
                DeploymentResource.deployment_id == deployment.scalar_subquery(),
                DeploymentResource.name.in_(wanted))):
            tree = parse_xml(bytes(content), name, self.max_model_bytes)
            for decision in tree.iter("{*}decision"):
                if decision.get("id") and decision.get("name"):
                    names[decision.get("id")] = decision.get("name")
        return names

    def definition_decision(self, definition_id: int, decision_id: str) -> tuple[str, str]:
        """The file name and DMN XML of a decision a process version uses (as deployed with that version)."""
        with self.database.read() as session:
            found = session.execute(
                select(DeploymentResource.name, DeploymentResource.content)
                .join(ProcessDefinition, ProcessDefinition.deployment_id == DeploymentResource.deployment_id)
                .join(DefinitionArtifact, (DefinitionArtifact.definition_id == ProcessDefinition.id)
                      & (DefinitionArtifact.resource_name == DeploymentResource.name))
                .where(ProcessDefinition.id == definition_id, DefinitionArtifact.kind == "decision",
                       DefinitionArtifact.artifact_key == decision_id)).first()
        if found is None:
            raise NotFound(Phrase("process definition %(id)s uses no decision '%(decision)s'", id=definition_id,
                                  decision=decision_id[:200]))
        return found.name, bytes(found.content).decode("utf-8")

    def form_names(self) -> list[dict[str, str]]:
        """Every deployed form's key and the name of its newest version, by key: what a model may name."""
        with self.database.read() as session:
            newest = select(FormDefinition.form_key, func.max(FormDefinition.version).label("version")) \
                .group_by(FormDefinition.form_key).subquery()
            rows = session.execute(select(FormDefinition.form_key, FormDefinition.name).join(
                newest, (newest.c.form_key == FormDefinition.form_key) & (newest.c.version == FormDefinition.version))
                .order_by(FormDefinition.form_key)).all()
        return [{"key": row.form_key, "name": row.name} for row in rows]

    def definition_form(self, definition_id: int, form_key: str) -> dict[str, Any]:
        """A form a process version uses, in the version pinned to it: key, version, name and form-js schema."""
        with self.database.read() as session:
            pinned = session.scalar(select(DefinitionArtifact.form_version).where(
                DefinitionArtifact.definition_id == definition_id, DefinitionArtifact.kind == "form",
                DefinitionArtifact.artifact_key == form_key))
            row = session.execute(select(FormDefinition.version, FormDefinition.name, FormDefinition.content)
                                  .where(FormDefinition.form_key == form_key, FormDefinition.version == pinned)
                                  ).first() if pinned is not None else None
        if row is None:
            raise NotFound(Phrase("process definition %(id)s uses no form '%(form)s'", id=definition_id,
                                  form=form_key[:200]))
        return {"form_key": form_key, "version": row.version, "name": row.name, "schema": json.loads(row.content)}
