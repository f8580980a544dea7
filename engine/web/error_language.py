"""The engine's refusals in the reader's language: its English :class:`engine.phrases.Phrase` texts looked up in
the Chinese catalogue of errors (``translations/zh_Hans_CN/LC_MESSAGES/errors.po``, English ids), with their
values filled in again, each value said the same way.

A text without a translation stays as the engine wrote it, so a refusal is never lost, only untranslated.
"""

from __future__ import annotations

from typing import Any

from flask_babel import Domain

from engine.phrases import Phrase

#: The catalogue of the engine's texts, beside the pages' ``messages`` (from the app's translation directories).
ERRORS = Domain(domain="errors")


def say(text: Any) -> Any:
    """``text`` in the request's language when it is a text the catalogue knows; anything else unchanged."""
    if isinstance(text, list | tuple):
        return str(say(Phrase("; "))).join(str(say(item)) for item in text)
    if isinstance(text, Phrase):
        values = {name: say(value) for name, value in text.values.items()}
        return ERRORS.gettext(text.template, **values) if values else ERRORS.gettext(text.template)
    if isinstance(text, str) and text:
        return ERRORS.gettext(text)
    return text


def localised(body: dict[str, Any]) -> dict[str, Any]:
    """An error's JSON body with its message and each problem's message in the request's language."""
    said = {**body, "message": say(body.get("message"))}
    if isinstance(body.get("problems"), list):
        said["problems"] = [{**p, "message": say(p.get("message"))} if isinstance(p, dict) else p
                            for p in body["problems"]]
    return said
