"""How people are reached outside the product: an e-mail address and a mobile number, each checked on the way in.

A mobile is a mainland number of 11 digits (1[3-9]…), or any number written with its ``+`` country code (+86 or
another; 8 to 15 digits, as E.164 allows). Spaces and hyphens people type between groups of digits are taken
out, so ``138 0013 8000`` is stored as ``13800138000``. An e-mail address is checked for its form only (a
local part, ``@``, a domain of dotted labels): whether the mailbox exists is the mail server's answer.
"""

from __future__ import annotations

import re

from engine.phrases import Phrase

MAX_EMAIL = 200  # person.email
MAX_PHONE = 30  # person.phone
_MAINLAND = re.compile(r"1[3-9]\d{9}")
_INTERNATIONAL = re.compile(r"\+[1-9]\d{7,14}")
_SEPARATORS = re.compile(r"[\s\-()（）]")
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


class BadContact(ValueError):
    """The text is not a mobile number or an e-mail address; the message says why, in a translatable phrase."""

    def __init__(self, phrase: Phrase) -> None:
        super().__init__(phrase)
        self.phrase = phrase


def mobile(text: str | None) -> str | None:
    """The number as stored (separators taken out), None for an empty one; BadContact when it is no mobile."""
    if text is None or not text.strip():
        return None
    number = _SEPARATORS.sub("", text.strip())
    if _MAINLAND.fullmatch(number) or _INTERNATIONAL.fullmatch(number):
        return number
    raise BadContact(Phrase("'%(value)s' is not a mobile number: 11 digits starting with 1, or + and the "
                            "country code", value=text.strip()[:40]))


def email(text: str | None) -> str | None:
    """The address as stored (surrounding spaces taken off), None for an empty one; BadContact when it is none."""
    if text is None or not text.strip():
        return None
    address = text.strip()
    local, at, domain = address.rpartition("@")
    labels = domain.split(".")
    if (not at or len(address) > MAX_EMAIL or len(local) > 64 or not _LOCAL.fullmatch(local) or len(labels) < 2
            or not all(_LABEL.fullmatch(label) for label in labels) or labels[-1].isdigit()):
        raise BadContact(Phrase("'%(value)s' is not an e-mail address (name@domain)", value=address[:60]))
    return address
