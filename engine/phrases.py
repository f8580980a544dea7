"""Texts for people that the web layer can say in the reader's language.

The engine words its refusals in English (the CLI, logs and tests read them so). A :class:`Phrase` is such a
text that also keeps its template and values, so :mod:`engine.web.error_language` can look the template up in
the Chinese catalogue (``engine/web/translations/zh_Hans_CN/LC_MESSAGES/errors.po``) and fill in the values
again. Templates use Babel's ``%(name)s`` placeholders; a value may itself be a Phrase, or a list of texts
(shown one after another).
"""

from __future__ import annotations

from typing import Any


class Phrase(str):
    """An English text (it is the ``str``) with the template and values it was made from."""

    template: str
    values: dict[str, Any]

    def __new__(cls, template: str, **values: Any) -> Phrase:
        shown = {k: "; ".join(map(str, v)) if isinstance(v, list | tuple) else v for k, v in values.items()}
        text = super().__new__(cls, template % shown if values else template)
        text.template, text.values = template, values
        return text

    def __reduce__(self) -> tuple[Any, ...]:  # copies and pickles keep the template
        return _rebuilt, (self.template, self.values)


def _rebuilt(template: str, values: dict[str, Any]) -> Phrase:
    return Phrase(template, **values)

