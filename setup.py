"""The wheel's build step: the package plus what a checkout keeps at its top level, so a wheel runs anywhere.

A checkout has ``processes/`` (the process library), ``config/*.toml`` (the shipped configuration) and
``build/frontend/`` (the pages' bundles, made from package.json by ``scripts/build_frontend.mjs``). A wheel carries
them inside the package as ``engine/shipped/{processes,config,frontend}``, where :mod:`engine.locations` finds them.
The bundles are rebuilt here when missing or stale, by the same rule as ``scripts/setup.sh`` (``ensure_frontend``):
a stamp named by a digest of the build's inputs. An editable install (what ``scripts/setup.sh`` makes) copies
nothing and builds nothing: it runs from the checkout, whose ``scripts/setup.sh`` builds the bundles itself.
Everything else is declared in pyproject.toml.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.errors import SetupError

ROOT = Path(__file__).resolve().parent
FRONTEND = ROOT / "build" / "frontend"
FRONTEND_SOURCES = ROOT / "engine" / "web" / "frontend"
LOCK = ROOT / "package-lock.json"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def frontend_stamp() -> Path:
    """The stamp a build of the current inputs leaves: ``sha256sum`` of each input, in byte order of their paths,
    digested again (scripts/setup.sh computes the same with find, ``LC_ALL=C sort`` and sha256sum)."""
    inputs = [LOCK, ROOT / "scripts" / "build_frontend.mjs", *(p for p in FRONTEND_SOURCES.rglob("*") if p.is_file())]
    names = sorted((p.relative_to(ROOT).as_posix(), p) for p in inputs)
    listing = "".join(f"{_digest(path)}  {name}\n" for name, path in names)
    return FRONTEND / f".inputs-{hashlib.sha256(listing.encode()).hexdigest()[:16]}"


def ensure_frontend() -> None:
    """Build the bundles unless a build of the current inputs is there; ``npm ci`` first when node_modules is stale."""
    stamp = frontend_stamp()
    if stamp.is_file():
        return
    npm, node = shutil.which("npm"), shutil.which("node")
    if not npm or not node:
        raise SetupError(f"the web assets ({FRONTEND.relative_to(ROOT)}/) are missing or stale and building them "
                         "needs Node.js and npm, which are not on PATH: install them (Debian: apt-get install nodejs "
                         "npm) and build the wheel again")
    installed = ROOT / "node_modules" / f".installed-{_digest(LOCK)[:16]}"
    if not installed.is_file():
        _run([npm, "ci", "--no-audit", "--no-fund"], "npm ci")
        installed.touch()
    _run([node, "scripts/build_frontend.mjs"], "node scripts/build_frontend.mjs")
    stamp.touch()


def _run(command: list[str], what: str) -> None:
    print(f"huhua: {what} (building the web assets for the wheel)", flush=True)
    if subprocess.run(command, cwd=ROOT, check=False).returncode != 0:
        raise SetupError(f"{what} failed (its output is above); the wheel needs the web assets")


class BuildWithShippedFiles(build_py):
    """``build_py`` that also puts the process library, the shipped configuration and the web assets in the package."""

    def run(self) -> None:
        if self.editable_mode:
            super().run()
            return
        shutil.rmtree(self.build_lib, ignore_errors=True)  # an earlier build's files (modules, bundles) must not linger
        super().run()
        ensure_frontend()
        shipped = Path(self.build_lib) / "engine" / "shipped"
        shutil.copytree(ROOT / "processes", shipped / "processes", ignore=shutil.ignore_patterns("__pycache__", ".*"))
        (shipped / "config").mkdir(parents=True)
        for toml in sorted((ROOT / "config").glob("*.toml")):
            shutil.copy2(toml, shipped / "config" / toml.name)
        shutil.copytree(FRONTEND, shipped / "frontend", ignore=shutil.ignore_patterns(".*"))


setup(cmdclass={"build_py": BuildWithShippedFiles})
