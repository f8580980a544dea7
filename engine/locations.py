"""Where the shipped files (process library, default configuration, web assets) and the data live.

Huhua runs two ways. From a source checkout (``scripts/run.sh``, an editable install, the tests) everything sits in
the checkout: ``processes/``, ``config/``, ``build/frontend/`` and ``data/``. From an installed wheel there is no
checkout: the wheel carries the same files inside the package (``engine/shipped/``, put there by ``setup.py`` at
build time), and the data goes to the person's data directory (``~/.local/share/huhua`` on Linux), since the
current folder may be anywhere and site-packages is no place for a database. The ``HUHUA_*`` variables
(:mod:`engine.config`) override either.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import platformdirs

#: The folder that holds ``engine/``: the checkout, or site-packages for an installed wheel.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: Where a wheel keeps what a checkout has at its top level; absent in a checkout.
SHIPPED = Path(str(files("engine") / "shipped"))


def from_checkout() -> bool:
    """Whether this engine runs from a source checkout rather than from an installed wheel."""
    return not SHIPPED.is_dir()


def process_library() -> Path:
    """The shipped process library, deployed (what changed) at every start."""
    return PROJECT_ROOT / "processes" if from_checkout() else SHIPPED / "processes"


def default_config(name: str) -> Path:
    """A shipped configuration file (``schedules.toml``, ``connectors.toml``, ``notifications.toml``)."""
    return (PROJECT_ROOT / "config" if from_checkout() else SHIPPED / "config") / name


def frontend_build() -> Path:
    """The pages' scripts and style sheets, hashed and precompressed by ``scripts/build_frontend.mjs``."""
    return PROJECT_ROOT / "build" / "frontend" if from_checkout() else SHIPPED / "frontend"


def default_data_dir() -> Path:
    """The SQLite database, the secret key and compiled catalogues: ``data/`` in a checkout, else the user's."""
    return PROJECT_ROOT / "data" if from_checkout() else Path(platformdirs.user_data_dir("huhua", appauthor=False))
