"""``/metrics`` for Prometheus, and the timing of every request that feeds it (engine.metrics).

Every request is counted by its route rule (``/api/v1/tasks/<int:task_id>``, never the address itself, so the
figures stay a few hundred series however many tasks there are) and status, and timed; the inbox's two surfaces
(the page and ``/api/v1/tasks``) have a histogram of their own. Who may scrape is the policy's
:data:`engine.access.policy.Rule.METRICS_SCRAPER`.
"""

from __future__ import annotations

import logging
import time

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.exc import SQLAlchemyError

from engine.bootstrap import Huhua
from engine.metrics import DatabaseFigures, exposition, record_request, watch_pool

log = logging.getLogger("huhua.web")
observability = Blueprint("observability", __name__)

#: The inbox's endpoints and the surface each is counted as.
INBOX_SURFACES = {"inbox.tasks": "page", "task_api.list_tasks": "api"}
#: Methods counted by name; anything else a client invents is counted as "other" (a label per invented method
#: would let any caller add series without end).
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def install(app: Flask, huhua: Huhua) -> None:
    """Time every request (first of the request hooks, so a refusal by a later one is timed too) and watch the
    database pool."""
    app.before_request(_start_clock)
    app.after_request(_count)
    watch_pool(huhua.services.database.engine)
    app.register_blueprint(observability)


def _start_clock() -> None:
    g.huhua_request_started = time.perf_counter()


def _count(response: Response) -> Response:
    started = g.get("huhua_request_started")
    if started is not None:
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        method = request.method if request.method in METHODS else "other"
        record_request(method, route, response.status_code, time.perf_counter() - started,
                       INBOX_SURFACES.get(request.endpoint or ""))
    return response


@observability.get("/metrics")
def scrape() -> Response:
    """The figures in the Prometheus text format; the database's are left out (``huhua_database_up 0``) when it
    does not answer, so a scrape still tells that the process runs and why the rest is missing."""
    huhua: Huhua = current_app.extensions["huhua"]
    now = huhua.clock.now()
    try:
        figures = huhua.queries.scrape_figures(now)
    except SQLAlchemyError as err:
        log.warning("the scrape could not read the database: %s", type(err).__name__)
        figures = DatabaseFigures(now, reachable=False)
    return Response(exposition(figures), headers={"Content-Type": CONTENT_TYPE_LATEST})
