"""Backing up and restoring the embedded SQLite database, safely while Huhua runs.

A backup is SQLite's online backup API copying pages, a step at a time, from **one read snapshot**: WAL lets the
app go on writing meanwhile, and the copy is the database as it was at one instant. (Without the held snapshot
SQLite restarts a copy each time another connection writes, which under load means it never ends.) The copy is
made in a hidden file beside the target and checked there — ``PRAGMA integrity_check``, and a schema revision this
code knows — before one rename puts it in place, so the target is never half a backup.

A restore reads the backup through SQLite the same way, checks the copy, and swaps it in with one rename while it
holds the old database's lock; the old database is kept beside it (``….before-restore-<time>``). It refuses while
another process has the database open: switching the old database out of WAL mode needs every other connection
gone, and a process left running would keep writing to the file that was moved aside. Last, the restored
database is migrated to this code's schema (a backup from an older release).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from engine.errors import Conflict, InvalidInput, Problem, StorageFull
from engine.store import migration
from engine.store.backup_files import check_target, partial_beside, rename_durably
from engine.store.database import Database

#: Pages copied per step of the backup API (1 MiB of 4 KiB pages): progress is reported after each step.
PAGES_PER_STEP = 256
#: How long a restore waits for other connections to let go of the database before saying it is in use.
IN_USE_WAIT_SECONDS = 2.0

#: Told the pages copied so far and the pages in all, after each step.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Checked:
    """A database file that passed the checks: whole (integrity), a Huhua schema this code knows."""

    path: Path
    revision: str
    pages: int
    size_bytes: int


@dataclass(frozen=True)
class Restored:
    database: Path
    #: The revision of the backup, and the one the database was migrated to.
    backup_revision: str
    revision: str
    #: Where the database that was replaced is kept (None: there was none).
    kept: Path | None


def database_file(url: str) -> Path:
    """The file of a ``sqlite:///…`` URL."""
    name = make_url(url).database
    if not name or name == ":memory:":
        raise InvalidInput("the database is in memory: there is no file to back up or restore")
    return Path(name).absolute()


def back_up(url: str, target: Path, *, force: bool = False, progress: Progress | None = None) -> Checked:
    """Copy the database of ``url`` to ``target``, consistent while the app writes, checked, renamed into place."""
    source = database_file(url)
    target = target.absolute()
    if not source.is_file():
        raise InvalidInput(f"there is no database at {source} (HUHUA_DATABASE_URL, HUHUA_DATA_DIR)")
    check_target(target, force)
    if target.exists() and target.samefile(source):
        raise InvalidInput("the backup cannot be written over the database itself")
    with partial_beside(target) as partial:
        _copy(source, partial, progress)
        checked = check(partial, f"the copy of {source}")
        rename_durably(partial, target)
    return Checked(target, checked.revision, checked.pages, checked.size_bytes)


def restore(url: str, backup: Path, *, force: bool = False, progress: Progress | None = None,
            now: datetime | None = None) -> Restored:
    """Replace the database of ``url`` by ``backup`` (checked first), keep the old one beside it, migrate."""
    database = database_file(url)
    backup = backup.absolute()
    if not backup.is_file():
        raise InvalidInput(f"there is no backup at {backup}", [Problem("no such file", file=str(backup))])
    if database.exists():
        if backup.samefile(database):
            raise InvalidInput("the backup is the database itself")
        kept = database.with_name(f"{database.name}.before-restore-{(now or datetime.now()):%Y%m%d-%H%M%S}")
        if not force:
            raise InvalidInput(f"a database exists at {database}: restoring replaces it, so pass --force to do so "
                               f"(it is kept as {kept.name})")
    else:
        kept = None
        database.parent.mkdir(parents=True, exist_ok=True)
        for orphan in (Path(f"{database}-wal"), Path(f"{database}-journal")):
            if orphan.exists():  # SQLite would replay it onto the restored file
                raise InvalidInput(f"{orphan} is left without its database: move it away, then restore")
    with partial_beside(database) as partial:
        _copy(backup, partial, progress)
        checked = check(partial, str(backup))
        _like(partial, database)
        if kept is None:
            rename_durably(partial, database)
        else:
            _swap_in(partial, database, kept)
    engine = Database(url)
    try:
        migration.upgrade(engine)
        revision = migration.current_revision(engine) or ""
    finally:
        engine.dispose()
    return Restored(database, checked.revision, revision, kept)


def check(path: Path, called: str) -> Checked:
    """``path`` (``called`` so in errors) is a whole SQLite database with a Huhua schema this code knows, or a clear
    error says why not."""
    with _sqlite_errors(path), closing(sqlite3.connect(path, isolation_level=None)) as db:
        problems = [row[0] for row in db.execute("PRAGMA integrity_check(20)")]
        if problems != ["ok"]:
            raise InvalidInput(f"{called} is damaged (PRAGMA integrity_check)",
                               [Problem(p, file=called) for p in problems])
        try:
            revisions = [row[0] for row in db.execute("SELECT version_num FROM alembic_version")]
        except sqlite3.OperationalError:
            revisions = []
        pages = db.execute("PRAGMA page_count").fetchone()[0]
    if len(revisions) != 1:
        raise InvalidInput(f"{called} is not a Huhua database: it has no schema revision (alembic_version)")
    if not migration.is_known_revision(revisions[0]):
        raise InvalidInput(f"{called} has the schema revision {revisions[0]}, which this Huhua does not know "
                           f"(its newest is {migration.head_revision()}): it was made by a newer release; restore "
                           "it with that release or a later one")
    return Checked(path, revisions[0], pages, path.stat().st_size)


def _copy(source: Path, destination: Path, progress: Progress | None) -> None:
    """Page by page from one read snapshot of ``source`` into the empty database ``destination``, left as one
    self-contained file (rollback-journal mode: no -wal beside it to lose)."""
    def step(_status: int, remaining: int, total: int) -> None:
        if progress is not None:
            progress(total - remaining, total)

    with _sqlite_errors(source), closing(sqlite3.connect(source, isolation_level=None, timeout=30)) as reader, \
            closing(sqlite3.connect(destination, isolation_level=None)) as writer:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM sqlite_master").fetchone()  # the snapshot is taken here, and held
        try:
            reader.backup(writer, pages=PAGES_PER_STEP, progress=step)
        finally:
            reader.execute("ROLLBACK")
        writer.execute("PRAGMA journal_mode=DELETE")


def _like(partial: Path, database: Path) -> None:
    """The restored file gets the permissions (and, for root, the owner) of the database it replaces, or those of a
    new file; the hidden copy was made readable by its maker only."""
    if not database.exists():
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(partial, 0o666 & ~umask)
        return
    status = database.stat()
    os.chmod(partial, stat.S_IMODE(status.st_mode))
    if os.geteuid() == 0:
        os.chown(partial, status.st_uid, status.st_gid)


def _swap_in(partial: Path, database: Path, kept: Path) -> None:
    """Put ``partial`` in the place of ``database``, which is kept as ``kept``, the path never missing a file."""
    with _sqlite_errors(database), closing(sqlite3.connect(database, isolation_level=None,
                                                           timeout=IN_USE_WAIT_SECONDS)) as current:
        try:  # leaving WAL mode folds the -wal into the file, and needs every other connection gone
            mode = current.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) and "busy" not in str(err):
                raise
            mode = None
        if mode != "delete" or Path(f"{database}-wal").exists():
            raise Conflict(f"{database} is in use by another process: stop `huhua serve`, the workers and the "
                           "scheduler (every process using this database), then restore")
        current.execute("BEGIN EXCLUSIVE")  # nobody reads or writes the old file until it has been moved aside
        try:
            if kept.exists():
                raise Conflict(f"{kept} exists already; wait a second and restore again")
            try:
                os.link(database, kept)  # the same file under a second name: nothing to copy
            except OSError:  # a file system without hard links
                shutil.copy2(database, kept)
            rename_durably(partial, database)
        finally:
            current.execute("ROLLBACK")


@contextmanager
def _sqlite_errors(path: Path) -> Iterator[None]:
    """SQLite's own errors about a file, said as what they mean to the person running the command."""
    try:
        yield
    except sqlite3.DatabaseError as err:
        if getattr(err, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
            raise StorageFull(f"the disk is full while copying {path.name}: nothing was replaced; free space (the "
                              "copy needs as much as the database) and try again") from None
        if getattr(err, "sqlite_errorcode", None) == sqlite3.SQLITE_NOTADB:
            raise InvalidInput(f"{path} is not a SQLite database") from None
        raise InvalidInput(f"{path}: {err}") from None
