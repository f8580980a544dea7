"""The ``http`` connector: one JSON request to an allowed host, without following redirects.

Parameters: ``url`` (required), ``method`` (POST when ``json`` is given, else GET), ``json`` (the
body), ``headers`` (a dict of strings). The result is ``{"status": 200, "body": …}`` with the body
parsed as JSON when it is JSON. Every request carries ``Idempotency-Key`` (the job), so a receiver can
tell a retry from a second call: a worker killed after the call but before its commit calls again.

Models carry no credentials: a credential header a model sets (``Authorization``, ``X-Api-Key``, any
name with token, secret or password in it …) is dropped, and ``config/connectors.toml``'s
``http.credentials`` adds the configured header for a matching host, its value read from an environment
variable at the call, after the model's headers so that a model cannot override it.

A failure that would repeat (a bad parameter, a host not allowed, a refused address, a 4xx answer but 408 and
429) is permanent: an incident at once. No connection, a timeout, 5xx and 429 are retried with backoff.
"""

from __future__ import annotations

import fnmatch
import http.client
import json
import logging
from typing import Any
from urllib.parse import urlsplit

from engine.connectors.config import ConnectorError, ConnectorSettings, temporary_status
from engine.connectors.credentials import is_credential_header
from engine.outbound import RefusedAddress, Unresolved, request

_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
#: Headers a model may not set: where the request goes, how it is framed, and who the engine's API thinks calls.
_MODEL_MAY_NOT_SET = frozenset({"host", "connection", "content-length", "transfer-encoding", "te", "upgrade",
                                "x-huhua-user", "idempotency-key"})
log = logging.getLogger(__name__)


def _model_headers(given: dict[Any, Any]) -> dict[str, str]:
    """The headers a model may set: neither framing nor credentials (dropped, named in the log, never valued)."""
    kept = {}
    for name, value in given.items():
        name = str(name)
        if name.lower() in _MODEL_MAY_NOT_SET:
            continue
        if is_credential_header(name):
            log.warning("http connector: dropped the header %r a model set; credentials come from "
                        "config/connectors.toml (http.credentials)", name)
            continue
        kept[name] = str(value)
    return kept


def _redacted(text: str, secret: str) -> str:
    """``text`` without the credential (a receiver that echoes it must not put it into task data or an error)."""
    if not secret:
        return text
    token = secret.split()[-1]
    for part in (secret, token) if len(token) >= 8 else (secret,):
        text = text.replace(part, "[redacted]")
    return text


def call_http(params: dict[str, Any], *, idempotency_key: str, settings: ConnectorSettings) -> dict[str, Any]:
    url = params.get("url")
    if not isinstance(url, str):
        raise ConnectorError("the http connector needs a 'url' parameter", permanent=True)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConnectorError(f"'{url}' is not an http(s) URL", permanent=True)
    if not any(fnmatch.fnmatchcase(parts.hostname.lower(), allowed.lower()) for allowed in settings.http_allow):
        raise ConnectorError(f"host '{parts.hostname}' is not allowed for service tasks (config/connectors.toml)",
                             permanent=True)
    method = str(params.get("method") or ("POST" if "json" in params else "GET")).upper()
    if method not in _METHODS:
        raise ConnectorError(f"method '{method}' is not one of {', '.join(_METHODS)}", permanent=True)
    given = params.get("headers") or {}
    if not isinstance(given, dict):
        raise ConnectorError("the http connector's 'headers' must be a dict", permanent=True)
    headers = _model_headers(given)
    body = None
    if "json" in params:
        body = json.dumps(params["json"], ensure_ascii=False).encode()
        headers.setdefault("Content-Type", "application/json; charset=utf-8")
    headers["Idempotency-Key"] = idempotency_key
    secret = ""
    credential = settings.credential_for(parts.hostname)
    if credential is not None:  # last, so that no header of the model's, in any spelling, stands beside it
        secret = credential.value()
        headers = {k: v for k, v in headers.items() if k.lower() != credential.header.lower()}
        headers[credential.header] = secret
    try:  # to the address checked (public, or allow-listed), never following a redirect off the allowed hosts
        answer = request(settings.outbound, method, url, body=body, headers=headers,
                         timeout=settings.http_timeout_seconds, max_bytes=settings.http_max_response_bytes)
    except RefusedAddress as err:  # a name that did not resolve may resolve later; a refused address will not
        raise ConnectorError(f"{method} {url} refused: {err}", permanent=not isinstance(err, Unresolved)) from None
    except (OSError, http.client.HTTPException) as err:
        raise ConnectorError(f"{method} {url} failed: {err}") from None
    status, raw, kind = answer.status, answer.body, answer.content_type
    if len(raw) > settings.http_max_response_bytes:
        raise ConnectorError(f"{method} {url} answered more than {settings.http_max_response_bytes} bytes",
                             permanent=True)
    text = _redacted(raw.decode("utf-8", errors="replace"), secret)
    if not 200 <= status < 300:
        raise ConnectorError(f"{method} {url} answered HTTP {status}: {text[:300]}",
                             permanent=not temporary_status(status))
    try:
        parsed = json.loads(text) if kind == "application/json" and text else text
    except ValueError:
        parsed = text
    return {"status": status, "body": parsed}
