"""Delivering one outbound webhook: a signed JSON POST, which the receiver can check and de-duplicate.

Headers: ``X-Huhua-Event`` (the event kind), ``X-Huhua-Delivery`` (the same on every retry of one
delivery), ``X-Huhua-Signature: sha256=<hex>``, the HMAC-SHA256 of the body under the subscription's
secret. Any answer outside 2xx, a refused connection or a timeout is a failure, and the job retries.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

TIMEOUT_SECONDS = 10.0


class DeliveryFailed(Exception):
    """The receiver did not take the delivery; the job is tried again later."""


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None  # a redirect is reported as the answer: deliveries go where the administrator said


_OPENER = urllib.request.build_opener(_NoRedirects)


def refused_host(host: str) -> bool:
    """Link-local and cloud metadata addresses: never a webhook receiver, often a way into the machine."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return host.lower() in ("metadata.google.internal", "metadata")
    return address.is_link_local or address.is_multicast or address.is_unspecified


def deliver(url: str, secret: str, body: dict[str, Any], timeout: float = TIMEOUT_SECONDS) -> int:
    """POST ``body`` to ``url``; returns the HTTP status, or raises DeliveryFailed."""
    host = urllib.parse.urlsplit(url).hostname or ""
    if refused_host(host):
        raise DeliveryFailed(f"{host} is not a place webhooks may be sent to")
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    request = urllib.request.Request(url, data=data, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8", "User-Agent": "huhua-webhooks",
        "X-Huhua-Event": str(body.get("event")), "X-Huhua-Delivery": str(body.get("delivery")),
        "X-Huhua-Signature": signature(secret, data)})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as err:
        raise DeliveryFailed(f"{url} answered HTTP {err.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as err:
        raise DeliveryFailed(f"{url}: {getattr(err, 'reason', err)}") from None
    if not 200 <= status < 300:
        raise DeliveryFailed(f"{url} answered HTTP {status}")
    return status
