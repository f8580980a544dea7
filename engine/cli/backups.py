"""``huhua backup FILE`` and ``huhua restore FILE``: the database to a file and back.

On the embedded SQLite database both work while Huhua runs (a restore refuses while another process has the
database open), see :mod:`engine.store.sqlite_backup`. On PostgreSQL ``backup`` runs ``pg_dump -Fc``
(:mod:`engine.store.postgres_dump`) and ``restore`` says how to restore a dump into a new database instead.

Like ``huhua db upgrade``, these act on the database file or server itself, as the operator who runs them: the
access policy, which governs people acting in the app, has no rule for them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from engine.cli.base import emit, guard, json_option, main, redact, settings_or_exit
from engine.errors import InvalidInput
from engine.store.postgres_dump import PROCEDURE


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
@json_option
def backup(file: Path, force: bool, as_json: bool) -> None:
    """Back up the database to FILE, consistent while Huhua runs (SQLite: online backup; PostgreSQL: pg_dump -Fc)."""
    settings = settings_or_exit()
    done: dict[str, Any] = {"database": redact(settings.database_url)}

    def run() -> None:
        if settings.is_sqlite:
            from engine.store import sqlite_backup

            checked = sqlite_backup.back_up(settings.database_url, file, force=force,
                                            progress=_progress("backup"))
            done.update(file=str(checked.path), format="sqlite", revision=checked.revision, pages=checked.pages,
                        bytes=checked.size_bytes)
        else:
            from engine.store import postgres_dump

            dumped = postgres_dump.dump(settings.database_url, file, force=force)
            done.update(file=str(dumped.path), format="pg_dump custom", entries=dumped.entries,
                        bytes=dumped.size_bytes)

    guard(as_json, run)
    emit(as_json, done, lambda d: f"backed up {d['database']} to {d['file']} ({_size(d['bytes'])}"
                                  + (f", schema revision {d['revision']})" if "revision" in d else
                                     f", {d['entries']} archive entries; restore with pg_restore)"))


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace the database if it exists (it is kept as "
                                            "<database>.before-restore-<time>).")
@json_option
def restore(file: Path, force: bool, as_json: bool) -> None:
    """Restore the SQLite database from FILE (a backup of this or an older release), then migrate it.

    Stop every process using the database first (serve, workers, scheduler): the restore refuses while one has it
    open. On PostgreSQL, restore a dump with pg_restore into a new database instead.
    """
    settings = settings_or_exit()
    done: dict[str, Any] = {"database": redact(settings.database_url), "file": str(file)}

    def run() -> None:
        if not settings.is_sqlite:
            raise InvalidInput("huhua restore is for the embedded SQLite database; on PostgreSQL restore the dump "
                               "into a new database with pg_restore and point HUHUA_DATABASE_URL at it "
                               f"({PROCEDURE})")
        from engine.store import sqlite_backup

        restored = sqlite_backup.restore(settings.database_url, file, force=force,
                                         progress=_progress("restore"))
        done.update(backup_revision=restored.backup_revision, revision=restored.revision,
                    kept=str(restored.kept) if restored.kept else None)

    guard(as_json, run)
    emit(as_json, done, lambda d: "\n".join([
        f"restored {d['database']} from {d['file']} (schema revision {d['backup_revision']}"
        + (f", migrated to {d['revision']})" if d["revision"] != d["backup_revision"] else ")"),
        *([f"the database it replaced is kept as {d['kept']}"] if d["kept"] else [])]))


def _progress(doing: str) -> Any:
    """Pages copied so far, on stderr (stdout stays the answer, --json or not): a line each tenth and at the end."""
    last = [-1]

    def told(copied: int, total: int) -> None:
        percent = copied * 100 // max(total, 1)
        if percent // 10 != last[0] // 10 or copied == total:
            click.echo(f"{doing}: {copied} of {total} pages copied ({percent}%)", err=True)
            last[0] = percent

    return told


def _size(size: int) -> str:
    return f"{size / 2**20:.1f} MiB" if size >= 2**20 else f"{size / 2**10:.0f} KiB"
