"""Backup files are written beside their target under a hidden name and renamed into place once whole and checked,
so a reader of the target finds the old file or the new one, never half of one — even after a power cut."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from engine.errors import InvalidInput


def check_target(target: Path, force: bool) -> None:
    """``target`` may be written: its folder exists, and it does not (or ``force`` says to replace it)."""
    if target.is_dir():
        raise InvalidInput(f"{target} is a folder: name the file to write")
    if not target.parent.is_dir():
        raise InvalidInput(f"the folder {target.parent} does not exist")
    if target.exists() and not force:
        raise InvalidInput(f"{target} exists: pass --force to replace it")


@contextmanager
def partial_beside(target: Path) -> Iterator[Path]:
    """A hidden empty file in the target's folder (so the final rename stays on one file system), removed with
    SQLite's companions of it unless it was renamed into place."""
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    os.close(handle)
    partial = Path(name)
    try:
        yield partial
    finally:
        for leftover in (partial, *(Path(f"{partial}-{end}") for end in ("journal", "wal", "shm"))):
            leftover.unlink(missing_ok=True)


def rename_durably(partial: Path, target: Path) -> None:
    """Rename with the data and then the rename itself on disk."""
    with partial.open("rb") as written:
        os.fsync(written.fileno())
    os.replace(partial, target)
    folder = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
