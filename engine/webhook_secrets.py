"""Webhook secrets as Standard Webhooks has them: ``whsec_`` followed by the base64 of the signing key.

A secret made here holds 32 random bytes. One an administrator brings must be of the same form, with a key of 24
to 64 bytes (what the specification recommends). Subscriptions made before the engine followed the
specification have a secret of plain text (64 hex digits, or the administrator's own words); its key is the
UTF-8 bytes of that text, the key it always signed under, so a receiver verifies with
``standardwebhooks.Webhook(old_secret.encode())`` and nothing has to be handed out again.
"""

from __future__ import annotations

import base64
import binascii
import secrets

from engine.errors import InvalidInput, Problem
from engine.phrases import Phrase

PREFIX = "whsec_"
KEY_BYTES = 32
MIN_KEY_BYTES, MAX_KEY_BYTES = 24, 64


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def checked(secret: str, field: str = "secret") -> str:
    """``secret`` when it is a well-formed ``whsec_`` secret; InvalidInput naming ``field`` otherwise."""
    key = _decoded(secret) if secret.startswith(PREFIX) else None
    if key is None or not MIN_KEY_BYTES <= len(key) <= MAX_KEY_BYTES:
        raise InvalidInput(
            Phrase("a webhook secret is 'whsec_' followed by the base64 of %(low)s to %(high)s random bytes",
                   low=MIN_KEY_BYTES, high=MAX_KEY_BYTES),
            [Problem(Phrase("not a whsec_ secret"), field=field)])
    return secret


def key(secret: str) -> bytes:
    """The bytes a delivery is signed with: the decoded key of a ``whsec_`` secret, else the text's own bytes."""
    if secret.startswith(PREFIX):
        decoded = _decoded(secret)
        if decoded:
            return decoded
    return secret.encode()


def _decoded(secret: str) -> bytes | None:
    try:
        return base64.b64decode(secret[len(PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        return None
