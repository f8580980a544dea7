"""Deploying models: new versions only for processes whose content changed; nothing stored on error."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, update

from engine.bpmn.artifacts import Uses, decision_ids, model_uses
from engine.bpmn.parser import ModelFile, ProcessSummary, inspect_models, is_attachment
from engine.commands.instance_state import require_label
from engine.commands.process_models import check_process_model, own_processes, record_process_model
from engine.commands.requests import (
    DeployEditedDecision,
    DeployEditedForm,
    DeployEditedProcess,
    DeployModels,
    DeployProcessModel,
    DeployShippedProcesses,
)
from engine.commands.start_access import refuse_bad_start_rules
from engine.commands.unit_of_work import UnitOfWork
from engine.errors import InvalidInput, NotFound, NotNewestVersion, Problem
from engine.forms import FORM_SUFFIX, Form, parse_form
from engine.json_schema_forms import Binding, bind_json_forms
from engine.phrases import Phrase
from engine.runtime.script_audit import refuse_unsafe_scripts
from engine.store import tables

MODEL_SUFFIXES = (".bpmn", ".dmn")
#: Files a deployment carries: models, and the forms of their tasks (form-js forms, JSON Schemas and UI schemas:
#: a JSON file no task names is not kept).
DEPLOYED_SUFFIXES = (*MODEL_SUFFIXES, FORM_SUFFIX, ".json")
_d, _s, _f = tables.process_definition, tables.shipped_file, tables.form_definition
_a = tables.definition_artifact


def model_files_in(directory: Path) -> list[tuple[str, bytes]]:
    """Every .bpmn, .dmn and .json file below ``directory``, named by its path relative to it."""
    paths = sorted(p for p in directory.rglob("*") if p.name.endswith(DEPLOYED_SUFFIXES) and p.is_file())
    return [(p.relative_to(directory).as_posix(), p.read_bytes()) for p in paths]


def deploy_models(command: DeployModels, uow: UnitOfWork) -> dict[str, Any]:
    require_label(command.actor, "actor", 100)
    require_label(command.name, "name", 200)
    bad_names = [name for name, _ in command.files if not name or len(name) > 300]
    if bad_names:
        raise InvalidInput("a file name must be 1 to 300 characters", [Problem("bad length", file=n[:300])
                                                                      for n in bad_names])
    files = [ModelFile(name, content) for name, content in command.files]
    return _deploy(uow, files, command.actor, command.source, command.name, command.only_files)


def deploy_process_model(command: DeployProcessModel, uow: UnitOfWork) -> dict[str, Any]:
    """A spiff-arena process model folder, deployed under its folder's identity (see engine.commands.process_models).

    Its own files are stored under ``<path>/<name>``; the other models' files it calls go along as context. Only
    processes of its own files get versions, and none whose id another folder owns: then nothing is stored.
    """
    check_process_model(command)
    own = [ModelFile(f"{command.path}/{name}", content) for name, content in command.files]
    context = [ModelFile(name, content) for name, content in command.context if not name.startswith(f"{command.path}/")]
    bad_names = [f.name for f in [*own, *context] if len(f.name) > 300]
    if bad_names:
        raise InvalidInput("a file name must be 1 to 300 characters", [Problem("bad length", file=n[:300])
                                                                      for n in bad_names])
    largest = uow.services.settings.max_model_bytes
    too_large = [f.name for f in own if is_attachment(f.name) and len(f.content) > largest]
    if too_large:
        raise InvalidInput(f"a file of the folder is larger than {largest} bytes, the largest accepted",
                           [Problem("too large", file=n) for n in too_large])
    return _deploy(uow, [*own, *context], command.actor, command.source, command.display_name[:200],
                   frozenset(f.name for f in own), model=command)


def deploy_edited_process(command: DeployEditedProcess, uow: UnitOfWork) -> dict[str, Any]:
    """The edited BPMN file replaces its file in the newest version's deployment; the other files go along.

    Refused (409) unless the version edited is its process's newest, so a later version is never undone.
    Only processes defined in the edited file whose newest version came from that very file (or that are
    new) get versions: another process defined in the file but changed since elsewhere keeps its newest.
    """
    require_label(command.actor, "actor", 100)
    base = _newest_base(uow, command.definition_id)
    files = dict(_deployment_files(uow, base.deployment_id))
    files[base.resource_name] = command.xml.encode("utf-8")
    moved_on = {row.key for row in _newest_versions(uow)
                if (row.deployment_id, row.resource_name) != (base.deployment_id, base.resource_name)}
    return _deploy(uow, [ModelFile(n, c) for n, c in files.items()], command.actor, "modeler",
                   f"{base.resource_name}（流程编辑）", frozenset({base.resource_name}), skip_keys=frozenset(moved_on))


def deploy_edited_decision(command: DeployEditedDecision, uow: UnitOfWork) -> dict[str, Any]:
    """The edited table reaches every process whose newest version calls it, each built from its own newest files.

    The decision keeps its id (the processes call it by that id); the XML is checked like any upload
    (no DOCTYPE, schema-valid, each cell an expression the engine can evaluate), and nothing is stored
    when anything is wrong. The edit must start from its process's newest version (else 409).
    """
    require_label(command.actor, "actor", 100)
    _newest_base(uow, command.definition_id)
    resource = _artifact(uow, command.definition_id, "decision", command.decision_id).resource_name
    content = command.xml.encode("utf-8")
    held = decision_ids(resource, content, uow.services.settings.max_model_bytes)
    if command.decision_id not in held:
        found = held[0] if held else None
        what = f"holds decision '{found}'" if found else "is not a DMN document"
        raise InvalidInput(f"the edited file {what}; it must keep the decision id '{command.decision_id}', "
                           "by which the processes call it", [Problem("decision id changed", file=resource,
                                                                      element_id=found)])
    results = []
    for deployment_id, users in _users_by_deployment(uow, "decision", command.decision_id, command.definition_id):
        files = dict(_deployment_files(uow, deployment_id))
        names = frozenset(u.resource_name for u in users)  # the file holding the decision in this deployment
        files.update({n: content for n in names})
        results.append(_deploy(uow, [ModelFile(n, c) for n, c in files.items()], command.actor, "dmn-editor",
                               f"{resource}（决策表编辑）", names, only_keys=frozenset(u.key for u in users)))
    return _merged(results, [])


def deploy_edited_form(command: DeployEditedForm, uow: UnitOfWork) -> dict[str, Any]:
    """A new version of the form; every process whose newest version shows it gets a version from its own files.

    The schema must be a form-js schema the server's validator understands (every field type known),
    and keep its id; nothing is stored when anything is wrong. The edit must start from its process's
    newest version (else 409).
    """
    require_label(command.actor, "actor", 100)
    _newest_base(uow, command.definition_id)
    _artifact(uow, command.definition_id, "form", command.form_key)
    if not isinstance(command.schema, dict):
        raise InvalidInput("schema must be a JSON object (a form-js schema)", [Problem("not an object",
                                                                                      field="schema")])
    if command.schema.get("id", command.form_key) != command.form_key:
        raise InvalidInput(f"the form's id must stay '{command.form_key}', by which the tasks name it",
                           [Problem("form id changed", field="schema.id")])
    name = f"forms/{command.form_key}{FORM_SUFFIX}"
    content = json.dumps(command.schema, ensure_ascii=False, indent=2).encode("utf-8")
    if len(content) > uow.services.settings.max_model_bytes:
        raise InvalidInput(f"the form is {len(content)} bytes; the largest accepted is "
                           f"{uow.services.settings.max_model_bytes}", [Problem("too large", field="schema")])
    form = ModelFile(name, content)
    stored = _deploy(uow, [form], command.actor, "form-editor", None, frozenset({name}))["forms"]
    results = []
    for deployment_id, users in _users_by_deployment(uow, "form", command.form_key, command.definition_id):
        files = [ModelFile(n, c) for n, c in _deployment_files(uow, deployment_id)]
        results.append(_deploy(uow, [*files, form], command.actor, "form-editor", f"{command.form_key}（表单编辑）",
                               frozenset({name}), only_keys=frozenset(u.key for u in users)))
    return _merged(results, stored)


def _newest_base(uow: UnitOfWork, definition_id: int) -> Any:
    """The version an edit starts from, if it is its process's newest; NotFound, or 409 naming the newest."""
    base = uow.read(select(_d.c.id, _d.c.key, _d.c.name, _d.c.version, _d.c.deployment_id, _d.c.resource_name)
                    .where(_d.c.id == definition_id)).first()
    if base is None:
        raise NotFound(f"process definition {definition_id} does not exist")
    newest = uow.read(select(_d.c.id, _d.c.name, _d.c.version).where(_d.c.key == base.key)
                      .order_by(_d.c.version.desc()).limit(1)).one()
    if newest.id != base.id:
        raise NotNewestVersion(
            f"process definition {definition_id} is version {base.version} of '{base.key}', which is no longer "
            f"the newest: edit version {newest.version} (process definition {newest.id}) instead, so that no "
            "later change is undone", [Problem("not the newest version", field="definition_id")],
            newest={"definition_id": newest.id, "key": base.key, "name": newest.name, "version": newest.version})
    return base


def _newest_versions(uow: UnitOfWork) -> list[Any]:
    """The newest version of every process: key, definition id, deployment and BPMN file."""
    top = select(_d.c.key, func.max(_d.c.version).label("version")).group_by(_d.c.key).subquery()
    return list(uow.read(select(_d.c.id, _d.c.key, _d.c.deployment_id, _d.c.resource_name)
                         .join(top, (top.c.key == _d.c.key) & (top.c.version == _d.c.version))
                         .order_by(_d.c.key)))


def _users_by_deployment(uow: UnitOfWork, kind: str, key: str, base_id: int) -> list[tuple[int, list[Any]]]:
    """The newest versions using a form or decision, grouped by the deployment they came in (the base's first).

    Each group is redeployed from its own deployment's files, so every process keeps its newest BPMN,
    its other tables and its called processes; a process whose newest version no longer uses the
    artifact is left alone. The edit must start from the newest copy of the table or form (the one
    deployed last, or the newest form version any of them shows), else 409 naming a version that has it.
    """
    _r = tables.deployment_resource
    newest = {row.id for row in _newest_versions(uow)}
    copy = _r.c.sha256 if kind == "decision" else _a.c.form_version
    rows = uow.read(select(_d.c.id, _d.c.key, _d.c.name, _d.c.version, _d.c.deployment_id, _a.c.resource_name,
                           copy.label("copy"))
                    .join(_a, _a.c.definition_id == _d.c.id)
                    .outerjoin(_r, (_r.c.deployment_id == _d.c.deployment_id) & (_r.c.name == _a.c.resource_name))
                    .where(_a.c.kind == kind, _a.c.artifact_key == key, _d.c.id.in_(sorted(newest)))
                    .order_by(_d.c.deployment_id, _d.c.key)).all()
    base = next(row for row in rows if row.id == base_id)
    latest = max(rows, key=lambda row: (row.deployment_id if kind == "decision" else row.copy or 0, row.id))
    if latest.copy != base.copy:
        what = "decision table" if kind == "decision" else "form"
        raise NotNewestVersion(
            f"the {what} '{key[:200]}' of process definition {base_id} is not its newest: process definition "
            f"{latest.id} (version {latest.version} of '{latest.key}') has a later one; edit it there, so that "
            "no later change is undone",
            [Problem(f"not the newest {what}", field="decision_id" if kind == "decision" else "form_key")],
            newest={"definition_id": latest.id, "key": latest.key, "name": latest.name, "version": latest.version})
    groups: dict[int, list[Any]] = {}
    for row in rows:
        groups.setdefault(row.deployment_id, []).append(row)
    return sorted(groups.items(), key=lambda item: (item[0] != base.deployment_id, item[0]))


def _merged(results: list[dict[str, Any]], forms: list[dict[str, Any]]) -> dict[str, Any]:
    """One answer for an edit deployed in several deployments (one per deployment of the processes it reached)."""
    deployments = [r["deployment_id"] for r in results if r["deployment_id"] is not None]
    return {"deployment_id": deployments[0] if deployments else None, "deployment_ids": deployments,
            "processes": [p for r in results for p in r["processes"]],
            "forms": forms or [f for r in results for f in r.get("forms", [])]}


def _artifact(uow: UnitOfWork, definition_id: int, kind: str, key: str) -> Any:
    """The version's use of a form or decision; NotFound naming both when it has none."""
    row = uow.read(select(_a).where(_a.c.definition_id == definition_id, _a.c.kind == kind,
                                    _a.c.artifact_key == key)).first()
    if row is None:
        what = "decision" if kind == "decision" else "form"
        raise NotFound(f"process definition {definition_id} uses no {what} '{key[:200]}'",
                       [Problem(f"no such {what}", field="decision_id" if kind == "decision" else "form_key")])
    return row


def _deployment_files(uow: UnitOfWork, deployment_id: int) -> list[tuple[str, bytes]]:
    _r = tables.deployment_resource
    return [(r.name, bytes(r.content)) for r in uow.read(
        select(_r.c.name, _r.c.content).where(_r.c.deployment_id == deployment_id).order_by(_r.c.name))]


def deploy_shipped_processes(command: DeployShippedProcesses, uow: UnitOfWork) -> dict[str, Any]:
    """Deploy the shipped files that changed since they were last shipped.

    A file that is unchanged since it was last shipped is never deployed again, so an
    administrator's later edit of the same process survives every restart.
    """
    directory = Path(command.directory)
    if not directory.is_dir():
        raise InvalidInput(f"{directory} is not a directory")
    files = [ModelFile(name, content) for name, content in model_files_in(directory)]
    shipped = dict(uow.read(select(_s.c.path, _s.c.sha256)).all())
    changed = frozenset(f.name for f in files if shipped.get(f.name) != f.sha256)
    if not changed:
        return {"deployment_id": None, "processes": [], "changed_files": []}
    result = _deploy(uow, files, command.actor, "shipped", "processes/", changed)
    for model in files:
        if model.name not in changed:
            continue
        values = {"sha256": model.sha256, "shipped_at": uow.now}
        if model.name in shipped:
            uow.execute(update(_s).where(_s.c.path == model.name).values(**values))
        else:
            uow.execute(insert(_s).values(path=model.name, **values))
    result["changed_files"] = sorted(changed)
    return result


def _deploy(uow: UnitOfWork, files: list[ModelFile], actor: str, source: str, name: str | None,
            only_files: frozenset[str] | None, *, only_keys: frozenset[str] | None = None,
            skip_keys: frozenset[str] = frozenset(), model: DeployProcessModel | None = None) -> dict[str, Any]:
    """Store what changed; ``only_keys`` / ``skip_keys`` keep an edit from versioning processes it must not touch.

    With ``model`` (a process model folder) only its own processes get versions, and they are its.
    """
    form_files = [f for f in files if f.name.endswith(FORM_SUFFIX)]
    forms = [parse_form(f.name, f.content) for f in form_files]  # all checked before anything is stored
    attachments = [f for f in files if is_attachment(f.name) and not f.name.endswith(FORM_SUFFIX)]
    json_files = {f.name: f.content for f in attachments}
    files = [f for f in files if not is_attachment(f.name)]
    if not files and model is None:
        stored = _store_forms(uow, forms, form_files, only_files, actor)
        return {"deployment_id": None, "processes": [], "forms": stored}
    max_bytes = uow.services.settings.max_model_bytes
    summaries = inspect_models(files, max_bytes, connectors=uow.services.connectors.registry)
    own = [f for f in files if model is None or f.name.startswith(f"{model.path}/")]  # not the called models' files
    json_forms = bind_json_forms([(f.name, f.content) for f in own], json_files, max_bytes)
    if model is None:
        _refuse_unnamed_json(json_files, json_forms)
    uses = {f.name: model_uses(f.name, f.content, max_bytes) for f in files}
    decisions = {found: f.name for f in files for found in decision_ids(f.name, f.content, max_bytes)}
    if only_files is not None:
        changed_forms = {form.key for form, file in zip(forms, form_files, strict=True) if file.name in only_files}
        summaries = _selected(summaries, uses, only_files, changed_forms,
                              {key for key, file in decisions.items() if file in only_files})
    summaries = [s for s in summaries if s.key not in skip_keys and (only_keys is None or s.key in only_keys)]
    if model is not None:
        summaries = own_processes(uow.read, model, summaries)
    refuse_unsafe_scripts(files, summaries, max_bytes)
    refuse_bad_start_rules(summaries)
    stored_forms = _store_forms(uow, forms, form_files, only_files, actor)  # first: versions bind the newest forms
    recorded = {"model": record_process_model(uow, model)} if model is not None else {}
    bound = _newest_forms(uow, {k for s in summaries for f in s.dependency_files for k in uses[f].forms})
    plan = []
    for summary in summaries:
        latest = uow.read(select(_d.c.id, _d.c.version, _d.c.content_hash, _d.c.model_path)
                          .where(_d.c.key == summary.key).order_by(_d.c.version.desc()).limit(1)).first()
        used = {k for f in summary.dependency_files for k in uses[f].forms if k in bound}
        schemas = {f"{kind}:{key}": (0, ModelFile(name, json_files[name]).sha256)
                   for (kind, key), name in json_forms.used(summary.dependency_files).items()}
        digest = with_forms(summary.content_hash, {**{k: bound[k] for k in used}, **schemas})
        plan.append((summary, latest, with_attachments(digest, attachments) if model is not None else digest))

    def entry(summary: Any, definition_id: int, version: int, changed: bool) -> dict[str, Any]:
        found = {"key": summary.key, "name": summary.name, "version": version, "definition_id": definition_id,
                 "changed": changed}
        if summary.group_lanes:  # said, not warned: their people come with the data (engine.commands.lane_people)
            found["group_lanes"] = list(summary.group_lanes)
        return found

    def unchanged(latest: Any, digest: str) -> bool:  # a folder taking over a process of loose files versions it
        return latest is not None and latest.content_hash == digest and (model is None
                                                                          or latest.model_path == model.path)

    if all(unchanged(latest, digest) for _s, latest, digest in plan):
        return {"deployment_id": None, "forms": stored_forms, **recorded,
                "processes": [entry(s, latest.id, latest.version, False) for s, latest, _h in plan]}

    deployment_id = uow.execute(insert(tables.deployment).values(
        name=name or ", ".join(f.name for f in files)[:200], source=source, deployed_by=actor, deployed_at=uow.now,
    ).returning(tables.deployment.c.id)).scalar_one()
    kept = sorted({name for entries in json_forms.by_file.values() for _kind, _key, name in entries})
    # a model folder keeps all its JSON (spiff-arena's); a plain deploy the JSON its tasks name
    files_kept = [*files, *(attachments if model is not None else (ModelFile(n, json_files[n]) for n in kept))]
    uow.execute(insert(tables.deployment_resource), [
        {"deployment_id": deployment_id, "name": f.name, "content": f.content, "sha256": f.sha256} for f in files_kept])
    processes = []
    for summary, latest, digest in plan:
        if unchanged(latest, digest):
            processes.append(entry(summary, latest.id, latest.version, False))
            continue
        version = (latest.version if latest is not None else 0) + 1
        owner = model.path if model is not None else latest.model_path if latest is not None else None
        definition_id = uow.execute(insert(_d).values(
            key=summary.key, version=version, name=summary.name, content_hash=digest,
            deployment_id=deployment_id, resource_name=summary.filename, deployed_at=uow.now, model_path=owner,
        ).returning(_d.c.id)).scalar_one()
        if summary.start_triggers:
            uow.execute(insert(tables.start_trigger), [
                {"definition_id": definition_id, "process_key": summary.key, "kind": kind, "name": trigger_name,
                 "element_id": element_id} for kind, trigger_name, element_id in summary.start_triggers])
        _bind_artifacts(uow, definition_id, summary, uses, bound, decisions, json_forms)
        uow.record("process_deployed", actor=actor, process_key=summary.key, version=version,
                   definition_id=definition_id, deployment_id=deployment_id, **({"model": owner} if owner else {}))
        processes.append(entry(summary, definition_id, version, True))
    return {"deployment_id": deployment_id, "processes": processes, "forms": stored_forms, **recorded}


def _selected(summaries: list[ProcessSummary], uses: dict[str, Uses], only_files: frozenset[str],
              changed_forms: set[str], changed_decisions: set[str]) -> list[ProcessSummary]:
    """The processes defined in ``only_files``, and those using a form or decision changed there.

    An edited decision table or form must reach new instances, so every process that uses it gets a
    new version (its content hash covers the decision and the form).
    """
    def affected(summary: ProcessSummary) -> bool:
        return any(uses[f].forms & changed_forms or uses[f].decisions & changed_decisions
                   for f in summary.dependency_files)

    return [s for s in summaries if s.filename in only_files or affected(s)]


def _newest_forms(uow: UnitOfWork, keys: set[str]) -> dict[str, tuple[int, str]]:
    """(version, sha256) of the newest version of each deployed form among ``keys``."""
    if not keys:
        return {}
    newest: dict[str, tuple[int, str]] = {}
    for row in uow.read(select(_f.c.form_key, _f.c.version, _f.c.sha256).where(_f.c.form_key.in_(sorted(keys)))
                        .order_by(_f.c.form_key, _f.c.version)):
        newest[row.form_key] = (row.version, row.sha256)
    return newest


def with_forms(content_hash: str, forms: dict[str, tuple[int, str]]) -> str:
    """A process's content hash extended by the forms its tasks show: a changed form makes a new version."""
    if not forms:
        return content_hash
    digest = hashlib.sha256(content_hash.encode())
    for key in sorted(forms):
        digest.update(f"{key}:{forms[key][1]}".encode())
    return digest.hexdigest()


def _refuse_unnamed_json(json_files: dict[str, bytes], json_forms: Binding) -> None:
    """A JSON file beside loose models must be a form a task names: any other belongs to a process model folder."""
    named = {name for entries in json_forms.by_file.values() for _kind, _key, name in entries}
    loose = sorted(set(json_files) - named)
    if loose:
        raise InvalidInput(Phrase("%(file)s is not a model: deploy BPMN (.bpmn), DMN (.dmn) and form (.form.json) "
                                  "files, or the process model folder (with process_model.json) the JSON belongs to",
                                  file=loose[0][:300]), [Problem(Phrase("not a model file"), file=n[:300])
                                                         for n in loose])


def with_attachments(content_hash: str, attachments: list[ModelFile]) -> str:
    """A content hash extended by the JSON files a model folder carries (its forms' schemas): a change is a version."""
    if not attachments:
        return content_hash
    digest = hashlib.sha256(content_hash.encode())
    for attachment in sorted(attachments, key=lambda f: f.name):
        digest.update(f"{attachment.name}:{attachment.sha256}".encode())
    return digest.hexdigest()


def _bind_artifacts(uow: UnitOfWork, definition_id: int, summary: ProcessSummary, uses: dict[str, Uses],
                    bound: dict[str, tuple[int, str]], decisions: dict[str, str], json_forms: Binding) -> None:
    """Record the form versions, decision files and JSON-schema form files a new process version uses (see
    ``definition_artifact``)."""
    forms = {k for f in summary.dependency_files for k in uses[f].forms if k in bound}
    called = {k for f in summary.dependency_files for k in uses[f].decisions if k in decisions}
    rows = [{"definition_id": definition_id, "kind": "form", "artifact_key": k, "form_version": bound[k][0],
             "resource_name": None} for k in sorted(forms)]
    rows += [{"definition_id": definition_id, "kind": "decision", "artifact_key": k, "form_version": None,
              "resource_name": decisions[k]} for k in sorted(called)]
    rows += [{"definition_id": definition_id, "kind": kind, "artifact_key": key, "form_version": None,
              "resource_name": name} for (kind, key), name in sorted(json_forms.used(summary.dependency_files).items())]
    if rows:
        uow.execute(insert(tables.definition_artifact), rows)


def _store_forms(uow: UnitOfWork, forms: list[Form], files: list[ModelFile], only_files: frozenset[str] | None,
                 actor: str) -> list[dict[str, Any]]:
    """A new version of each form whose content changed; the forms' keys and versions."""
    stored = []
    for form, file in zip(forms, files, strict=True):
        if only_files is not None and file.name not in only_files:
            continue
        latest = uow.read(select(_f.c.version, _f.c.sha256).where(_f.c.form_key == form.key)
                          .order_by(_f.c.version.desc()).limit(1)).first()
        if latest is not None and latest.sha256 == file.sha256:
            stored.append({"key": form.key, "version": latest.version, "changed": False})
            continue
        version = (latest.version if latest else 0) + 1
        uow.execute(insert(_f).values(form_key=form.key, version=version, name=form.name[:200],
                                      content=file.content.decode("utf-8"), sha256=file.sha256, deployed_at=uow.now))
        uow.record("form_deployed", actor=actor, form_key=form.key, version=version)
        stored.append({"key": form.key, "version": version, "changed": True})
    return stored
