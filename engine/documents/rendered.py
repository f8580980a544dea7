"""What a document template hands back: rendered files, their content types, and the error it raises.

Every template module and every caller (the job worker, the exports) shares these types; they live apart
from the template registry (:mod:`engine.documents.templates`) so that the templates can use them without
importing the registry that imports them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rendered:
    name: str
    content_type: str
    content: bytes


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF = "application/pdf"


class DocumentError(Exception):
    """The template cannot be rendered with these parameters; the job retries and ends in an incident."""
