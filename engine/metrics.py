"""The engine's figures for Prometheus: what each process counts as it works, and what the database tells at
scrape time.

Counted in the process (prometheus-client objects, one set per process, as its registry is the process's):
commands by kind and outcome with their latency (the command bus counts them, so no command can forget to),
HTTP requests by route rule and status with their latency, the inbox's latency, and the database pool in use.
Read from the database when scraped (:class:`DatabaseFigures`): jobs due now and the age of the oldest due job
per kind, open incidents, pending notification deliveries. A figure that is a fact of the database is asked of
the database, not summed from what each process saw, so every process (and every scrape) tells the same.

Under gunicorn with several workers, each worker counts on its own. With ``PROMETHEUS_MULTIPROC_DIR`` set (before
the workers start; deploy/gunicorn.conf.py empties it at start and marks a finished worker dead) the counts are
kept in files there and :func:`exposition` sums every worker's, so any worker answering a scrape tells the whole.

The counters below are made when this module is first imported, the one exception to "no work at import time":
prometheus-client keeps one registry per process and refuses a second counter of the same name, so they must
exist once, however many apps and engines a process (a test run) builds.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, event

from engine.errors import Conflict, HuhuaError

#: Latency buckets in seconds: a command or a page is expected within a fraction of a second, a slow one in seconds.
SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

COMMANDS = Counter("huhua_commands", "Commands executed, by kind and outcome (ok, refused, conflict, error)",
                   ["command", "outcome"])
COMMAND_SECONDS = Histogram("huhua_command_seconds", "Time to execute a command, retries included, by kind",
                            ["command"], buckets=SECONDS)
HTTP_REQUESTS = Counter("huhua_http_requests", "HTTP requests answered, by method, route rule and status",
                        ["method", "route", "status"])
HTTP_SECONDS = Histogram("huhua_http_request_seconds", "Time to answer an HTTP request, by method and route rule",
                         ["method", "route"], buckets=SECONDS)
INBOX_SECONDS = Histogram("huhua_inbox_request_seconds",
                          "Time to answer a person's inbox: the page (/inbox) or the API (/api/v1/tasks)",
                          ["surface"], buckets=SECONDS)
POOL_CHECKED_OUT = Gauge("huhua_db_pool_checked_out", "Database connections checked out of the pool",
                         multiprocess_mode="livesum")
POOL_SIZE = Gauge("huhua_db_pool_size", "Connections the pool keeps (more may overflow it for a while)",
                  multiprocess_mode="livesum")


def multiprocess_directory() -> str | None:
    """The directory prometheus-client keeps every process's counts in, when set (``PROMETHEUS_MULTIPROC_DIR``)."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def watch_pool(engine: Engine) -> None:
    """Keep :data:`POOL_CHECKED_OUT` and :data:`POOL_SIZE` at this process's pool as connections come and go.

    Set from the pool's own count at each event rather than added up, so a connection lost in an outage cannot
    leave the figure wrong for good. At check-in the connection is still counted until the event returns.
    """
    pool = engine.pool
    if not hasattr(pool, "checkedout") or not hasattr(pool, "size"):
        return
    POOL_SIZE.set(pool.size())
    event.listen(pool, "checkout", lambda *_: POOL_CHECKED_OUT.set(pool.checkedout()))
    event.listen(pool, "checkin", lambda *_: POOL_CHECKED_OUT.set(max(0, pool.checkedout() - 1)))


@dataclass(frozen=True)
class DueJobs:
    """Pending jobs of one kind that are due: how many, and since when the oldest has waited."""

    count: int
    oldest_due: datetime


@dataclass
class DatabaseFigures:
    """What the database tells at scrape time; ``reachable`` False: it did not answer (the rest is then empty)."""

    now: datetime
    reachable: bool = True
    due_jobs: dict[str, DueJobs] = field(default_factory=dict)
    open_incidents: int = 0
    pending_notifications: dict[str, int] = field(default_factory=dict)

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("huhua_database_up", "Whether the database answered this scrape (1) or not (0)")
        up.add_metric([], 1 if self.reachable else 0)
        yield up
        if not self.reachable:
            return
        due = GaugeMetricFamily("huhua_jobs_due", "Pending jobs due now, by kind", labels=["kind"])
        lag = GaugeMetricFamily("huhua_job_lag_seconds", "How long the oldest due job of each kind has waited",
                                labels=["kind"])
        for kind, jobs in sorted(self.due_jobs.items()):
            due.add_metric([kind], jobs.count)
            lag.add_metric([kind], max(0.0, (self.now - jobs.oldest_due).total_seconds()))
        yield due
        yield lag
        incidents = GaugeMetricFamily("huhua_incidents_open", "Incidents not yet resolved")
        incidents.add_metric([], self.open_incidents)
        yield incidents
        pending = GaugeMetricFamily("huhua_notifications_pending",
                                    "Notification deliveries (e-mail, robots, SMS) not yet sent, by channel",
                                    labels=["channel"])
        for channel, count in sorted(self.pending_notifications.items()):
            pending.add_metric([channel], count)
        yield pending


class _Collected(Collector):
    """Metrics already collected elsewhere, offered to a registry of one scrape."""

    def __init__(self, metrics: Iterable[Metric]) -> None:
        self.metrics = metrics

    def collect(self) -> Iterable[Metric]:
        return self.metrics


def exposition(figures: DatabaseFigures) -> bytes:
    """The scrape's answer in the Prometheus text format: this process's counts (every worker's, in
    multiprocess mode) and the database's figures."""
    registry = CollectorRegistry(auto_describe=False)
    directory = multiprocess_directory()
    if directory:
        multiprocess.MultiProcessCollector(registry, path=directory)
    else:
        registry.register(_Collected(REGISTRY.collect()))
    registry.register(_Collected(figures.collect()))
    return generate_latest(registry)


def outcome(error: BaseException | None) -> str:
    """A command's outcome label: ok, refused (the engine said no), conflict (another change won), error."""
    if error is None:
        return "ok"
    if isinstance(error, Conflict):
        return "conflict"
    return "refused" if isinstance(error, HuhuaError) else "error"


def record_command(name: str, seconds: float, error: BaseException | None) -> None:
    COMMANDS.labels(name, outcome(error)).inc()
    COMMAND_SECONDS.labels(name).observe(seconds)


def record_request(method: str, route: str, status: int, seconds: float, surface: str | None) -> None:
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_SECONDS.labels(method, route).observe(seconds)
    if surface is not None:
        INBOX_SECONDS.labels(surface).observe(seconds)

