"""The two ways a FEEL text can fail: it does not parse (an exception, at compile time), or a step of its
evaluation has no value (FEEL says null; the reason is kept as a warning, never raised to the caller)."""

from __future__ import annotations

from engine.phrases import Phrase


class FeelSyntaxError(ValueError):
    """A FEEL text that does not parse; ``line`` and ``column`` count from 1. ``message`` and ``phrase`` are
    Phrases, so the web layer can say them in the reader's language."""

    def __init__(self, message: Phrase, text: str, line: int, column: int) -> None:
        self.message, self.text, self.line, self.column = message, text, line, column
        self.phrase = Phrase("%(message)s (line %(line)s, column %(column)s)", message=message, line=line,
                             column=column)
        super().__init__(self.phrase)


class FeelNull(Exception):
    """Raised inside evaluation where the specification says the result is null; caught where the value is
    used, turned into ``None`` and a warning."""


class FeelLimitExceeded(Exception):
    """An evaluation went past a bound (call depth, steps): the whole evaluation is null. Not a ``FeelNull``,
    so that no inner expression turns it into a local null and carries on."""
