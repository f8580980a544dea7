"""The templates a ``document`` service task can name, and rendering one by name."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from engine.documents import annual, case_volume, oversight, reports
from engine.documents.rendered import DocumentError, Rendered
from engine.store.database import Database

Template = Callable[[Database, dict[str, Any], datetime], tuple[list[Rendered], dict[str, Any]]]

TEMPLATES: dict[str, Template] = {
    "annual_assessment": annual.annual_assessment,
    "certificates": reports.certificates,
    "case_volume": case_volume.case_volume,
    "supervision_circular": oversight.supervision_circular,
    "burden_circular": oversight.burden_circular,
}


def render_document(database: Database, template: str, params: dict[str, Any],
                    now: datetime) -> tuple[list[Rendered], dict[str, Any]]:
    """The files of ``template`` and a summary of their figures (for the task's result variable)."""
    if template not in TEMPLATES:
        raise DocumentError(f"there is no document template '{template}' (known: {', '.join(sorted(TEMPLATES))})")
    return TEMPLATES[template](database, params, now)
