"""The evaluator behind script tasks, conditions and every other expression in a model: a sandbox.

BPMN files are code from users. Script tasks, pre- and post-scripts, gateway and loop conditions,
timer, cardinality and completion expressions, ``=`` task properties, message payloads and DMN
cells all run through :class:`GuardedEnvironment`. Each source is parsed, checked and compiled
once and cached; the same check refuses a model at deploy time (``engine.runtime.script_audit``).

What scripts may use
    Literals, arithmetic, comparisons, ``and/or/not``, ``a if c else b``, f-strings; names from the
    task data; assignment (``x = ...``, ``d['k'] = ...``, ``x += ...``, unpacking) and ``del``;
    ``if/elif/else``, ``for`` and ``while`` with ``break``/``continue``; ``try`` with named
    ``except`` clauses and ``else``; ``raise``, ``assert``, ``pass``; comprehensions and generator
    expressions; ``lambda`` (for sort keys, ``map`` and ``filter``). Builtins: ``abs all any bool
    dict divmod enumerate filter float frozenset int isinstance len list map max min range reversed
    round set sorted str sum tuple zip`` and a few exception classes. Helpers: ``now()`` and
    ``today()`` (the engine clock, in Asia/Shanghai), ``date``, ``datetime``, ``timedelta``,
    ``floor``, ``ceil``; for models written for spiff-arena, ``time.time()``, ``datetime.now()`` (the
    engine clock too), ``Decimal``, ``get_current_user()`` and ``get_env()`` (see
    ``engine.runtime.script_environment``; what it lacks is refused naming the replacement, see
    ``engine.runtime.script_hints``). Methods of strings, lists, dicts, sets, numbers and dates from a fixed list
    (``upper strip split startswith join replace get items append update isoformat strftime ...``,
    see ``script_policy.METHOD_ATTRIBUTES``), called where they are named, and value attributes such
    as ``.year`` or ``.days``. An expression is the same language in a single expression, and may
    not call methods that change data (``append``, ``update``, ...): conditions do not have effects.

What is refused before anything runs
    Imports; ``def``, ``class``, ``global``, ``nonlocal``, ``return``, ``yield``, ``await`` and
    async forms, ``with``, ``match``, annotations, ``finally``, bare ``except:`` and ``except*``;
    names and attributes starting with ``_``; the names ``getattr setattr eval exec compile open
    type vars globals locals dir breakpoint input help memoryview bytearray object iter next ...``
    (even as data names); ``.format``/``.format_map`` (they read attributes: ``"{0.__class__}"``);
    any attribute not on the list; a method named without being called (``key=d.get``: a bound
    method handed to C could loop inside C forever); assigning to attributes or slices; ``*``
    inside list, tuple or set displays; computed or huge (> 1000) f-string widths.

    ``lambda`` is allowed because sort keys need it and it is one expression. ``def`` is not: plain
    data transformations do not need named functions, and refusing them rules out generator
    functions, decorators and closures at once. Generator expressions are allowed; their frames
    (``gi_frame``) are attributes off the list.

Budgets while running (see ``config/README.md``)
    Time: each evaluation may run ``HUHUA_SCRIPT_SECONDS`` (1 s); a single watchdog thread stops
    it (``engine.runtime.watchdog``). Size: ``+ * ** << %`` and growing methods (``join replace
    ljust rjust center zfill extend``) are rewritten to check the size of their result before
    building it (``HUHUA_SCRIPT_MAX_ELEMENTS``, 10,000,000 characters or elements; integers up to
    100,000 bits); ``range``, ``round`` and ``sum`` are bounded. Memory: an evaluation that grows
    the process by more than ``HUHUA_SCRIPT_MAX_MEMORY_MB`` (1024) is stopped. Data: what a script
    leaves in the task (and what an expression returns) is counted, shared references each time,
    and must be data, not iterators or functions. A stop is a :class:`ScriptLimitExceeded`, which
    the runtime turns into an incident on the element; other instances are not affected. A script
    that fails for any reason leaves the task's top-level data names as they were.

What this cannot stop
    One long C-level call runs until it returns: sorting, comparing or printing a list that holds
    the same ten-million-element list ten million times, or ``zip(*rows)`` over ten million long
    rows, can take hours or (printing) exhaust memory, because no Python-level check happens inside
    it. The watchdog stops such a script when the call returns and logs it while it runs on; run the
    engine under an operating-system memory limit (``ulimit -v``, a cgroup) so that a runaway
    allocation fails with ``MemoryError`` (an incident) instead of waking the OOM killer.
"""

from __future__ import annotations

import ast
import builtins
import datetime as dt
import decimal
import functools
import json
import math
from collections.abc import Callable
from types import CodeType
from typing import Any, TypeVar

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.exceptions import SpiffWorkflowException

from engine.clock import BUSINESS_TZ, Clock, SystemClock
from engine.org.calendar import MAX_WORKING_DAYS, calendar_in_effect, working_deadline
from engine.runtime import script_policy
from engine.runtime.script_environment import (
    CLOCK_NOW,
    COMPATIBILITY_NAMES,
    DECIMALS,
    clock_now,
    compatibility_helpers,
    running_task,
)
from engine.runtime.script_guards import (
    DATA_LEAVES,
    BudgetExceeded,
    ScriptLimitExceeded,
    ScriptLimits,
    SizeLimitExceeded,
    check_data,
    guards,
)
from engine.runtime.script_hints import explained_attribute_error, explained_decimal_error, explained_name_error
from engine.runtime.script_policy import ScriptRefused
from engine.runtime.watchdog import MemoryBudgetExceeded, TimeBudgetExceeded, Watchdog

__all__ = ["GuardedEnvironment", "HuhuaScriptEngine", "ScriptLimitExceeded", "ScriptLimits", "ScriptRefused",
           "check_source", "compile_checked", "evaluator_names"]

SAFE_BUILTINS: dict[str, Any] = {
    name: getattr(builtins, name)
    for name in (
        "abs", "all", "any", "bool", "dict", "divmod", "enumerate", "filter", "float", "frozenset", "int",
        "isinstance", "len", "list", "map", "max", "min", "reversed", "set", "sorted", "str", "tuple", "zip",
        "Exception", "ValueError", "KeyError", "TypeError", "IndexError", "LookupError", "ArithmeticError",
        "ZeroDivisionError",
    )
}

#: What ``get_env()`` answers when configuration names no environment (``HUHUA_ENV``).
DEFAULT_ENVIRONMENT = "production"

#: One watchdog thread for the whole process, started on the first evaluation.
WATCHDOG = Watchdog()
_T = TypeVar("_T")


def check_source(source: str, mode: str) -> None:
    """Raise :class:`ScriptRefused` if ``source`` ('exec' script or 'eval' expression) is outside the subset."""
    compile_checked(source, mode)


@functools.lru_cache(maxsize=4096)
def compile_checked(source: str, mode: str) -> CodeType:
    """Check, rewrite and compile ``source`` once; refused sources raise :class:`ScriptRefused` every time."""
    try:
        tree = script_policy.parse(source, mode)
        script_policy.check_tree(tree, mode)
        return compile(script_policy.rewrite_tree(tree), "<script>", mode)
    except SyntaxError as err:  # found only by the compiler: 'break' outside a loop, ...
        raise ScriptRefused(f"syntax error: {err.msg}", err.lineno) from None
    except (RecursionError, MemoryError):  # CPython's parser and compiler recurse once per nesting level
        raise ScriptRefused("the script is nested too deeply (split long chains of operators)") from None


@functools.cache
def evaluator_names() -> frozenset[str]:
    """The names an expression may use besides the task data: the allowed builtins and the helpers.

    Taken from the evaluator itself, so a check at deploy time (``engine.bpmn.dmn_lint``) knows exactly
    what a running expression finds; the size-checked helpers the rewrite calls are not for users.
    """
    environment = GuardedEnvironment(SystemClock())
    return frozenset(name for name in (*environment.builtins, *environment.globals) if not name.startswith("_"))


def expression_source(expression: str) -> str:
    """The text of an expression as it is compiled (surrounding whitespace, e.g. from XML, removed)."""
    return expression.strip()


class BpmnErrorThrown(Exception):
    """Raised by ``throw_error(code)`` in a script: the task ends with the BPMN error ``code``."""

    def __init__(self, code: str) -> None:
        super().__init__(f"BPMN error {code}")
        self.code = code


def throw_error(code: str) -> None:
    """End the running script task with the BPMN error ``code``, for an error boundary event to catch."""
    if not isinstance(code, str) or not code:
        raise ValueError("throw_error needs an error code (a non-empty string)")
    raise BpmnErrorThrown(code)


class GuardedEnvironment(BasePythonScriptEngineEnvironment):
    """Runs checked, cached code with whitelisted builtins and helpers, inside the time and size budget."""

    def __init__(self, clock: Clock, limits: ScriptLimits | None = None, watchdog: Watchdog | None = None,
                 environment_name: str = DEFAULT_ENVIRONMENT) -> None:
        self.clock = clock
        self.limits = limits or ScriptLimits()
        self.watchdog = watchdog or WATCHDOG
        self.environment_name = environment_name
        self.builtins: dict[str, Any] = {**SAFE_BUILTINS, **guards(self.limits), CLOCK_NOW: clock_now(clock)}
        super().__init__(self._helpers())

    def _helpers(self) -> dict[str, Any]:
        def now() -> dt.datetime:
            """The engine clock's time in Asia/Shanghai."""
            return self.clock.now().astimezone(BUSINESS_TZ)

        def today() -> dt.date:
            return now().date()

        def working_days_later(n: int, at: str = "17:30") -> str:
            """The ISO instant ``n`` working days after today (China's calendar) at ``at``: for timers and due dates."""
            if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= MAX_WORKING_DAYS:
                raise ValueError(f"working_days_later needs a whole number of days from 0 to {MAX_WORKING_DAYS}")
            return working_deadline(calendar_in_effect(), today(), n, dt.time.fromisoformat(at)).isoformat()

        return {
            "now": now, "today": today, "throw_error": throw_error, "date": dt.date, "datetime": dt.datetime,
            "timedelta": dt.timedelta, "floor": math.floor, "ceil": math.ceil,
            "working_days_later": working_days_later,
            **compatibility_helpers(self.clock, self.environment_name),
        }

    def evaluate(self, expression: str | None, context: dict[str, Any], external_context: dict | None = None) -> Any:
        if expression is None:
            return None  # an absent condition (an ad-hoc sub-process without completionCondition) never holds
        source = expression_source(expression)
        code = compile_checked(source, "eval")
        scope = {"__builtins__": self.builtins, **self.globals, **(external_context or {}), **context}
        try:
            return self._within_budget(self._evaluated, code, scope)
        except (NameError, AttributeError, decimal.DecimalException) as failure:
            explained = _explained(failure, source)
            if explained is failure:
                raise
            raise explained from failure

    def execute(self, script: str, context: dict[str, Any], external_context: dict | None = None) -> bool:
        """Run ``script`` on the task data ``context``; if it fails, its top-level assignments are undone. A script
        task drawn without a script (spiff-arena's modeler saves none) does nothing, as an empty one would."""
        if script is None:
            return True
        code = compile_checked(script, "exec")
        injected = {"__builtins__": self.builtins, **self.globals, **(external_context or {})}
        for name in COMPATIBILITY_NAMES.intersection(context):  # added later: data of that name keeps it
            del injected[name]
        clash = set(injected).intersection(context) - {"__builtins__"}
        if clash:
            raise ValueError(f"data names shadow built-in helpers: {', '.join(sorted(clash))}")
        before = dict(context)
        context.update(injected)

        def run() -> None:
            try:
                exec(code, context)
            finally:
                _remove_injected(context, injected)
            values = list(context.values())
            if not set(map(type, values)) <= DATA_LEAVES:  # numbers, dates and None need no walk
                check_data(values, self.limits, "the task data")

        try:
            self._within_budget(run)
        except Exception as failure:
            context.clear()
            context.update(before)
            damaged = self._drop_damaged(context)
            if damaged:
                raise ScriptLimitExceeded(f"{failure}; removed from the task data, which the script changed in place "
                                          f"beyond repair: {', '.join(damaged)}") from failure
            explained = _explained(failure, script)
            if explained is not failure:
                raise explained from failure
            raise
        finally:
            if "__builtins__" in context:  # removed last: still there if a stop cut the first removal short
                _remove_injected(context, injected)
        return True

    def _drop_damaged(self, context: dict[str, Any]) -> list[str]:
        """After a failed script: drop values it made unstorable in place (``items.append(items)``)."""
        damaged = []
        for key, value in list(context.items()):
            try:
                check_data([value], self.limits, key)
            except ScriptLimitExceeded:
                damaged.append(key)
                del context[key]
        return damaged

    def call_service(self, context: dict[str, Any], **kwargs: Any) -> Any:
        raise NotImplementedError("service tasks run as jobs through workers, not inside scripts")

    def _evaluated(self, code: CodeType, scope: dict[str, Any]) -> Any:
        result = eval(code, scope)
        if type(result) not in DATA_LEAVES:
            check_data([result], self.limits, "the expression's result")
        return result

    def _within_budget(self, action: Callable[..., _T], *arguments: Any) -> _T:
        """Run ``action`` under the watchdog; a budget stop becomes :class:`ScriptLimitExceeded`."""
        watchdog = self.watchdog
        watch = watchdog.watch(self.limits.seconds, self.limits.max_memory_bytes)
        try:
            try:
                with decimal.localcontext(DECIMALS):  # a script's Decimals stay within bounded digits
                    result = action(*arguments)
            finally:
                fired = watchdog.release(watch)
            if fired is not None:  # sent while the action was finishing, and cancelled before delivery
                raise fired()
            return result
        except BudgetExceeded as stop:
            watchdog.release(watch)  # harmless if done; needed if a late delivery interrupted the first call
            raise ScriptLimitExceeded(self._describe(stop)) from None

    def _describe(self, stop: BudgetExceeded) -> str:
        if isinstance(stop, TimeBudgetExceeded):
            return f"script ran longer than {self.limits.seconds:g} s"
        if isinstance(stop, MemoryBudgetExceeded):
            return f"script grew the process by more than {self.limits.max_memory_bytes // 2**20:,} MB"
        if isinstance(stop, SizeLimitExceeded):
            return str(stop)
        return stop.default_message


#: Where a released service task carries its worker's result until SpiffWorkflow asks for it.
SERVICE_RESULT = "huhua_service_result"


class HuhuaScriptEngine(PythonScriptEngine):
    """SpiffWorkflow's script engine on the guarded environment, carrying the engine clock."""

    def __init__(self, clock: Clock | None = None, limits: ScriptLimits | None = None,
                 environment_name: str = DEFAULT_ENVIRONMENT) -> None:
        self.clock = clock or SystemClock()
        super().__init__(environment=GuardedEnvironment(self.clock, limits, environment_name=environment_name))

    def call_service(self, task: Any, **_kwargs: Any) -> str:
        """A service task's result: a worker already called the connector, outside the engine's transaction."""
        if SERVICE_RESULT not in task.internal_data:
            raise NotImplementedError("service tasks run as jobs through workers, not inside the engine step")
        return json.dumps(task.internal_data.pop(SERVICE_RESULT), ensure_ascii=False)

    def validate(self, expression: str) -> None:
        """Refuse ``expression``; a syntax error stays a ``SyntaxError``, as SpiffWorkflow's DMN engine expects."""
        ast.parse(expression)
        check_source(expression, "exec")

    def execute(self, task: Any, script: str, external_context: dict | None = None) -> bool:
        """As SpiffWorkflow does, with the task known to the helpers that read its instance."""
        with running_task(task):
            return super().execute(task, script, external_context)

    def evaluate(self, task: Any, expression: str, external_context: dict | None = None) -> Any:
        """As SpiffWorkflow does, but the reason (a budget stop, a NameError) is part of the message."""
        try:
            with running_task(task):
                return self.environment.evaluate(expression, task.data, external_context)
        except SpiffWorkflowException as err:
            err.add_note(f"Error evaluating expression '{_shortened(expression)}'")
            raise
        except Exception as err:
            raise WorkflowTaskException(f"Error evaluating expression '{_shortened(expression)}': "
                                        f"{type(err).__name__}: {err}", task=task, exception=err) from err


def _shortened(text: str, limit: int = 200) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _explained(failure: Exception, source: str) -> Exception:
    """A NameError or AttributeError reworded to name what to write instead (``payload['x']``, ...)."""
    if isinstance(failure, NameError):
        return explained_name_error(failure)
    if isinstance(failure, AttributeError):
        return explained_attribute_error(failure, source)
    if isinstance(failure, decimal.DecimalException):
        return explained_decimal_error(failure)
    return failure


def _remove_injected(context: dict[str, Any], injected: dict[str, Any]) -> None:
    """Take helpers, anything callable (a lambda) and, last, the builtins out of the task data after a script."""
    for key in injected:
        if key != "__builtins__":
            context.pop(key, None)
    for key in [key for key, value in context.items() if callable(value)]:
        del context[key]
    context.pop("__builtins__", None)
