"""``huhua diagram layout``: write the diagram (BPMN DI: pools, lanes, shapes, edges) into model files.

It reads and writes only the files it is given (and reads the other .bpmn files beside them, for the fan-outs
that say where and with whom a process runs); no database, no personal data.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from engine.bpmn import diagram
from engine.cli.base import emit, guard, json_option, main
from engine.errors import InvalidInput, Problem

#: Exit code of ``--check`` when a file would change (or its diagram misses elements).
WOULD_CHANGE = 1
INCOMPLETE = "incomplete diagram"


@main.group(name="diagram")
def diagram_group() -> None:
    """Diagrams (BPMN DI) of model files."""


@diagram_group.command(name="layout")
@click.argument("paths", nargs=-1, required=True)
@click.option("--force", is_flag=True, help="Lay out again files that already have a diagram.")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if a file would change or misses shapes.")
@json_option
def layout(paths: tuple[str, ...], force: bool, check: bool, as_json: bool) -> None:
    """Lay out BPMN files (or every .bpmn in a directory): a pool per process, a lane per role, left to right.

    A file that has a diagram is left as it is unless --force is given (--check still reports the elements its
    diagram does not draw). Run again, it writes the same bytes.
    """
    outcome: dict[str, str] = {}

    def run() -> None:
        files = _bpmn_files(paths)
        facts = diagram.read_library(p.read_bytes() for folder in sorted({f.parent for f in files})
                                     for p in sorted(folder.glob("*.bpmn")))
        for path in files:
            content = path.read_bytes()
            if not force and diagram.has_diagram(content, path.name):
                missing = diagram.missing_from_diagram(content, path.name)
                outcome[str(path)] = (f"{INCOMPLETE}: {', '.join(missing[:5])}{' …' if len(missing) > 5 else ''} "
                                      "not drawn (--force lays it out again)" if missing else
                                      "kept (has a diagram; --force lays it out again)")
                continue
            laid_out = diagram.lay_out(content, path.name, facts)
            if laid_out == content:
                outcome[str(path)] = "unchanged"
            elif check:
                outcome[str(path)] = "would change"
            else:
                path.write_bytes(laid_out)
                outcome[str(path)] = "laid out"
        emit(as_json, outcome, lambda r: "\n".join(f"{name}: {state}" for name, state in r.items()))

    guard(as_json, run)
    if check and any(state == "would change" or state.startswith(INCOMPLETE) for state in outcome.values()):
        sys.exit(WOULD_CHANGE)


def _bpmn_files(paths: tuple[str, ...]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files += sorted(path.glob("*.bpmn"))
        elif path.is_file() and path.suffix == ".bpmn":
            files.append(path)
        else:
            raise InvalidInput(f"{raw} is not a .bpmn file or a directory",
                               [Problem("not a .bpmn file or a directory", file=raw)])
    if not files:
        raise InvalidInput("no .bpmn files were found in the given paths")
    return files
