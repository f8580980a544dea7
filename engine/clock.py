"""The one clock that engine, timers, jobs and scheduler read.

Production runs on :class:`SystemClock`; tests and year-long simulations run on a
:class:`VirtualClock` that only moves when told to. All times are timezone-aware UTC; the
business calendar is Asia/Shanghai (see :data:`BUSINESS_TZ`).
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

BUSINESS_TZ = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    virtual: bool

    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    virtual = False

    def now(self) -> datetime:
        return datetime.now(UTC)


class VirtualClock:
    """A clock that stands still until :meth:`advance` or :meth:`set` moves it."""

    virtual = True

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime.now(UTC)
        if start.tzinfo is None:
            raise ValueError("a virtual clock needs a timezone-aware start time")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("time only moves forward")
        with self._lock:
            self._now += delta
            return self._now

    def set(self, instant: datetime) -> datetime:
        if instant.tzinfo is None:
            raise ValueError("a timezone-aware instant is required")
        with self._lock:
            instant = instant.astimezone(UTC)
            if instant < self._now:
                raise ValueError("time only moves forward")
            self._now = instant
            return self._now


class SharedVirtualClock:
    """A virtual clock several processes on one machine read, kept in a file (``HUHUA_VIRTUAL_CLOCK_FILE``).

    A simulated year run by separate worker (and web) processes needs them all on the simulator's time; the one
    that moves it (:meth:`set`) writes the file whole and renames it into place, so a reader never sees half an
    instant. Readers re-read it only when the file changed.
    """

    virtual = True

    def __init__(self, path: Path, start: datetime | None = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._seen: tuple[int, int] | None = None
        self._now: datetime | None = None
        if start is not None:
            self._write(start)

    def now(self) -> datetime:
        with self._lock:
            stat = self.path.stat()
            if self._now is None or self._seen != (stat.st_mtime_ns, stat.st_ino):
                self._now = datetime.fromisoformat(self.path.read_text(encoding="ascii").strip())
                self._seen = (stat.st_mtime_ns, stat.st_ino)
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("time only moves forward")
        return self.set(self.now() + delta)

    def set(self, instant: datetime) -> datetime:
        if instant.tzinfo is None:
            raise ValueError("a timezone-aware instant is required")
        if instant < self.now():
            raise ValueError("time only moves forward")
        return self._write(instant)

    def _write(self, instant: datetime) -> datetime:
        instant = instant.astimezone(UTC)
        spare = self.path.with_name(self.path.name + ".next")
        spare.write_text(instant.isoformat(), encoding="ascii")
        os.replace(spare, self.path)
        with self._lock:
            self._now, self._seen = instant, None
        return instant
