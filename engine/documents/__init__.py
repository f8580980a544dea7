"""Generated documents: the annual assessment, honour certificates, the case volume.

A ``document`` service task names a template and its parameters; a worker renders it (reading the
engine's tables for the figures) outside the transaction, and the files are stored with the task's
release (``document`` table), so a document exists exactly when the task that made it completed.
Spreadsheets are .xlsx (openpyxl); PDFs embed a Chinese font (see :mod:`engine.documents.fonts`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.store.database import Database


@dataclass(frozen=True)
class Rendered:
    name: str
    content_type: str
    content: bytes


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF = "application/pdf"


class DocumentError(Exception):
    """The template cannot be rendered with these parameters; the job retries and ends in an incident."""


def render(database: Database, template: str, params: dict[str, Any],
           now: datetime) -> tuple[list[Rendered], dict[str, Any]]:
    """The files of ``template`` and a summary of their figures (for the task's result variable)."""
    from engine.documents import annual, case_volume, oversight, reports  # the templates build on this module's types

    templates: dict[str, Callable[[Database, dict[str, Any], datetime], tuple[list[Rendered], dict[str, Any]]]] = {
        "annual_assessment": annual.annual_assessment,
        "certificates": reports.certificates,
        "case_volume": case_volume.case_volume,
        "supervision_circular": oversight.supervision_circular,
        "burden_circular": oversight.burden_circular,
    }
    if template not in templates:
        raise DocumentError(f"there is no document template '{template}' (known: {', '.join(sorted(templates))})")
    return templates[template](database, params, now)
