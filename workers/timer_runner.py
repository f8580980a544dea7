"""Fires due timers: reads the job table's due-time index and runs one FireTimer command per job.

In this first form it runs inside the serving process (a daemon thread); the worker processes with
leases take over from it. :func:`fire_due_timers` is also what a test or simulation calls after
moving a virtual clock.
"""

from __future__ import annotations

import logging
import threading

from engine.bootstrap import Huhua
from engine.commands import FireTimer, RecordJobFailure
from engine.errors import HuhuaError

log = logging.getLogger("huhua.timers")


def fire_due_timers(huhua: Huhua, *, batch: int = 100, max_rounds: int = 1000) -> int:
    """Fire every timer due on the engine clock, including ones that become due by firing others."""
    fired = 0
    for _ in range(max_rounds):
        due = huhua.queries.due_jobs(huhua.clock.now(), limit=batch)
        if not due:
            break
        for job_id in due:
            try:
                result = huhua.execute(FireTimer(job_id))
            except Exception as err:  # one failing job must not hold up the others
                log.warning("timer job %s not fired: %s", job_id, err, exc_info=not isinstance(err, HuhuaError))
                huhua.execute(RecordJobFailure(job_id, f"{type(err).__name__}: {err}"))
                continue
            fired += 1 if result.get("fired") else 0
    return fired


class TimerRunner:
    """A daemon thread that calls :func:`fire_due_timers` every ``interval`` seconds until stopped."""

    def __init__(self, huhua: Huhua, interval: float = 1.0) -> None:
        self.huhua = huhua
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="huhua-timers", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                fire_due_timers(self.huhua)
            except Exception:  # keep serving: one bad round must not stop every later timer
                log.exception("timer round failed")
