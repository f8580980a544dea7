"""Which language a DMN file's cells and expressions are written in, as the file says.

FEEL is DMN's default and what dmn-js writes; a file keeps SpiffWorkflow's Python cells only by declaring
``expressionLanguage="python"`` on its ``definitions`` (or on its expressions). A file is in one language:
FEEL declared somewhere and Python elsewhere is refused at deploy (:mod:`engine.dmn.check`).
"""

from __future__ import annotations

from typing import Any

FEEL, PYTHON = "feel", "python"

#: the FEEL URIs of DMN 1.1 to 1.5 (and the short name some editors write)
FEEL_URIS = frozenset({
    "http://www.omg.org/spec/FEEL/20140401", "http://www.omg.org/spec/DMN/20180521/FEEL/",
    "https://www.omg.org/spec/DMN/20191111/FEEL/", "https://www.omg.org/spec/DMN/20211108/FEEL/",
    "https://www.omg.org/spec/DMN/20230324/FEEL/", "feel", "FEEL",
})
PYTHON_NAMES = frozenset({"python", "Python", "python3"})


def language(uri: str | None) -> str | None:
    """``feel``, ``python``, or None for a URI that names neither (None for no URI too)."""
    if uri is None or not uri.strip():
        return None
    uri = uri.strip()
    return FEEL if uri in FEEL_URIS else PYTHON if uri in PYTHON_NAMES else "?"


def declared(root: Any) -> set[str]:
    """Every language the file declares, on its definitions or any expression (``?`` for one not known)."""
    found = set()
    for element in root.iter():
        if isinstance(element.tag, str):
            said = language(element.get("expressionLanguage"))
            if said is not None:
                found.add(said)
    return found


def dialect(root: Any) -> str:
    """The file's language: Python when it declares Python anywhere, else FEEL."""
    return PYTHON if PYTHON in declared(root) else FEEL
