"""The helpers that models written for spiff-arena expect in their scripts, on Huhua's terms.

spiff-arena gives scripts the ``time`` and ``datetime`` of the standard library, ``decimal``, and
functions such as ``get_current_user()`` and ``get_env()``. Scripts here find what those are used
for, and nothing that reaches outside the task data:

``time.time()``, ``time.time_ns()``, ``datetime.now()``
    Read the engine's clock, which is virtual in tests and simulations; never the wall clock.
    ``datetime.now()`` is Beijing time with its zone, as ``now()`` is.
``Decimal(value)``
    Exact decimal arithmetic under bounded precision and exponent (:data:`DECIMALS`), so that no
    Decimal can turn into a number or a text of millions of digits. A Decimal is for computing:
    the task data keeps ``float(x)`` or ``str(x)``.
``get_current_user()``
    The person whose action runs the step (completing a task, starting an instance), as a dict
    with ``id``, ``username``, ``display_name`` and ``email``; None when the engine runs the step
    itself (a timer, a message, a worker).
``get_env()``
    The name of the deployment from configuration (``HUHUA_ENV``: production, demo, test, ...).
``get_process_initiator_user()``
    The person who started the instance, in the same shape, in every step of it (and of what it calls); the
    engine's own starts (the scheduler, a fan-out) give the account they ran as.
``get_last_user_completing_task(process_id, task_id)``
    The person who last completed that task of this instance (its post-script already sees its own), or None.
``get_current_task_data()``
    A copy of the running task's data, as a dict (what the script reads anyway, by name).
``get_current_task_info()``
    The running task as SpiffWorkflow describes it, without its data: ``id``, ``parent``, ``children``,
    ``state``, ``task_spec``, ``last_state_change``, ``triggered``.

Secrets are deliberately not offered: whatever a script reads is kept in the task data, which
people read. Connectors take their credentials from configuration instead.
"""

from __future__ import annotations

import copy
import datetime as dt
import decimal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from engine.clock import BUSINESS_TZ, Clock

#: The rewriter turns every ``x.now(...)`` into a call of this helper (see ``script_policy``).
CLOCK_NOW = "_huhua_clock_now"
#: The helpers of :func:`compatibility_helpers`: task data of the same name (a form's ``time`` field) wins.
COMPATIBILITY_NAMES = frozenset({"time", "Decimal", "get_current_user", "get_env", "get_process_initiator_user",
                                 "get_last_user_completing_task", "get_current_task_data", "get_current_task_info"})
#: Where a workflow keeps who started it and who completed its tasks: its root task's internal data (stored with
#: the workflow, never shown as data).
INITIATOR = "huhua_initiator"
COMPLETED_BY = "huhua_completed_by"
#: A Decimal's exponent stays within ±this: about the 100,000 bits integers may have in scripts.
MAX_DECIMAL_EXPONENT = 30_000
#: The arithmetic scripts' Decimals follow: Python's default precision, a bounded exponent, errors raised.
DECIMALS = decimal.Context(prec=28, Emax=MAX_DECIMAL_EXPONENT, Emin=-MAX_DECIMAL_EXPONENT,
                           traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow])


@dataclass(frozen=True)
class ActingPerson:
    """Who takes the action a step runs for: the person completing a task or starting an instance."""

    username: str
    display_name: str
    email: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """As spiff-arena's ``get_current_user()`` gives it: a dict (here the log-in name is also the id)."""
        return {"id": self.username, "username": self.username, "display_name": self.display_name,
                "email": self.email}


_ACTING: ContextVar[ActingPerson | None] = ContextVar("huhua_acting_person", default=None)
_RUNNING: ContextVar[Any] = ContextVar("huhua_running_task", default=None)


@contextmanager
def acting_person(person: ActingPerson | None) -> Iterator[None]:
    """Scripts run inside this block see ``person`` as ``get_current_user()``."""
    token = _ACTING.set(person)
    try:
        yield
    finally:
        _ACTING.reset(token)


@contextmanager
def running_task(task: Any) -> Iterator[None]:
    """Scripts and expressions run inside this block belong to SpiffWorkflow task ``task`` (its instance)."""
    token = _RUNNING.set(task)
    try:
        yield
    finally:
        _RUNNING.reset(token)


def remember_initiator(workflow: Any, person: ActingPerson) -> None:
    """Keep, with a new workflow, who started it (read by ``get_process_initiator_user()``)."""
    workflow.task_tree.internal_data[INITIATOR] = person.as_dict()


def remember_completion(task: Any) -> None:
    """Keep who completes human task ``task`` now (the acting person), for ``get_last_user_completing_task``."""
    person = _ACTING.get()
    if person is not None:
        kept = _root(task).internal_data.setdefault(COMPLETED_BY, {})
        kept[f"{task.workflow.spec.name}/{task.task_spec.bpmn_id}"] = person.as_dict()


def _root(task: Any) -> Any:
    return getattr(task.workflow, "top_workflow", task.workflow).task_tree


def _kept(name: str, key: str | None = None) -> dict[str, Any] | None:
    task = _RUNNING.get()
    if task is None:
        return None
    found = _root(task).internal_data.get(name)
    if key is not None:
        found = found.get(key) if isinstance(found, dict) else None
    return dict(found) if isinstance(found, dict) else None


class EngineTime:
    """``time`` in scripts: the readings of the standard ``time`` module, taken from the engine clock."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def time(self) -> float:
        """Seconds since the epoch, as ``time.time()``."""
        return self._clock.now().timestamp()

    def time_ns(self) -> int:
        """Nanoseconds since the epoch, as ``time.time_ns()``."""
        instant = self._clock.now()
        return int((instant - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) / dt.timedelta(microseconds=1)) * 1000

    def strftime(self, template: str) -> str:
        """The engine clock's Beijing time formatted, as ``time.strftime(template)``."""
        return self._clock.now().astimezone(BUSINESS_TZ).strftime(template)

    def __repr__(self) -> str:
        return "<time: the engine clock>"


def script_decimal(value: Any = "0") -> decimal.Decimal:
    """``Decimal(value)`` in scripts, rounded into :data:`DECIMALS` (an exponent beyond it is an error)."""
    if isinstance(value, float | int | str | decimal.Decimal) and not isinstance(value, bool):
        return DECIMALS.create_decimal(value.strip() if isinstance(value, str) else value)
    raise TypeError(f"Decimal() takes a number or a text, not {type(value).__name__}")


def compatibility_helpers(clock: Clock, environment_name: str) -> dict[str, Any]:
    """The helpers named in the module docstring, keyed by the names scripts use."""

    def get_current_user() -> dict[str, Any] | None:
        """The person whose action runs this step; None in a step the engine runs by itself."""
        person = _ACTING.get()
        return person.as_dict() if person is not None else None

    def get_env() -> str:
        """The deployment's name from configuration (``HUHUA_ENV``)."""
        return environment_name

    def get_process_initiator_user() -> dict[str, Any] | None:
        """The person who started this instance (None for an instance started before Huhua kept it)."""
        return _kept(INITIATOR)

    def get_last_user_completing_task(process_id: str, task_id: str) -> dict[str, Any] | None:
        """The person who last completed task ``task_id`` of process ``process_id`` in this instance."""
        return _kept(COMPLETED_BY, f"{process_id}/{task_id}")

    return {"time": EngineTime(clock), "Decimal": script_decimal, "get_current_user": get_current_user,
            "get_env": get_env, "get_process_initiator_user": get_process_initiator_user,
            "get_last_user_completing_task": get_last_user_completing_task,
            "get_current_task_data": current_task_data, "get_current_task_info": current_task_info}


#: What task data holds (a running script's namespace also holds its helpers and modules, which are not data).
_DATA_TYPES = (dict, list, tuple, str, int, float, bool, type(None), dt.date, dt.time, dt.timedelta, decimal.Decimal)


def current_task_data() -> dict[str, Any]:
    """``get_current_task_data()``: a copy of the running task's data (empty outside a task)."""
    task = _RUNNING.get()
    if task is None:
        return {}
    return copy.deepcopy({name: value for name, value in task.data.items()
                          if not name.startswith("_") and isinstance(value, _DATA_TYPES)})


def current_task_info() -> dict[str, Any]:
    """``get_current_task_info()``: the running task's description, as SpiffWorkflow's serializer gives it (ids as
    text), without its data or the engine's internal notes (empty outside a task)."""
    task = _RUNNING.get()
    if task is None:
        return {}
    return {"id": str(task.id), "parent": str(task.parent.id) if task.parent is not None else None,
            "children": [str(child.id) for child in task.children], "state": task.state,
            "task_spec": task.task_spec.name, "last_state_change": task.last_state_change,
            "triggered": bool(getattr(task, "triggered", False))}


def clock_now(clock: Clock) -> Callable[..., dt.datetime]:
    """What ``x.now(tz=None)`` runs: for ``datetime`` (or a date-time value) the engine clock's time."""

    def now(receiver: Any, tz: dt.tzinfo | None = None) -> dt.datetime:
        if not (receiver is dt.datetime or isinstance(receiver, dt.datetime)):
            raise AttributeError(f"'{type(receiver).__name__}' object has no attribute 'now'")
        if tz is not None and not isinstance(tz, dt.tzinfo):
            raise TypeError("datetime.now() takes a time zone or nothing")
        return clock.now().astimezone(tz or BUSINESS_TZ)

    return now
