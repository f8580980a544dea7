"""One long-lived thread that stops scripts which run too long or make the process grow too much.

Scripts are evaluated millions of times, so a thread or a timer per evaluation is out of the
question. Instead an evaluation registers a :class:`Watch` (one dictionary write) and releases it
afterwards (one uncontended lock). The watchdog thread looks at the registered watches every
200 ms while evaluations are short, every 50 ms once one has run past a look; after a second
without any evaluation it sleeps on an event that the next registration sets (waking it on every
registration instead would cost each evaluation a thread switch, ten times the evaluation itself).
When a watch is over its deadline, or the process grew by more than its memory budget since the
watchdog first saw the watch (so the memory budget is approximate), the watchdog
raises :class:`~engine.runtime.script_guards.BudgetExceeded` in the evaluating thread through
``PyThreadState_SetAsyncExc``. That exception is delivered between two bytecodes, so it stops
Python-level loops (``while True: pass``); one long C call is stopped only when it returns, which
is why the size guards in ``script_guards`` refuse huge single operations before they start.

Each watch is fired at most once. Firing and releasing take the same lock, so the exception is never
sent to a thread that has already left its evaluation; :meth:`Watchdog.release` cancels one that
was sent but not yet delivered, and the evaluator raises it itself instead. Firing once is enough
because a script cannot catch the exception (it is a ``BaseException``; bare ``except:`` and
``finally`` are refused), and firing again could land in the evaluator's own clean-up.
"""

from __future__ import annotations

import ctypes
import logging
import os
import threading
import time

from engine.runtime.script_guards import BudgetExceeded

log = logging.getLogger(__name__)

#: How often the watchdog looks at the running evaluations (seconds): the precision of the budget.
TICK = 0.05
#: While every evaluation it sees is new (all of them short), the watchdog looks this much less often.
SLOW_TICK_FACTOR = 4
#: Time without any evaluation before the watchdog sleeps until the next one.
IDLE_SECONDS_BEFORE_SLEEP = 1.0
#: A watch still registered this long after it fired is stuck inside one C call; that is logged.
REPORT_STUCK_AFTER = 1.0


class TimeBudgetExceeded(BudgetExceeded):
    default_message = "script ran longer than its time budget"


class MemoryBudgetExceeded(BudgetExceeded):
    default_message = "script grew the process beyond its memory budget"


class Watch:
    """One evaluation in one thread, as the watchdog sees it."""

    __slots__ = ("baseline", "deadline", "fired", "fired_at", "max_memory", "reported", "seen", "thread_id")

    def __init__(self, thread_id: int, deadline: float, max_memory: int) -> None:
        self.thread_id = thread_id
        self.deadline = deadline
        self.max_memory = max_memory
        self.baseline = -1
        self.fired: type[BudgetExceeded] | None = None
        self.fired_at = 0.0
        self.reported = False
        self.seen = False


class Watchdog:
    """Registers evaluations and interrupts those over budget; its thread starts on first use."""

    def __init__(self, tick: float = TICK) -> None:
        self._tick = tick
        self._watches: dict[int, Watch] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._sleeping = False
        self._registrations = 0
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._fork_hook = False

    def watch(self, seconds: float, max_memory: int) -> Watch:
        """Start watching the current thread; pair with :meth:`release` in a ``finally``."""
        if self._thread is None:
            self._start()
        watch = Watch(threading.get_ident(), time.monotonic() + seconds, max_memory)
        self._watches[watch.thread_id] = watch
        self._registrations += 1
        if self._sleeping:
            self._sleeping = False
            self._wake.set()
        return watch

    def release(self, watch: Watch) -> type[BudgetExceeded] | None:
        """Stop watching; return the budget exception if the watchdog sent one.

        An exception sent but not delivered yet is cancelled, so the caller raises it itself. Calling
        this again is harmless, so a caller interrupted inside it can simply call it again.
        """
        with self._lock:
            if self._watches.get(watch.thread_id) is watch:
                del self._watches[watch.thread_id]
            fired = watch.fired
        if fired is not None:
            _send(watch.thread_id, None)
        return fired

    # -- the watchdog thread ------------------------------------------------------------------------

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is not None:
                return
            thread = threading.Thread(target=self._run, name="huhua-script-watchdog", daemon=True)
            thread.start()
            self._thread = thread
            if not self._fork_hook:
                os.register_at_fork(after_in_child=self._forget_after_fork)
                self._fork_hook = True

    def _forget_after_fork(self) -> None:
        """A forked child has no watchdog thread and none of the parent's evaluations."""
        self._watches = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._sleeping = False
        self._thread = None
        self._start_lock = threading.Lock()

    def _run(self) -> None:
        idle_ticks, registrations_seen, tick = 0, -1, self._tick
        while True:
            time.sleep(tick)
            if self._watches or self._registrations != registrations_seen:
                idle_ticks, registrations_seen = 0, self._registrations
                try:
                    running_long = self._inspect()
                except Exception:  # the watchdog must outlive any surprise
                    log.exception("script watchdog failed to inspect running scripts")
                    running_long = True
                # Short evaluations only: look four times less often (each look takes the GIL from them).
                tick = self._tick if running_long else self._tick * SLOW_TICK_FACTOR
                continue
            idle_ticks += 1
            if idle_ticks * tick < IDLE_SECONDS_BEFORE_SLEEP:
                continue
            # Nothing evaluated for a while: sleep until the next watch() wakes us. Not sooner, or every
            # evaluation of a busy engine would pay for waking this thread.
            self._sleeping = True
            if not self._watches and self._registrations == registrations_seen:  # again, after announcing sleep
                self._wake.wait()
            self._wake.clear()
            self._sleeping = False
            idle_ticks = 0

    def _inspect(self) -> bool:
        """Fire the watches over budget; True if an evaluation was already running at the last look."""
        watches = list(self._watches.values())
        if not watches:
            return False
        now = time.monotonic()
        resident = _resident_bytes() if any(w.max_memory for w in watches) else -1
        running_long = False
        for watch in watches:
            if watch.seen:
                running_long = True
            else:
                watch.seen = True
                watch.baseline = resident
            if watch.fired is not None:
                if not watch.reported and now - watch.fired_at > REPORT_STUCK_AFTER:
                    watch.reported = True  # one stop is enough: scripts cannot catch it (see script_policy)
                    log.error("a script in thread %s has not stopped %.1f s after its budget ran out: "
                              "it is inside one long C call", watch.thread_id, now - watch.fired_at)
                continue
            if now > watch.deadline:
                self._fire(watch, TimeBudgetExceeded, now)
            elif watch.max_memory and watch.baseline >= 0 and resident - watch.baseline > watch.max_memory:
                self._fire(watch, MemoryBudgetExceeded, now)
        return running_long

    def _fire(self, watch: Watch, budget: type[BudgetExceeded], now: float) -> None:
        with self._lock:
            if self._watches.get(watch.thread_id) is not watch:
                return  # released meanwhile: the thread has moved on and must not be disturbed
            watch.fired, watch.fired_at = budget, now
            _send(watch.thread_id, budget)


def _send(thread_id: int, exception: type[BaseException] | None) -> None:
    """Ask CPython to raise ``exception`` in another thread at its next bytecode (None: cancel)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exception) if exception is not None else None)


def _resident_bytes() -> int:
    """The process's resident memory, or -1 where /proc is not available."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE_SIZE
    except (OSError, ValueError, IndexError):
        return -1


_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
