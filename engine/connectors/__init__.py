"""Connectors: what a service task calls. A worker calls them outside the engine's transaction.

A service task names a connector (``spiffworkflow:serviceTaskOperator id="http"``) and gives it
parameters; the engine stops at the task and writes a ``service`` job; a worker claims the job, calls
the connector and hands the result back to the task (``RunHeldTask``). A call that fails is retried
with backoff and ends in an incident. Models are code from users, so a connector reaches only what
``config/connectors.toml`` allows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.connectors.config import ConnectorError, ConnectorSettings, load_connector_settings
from engine.connectors.http import call_http

CONNECTORS: dict[str, Callable[..., Any]] = {"http": call_http}

__all__ = ["CONNECTORS", "ConnectorError", "ConnectorSettings", "call", "load_connector_settings"]


def call(connector: str, params: dict[str, Any], *, idempotency_key: str, settings: ConnectorSettings) -> Any:
    """Call ``connector`` with ``params``; its JSON-ready result, or ConnectorError."""
    if connector not in CONNECTORS:
        raise ConnectorError(f"there is no connector '{connector}' (known: {', '.join(sorted(CONNECTORS))})")
    return CONNECTORS[connector](params, idempotency_key=idempotency_key, settings=settings)
