"""Reading generated documents back: the rows of a workbook, the text of a PDF."""

from __future__ import annotations

import io

from openpyxl import load_workbook
from pypdf import PdfReader

from engine.bootstrap import Huhua


def documents_of(huhua: Huhua, instance_id: int) -> dict[str, bytes]:
    """name -> content of every document the instance made (the newest of a name made again)."""
    found: dict[str, bytes] = {}
    for entry in huhua.queries.documents(instance_id):  # newest first
        if entry["name"] not in found:
            found[entry["name"]] = huhua.queries.document(entry["id"])[2]
    return found


def sheet_rows(content: bytes, sheet: str) -> list[list[object]]:
    book = load_workbook(io.BytesIO(content), read_only=True)
    return [list(row) for row in book[sheet].iter_rows(values_only=True)]


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages)
