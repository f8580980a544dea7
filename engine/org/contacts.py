"""How people are reached outside the product: an e-mail address and a phone number, each checked on the way in.

The directory's 手机 column holds a phone number: a mobile — a mainland number of 11 digits (1[3-9]…), or any
number written with its ``+`` country code (+86 or another; 8 to 15 digits, as E.164 allows) — or, as many
schools' lists have it, an office landline with its area code (``0734-8123456``, an extension after 转 or -).
Spaces and hyphens people type between groups of digits are taken out, so ``138 0013 8000`` is stored as
``13800138000``; a landline is stored as ``0734-8123456`` (``0734-8123456转123``). Only a mobile gets SMS and
robot @-mentions (:func:`is_mobile`). An e-mail address is checked for its form only (a
local part, ``@``, a domain of dotted labels): whether the mailbox exists is the mail server's answer.
"""

from __future__ import annotations

import re

from engine.phrases import Phrase

MAX_EMAIL = 200  # person.email
MAX_PHONE = 30  # person.phone
_MAINLAND = re.compile(r"1[3-9]\d{9}")
_INTERNATIONAL = re.compile(r"\+[1-9]\d{7,14}")
_MAINLAND_PLUS = re.compile(r"\+861[3-9]\d{9}")
#: Area code (0 and 2 or 3 digits, perhaps in brackets), the local number, perhaps an extension.
_LANDLINE = re.compile(r"[(（]?(0\d{2,3})[)）]?[\s-]*(\d{7,8})(?:\s*(?:转|-|#|ext\.?)\s*(\d{1,6}))?",
                       re.IGNORECASE)
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


def phone_number(text: str | None) -> str | None:
    """A mobile (as :func:`mobile` stores it) or a landline (``0734-8123456``); None for an empty one;
    BadContact when it is neither."""
    if text is None or not text.strip():
        return None
    landline = _LANDLINE.fullmatch(text.strip())
    if landline is not None:
        area, number, extension = landline.groups()
        return f"{area}-{number}" + (f"转{extension}" if extension else "")
    try:
        return mobile(text)
    except BadContact:
        raise BadContact(Phrase("'%(value)s' is not a phone number: a mobile (11 digits starting with 1, or + and "
                                "the country code) or a landline with its area code (0734-8123456)",
                                value=text.strip()[:40])) from None


def is_mobile(number: str | None) -> bool:
    """Whether a stored phone number reaches a mobile (SMS, @-mentions): not a landline, not a mainland number
    with +86 that is no mobile."""
    if not number:
        return False
    if _MAINLAND.fullmatch(number):
        return True
    if number.startswith("+86"):
        return _MAINLAND_PLUS.fullmatch(number) is not None
    return _INTERNATIONAL.fullmatch(number) is not None


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
