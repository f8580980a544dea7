"""Connector settings (``config/connectors.toml``) and the error every connector raises."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import InvalidInput, Problem
from engine.outbound import OutboundPolicy


class ConnectorError(Exception):
    """The call failed (refused, timed out, answered with an error); the job is tried again later."""


@dataclass(frozen=True)
class ConnectorSettings:
    #: Hosts the ``http`` connector may call: exact names, ``*.example.org`` or ``*`` for any. None by default.
    http_allow: tuple[str, ...] = ()
    http_timeout_seconds: float = 10.0
    http_max_response_bytes: int = 1_000_000
    #: Which addresses the allowed hosts may resolve to (public only unless ``HUHUA_OUTBOUND_ALLOW`` says more).
    outbound: OutboundPolicy = field(default_factory=OutboundPolicy)


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
    return ConnectorSettings(http_allow=tuple(allow), http_timeout_seconds=float(timeout))
