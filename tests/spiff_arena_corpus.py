"""A developer's survey of a folder of spiff-arena process models (not part of the test suite).

    PYTHONPATH=. .venv/bin/python -m tests.spiff_arena_corpus PATH_TO_FOLDER_OF_MODELS [--bare] [--list]

Every ``process_model.json`` below PATH is a model (with ``--bare`` also every folder of BPMN files without one,
as spiff-arena's own backend tests load them: the primary file is the one named like the folder, else the first
whose process no other file calls). Each model is loaded with plain SpiffWorkflow (``SpiffBpmnParser``, its
files and the files its calls need from other models) and deployed with Huhua into a throw-away SQLite
database, model by model in path order as ``huhua deploy PATH`` does. The table counts what loads and deploys,
and the refusals by cause: the first problem's lint rule, or its message with names and numbers taken out, and
whether it names the element and the change to make (judged by its wording: an instruction such as "write …",
"remove …" or "deploy it beside …" after the diagnosis). With ``--alone`` each model goes into a database of its
own, as spiff-arena's backend tests load them one at a time (their folders reuse process ids freely, which one
database refuses).
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from engine.bootstrap import bootstrap
from engine.commands.process_models import MODEL_FILE
from engine.config import Settings, load_settings
from engine.errors import HuhuaError
from engine.model_folders import CallIndex, ModelFolder, file_refs, group_root, model_directories, read_model

MAX_BYTES = 5 * 1024 * 1024
_XML = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


@dataclass
class Outcome:
    path: str
    spiff: str | None  # None: loads; else why not
    huhua: str | None  # None: deploys; else the cause
    names_element: bool = False
    detail: str = ""


def bare_folders(directory: Path, root: Path) -> list[ModelFolder]:
    """Folders with BPMN files and no process_model.json (nor one above them), read as spiff-arena's tests do."""
    models = {p.resolve() for p in model_directories(directory)}
    found = []
    for folder in sorted({p.parent.resolve() for p in directory.rglob("*.bpmn")}):
        if folder in models or any(m in folder.parents for m in models) or (folder / MODEL_FILE).exists():
            continue
        files = tuple((p.name, p.read_bytes()) for p in sorted(folder.iterdir())
                      if p.is_file() and p.name.endswith((".bpmn", ".dmn", ".json")))
        primary, process = _guess_primary(folder.name, files)
        found.append(ModelFolder(folder.relative_to(root).as_posix(), folder, folder.name, "", primary, process,
                                 files))
    return found


def _guess_primary(name: str, files: tuple[tuple[str, bytes], ...]) -> tuple[str, str]:
    refs = {n: file_refs(n, c, MAX_BYTES) for n, c in files if n.endswith(".bpmn")}
    called = set().union(*(r.calls for r in refs.values())) if refs else set()
    named = [n for n in refs if n.removesuffix(".bpmn") in (name, name.replace("-", "_"))]
    ordered = named + [n for n in refs if n not in named]
    for file_name in ordered:
        processes = _executable_processes(dict(files)[file_name])
        if processes and (file_name in named or not set(processes) <= called):
            return file_name, next((p for p in processes if p not in called), processes[0])
    return (ordered[0], "") if ordered else ("", "")


def _executable_processes(content: bytes) -> list[str]:
    try:
        root = etree.fromstring(content, _XML)
    except etree.XMLSyntaxError:
        return []
    return [e.get("id") for e in root.iter("{*}process") if e.get("isExecutable", "true") != "false" and e.get("id")]


def spiff_loads(folder: ModelFolder, context: tuple[tuple[str, bytes], ...]) -> str | None:
    """None when plain SpiffWorkflow builds the primary process and what it calls; else the error's class."""
    from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

    parser = SpiffBpmnParser()
    try:
        for name, content in [*folder.files, *context]:
            if name.endswith(".bpmn"):
                parser.add_bpmn_xml(etree.ElementTree(etree.fromstring(content, _XML)), filename=name)
            elif name.endswith(".dmn"):
                parser.add_dmn_xml(etree.fromstring(content, _XML), filename=name)
        if not folder.primary_process_id:
            return "no primary process"
        parser.get_spec(folder.primary_process_id)
        parser.get_subprocess_specs(folder.primary_process_id)
    except Exception as err:  # everything SpiffWorkflow raises is an answer here
        return f"{type(err).__name__}: {_shape(str(err).splitlines()[0] if str(err) else '')}"
    return None


def _shape(message: str) -> str:
    """A message's class: quoted names, ids and numbers taken out, cut short (an XSD refusal keeps the element's
    and the attribute's names: they say which spiff-arena extension is not understood)."""
    xsd = re.match(r"Element '(?:\{[^}]*\})?(\w+)', attribute '(?:\{[^}]*\})?(\w+)': (The attribute|.*atomic type)",
                   message)
    if xsd:
        what = "not allowed" if xsd.group(3) == "The attribute" else "not of its type"
        return f"XSD: attribute {xsd.group(2)} of {xsd.group(1)} {what}"
    message = re.sub(r"\{[^}]*\}", "", message)
    message = re.sub(r"'[^']*'|\"[^\"]*\"|“[^”]*”|\([^)]*\)", "…", message)
    message = re.sub(r"\b[A-Za-z]+_[A-Za-z0-9_]+\b|\b\w*\d\w*\b", "#", message)
    return message.strip()[:90]


def cause(error: HuhuaError) -> tuple[str, bool, str]:
    """(cause, whether the first problem names an element, the first problem as said)."""
    first = error.problems[0] if error.problems else None
    said = str(first) if first else error.message
    if first is None:
        return _shape(error.message), False, said
    rule = re.search(r"\[rule: ([\w-]+)", first.message)
    return (f"rule {rule.group(1)}" if rule else _shape(first.message)), bool(first.element_id), said


def survey(directory: Path, bare: bool, alone: bool = False) -> list[Outcome]:
    """Each model's outcome; ``alone``: each deployed into a database of its own (no clash with the others)."""
    root = group_root(directory)
    folders: list[ModelFolder] = []
    outcomes: list[Outcome] = []
    for path in model_directories(directory):
        try:
            folders.append(read_model(path, root))
        except HuhuaError as err:
            why, names, said = cause(err)
            outcomes.append(Outcome(path.relative_to(root).as_posix(), "process_model.json unreadable", why, names,
                                    said))
    if bare:
        folders += bare_folders(directory, root)
    folders.sort(key=lambda f: f.path)
    index = CallIndex(lambda: folders, MAX_BYTES)
    with tempfile.TemporaryDirectory() as scratch:
        template = Path(scratch) / "template.db"
        bootstrap(_settings(scratch, template)).close()  # migrated once; each database alone is a copy of it
        huhua = None
        if not alone:
            shutil.copyfile(template, Path(scratch) / "corpus.db")
            huhua = bootstrap(_settings(scratch, Path(scratch) / "corpus.db"), upgrade=False)
        try:
            for number, folder in enumerate(folders):
                context = index.context_for(folder)
                outcome = Outcome(folder.path, spiff_loads(folder, context), None)
                engine = huhua
                if engine is None:
                    shutil.copyfile(template, Path(scratch) / f"alone{number}.db")
                    engine = bootstrap(_settings(scratch, Path(scratch) / f"alone{number}.db"), upgrade=False)
                try:
                    if not folder.primary_file_name or not folder.primary_process_id:
                        raise HuhuaError("the folder has no primary process to start")
                    engine.execute(folder.command("admin", context))
                except HuhuaError as err:
                    outcome.huhua, outcome.names_element, outcome.detail = cause(err)
                finally:
                    if engine is not huhua:
                        engine.close()
                outcomes.append(outcome)
        finally:
            if huhua is not None:
                huhua.close()
    return sorted(outcomes, key=lambda o: o.path)


def _settings(scratch: str, database: Path) -> Settings:
    return load_settings({"HUHUA_DATA_DIR": scratch, "HUHUA_DATABASE_URL": f"sqlite:///{database}"})


#: Words with which a refusal tells its reader what to do ("write escalationCode=…", "remove …", "deploy it beside …").
_CHANGE = re.compile(r"(?:[;:(]|, or|\bor|\bthen|\be\.g\.)\s*(?:write|remove|use|give|deploy|model|name|draw|"
                     r"correct|move|add|keep|pass|assign|read|build|put|take|list|set|leave|configure|connect|let|"
                     r"make)\b|\binstead\b")


def names_change(said: str) -> bool:
    """Whether a refusal says what to change (an instruction after its diagnosis), judged by its wording."""
    return bool(_CHANGE.search(said))


def report(outcomes: list[Outcome], listing: bool) -> str:
    total = len(outcomes)
    spiff = sum(o.spiff is None for o in outcomes)
    huhua = sum(o.huhua is None for o in outcomes)
    both = sum(o.spiff is None and o.huhua is None for o in outcomes)
    lines = ["| | models |", "|---|---:|", f"| models | {total} |", f"| load in SpiffWorkflow | {spiff} |",
             f"| deploy in Huhua | {huhua} |", f"| load in SpiffWorkflow and deploy in Huhua | {both} |",
             f"| load in SpiffWorkflow, refused by Huhua | {spiff - both} |",
             f"| refused by SpiffWorkflow, deployed by Huhua | {huhua - both} |", "",
             "| Huhua refuses because (first problem) | models | of them load in SpiffWorkflow | name the element "
             "| name the change |", "|---|---:|---:|---:|---:|"]
    refused = [o for o in outcomes if o.huhua is not None]
    by_cause = Counter(o.huhua for o in refused)
    for why, count in by_cause.most_common():
        same = [o for o in refused if o.huhua == why]
        lines.append(f"| {why} | {count} | {sum(o.spiff is None for o in same)} | "
                     f"{sum(o.names_element for o in same)} | {sum(names_change(o.detail) for o in same)} |")
    spiff_causes = Counter(o.spiff for o in outcomes if o.spiff is not None)
    lines += ["", "| SpiffWorkflow fails because | models |", "|---|---:|"]
    lines += [f"| {why} | {count} |" for why, count in spiff_causes.most_common()]
    if listing:
        lines += ["", "| model | SpiffWorkflow | Huhua |", "|---|---|---|"]
        lines += [f"| {o.path} | {o.spiff or 'loads'} | {o.detail or 'deploys'} |" for o in outcomes]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("path", type=Path)
    arguments.add_argument("--bare", action="store_true", help="also folders of BPMN files without process_model.json")
    arguments.add_argument("--list", action="store_true", help="one line per model, too")
    arguments.add_argument("--alone", action="store_true",
                           help="deploy each model into a database of its own (as spiff-arena's tests load them)")
    given = arguments.parse_args(argv)
    if not given.path.is_dir():
        print(f"{given.path} is not a directory", file=sys.stderr)
        return 2
    print(report(survey(given.path, given.bare, given.alone), given.list))
    return 0


if __name__ == "__main__":
    sys.exit(main())
