"""``/healthz`` and ``/readyz``, for a load balancer, systemd or an orchestrator (public: they tell nothing).

``/healthz`` says the process answers, and asks nothing else, so a database outage does not get every web
process restarted (which would not bring the database back); ``/readyz`` says whether it can serve now (the
database answers and its schema is the code's, engine.store.readiness), 503 with the reason otherwise.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify

from engine.bootstrap import Huhua
from engine.store.migration import head_revision
from engine.store.readiness import unready_reason

probes = Blueprint("probes", __name__)


@probes.get("/healthz")
def alive() -> Any:
    return jsonify({"status": "alive"})


@probes.get("/readyz")
def ready() -> Any:
    huhua: Huhua = current_app.extensions["huhua"]
    reason = unready_reason(huhua.services.database)
    if reason is not None:
        return jsonify({"status": "unavailable", "reason": reason}), 503, {"Retry-After": "10"}
    return jsonify({"status": "ready", "revision": head_revision()})
