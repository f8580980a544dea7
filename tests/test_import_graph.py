"""No module of engine/, workers/ or webhooks/ imports itself back through the modules it imports.

A cycle means neither side can be read, tested or moved without the other, and it is usually a sign that code
lives in the wrong module; the cure is to move that code, not to hide the import inside a function (imports in
functions count here, since they run). The graph is grimp's (the library under import-linter): it reads every
module with ``ast``, resolves relative imports (``from . import x``, ``from ..a import b``), counts imports
anywhere in a module, and records ``from package import submodule`` as an import of the submodule. Imports
under ``if TYPE_CHECKING:`` are left out: they never execute, and annotations are where a type-only mutual
reference belongs. Importing ``a.b.c`` counts as importing ``a.b.c`` only, not the ``__init__`` of ``a`` and
``a.b`` that Python also runs; a package ``__init__`` that imports its own children therefore closes a cycle
only if a child imports the package (``from engine.documents import X``) — which this test does report.

grimp answers the reachability questions (what a module reaches, what reaches it, the shortest chain) in
compiled code; the few lines here only turn those answers into named cycles.
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import grimp
import pytest

import engine

PACKAGES = ("engine", "workers", "webhooks")
PROJECT = Path(__file__).resolve().parent.parent


def import_graph(*packages: str) -> grimp.ImportGraph:
    """The static imports among the modules of ``packages``, TYPE_CHECKING-only imports left out."""
    return grimp.build_graph(*packages, cache_dir=None, exclude_type_checking_imports=True)


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """One shortest cycle ``[a, b, …, a]`` for each group of modules that import one another, sorted.

    A group is a strongly connected component: the modules both reachable from and reaching a module. Each
    group is named by its shortest cycle through its alphabetically first module; its other members are
    reachable from that cycle and show up again once it is broken.
    """
    seen: set[str] = set()
    cycles = []
    for module in sorted(graph.modules):
        if module in seen:
            continue
        group = graph.find_upstream_modules(module) & graph.find_downstream_modules(module)
        if not group:
            continue
        seen |= group | {module}
        back_chains = [graph.find_shortest_chain(importer=imported, imported=module)
                       for imported in graph.find_modules_directly_imported_by(module) if imported in group]
        shortest = min((chain for chain in back_chains if chain), key=lambda chain: (len(chain), chain))
        cycles.append([module, *shortest])
    return cycles


def describe(cycle: list[str], graph: grimp.ImportGraph) -> str:
    """``a -> b -> a`` and, under it, the line of each import."""
    lines = [" -> ".join(cycle)]
    for importer, imported in pairwise(cycle):
        for detail in graph.get_import_details(importer=importer, imported=imported):
            lines.append(f"    {importer} line {detail['line_number']}: {detail['line_contents']}")
    return "\n".join(lines)


def test_engine_workers_and_webhooks_have_no_import_cycles() -> None:
    assert Path(engine.__file__).resolve().parent.parent == PROJECT, "the graph must be this checkout's engine"
    graph = import_graph(*PACKAGES)
    cycles = import_cycles(graph)
    assert not cycles, "import cycles (move the code both sides need to a module of its own):\n" + "\n".join(
        describe(cycle, graph) for cycle in cycles)


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_a_cycle_through_relative_and_function_level_imports_is_reported(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path / "cyclic_sample", {
        "__init__.py": "",
        "a.py": "from . import b\n",
        "b.py": "from .sub import d\n",
        "sub/__init__.py": "",
        "sub/d.py": "def later():\n    from ..a import b\n    return b\n",  # closes a -> b -> sub.d -> a
        "c.py": "import cyclic_sample.a\n",  # imports into the cycle, is not part of it
        "e.py": "from . import f\n",
        "f.py": "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from . import e\n",  # types only: no cycle
    })
    monkeypatch.syspath_prepend(str(tmp_path))

    graph = import_graph("cyclic_sample")
    cycles = import_cycles(graph)

    assert cycles == [["cyclic_sample.a", "cyclic_sample.b", "cyclic_sample.sub.d", "cyclic_sample.a"]]
    assert describe(cycles[0], graph).splitlines() == [
        "cyclic_sample.a -> cyclic_sample.b -> cyclic_sample.sub.d -> cyclic_sample.a",
        "    cyclic_sample.a line 1: from . import b",
        "    cyclic_sample.b line 1: from .sub import d",
        "    cyclic_sample.sub.d line 2: from ..a import b",
    ]
