"""A zip of spiff-arena process model folders, uploaded over HTTP, unpacked as ``huhua deploy DIR`` reads them.

An archive is code from users and may be built to hurt: an entry named ``../x`` or ``/etc/x``, a link, a few
kilobytes that inflate to gigabytes, a hundred thousand entries. Only ``.bpmn``, ``.dmn`` and ``.json`` files
are taken (a folder's README or pictures are skipped and listed); each entry's name must stay inside the archive
and its size within the model limit, counted while it is read (a declared size can lie), the whole within
:data:`MAX_ENTRIES` entries and :data:`TOTAL_FACTOR` times the model limit. Any breach refuses the archive,
naming the entry, before a file is written.
"""

from __future__ import annotations

import re
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path, PurePosixPath

from engine.errors import InvalidInput, Problem
from engine.phrases import Phrase

#: The most entries an archive may hold (folders included).
MAX_ENTRIES = 2000
#: The files of an archive together may be this many times the model limit (HUHUA_MAX_MODEL_BYTES).
TOTAL_FACTOR = 20
_TAKEN = (".bpmn", ".dmn", ".json")
_LINK = 0o120000


@dataclass(frozen=True)
class Unpacked:
    """An archive's model files on disk (``directory``, read as ``huhua deploy`` reads a folder) and the entries
    that were not model files."""

    directory: Path
    skipped: tuple[str, ...]


def _refused(message: Phrase, entry: str) -> InvalidInput:
    return InvalidInput(message, [Problem(message, field=f"file:{entry}")])


def _entries(content: bytes, max_bytes: int) -> tuple[list[tuple[PurePosixPath, bytes]], list[str]]:
    try:
        archive = zipfile.ZipFile(BytesIO(content))
    except zipfile.BadZipFile:
        said = Phrase("the upload is not a zip archive; zip the process model folder (or its process group) and "
                      "send that")
        raise InvalidInput(said, [Problem(Phrase("not a zip archive"), field="file")]) from None
    infos = archive.infolist()
    if len(infos) > MAX_ENTRIES:
        raise InvalidInput(Phrase("the archive holds %(n)s entries, more than the %(max)s accepted",
                                  n=len(infos), max=MAX_ENTRIES), [Problem(Phrase("too many entries"), field="file")])
    taken, skipped, total = [], [], 0
    for info in infos:
        name = info.filename
        path = PurePosixPath(name)
        if "\\" in name or path.is_absolute() or ".." in path.parts or re.match(r"^[A-Za-z]:", name):
            raise _refused(Phrase("entry '%(entry)s' points outside the archive; nothing was deployed", entry=name),
                           name)
        if (info.external_attr >> 16) & 0o170000 == _LINK:
            raise _refused(Phrase("entry '%(entry)s' is a link, which an archive of models may not hold", entry=name),
                           name)
        if info.is_dir():
            continue
        if path.suffix.lower() not in _TAKEN or any(part.startswith(".") for part in path.parts):
            skipped.append(name)
            continue
        with archive.open(info) as stream:
            data = stream.read(max_bytes + 1)  # read, not trusted from the header
        if len(data) > max_bytes:
            raise _refused(Phrase("entry '%(entry)s' is larger than the %(max)s bytes a model file may have",
                                  entry=name, max=max_bytes), name)
        total += len(data)
        if total > TOTAL_FACTOR * max_bytes:
            raise _refused(Phrase("the archive's files come to more than %(max)s bytes; deploy it in parts",
                                  max=TOTAL_FACTOR * max_bytes), name)
        taken.append((path, data))
    return taken, skipped


@contextmanager
def unpacked_archive(content: bytes, archive_name: str, max_bytes: int) -> Iterator[Unpacked]:
    """The archive's model files written to a temporary folder, removed afterwards. A zipped folder (``hr/…``)
    keeps its name; an archive of a folder's contents (``process_group.json`` or ``process_model.json`` at its
    top) is named after the archive (``hr.zip`` → ``hr``): model paths are then what ``huhua deploy hr/`` gives."""
    taken, skipped = _entries(content, max_bytes)
    stem = re.sub(r"[^\w.-]+", "_", PurePosixPath(archive_name or "models").stem).strip("._") or "models"
    with tempfile.TemporaryDirectory(prefix="huhua-models-") as scratch:
        top = Path(scratch) / stem
        top.mkdir()
        for path, data in taken:
            target = top.joinpath(*path.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        inside = list(top.iterdir())
        if len(inside) == 1 and inside[0].is_dir():  # the archive of one folder: that folder is the top
            top = inside[0]
        yield Unpacked(top, tuple(skipped))
