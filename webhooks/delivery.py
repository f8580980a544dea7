"""Delivering one outbound webhook: a signed JSON POST, which the receiver can check and de-duplicate.

Headers: ``X-Huhua-Event`` (the event kind), ``X-Huhua-Delivery`` (the same on every retry of one
delivery), ``X-Huhua-Signature: sha256=<hex>``, the HMAC-SHA256 of the body under the subscription's
secret. Any answer outside 2xx, a refused connection or a timeout is a failure, and the job retries.
The address is checked again at every delivery (a name may point elsewhere since the subscription was
added) and the POST goes to exactly that address (see :mod:`engine.outbound`).
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
from typing import Any

from engine.outbound import OutboundPolicy, RefusedAddress, request

TIMEOUT_SECONDS = 10.0


class DeliveryFailed(Exception):
    """The receiver did not take the delivery; the job is tried again later."""


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver(url: str, secret: str, body: dict[str, Any], policy: OutboundPolicy,
            timeout: float = TIMEOUT_SECONDS) -> int:
    """POST ``body`` to ``url``; returns the HTTP status, or raises DeliveryFailed."""
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "huhua-webhooks",
               "X-Huhua-Event": str(body.get("event")), "X-Huhua-Delivery": str(body.get("delivery")),
               "X-Huhua-Signature": signature(secret, data)}
    try:
        answer = request(policy, "POST", url, body=data, headers=headers, timeout=timeout, max_bytes=2000)
    except RefusedAddress as err:
        raise DeliveryFailed(f"not delivered: {err}") from None
    except (OSError, http.client.HTTPException) as err:
        raise DeliveryFailed(f"{url}: {err}") from None
    if not 200 <= answer.status < 300:
        raise DeliveryFailed(f"{url} answered HTTP {answer.status}")
    return answer.status
