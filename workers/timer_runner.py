"""The job worker of ``huhua serve``: a daemon thread, so the embedded default needs no other process.

:func:`fire_due_timers` is what tests and simulations call after moving a virtual clock.
"""

from __future__ import annotations

import threading

from engine.bootstrap import Huhua
from workers.job_worker import JobWorker, run_due_jobs


def fire_due_timers(huhua: Huhua) -> int:
    """Run every due job now (timers first of all); returns how many ran."""
    return run_due_jobs(huhua)


class TimerRunner:
    """A :class:`JobWorker` polling every ``interval`` seconds in a daemon thread until stopped."""

    def __init__(self, huhua: Huhua, interval: float = 1.0) -> None:
        self.worker = JobWorker(huhua, "serve")
        self.interval = interval
        self._thread = threading.Thread(target=self.worker.run_forever, args=(interval,), name="huhua-jobs",
                                         daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.worker.stop()
        self._thread.join(timeout)
