"""Delivering one outbound webhook: a JSON POST signed as Standard Webhooks specifies (standardwebhooks.com).

Headers: ``webhook-id`` (the delivery's id, the same on every retry, so the receiver can de-duplicate),
``webhook-timestamp`` (seconds since the epoch of this attempt) and ``webhook-signature`` (``v1,<base64>``, the
HMAC-SHA256 of ``{id}.{timestamp}.{body}`` under the subscription's key; during a rotation's grace period one
such signature per valid secret, space-separated), so ``standardwebhooks.Webhook(secret).verify(body, headers)``
checks a delivery. ``X-Huhua-Event`` names the event kind; ``X-Huhua-Delivery`` repeats ``webhook-id`` for
receivers written before.

Deprecated, for the transition: a subscription whose secret predates ``whsec_`` (plain text) also gets the old
``X-Huhua-Signature: sha256=<hex>`` (HMAC-SHA256 of the body under the text's bytes) as long as one of its valid
secrets is such a text, so a receiver written against it keeps working until it is moved to ``webhook-signature``
and the subscription's secret is rotated (after the grace period only ``whsec_`` secrets sign, and the old
header stops). Any answer outside 2xx, a refused connection or a timeout is a failure, and the job
retries. The address is checked again at every delivery (a name may point elsewhere since the subscription was
added) and the POST goes to exactly that address (see :mod:`engine.outbound`).
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from standardwebhooks import Webhook

from engine.outbound import OutboundPolicy, RefusedAddress, request
from engine.webhook_secrets import PREFIX, key

TIMEOUT_SECONDS = 10.0


class DeliveryFailed(Exception):
    """The receiver did not take the delivery; the job is tried again later."""


def signatures(secrets: Sequence[str], delivery_id: str, sent_at: datetime, body: bytes) -> str:
    """The ``webhook-signature`` header: one ``v1,…`` per secret, the newest first."""
    return " ".join(Webhook(key(secret)).sign(delivery_id, sent_at, body) for secret in secrets)


def legacy_signature(secrets: Sequence[str], body: bytes) -> str | None:
    """The deprecated ``X-Huhua-Signature`` (``sha256=<hex>``) under the newest plain-text secret, if one is valid."""
    plain = next((secret for secret in secrets if not secret.startswith(PREFIX)), None)
    return None if plain is None else "sha256=" + hmac.new(plain.encode(), body, hashlib.sha256).hexdigest()


def deliver(url: str, secrets: Sequence[str], body: dict[str, Any], policy: OutboundPolicy,
            timeout: float = TIMEOUT_SECONDS) -> int:
    """POST ``body`` to ``url`` signed with each of ``secrets``; returns the HTTP status, or raises DeliveryFailed.

    The timestamp is the wall clock's, not the engine's (which may be virtual): the receiver compares
    ``webhook-timestamp`` with its own clock, five minutes either way."""
    if isinstance(secrets, str):
        raise TypeError("secrets is a list of secrets, newest first")
    sent_at = datetime.now(UTC)
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    delivery_id = str(body.get("delivery"))
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "huhua-webhooks",
               "webhook-id": delivery_id, "webhook-timestamp": str(int(sent_at.timestamp())),
               "webhook-signature": signatures(secrets, delivery_id, sent_at, data),
               "X-Huhua-Event": str(body.get("event")), "X-Huhua-Delivery": delivery_id}
    legacy = legacy_signature(secrets, data)
    if legacy is not None:
        headers["X-Huhua-Signature"] = legacy
    try:
        answer = request(policy, "POST", url, body=data, headers=headers, timeout=timeout, max_bytes=2000)
    except RefusedAddress as err:
        raise DeliveryFailed(f"not delivered: {err}") from None
    except (OSError, http.client.HTTPException) as err:
        raise DeliveryFailed(f"{url}: {err}") from None
    if not 200 <= answer.status < 300:
        raise DeliveryFailed(f"{url} answered HTTP {answer.status}")
    return answer.status
