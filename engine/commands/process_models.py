"""spiff-arena process models in a deployment: the folder is the identity that owns its process ids.

A process id names one process of one model folder, as in spiff-arena: a folder whose diagram reuses an id
another folder's versions hold is refused, naming both folders, instead of silently becoming a new version of
the other model. The same folder deployed again makes new versions as usual. A process deployed from files on
their own (no folder) is owned by nobody; the first folder that deploys its id takes it over.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import Executable, insert, select, update

from engine.bpmn.parser import ProcessSummary
from engine.commands.instance_state import require_label
from engine.commands.requests import DeployProcessModel
from engine.commands.unit_of_work import UnitOfWork
from engine.errors import InvalidInput, InvalidModel, Problem
from engine.phrases import Phrase
from engine.store import tables

#: The file that makes a folder a process model, and what a model folder may carry besides BPMN and DMN.
MODEL_FILE = "process_model.json"
_d, _m = tables.process_definition, tables.process_model
#: A model's path: folder names joined by "/", none empty, "." or "..", no back-slash or control character.
_SEGMENT = re.compile(r"^(?!\.{1,2}$)[^/\\\x00-\x1f]+$")


def check_process_model(command: DeployProcessModel) -> None:
    """Refuse a model whose identity or ``process_model.json`` fields cannot be stored or do not fit its files."""
    require_label(command.actor, "actor", 100)
    where = f"{command.path}/{MODEL_FILE}"
    if not command.path or len(command.path) > 250 or not all(_SEGMENT.match(s) for s in command.path.split("/")):
        raise InvalidInput(Phrase("'%(path)s' is not a process model's folder path (folder names joined by '/', "
                                  "at most 250 characters)", path=command.path[:250]),
                           [Problem(Phrase("bad folder path"), field="path")])
    for field, value, longest in (("display_name", command.display_name, 300),
                                  ("primary_file_name", command.primary_file_name, 300),
                                  ("primary_process_id", command.primary_process_id, 200)):
        if not value.strip() or len(value) > longest:
            raise InvalidInput(Phrase("%(field)s of %(file)s must be 1 to %(n)s characters", field=field,
                                      file=where, n=longest), [Problem(Phrase("bad length"), file=where, field=field)])
    if len(command.description) > 10_000:
        raise InvalidInput(Phrase("description of %(file)s must be at most %(n)s characters", file=where, n=10_000),
                           [Problem(Phrase("too long"), file=where, field="description")])
    names = {name for name, _ in command.files}
    if command.primary_file_name not in names:
        raise InvalidInput(Phrase("primary_file_name of %(file)s names '%(name)s', which is not a file of the "
                                  "folder", file=where, name=command.primary_file_name[:300]),
                           [Problem(Phrase("no such file in the folder"), file=where, field="primary_file_name")])


def own_processes(read: Callable[[Executable], Any], model: DeployProcessModel,
                  summaries: list[ProcessSummary]) -> list[ProcessSummary]:
    """The processes defined in the model's own files, once its primary process is found and no id is another's.

    Raises :class:`InvalidModel` naming the folder, the file and the process id of every clash, and the folder
    that owns the id, so nothing of the folder is deployed. ``read`` runs a select (a unit of work's, when
    deploying; a read session's, when only validating).
    """
    own = [s for s in summaries if s.filename.startswith(f"{model.path}/")]
    primary_file = f"{model.path}/{model.primary_file_name}"
    if not any(s.key == model.primary_process_id and s.filename == primary_file for s in own):
        raise InvalidModel(
            Phrase("primary_process_id of %(file)s is '%(process)s', which is not an executable process of "
                   "%(primary)s", file=f"{model.path}/{MODEL_FILE}", process=model.primary_process_id[:200],
                   primary=model.primary_file_name[:300]),
            [Problem(Phrase("no such executable process in the primary file"), file=f"{model.path}/{MODEL_FILE}",
                     field="primary_process_id")])
    owners = _owners(read, [s.key for s in own])
    problems = [Problem(Phrase("process id '%(process)s' belongs to the process model '%(owner)s'; the folder "
                               "'%(folder)s' cannot reuse it: give one of them another id",
                               process=s.key, owner=owners[s.key], folder=model.path),
                        file=s.filename, element_id=s.key)
                for s in own if owners.get(s.key) not in (None, model.path)]
    if problems:
        raise InvalidModel(Phrase("the process model '%(folder)s' was refused: a process id of its files is already "
                                  "another folder's (%(owners)s); nothing was deployed", folder=model.path,
                                  owners=", ".join(sorted({owners[p.element_id or ""] for p in problems}))),
                           problems)
    return own


def _owners(read: Callable[[Executable], Any], keys: list[str]) -> dict[str, str | None]:
    """The model folder of the newest version of each process id already deployed (None: files on their own)."""
    owners: dict[str, str | None] = {}
    for row in read(select(_d.c.key, _d.c.model_path).where(_d.c.key.in_(sorted(set(keys))))
                        .order_by(_d.c.key, _d.c.version)):
        owners[row.key] = row.model_path
    return owners


def record_process_model(uow: UnitOfWork, model: DeployProcessModel) -> dict[str, Any]:
    """Store the model's names and primary process (the newest deployment's); whether they changed."""
    values = {"display_name": model.display_name, "description": model.description,
              "primary_file_name": model.primary_file_name, "primary_process_id": model.primary_process_id}
    stored = uow.read(select(_m).where(_m.c.path == model.path)).first()
    changed = stored is None or any(getattr(stored, k) != v for k, v in values.items())
    if stored is None:
        uow.execute(insert(_m).values(path=model.path, deployed_by=model.actor, deployed_at=uow.now, **values))
    elif changed:
        uow.execute(update(_m).where(_m.c.path == model.path)
                    .values(deployed_by=model.actor, deployed_at=uow.now, **values))
    if changed:
        uow.record("process_model_deployed", actor=model.actor, model=model.path,
                   display_name=model.display_name)
    return {"path": model.path, "display_name": model.display_name, "description": model.description,
            "primary_process_id": model.primary_process_id, "changed": changed}
