"""`huhua backup` on PostgreSQL: the documented ``pg_dump -Fc``, written beside the target, listed back by
``pg_restore --list`` (a whole archive holding the schema revision) and renamed into place.

Restoring is not done in place on PostgreSQL: the dump is restored into a new database with ``pg_restore`` and the
processes are pointed at it (docs/operations.md, "Backups and restore"), so the running database is never half
replaced.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from engine.errors import InvalidInput
from engine.store.backup_files import check_target, partial_beside, rename_durably

#: Where Debian puts the programs of each PostgreSQL major version (only a wrapper of them may be on PATH).
DEBIAN_BINARIES = "/usr/lib/postgresql/*/bin"
#: The procedure, for errors that must send the reader to it.
PROCEDURE = 'docs/operations.md, "Backups and restore"'


@dataclass(frozen=True)
class Dumped:
    path: Path
    size_bytes: int
    #: Entries of the archive (tables, their data, indexes, ...), as ``pg_restore --list`` counts them.
    entries: int


def find_program(name: str) -> Path | None:
    """``name`` (pg_dump, pg_restore, ...) on PATH, else in the newest of Debian's PostgreSQL versions."""
    found = shutil.which(name)
    if found:
        return Path(found)
    for folder in sorted(glob.glob(DEBIAN_BINARIES), key=_major_version, reverse=True):
        if os.access(Path(folder) / name, os.X_OK):
            return Path(folder) / name
    return None


def dump(url: str, target: Path, *, force: bool = False) -> Dumped:
    """``pg_dump -Fc`` of the database of ``url`` into ``target``, checked and renamed into place."""
    pg_dump, pg_restore = _program("pg_dump"), _program("pg_restore")
    target = target.absolute()
    check_target(target, force)
    conninfo, environment = _libpq(url)
    with partial_beside(target) as partial:
        _run([str(pg_dump), "--format=custom", f"--file={partial}", f"--dbname={conninfo}"], environment)
        listing = _run([str(pg_restore), "--list", str(partial)], environment)
        entries = [line for line in listing.splitlines() if line and not line.startswith(";")]
        if not any("TABLE DATA public alembic_version" in line for line in entries):
            raise InvalidInput(f"the database at {_shown(url)} is not a Huhua database: the dump holds no schema "
                               "revision (alembic_version); nothing was written")
        rename_durably(partial, target)
    return Dumped(target, target.stat().st_size, len(entries))


def _program(name: str) -> Path:
    found = find_program(name)
    if found is None:
        raise InvalidInput(f"{name} was not found (on PATH or in {DEBIAN_BINARIES}): install the PostgreSQL client "
                           "programs of the server's major version or newer (Debian: postgresql-client), or back up "
                           f"with pg_dump -Fc yourself as {PROCEDURE} shows")
    return found


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """The URL as libpq reads it, without its password, which goes in the environment (not on a command line that
    every user of the machine can read)."""
    parsed = make_url(url)
    environment = dict(os.environ)
    if parsed.password:
        environment["PGPASSWORD"] = str(parsed.password)
    return parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False), environment


def _run(command: list[str], environment: dict[str, str]) -> str:
    done = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        said = "\n".join(done.stderr.strip().splitlines()[-5:]) or f"exit code {done.returncode}"
        raise InvalidInput(f"{Path(command[0]).name} failed, nothing was written: {said}")
    return done.stdout


def _shown(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=True)


def _major_version(folder: str) -> int:
    version = Path(folder).parent.name
    return int(version) if version.isdigit() else 0
