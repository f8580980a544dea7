"""The engine's refusals in the reader's language: its :class:`engine.phrases.Phrase` texts looked up in the
catalogue of errors of the request's language, with their values filled in again (a value that is a Phrase said
the same way). They are worded in English, the language of the CLI, logs and programs, and have a Chinese
catalogue (``translations/zh_Hans_CN/LC_MESSAGES/errors.po``); an English reader reads them as written.

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
    if isinstance(text, Phrase | list | tuple):
        return _said(text)
    if isinstance(text, str) and text:  # a message not yet worded as a Phrase, looked up whole
        return ERRORS.gettext(text)
    return text


def _said(value: Any) -> Any:
    """A Phrase, or a list of them, said; any other value (a name, a number, what the caller sent) as it is."""
    if isinstance(value, list | tuple):
        return str(_said(Phrase("; "))).join(str(_said(item)) for item in value)
    if isinstance(value, Phrase):
        values = {name: _said(inner) for name, inner in value.values.items()}
        return ERRORS.gettext(value.template, **values) if values else ERRORS.gettext(value.template)
    return value


def localised(body: dict[str, Any]) -> dict[str, Any]:
    """An error's JSON body with its message and each problem's message in the request's language."""
    said = {**body, "message": say(body.get("message"))}
    if isinstance(body.get("problems"), list):
        said["problems"] = [{**p, "message": say(p.get("message"))} if isinstance(p, dict) else p
                            for p in body["problems"]]
    return said
