"""Text cells that no spreadsheet can mistake for a formula (CSV / formula injection).

Names, titles and phone numbers in the product's .xlsx and .csv files come from people. Excel, WPS and
LibreOffice evaluate a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and a tab or carriage return
ahead of one), so a unit named ``=HYPERLINK("http://x","y")`` would become a live link, or worse, in
a circular sent to every school. Following OWASP's advice, such a text is written with a leading
single quote, in every format alike: the reader sees the text, the program never runs it.

:func:`inert` is applied to every cell the product writes; :func:`restored` is its exact inverse, for
the files the product reads back (the org directory), so an exported directory loads to the same names.
A text that already starts with quotes before a dangerous character gets one quote more, so the pair is
lossless for every string. Numbers, dates and empty cells pass through untouched.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

#: A text a spreadsheet would evaluate: optional quotes (ours), then a formula's first character.
_LIVE = re.compile(r"^'*[=+\-@\t\r]")
_QUOTED = re.compile(r"^'+[=+\-@\t\r]")


def inert(value: Any) -> Any:
    """``value`` as a cell that cannot be a formula: a risky text gets a leading ``'``; anything else as it is."""
    if isinstance(value, str) and _LIVE.match(value):
        return "'" + value
    return value


def inert_row(values: Iterable[Any]) -> list[Any]:
    return [inert(value) for value in values]


def restored(text: str) -> str:
    """The text :func:`inert` was given (one quote fewer before a formula character)."""
    return text[1:] if _QUOTED.match(text) else text
