"""Connector settings (``config/connectors.toml``, the proxy's also from the environment) and the error every
connector raises."""

from __future__ import annotations

import fnmatch
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from engine.connectors.registry import BUILT_IN, OPERATOR_PATTERN, ConnectorRegistry
from engine.errors import InvalidInput, Problem
from engine.outbound import OutboundPolicy, shown_url


class ConnectorError(Exception):
    """The call failed. A temporary failure (no connection, a timeout, 5xx, 429) is tried again later with
    backoff; a ``permanent`` one (an unknown connector, a bad parameter, a refused address, another 4xx) would
    fail the same way every time, so it becomes an incident at once, unless the model catches its
    ``error_code`` (a connector proxy's ``error.error_code``, or ``ServiceTaskHttpError404`` for the service's
    own status) with an error boundary event: then it is thrown as that BPMN error, with ``details``."""

    def __init__(self, message: str, *, permanent: bool = False, error_code: str | None = None,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.error_code = error_code
        self.details = details or {}


def temporary_status(status: int) -> bool:
    """Whether a failing HTTP answer ``status`` may be different next time: 5xx, 408 (timeout) and 429 (too many
    requests). Any other failing answer, a redirect (never followed) or a 4xx, would come again: it is permanent."""
    return status >= 500 or status in (408, 429)


#: A header name as HTTP allows it (RFC 9110 token).
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
#: A portable environment variable name.
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: Headers the connector itself decides: where the request goes, how it is framed, which job it is.
_FRAMING_HEADERS = frozenset({"host", "connection", "content-length", "transfer-encoding", "te", "upgrade",
                              "content-type", "idempotency-key"})
_CREDENTIAL_FIELDS = ("host", "header", "env")


@dataclass(frozen=True)
class HttpCredential:
    """One ``[[http.credentials]]`` entry: calls to ``host`` carry ``header``, its value read from ``env``.

    The file names the variable, never the secret: the value is read from the worker's environment at
    the moment of the call, so it is in no model, no job, no history and no configuration file.
    """

    host: str
    header: str
    env: str

    def matches(self, host: str) -> bool:
        return fnmatch.fnmatchcase(host.lower(), self.host.lower())

    def value(self, environ: Mapping[str, str] | None = None) -> str:
        """The secret from the environment; ConnectorError naming the variable (never a value) when unusable."""
        found = (os.environ if environ is None else environ).get(self.env)
        if not found:
            raise ConnectorError(f"the credential for host '{self.host}' ({self.header}) is not set: the environment "
                                 f"variable {self.env} is unset or empty on the worker (config/connectors.toml, "
                                 "http.credentials)", permanent=True)
        if any(c in found for c in "\r\n\0"):
            raise ConnectorError(f"the environment variable {self.env} holds a line break, which no header may carry",
                                 permanent=True)
        return found


@dataclass(frozen=True)
class ProxySettings:
    """A connector proxy speaking spiff-arena's protocol (``[proxy]``; see :mod:`engine.connectors.proxy`)."""

    #: Where it listens; ``/v1/do/<operator>`` is called below it.
    url: str
    #: The operators it serves that models may name: exact ids or patterns (``aws/*``, ``*``).
    operators: tuple[str, ...] = ()
    timeout_seconds: float = 30.0
    max_response_bytes: int = 1_000_000
    #: The environment variable whose value goes in ``Spiff-Connector-Proxy-Api-Key`` (never the file's).
    api_key_env: str = "HUHUA_CONNECTOR_PROXY_API_KEY"

    def api_key(self, environ: Mapping[str, str] | None = None) -> str:
        """The proxy's API key from the worker's environment, or "" when none is set."""
        found = (os.environ if environ is None else environ).get(self.api_key_env) or ""
        if any(c in found for c in "\r\n\0"):
            raise ConnectorError(f"the environment variable {self.api_key_env} holds a line break, which no "
                                 "header may carry", permanent=True)
        return found


@dataclass(frozen=True)
class ConnectorSettings:
    #: Hosts the ``http`` connector may call: exact names, ``*.example.org`` or ``*`` for any. None by default.
    http_allow: tuple[str, ...] = ()
    http_timeout_seconds: float = 10.0
    http_max_response_bytes: int = 1_000_000
    #: Headers added to calls to matching hosts (the first matching entry wins), values from the environment.
    http_credentials: tuple[HttpCredential, ...] = ()
    #: Which addresses the allowed hosts may resolve to (public only unless ``HUHUA_OUTBOUND_ALLOW`` says more).
    outbound: OutboundPolicy = field(default_factory=OutboundPolicy)
    #: The connector proxy, when one is configured.
    proxy: ProxySettings | None = None

    @property
    def registry(self) -> ConnectorRegistry:
        """The connectors a service task may name with these settings."""
        return ConnectorRegistry(self.proxy.operators if self.proxy else ())

    def credential_for(self, host: str) -> HttpCredential | None:
        """The first ``http.credentials`` entry whose host pattern matches ``host``."""
        return next((entry for entry in self.http_credentials if entry.matches(host)), None)


def load_connector_settings(path: Path, environ: Mapping[str, str] | None = None) -> ConnectorSettings:
    """Read ``config/connectors.toml`` (a missing file means the defaults: this machine only); the proxy's
    settings may come from the environment too, which overrides the file."""
    env = os.environ if environ is None else environ
    data: dict = {}
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as err:
            raise InvalidInput(f"{path.name} is not valid TOML: {err}", [Problem(str(err), file=str(path))]) from None
    http = data.get("http", {})
    allow = http.get("allow", [])
    timeout = http.get("timeout_seconds", 10)
    if not isinstance(allow, list) or not all(isinstance(h, str) and h for h in allow):  # [] allows nothing
        raise InvalidInput(f"{path.name}: http.allow must be a list of host names",
                           [Problem("expected a list of strings", file=str(path), field="http.allow")])
    if not isinstance(timeout, int | float) or not 0 < timeout <= 300:
        raise InvalidInput(f"{path.name}: http.timeout_seconds must be between 0 and 300",
                           [Problem("out of range", file=str(path), field="http.timeout_seconds")])
    credentials = _credentials(path, http.get("credentials", []))
    return ConnectorSettings(http_allow=tuple(allow), http_timeout_seconds=float(timeout),
                             http_credentials=credentials, proxy=_proxy(path, data.get("proxy", {}), env))


def _refuse(path: Path, field_name: str, message: str) -> InvalidInput:
    return InvalidInput(f"{path.name}: {field_name} {message}", [Problem(message, file=str(path), field=field_name)])


def _credentials(path: Path, entries: object) -> tuple[HttpCredential, ...]:
    """The checked ``[[http.credentials]]`` entries; a secret written into the file itself is refused."""
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        raise _refuse(path, "http.credentials", "must be a list of tables ([[http.credentials]] entries)")
    checked = []
    for number, entry in enumerate(entries, start=1):
        where = f"http.credentials[{number}]"
        extra = sorted(set(entry) - set(_CREDENTIAL_FIELDS))
        if extra:
            raise _refuse(path, f"{where}.{extra[0]}", "is not a field of a credential (host, header, env): the "
                          "secret itself never goes into this file; put it in the environment variable named by env")
        for name in _CREDENTIAL_FIELDS:
            if not isinstance(entry.get(name), str) or not entry[name].strip():
                raise _refuse(path, f"{where}.{name}", "is missing or empty (a non-empty string is needed)")
        host, header, env = (entry[name].strip() for name in _CREDENTIAL_FIELDS)
        if not _HEADER_NAME.match(header) or header.lower() in _FRAMING_HEADERS:
            raise _refuse(path, f"{where}.header", f"'{header}' is not a header a credential can travel in")
        if not _ENV_NAME.match(env):
            raise _refuse(path, f"{where}.env", f"'{env}' is not an environment variable name (letters, digits, _)")
        checked.append(HttpCredential(host=host, header=header, env=env))
    return tuple(checked)


_PROXY_FIELDS = ("url", "operators", "timeout_seconds")


def _proxy(path: Path, section: object, env: Mapping[str, str]) -> ProxySettings | None:
    """The checked ``[proxy]`` table with ``HUHUA_CONNECTOR_PROXY_URL`` / ``…_OPERATORS`` / ``…_TIMEOUT_SECONDS``
    over it; None when no URL is given. Its API key is only ever read from ``HUHUA_CONNECTOR_PROXY_API_KEY``."""
    if not isinstance(section, dict):
        raise _refuse(path, "proxy", "must be a table ([proxy])")
    extra = sorted(set(section) - set(_PROXY_FIELDS))
    if extra:
        raise _refuse(path, f"proxy.{extra[0]}", "is not a setting of the proxy (url, operators, timeout_seconds); "
                      "its API key goes in the environment variable HUHUA_CONNECTOR_PROXY_API_KEY, never this file")
    url = env.get("HUHUA_CONNECTOR_PROXY_URL") or section.get("url")
    given = env.get("HUHUA_CONNECTOR_PROXY_OPERATORS")
    operators = given.split(",") if given is not None else section.get("operators", [])
    timeout: object = env.get("HUHUA_CONNECTOR_PROXY_TIMEOUT_SECONDS") or section.get("timeout_seconds", 30)
    if not isinstance(operators, list) or not all(isinstance(name, str) for name in operators):
        raise _refuse(path, "proxy.operators", "must be a list of operator ids (\"http/GetRequestV2\", \"aws/*\")")
    operators = [name.strip() for name in operators if name.strip()]
    if not url:
        if operators:
            raise _refuse(path, "proxy.url", "is missing: the operators listed need the proxy that serves them "
                          "(or HUHUA_CONNECTOR_PROXY_URL)")
        return None
    parts = urlsplit(str(url))
    try:
        _ = parts.port
    except ValueError:
        raise _refuse(path, "proxy.url", f"'{shown_url(str(url))}' has a bad port") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise _refuse(path, "proxy.url", f"'{shown_url(str(url))}' is not the http(s) address of a connector proxy")
    if parts.username or parts.password:
        raise _refuse(path, "proxy.url", "carries credentials; the proxy's API key goes in the environment variable "
                      "HUHUA_CONNECTOR_PROXY_API_KEY")
    for name in operators:
        if name in BUILT_IN:
            raise _refuse(path, "proxy.operators", f"names '{name}', which is one of the engine's own connectors")
        if not OPERATOR_PATTERN.match(name):
            raise _refuse(path, "proxy.operators", f"'{name}' is not an operator id (segments of letters, digits, "
                          "_ - . separated by /, or a pattern with *)")
    try:
        seconds = float(str(timeout)) if isinstance(timeout, str) else timeout
    except ValueError:
        seconds = None
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 < seconds <= 300:
        raise _refuse(path, "proxy.timeout_seconds", "must be a number of seconds between 0 and 300")
    return ProxySettings(url=str(url).rstrip("/"), operators=tuple(operators), timeout_seconds=float(seconds))
