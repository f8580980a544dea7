"""What counts as a credential, so that none travels inside a model.

Models are shared, exported, versioned and shown in editors: a secret written into one leaks to every
reader of any of those. Connector credentials therefore come from configuration
(``config/connectors.toml``'s ``http.credentials``, the value from an environment variable). The same
judgement serves twice: the ``http`` connector drops credential headers a model sets at run time, and
the lint rule :mod:`engine.bpmn.lint_rules.credentials` refuses credentials written into a model at
deploy time. Pure functions on strings; nothing here evaluates an expression.
"""

from __future__ import annotations

import base64
import binascii
import re

#: Header names that carry a credential whatever their spelling (compared case-insensitively).
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key", "api-key",
                                "x-auth-token", "x-access-token"})
#: Words that make any header name a credential's (compared without case, ``-`` and ``_``).
_CREDENTIAL_WORDS = ("token", "secret", "password", "passwd", "apikey", "authorization", "cookie")

#: ``Bearer abc…`` / ``Digest …`` — or the scheme and a space alone, the literal prefix of a concatenation.
_SCHEME_AND_TOKEN = re.compile(r"^\s*(?:bearer|digest)\s+\S*\s*$", re.IGNORECASE)
_BASIC = re.compile(r"^\s*basic\s+(\S*)\s*$", re.IGNORECASE)
#: ``token=…``, ``password=…``, ``api_key=…`` as in a query string or a form body.
_KEY_VALUE = re.compile(r"(?:^|[?&;,\s])[\w.-]*(?:token|password|passwd|pwd|secret|api[_-]?key|apikey)[\w.-]*\s*=",
                        re.IGNORECASE)
#: ``https://user:secret@host`` — a password in a URL's user information.
_URL_USERINFO = re.compile(r"[a-z][a-z0-9+.-]*://[^/@\s?#]+:[^/@\s?#]*@", re.IGNORECASE)


def is_credential_header(name: str) -> bool:
    """True for a header name that carries a credential (``Authorization``, ``X-Api-Key``, ``X-CSRF-Token`` …)."""
    lowered = name.strip().lower()
    if lowered in CREDENTIAL_HEADERS:
        return True
    squeezed = lowered.replace("-", "").replace("_", "")
    return any(word in squeezed for word in _CREDENTIAL_WORDS)


def _is_basic_credential(text: str) -> bool:
    """``Basic <base64 of user:password>``, or ``Basic `` alone (the prefix of a concatenation)."""
    match = _BASIC.match(text)
    if match is None:
        return False
    if not match.group(1):
        return True
    try:
        return b":" in base64.b64decode(match.group(1), validate=True)
    except (binascii.Error, ValueError):  # "Basic information" is prose, not a credential
        return False


def looks_like_credential(text: str) -> str | None:
    """Why the literal ``text`` looks like a credential (a short phrase), or None when it does not."""
    if _SCHEME_AND_TOKEN.match(text):
        return "an Authorization value (scheme and token)"
    if _is_basic_credential(text):
        return "a Basic Authorization value"
    if _KEY_VALUE.search(text):
        return "a token, password or key given as name=value"
    if _URL_USERINFO.search(text):
        return "a password in a URL"
    return None
