"""Connectors: what a service task calls. A worker calls them outside the engine's transaction.

A service task names a connector (``spiffworkflow:serviceTaskOperator id="http"``) and gives it
parameters; the engine stops at the task and writes a ``service`` job; a worker claims the job, calls
the connector and hands the result back to the task (``RunHeldTask``). A call that fails for a while is
retried with backoff and ends in an incident; one that would fail the same way again (``permanent``) is
an incident at once. Models are code from users, so a connector reaches only what
``config/connectors.toml`` allows. Which names a task may use is known before anything runs
(:mod:`engine.connectors.registry`): the engine's own, and the operators of a connector proxy
(:mod:`engine.connectors.proxy`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.connectors.config import ConnectorError, ConnectorSettings, load_connector_settings
from engine.connectors.http import call_http
from engine.connectors.proxy import call_proxy
from engine.connectors.registry import BUILT_IN, ConnectorRegistry

#: The engine's own connectors a worker calls here (the others it answers itself, see workers.job_worker).
CONNECTORS: dict[str, Callable[..., Any]] = {"http": call_http}

__all__ = ["BUILT_IN", "CONNECTORS", "ConnectorError", "ConnectorRegistry", "ConnectorSettings", "call",
           "load_connector_settings"]


def call(connector: str, params: dict[str, Any], *, idempotency_key: str, settings: ConnectorSettings) -> Any:
    """Call ``connector`` with ``params``; its JSON-ready result, or ConnectorError.

    A name nobody answers (a model deployed before deployment checked connectors, or a proxy operator no longer
    configured) is a permanent failure: no retry would find it.
    """
    if connector in CONNECTORS:
        return CONNECTORS[connector](params, idempotency_key=idempotency_key, settings=settings)
    if settings.registry.is_proxied(connector):
        return call_proxy(connector, params, idempotency_key=idempotency_key, settings=settings)
    raise ConnectorError(f"there is no connector '{connector}' (known: {', '.join(settings.registry.names())}); "
                         "list a connector proxy's operators in config/connectors.toml, [proxy]", permanent=True)
