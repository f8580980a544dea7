"""What may be attached to a task: a safe file name and a type read from the file's own bytes.

The browser's declared content type and the file name's extension are not trusted: the first bytes
decide what a file is, and only documents a school office exchanges pass (PDF, pictures, Office and
OpenDocument files, plain text). The extension must agree with the content, so a download opens in
the program its name promises.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass

from engine.errors import InvalidInput, Problem
from engine.phrases import Phrase

MAX_NAME = 200


@dataclass(frozen=True)
class Kind:
    content_type: str
    extensions: tuple[str, ...]
    label: str


PDF = Kind("application/pdf", (".pdf",), "PDF")
PNG = Kind("image/png", (".png",), "PNG 图片")
JPEG = Kind("image/jpeg", (".jpg", ".jpeg"), "JPEG 图片")
GIF = Kind("image/gif", (".gif",), "GIF 图片")
WEBP = Kind("image/webp", (".webp",), "WebP 图片")
HEIC = Kind("image/heic", (".heic", ".heif"), "HEIC 图片")
TEXT = Kind("text/plain; charset=utf-8", (".txt", ".md", ".log"), "文本")
CSV = Kind("text/csv; charset=utf-8", (".csv",), "CSV 表格")
#: Office Open XML and OpenDocument files are zip archives; the part that names the kind decides.
_ZIPPED = {
    ".docx": Kind("application/vnd.openxmlformats-officedocument.wordprocessingml.document", (".docx",), "Word 文档"),
    ".xlsx": Kind("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx",), "Excel 表格"),
    ".pptx": Kind("application/vnd.openxmlformats-officedocument.presentationml.presentation", (".pptx",),
                  "PowerPoint 演示文稿"),
    ".odt": Kind("application/vnd.oasis.opendocument.text", (".odt",), "OpenDocument 文档"),
    ".ods": Kind("application/vnd.oasis.opendocument.spreadsheet", (".ods",), "OpenDocument 表格"),
    ".odp": Kind("application/vnd.oasis.opendocument.presentation", (".odp",), "OpenDocument 演示文稿"),
}
_OOXML_PART = {"word/": ".docx", "xl/": ".xlsx", "ppt/": ".pptx"}
_ODF_MIMETYPE = {"application/vnd.oasis.opendocument.text": ".odt",
                 "application/vnd.oasis.opendocument.spreadsheet": ".ods",
                 "application/vnd.oasis.opendocument.presentation": ".odp"}
#: Office 97–2003 files share one container format; the extension says which program.
_LEGACY_OFFICE = {".doc": Kind("application/msword", (".doc",), "Word 97-2003 文档"),
                  ".xls": Kind("application/vnd.ms-excel", (".xls",), "Excel 97-2003 表格"),
                  ".ppt": Kind("application/vnd.ms-powerpoint", (".ppt",), "PowerPoint 97-2003 演示文稿")}
ALLOWED = Phrase("PDF, pictures (PNG/JPEG/GIF/WebP/HEIC), Word/Excel/PowerPoint, OpenDocument, text (TXT/CSV)")
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
#: An archive with more parts than any office document has is refused before it is read further.
MAX_ZIP_ENTRIES = 10_000
#: An OpenDocument file's ``mimetype`` part is one short line; a larger one is not what it claims to be.
MAX_MIMETYPE_BYTES = 200


def safe_filename(name: str) -> str:
    """The last path part of an uploaded name, without control or reserved characters, at most 200 long."""
    name = unicodedata.normalize("NFC", name or "")
    # format characters (bidirectional overrides, zero-width joiners) can make a.exe look like exe.pdf
    name = "".join(c for c in name if unicodedata.category(c) != "Cf")
    name = re.split(r"[/\\]", name)[-1]
    name = _UNSAFE.sub("_", name).strip().lstrip(".").strip()
    if len(name) > MAX_NAME:
        stem, dot, ext = name.rpartition(".")
        ext = ext[:20] if dot else ""
        name = (stem if dot else name)[:MAX_NAME - len(ext) - 1] + (f".{ext}" if ext else "")
    return name


def _extension(name: str) -> str:
    return ("." + name.rsplit(".", 1)[1].lower()) if "." in name else ""


def _zipped(content: bytes) -> Kind | None:
    """The office kind of a zip archive, read from its directory and at most one tiny part (never unpacked)."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = archive.namelist()
            if len(names) > MAX_ZIP_ENTRIES:
                return None
            if "mimetype" in names:
                if archive.getinfo("mimetype").file_size > MAX_MIMETYPE_BYTES:
                    return None
                with archive.open("mimetype") as part:  # bounded: a forged size cannot make it inflate more
                    mimetype = part.read(MAX_MIMETYPE_BYTES).decode("ascii", "replace").strip()
                return _ZIPPED.get(_ODF_MIMETYPE.get(mimetype, ""))
            if "[Content_Types].xml" in names:
                for prefix, ext in _OOXML_PART.items():
                    if any(n.startswith(prefix) for n in names):
                        return _ZIPPED[ext]
    except (zipfile.BadZipFile, OSError, ValueError, KeyError):
        return None
    return None


def _is_text(content: bytes) -> bool:
    if b"\x00" in content:
        return False
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def sniff(content: bytes, extension: str) -> Kind | None:
    """What the bytes are, among the allowed kinds (None: not one of them)."""
    head = content[:16]
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if head.startswith(b"RIFF") and content[8:12] == b"WEBP":
        return WEBP
    if content[4:8] == b"ftyp" and content[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"hevc"):
        return HEIC
    if head.startswith(b"PK\x03\x04"):
        return _zipped(content)
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return _LEGACY_OFFICE.get(extension)
    if extension in CSV.extensions + TEXT.extensions and _is_text(content.removeprefix(b"\xef\xbb\xbf")):
        return CSV if extension in CSV.extensions else TEXT
    return None


def check_upload(filename: str, content: bytes) -> tuple[str, Kind]:
    """The name to keep and the file's kind; refuses an empty file, an unknown kind or a lying extension."""
    name = safe_filename(filename)
    extension = _extension(name)
    if not content:
        raise InvalidInput(Phrase("The file is empty; choose it again"), [Problem(Phrase("empty file"), field="file")])
    kind = sniff(content, extension)
    if kind is None:
        raise InvalidInput(Phrase("This kind of file is not accepted (%(file)s); you can upload: %(allowed)s",
                                  file=filename or Phrase("unnamed"), allowed=ALLOWED),
                           [Problem(Phrase("file type not allowed"), field="file")])
    if extension not in kind.extensions:
        if not extension or extension not in {e for k in _all_kinds() for e in k.extensions}:
            name = (name or "附件") + kind.extensions[0]  # a photo from a phone may come without a usable name
        else:
            raise InvalidInput(Phrase("The file's extension %(extension)s does not match its content (%(kind)s); "
                                      "check it and upload again", extension=extension, kind=kind.label),
                               [Problem(Phrase("extension does not match the content"), field="file")])
    return name, kind


def _all_kinds() -> list[Kind]:
    return [PDF, PNG, JPEG, GIF, WEBP, HEIC, TEXT, CSV, *_ZIPPED.values(), *_LEGACY_OFFICE.values()]
