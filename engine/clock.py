"""The one clock that engine, timers, jobs and scheduler read.

Production runs on :class:`SystemClock`; tests and year-long simulations run on a
:class:`VirtualClock` that only moves when told to. All times are timezone-aware UTC; the
business calendar is Asia/Shanghai (see :data:`BUSINESS_TZ`).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
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
