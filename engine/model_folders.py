"""spiff-arena process model folders on disk, read into :class:`DeployProcessModel` commands.

spiff-arena keeps its models in a tree: a *process group* is a folder with ``process_group.json``, a *process
model* a folder with ``process_model.json`` (display name, description, primary file and process) and its BPMN,
DMN and JSON files side by side. A model is known by its folder's path from the root of the groups
(``misc/category_number_one/hello_world``), and a call activity or business rule task may name a process or a
decision of any other model. This module finds the root, the models below a folder, and for each model the
other models' files its calls need, so each model is deployed on its own, in its own transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from engine.bpmn.safe_xml import parse_xml
from engine.commands.process_models import MODEL_FILE
from engine.commands.requests import DeployProcessModel
from engine.errors import HuhuaError, InvalidInput, Problem

GROUP_FILE = "process_group.json"
#: The files of a model folder that are deployed: its diagrams, decision tables and JSON (schemas, data).
FOLDER_SUFFIXES = (".bpmn", ".dmn", ".json")
#: A ``process_model.json`` is a few hundred bytes; anything far larger is not one.
MAX_MODEL_FILE_BYTES = 1_048_576


@dataclass(frozen=True)
class ModelFolder:
    """One process model as its folder holds it: identity, names, primary process and files (by name)."""

    path: str
    directory: Path
    display_name: str
    description: str
    primary_file_name: str
    primary_process_id: str
    files: tuple[tuple[str, bytes], ...]

    def command(self, actor: str, context: tuple[tuple[str, bytes], ...] = (),
                source: str = "cli") -> DeployProcessModel:
        """Its deploy command, with ``context``: the other models' files its calls need."""
        return DeployProcessModel(path=self.path, display_name=self.display_name, description=self.description,
                                  primary_file_name=self.primary_file_name,
                                  primary_process_id=self.primary_process_id, files=self.files, actor=actor,
                                  context=context, source=source)


def holds_process_models(directory: Path) -> bool:
    """Whether ``directory`` is a process model folder or has one somewhere below it."""
    return directory.is_dir() and ((directory / MODEL_FILE).is_file() or next(
        (True for p in directory.rglob(MODEL_FILE) if p.is_file()), False))


def group_root(directory: Path) -> Path:
    """The folder model paths are counted from: above the outermost of the process groups holding ``directory``."""
    directory = directory.resolve()
    root = directory.parent if (directory / MODEL_FILE).is_file() else directory
    while (root / GROUP_FILE).is_file() and root.parent != root:
        root = root.parent
    return root


def model_directories(directory: Path) -> list[Path]:
    """Every process model folder at or below ``directory``, in path order."""
    directory = directory.resolve()
    if (directory / MODEL_FILE).is_file():
        return [directory]
    return sorted(p.parent for p in directory.rglob(MODEL_FILE) if p.is_file())


def read_model(directory: Path, root: Path) -> ModelFolder:
    """The model in ``directory``, named by its path from ``root``; InvalidInput naming the file and field."""
    path = directory.resolve().relative_to(root.resolve()).as_posix()
    where = f"{path}/{MODEL_FILE}"
    source = directory / MODEL_FILE
    if source.stat().st_size > MAX_MODEL_FILE_BYTES:
        raise InvalidInput(f"{where} is larger than {MAX_MODEL_FILE_BYTES} bytes", [Problem("too large", file=where)])
    try:
        fields = json.loads(source.read_bytes().decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        line = getattr(err, "lineno", None)
        raise InvalidInput(f"{where} is not JSON: {err}", [Problem("not JSON", file=where, line=line)]) from None
    if not isinstance(fields, dict):
        raise InvalidInput(f"{where} must hold a JSON object", [Problem("not an object", file=where)])

    def text(field: str, required: bool) -> str:
        value = fields.get(field)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or (required and not value.strip()):
            raise InvalidInput(f"{where}: {field} must be a non-empty text" if required else
                               f"{where}: {field} must be a text", [Problem("missing or not a text", file=where,
                                                                            field=field)])
        return value.strip()

    files = tuple((p.name, p.read_bytes()) for p in sorted(directory.iterdir())
                  if p.is_file() and p.name.endswith(FOLDER_SUFFIXES) and p.name != MODEL_FILE)
    primary_file = text("primary_file_name", False)
    if not primary_file:
        what = "its BPMN files" if any(n.endswith(".bpmn") for n, _ in files) else "it holds no BPMN file"
        raise InvalidInput(f"{where} names no primary_file_name, so the model has no process to start ({what}); "
                           "name the BPMN file whose process starts the model",
                           [Problem("missing", file=where, field="primary_file_name")])
    return ModelFolder(path=path, directory=directory, display_name=text("display_name", False) or directory.name,
                       description=text("description", False), primary_file_name=primary_file,
                       primary_process_id=text("primary_process_id", True), files=files)


@dataclass
class _FileRefs:
    """What one file defines (process and decision ids) and what it calls (called elements, decisions)."""

    defines: set[str]
    calls: set[str]


def file_refs(name: str, content: bytes, max_bytes: int) -> _FileRefs:
    """The ids ``name`` defines and calls; nothing for a file that is not well-formed XML (its deploy says why)."""
    if not name.endswith((".bpmn", ".dmn")):
        return _FileRefs(set(), set())
    try:
        tree = parse_xml(content, name, max_bytes)
    except HuhuaError:
        return _FileRefs(set(), set())
    defines, calls = set(), set()
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue
        local = etree.QName(element).localname
        if local in ("process", "decision") and element.get("id"):
            defines.add(element.get("id"))
        elif local == "callActivity" and (element.get("calledElement") or "").strip():
            calls.add(element.get("calledElement").strip())
        elif local == "calledDecisionId" and (element.text or "").strip():
            calls.add(element.text.strip())
        for attribute, value in element.attrib.items():
            if etree.QName(attribute).localname == "decisionRef" and value.strip():
                calls.add(value.strip())
    return _FileRefs(defines, calls)


class CallIndex:
    """Which model's file defines each process and decision id, for the files a model's calls need from others.

    Built on first need from ``folders`` (all models below the root); the first folder in path order wins an id
    two folders define (the other is refused when it is deployed).
    """

    def __init__(self, folders: Callable[[], list[ModelFolder]], max_bytes: int) -> None:
        self._folders, self._max_bytes = folders, max_bytes
        self._providers: dict[str, tuple[str, bytes]] | None = None
        self._refs: dict[str, _FileRefs] = {}

    def _refs_of(self, name: str, content: bytes) -> _FileRefs:
        if name not in self._refs:
            self._refs[name] = file_refs(name, content, self._max_bytes)
        return self._refs[name]

    def _provider_of(self, identifier: str) -> tuple[str, bytes] | None:
        if self._providers is None:
            self._providers = {}
            for folder in sorted(self._folders(), key=lambda f: f.path):
                for name, content in folder.files:
                    for defined in self._refs_of(f"{folder.path}/{name}", content).defines:
                        self._providers.setdefault(defined, (f"{folder.path}/{name}", content))
        return self._providers.get(identifier)

    def context_for(self, folder: ModelFolder) -> tuple[tuple[str, bytes], ...]:
        """Other models' files that define what ``folder``'s files call, and what those call in turn."""
        refs = [self._refs_of(f"{folder.path}/{name}", content) for name, content in folder.files]
        defined = set().union(*(r.defines for r in refs))
        wanted = sorted(set().union(*(r.calls for r in refs)) - defined)
        found: dict[str, bytes] = {}
        while wanted:
            provider = self._provider_of(wanted.pop())
            if provider is None or provider[0] in found or provider[0].startswith(f"{folder.path}/"):
                continue
            found[provider[0]] = provider[1]
            more = self._refs_of(*provider)
            defined |= more.defines
            wanted += sorted(more.calls - defined)
        return tuple(sorted(found.items()))


def commands_for(directory: Path, actor: str, max_bytes: int, source: str = "cli",
                 ) -> Iterator[tuple[str, DeployProcessModel | HuhuaError]]:
    """(model path, its deploy command or why it cannot be read) for every model at or below ``directory``."""
    root = group_root(directory)
    below = model_directories(directory)
    read: dict[Path, ModelFolder | HuhuaError] = {}

    def folder(path: Path) -> ModelFolder | HuhuaError:
        if path not in read:
            try:
                read[path] = read_model(path, root)
            except HuhuaError as err:
                read[path] = err
        return read[path]

    def everything() -> list[ModelFolder]:
        return [f for f in map(folder, model_directories(root)) if isinstance(f, ModelFolder)]

    index = CallIndex(everything, max_bytes)
    for path in below:
        found = folder(path)
        name = path.resolve().relative_to(root).as_posix()
        yield name, found if isinstance(found, HuhuaError) else found.command(actor, index.context_for(found), source)


def deploy_each(execute: Callable[[DeployProcessModel], dict[str, Any]], directory: Path, actor: str,
                max_bytes: int, source: str = "cli") -> Iterator[tuple[str, dict[str, Any] | HuhuaError]]:
    """Deploy every model at or below ``directory``, each in its own deployment: (model path, what the deployment
    answered or why the model was refused). A refused model does not stop the others."""
    for path, command in commands_for(directory, actor, max_bytes, source):
        try:
            if isinstance(command, HuhuaError):
                raise command
            yield path, execute(command)
        except HuhuaError as err:
            yield path, err
