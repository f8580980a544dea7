"""The connector proxy: spiff-arena's connectors, served by a proxy of theirs, called the way spiff-arena calls them.

spiff-arena leaves integrations (AWS, SMTP, Xero …) to a *connector proxy*, a small web service that lists its
commands at ``GET /v1/commands`` and runs one at ``POST /v1/do/<operator id>`` with the task's parameters as a
JSON object. It answers JSON: ``command_response`` (``body``, ``mimetype``, ``http_status`` of the service behind
it) marked ``command_response_version`` 2, or an ``error`` (``error_code``, ``message``); older proxies answer
with the result itself. The task's result variable gets what spiff-arena puts there — the ``command_response``
with the ``operator_identifier`` — so that models written for spiff-arena read ``result['body']`` here too.

The proxy is the administrator's (``config/connectors.toml``, ``[proxy]``) and is reached through the
outbound-address policy like any call. Its API key travels in ``Spiff-Connector-Proxy-Api-Key``, read from
``HUHUA_CONNECTOR_PROXY_API_KEY`` on the worker; an ``http.credentials`` entry for its host adds its header too.
Unlike spiff-arena, the task's data are not sent along (``spiff__task_data``): a child's case leaves only in the
parameters a model names. Not taken: answers that come later by callback (202 Accepted).
"""

from __future__ import annotations

import http.client
import json
import logging
from typing import Any
from urllib.parse import urlsplit

from engine.connectors.config import ConnectorError, ConnectorSettings, ProxySettings, temporary_status
from engine.outbound import RefusedAddress, Unresolved, request, shown_url

API_KEY_HEADER = "Spiff-Connector-Proxy-Api-Key"
log = logging.getLogger(__name__)


def call_proxy(operator: str, params: dict[str, Any], *, idempotency_key: str,
               settings: ConnectorSettings) -> Any:
    """Run ``operator`` on the configured proxy; what spiff-arena would store in the result variable."""
    proxy = settings.proxy
    if proxy is None or not settings.registry.is_proxied(operator):
        raise ConnectorError(f"the connector proxy does not serve '{operator}' (config/connectors.toml, [proxy])",
                             permanent=True)
    url = f"{proxy.url}/v1/do/{operator}"
    headers, secrets = _headers(proxy, settings, idempotency_key)
    body = json.dumps(params, ensure_ascii=False).encode()
    try:
        answer = request(settings.outbound, "POST", url, body=body, headers=headers, timeout=proxy.timeout_seconds,
                         max_bytes=proxy.max_response_bytes)
    except RefusedAddress as err:  # a name that did not resolve may resolve later; a refused address will not
        raise ConnectorError(f"connector '{operator}': the proxy {shown_url(url)} may not be called: {err}",
                             permanent=not isinstance(err, Unresolved)) from None
    except (OSError, http.client.HTTPException) as err:
        raise ConnectorError(f"connector '{operator}': the proxy {shown_url(url)} did not answer: {err}") from None
    if len(answer.body) > proxy.max_response_bytes:
        raise ConnectorError(f"connector '{operator}': the proxy answered more than {proxy.max_response_bytes} bytes",
                             permanent=True)
    text = answer.body.decode("utf-8", errors="replace")
    for secret in secrets:  # a proxy that echoes its key must not put it into task data or an error
        text = text.replace(secret, "[redacted]")
    return _result(operator, answer.status, text)


def _headers(proxy: ProxySettings, settings: ConnectorSettings, idempotency_key: str) -> tuple[dict[str, str],
                                                                                                list[str]]:
    """The request's headers, and the secrets among their values."""
    headers = {"Content-Type": "application/json; charset=utf-8", "Accept": "application/json",
               "User-Agent": "huhua", "Idempotency-Key": idempotency_key}
    secrets = []
    key = proxy.api_key()
    if key:
        headers[API_KEY_HEADER] = key
        secrets.append(key)
    credential = settings.credential_for(urlsplit(proxy.url).hostname or "")
    if credential is not None:
        value = credential.value()
        headers = {k: v for k, v in headers.items() if k.lower() != credential.header.lower()}
        headers[credential.header] = value
        secrets.append(value)
    return headers, [s for s in secrets if len(s) >= 4]


def _result(operator: str, status: int, text: str) -> Any:
    """The answer read as spiff-arena reads it; ConnectorError, permanent or not by the failing status."""
    try:
        parsed = json.loads(text) if text.strip() else {}
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise ConnectorError(f"connector '{operator}': the proxy answered HTTP {status} with no JSON object: "
                             f"{text[:300]}", permanent=not temporary_status(status))
    logs = parsed.get("spiff__logs")
    for line in logs if isinstance(logs, list) else []:
        log.info("connector %s: %s", operator, str(line)[:500])
    if logs is not None and isinstance(parsed.get("api_response"), dict):  # the older wrapping, logs beside it
        parsed = parsed["api_response"]
    response = parsed.get("command_response")
    versioned = isinstance(response, dict) and _version(parsed) > 1
    failure, failing_status, code = _failure(parsed, status, response if versioned else None)
    if failure is not None:
        details = {"error_code": code, "message": failure[:2000], "operator_identifier": operator,
                   "status_code": failing_status}
        raise ConnectorError(f"connector '{operator}' failed (HTTP {failing_status}): {failure}"[:2000],
                             permanent=not temporary_status(failing_status), error_code=code, details=details)
    if status == 202:
        raise ConnectorError(f"connector '{operator}' answered 202 Accepted, to answer later by a callback, which "
                             "this engine does not take; use a connector that answers at once", permanent=True)
    return {**response, "operator_identifier": operator} if versioned else parsed


def _version(parsed: dict[str, Any]) -> int:
    version = parsed.get("command_response_version", 0)
    return version if isinstance(version, int) and not isinstance(version, bool) else 0


def _failure(parsed: dict[str, Any], status: int,
             response: dict[str, Any] | None) -> tuple[str | None, int, str | None]:
    """What went wrong, the status that judges it (the service's behind the proxy when it failed) and the error
    code a model may catch (as spiff-arena names them), or None."""
    failure, failing_status, code = None, status, None
    upstream = response.get("http_status") if response is not None else None
    if isinstance(upstream, int) and not isinstance(upstream, bool) and upstream >= 300:
        failing_status, code = upstream, f"ServiceTaskHttpError{upstream}"
        failure = f"the service behind the proxy answered HTTP {upstream}: {_shown(response.get('body'))}"
    error = parsed.get("error")
    if isinstance(error, dict) and error.get("error_code"):
        code = str(error["error_code"])[:200]
        failure = f"{error['error_code']}: {_shown(error.get('message', ''))}"
    elif failure is None and status >= 300:
        failure = _shown(error) if error else _shown(parsed)
    return failure, failing_status, code


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text[:500]
