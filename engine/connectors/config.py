"""Connector settings (``config/connectors.toml``) and the error every connector raises."""

from __future__ import annotations

import fnmatch
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import InvalidInput, Problem
from engine.outbound import OutboundPolicy


class ConnectorError(Exception):
    """The call failed (refused, timed out, answered with an error); the job is tried again later."""


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
                                 "http.credentials)")
        if any(c in found for c in "\r\n\0"):
            raise ConnectorError(f"the environment variable {self.env} holds a line break, which no header may carry")
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

    def credential_for(self, host: str) -> HttpCredential | None:
        """The first ``http.credentials`` entry whose host pattern matches ``host``."""
        return next((entry for entry in self.http_credentials if entry.matches(host)), None)


def load_connector_settings(path: Path) -> ConnectorSettings:
    """Read ``config/connectors.toml`` (a missing file means the defaults: this machine only)."""
    if not path.exists():
        return ConnectorSettings()
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
                             http_credentials=credentials)


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
