"""Gunicorn settings for Huhua's web processes: ``gunicorn -c deploy/gunicorn.conf.py engine.web.wsgi:app``.

Read from the environment like the app (``HUHUA_BIND``, ``HUHUA_WEB_WORKERS``). Each worker builds its own engine
and connection pool after the fork (no ``preload_app``: a pooled connection must never be shared by two
processes). SIGTERM stops gracefully: requests under way get ``graceful_timeout`` seconds to finish.

With ``PROMETHEUS_MULTIPROC_DIR`` set, prometheus-client keeps each worker's counts in files there and /metrics
sums them (engine.metrics): the directory is emptied when gunicorn starts (the counts of an earlier run are not
this run's), and a worker that exits is marked dead so its gauges leave the sums (its counters stay: they
happened).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

wsgi_app = "engine.web.wsgi:app"
bind = os.environ.get("HUHUA_BIND", "127.0.0.1:8080")
workers = int(os.environ.get("HUHUA_WEB_WORKERS", "4"))
#: A request that takes longer than this is stuck (the slowest pages, an export of a year, take seconds).
timeout = 120
#: What SIGTERM (systemd's stop, a deploy) leaves requests under way to finish; TimeoutStopSec must be longer.
graceful_timeout = 30
keepalive = 5
#: The workers' heartbeat files in memory, not on a disk that may stall (gunicorn's advice for containers too).
worker_tmp_dir = "/dev/shm" if Path("/dev/shm").is_dir() else None


def on_starting(_server: Any) -> None:
    """Empty the multiprocess directory before any worker counts into it."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()


def child_exit(_server: Any, worker: Any) -> None:
    """A worker gone (stopped, restarted, killed): its live gauges no longer count."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
