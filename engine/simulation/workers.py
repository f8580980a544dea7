"""Worker processes for a simulated year: ``huhua worker`` run as production runs it, on the simulator's time.

The simulator moves the shared virtual clock (engine.clock.SharedVirtualClock) and then waits until the workers
have run every job due by then — the jobs that fall due while they run included — before it moves on: each moment
of the year is finished before the next, as it would be with time passing slowly enough.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from engine.bootstrap import Huhua
from engine.errors import HuhuaError
from engine.store import tables

_j = tables.job
#: How long the workers may take over one moment's jobs before the simulation gives up and says which are stuck.
SETTLE_SECONDS = 600


class WorkerPool:
    """``count`` worker processes on ``database_url``, reading the clock in ``clock_file``."""

    def __init__(self, huhua: Huhua, count: int, database_url: str, clock_file: Path) -> None:
        self.huhua = huhua
        env = {**os.environ, "HUHUA_DATABASE_URL": database_url, "HUHUA_VIRTUAL_CLOCK_FILE": str(clock_file),
               "HUHUA_PROCESSES_DIR": str(huhua.settings.processes_dir),
               "HUHUA_SCHEDULES": str(huhua.settings.schedules_file)}
        self.processes = [subprocess.Popen([sys.executable, "-m", "engine.cli", "worker", "--name", f"simulation-{n}",
                                            "--poll", "0.05", "--batch", "5"], env=env,
                                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
                          for n in range(1, count + 1)]

    def settle(self) -> None:
        """Wait until no job is due on the clock as it reads now."""
        deadline = time.monotonic() + SETTLE_SECONDS
        while True:
            now = self.huhua.clock.now()
            with self.huhua.services.database.engine.connect() as connection:
                due = connection.execute(select(_j.c.kind, func.count()).where(_j.c.state == "pending",
                                                                               _j.c.due_at <= now)
                                         .group_by(_j.c.kind)).all()
            if not due:
                return
            dead = [p.args[4] for p in self.processes if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                waiting = ", ".join(f"{count} {kind}" for kind, count in due)
                raise HuhuaError(f"the workers did not run the jobs due ({waiting})"
                                 + (f": {', '.join(dead)} stopped" if dead else f" within {SETTLE_SECONDS} s"))
            time.sleep(0.02)

    def stop(self) -> None:
        """SIGTERM each (they finish the job in hand), then wait."""
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
