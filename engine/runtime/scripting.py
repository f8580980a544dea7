"""The evaluator behind script tasks, gateway conditions and other expressions in a model.

Scripts come from users, so they run on a short leash: the source is checked before it runs
(no imports, no names or attributes starting with ``_``, no ``global``), only a whitelist of
builtins exists, and each compiled script is cached so that a condition evaluated a million
times is compiled once.
"""

from __future__ import annotations

import ast
import datetime as _dt
import functools
import math
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from engine.clock import BUSINESS_TZ, Clock, SystemClock

SAFE_BUILTINS: dict[str, Any] = {
    name: __builtins__[name] if isinstance(__builtins__, dict) else getattr(__builtins__, name)
    for name in (
        "abs", "all", "any", "bool", "dict", "divmod", "enumerate", "filter", "float", "int", "isinstance",
        "len", "list", "map", "max", "min", "range", "reversed", "round", "set", "sorted", "str", "sum",
        "tuple", "zip", "ValueError", "KeyError", "TypeError", "Exception",
    )
}

_FORBIDDEN_NODES = (ast.Import, ast.ImportFrom, ast.Global, ast.Nonlocal, ast.AsyncFunctionDef, ast.Await,
                    ast.ClassDef)


class ScriptRefused(Exception):
    """A script uses a construct that scripts may not use; raised before it runs."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message if line is None else f"line {line}: {message}")
        self.line = line


def check_source(source: str, mode: str) -> ast.AST:
    """Parse ``source`` and refuse anything outside the allowed subset."""
    try:
        tree = ast.parse(source, mode=mode)
    except SyntaxError as err:
        raise ScriptRefused(f"syntax error: {err.msg}", err.lineno) from None
    for node in ast.walk(tree):
        line = getattr(node, "lineno", None)
        if isinstance(node, _FORBIDDEN_NODES):
            raise ScriptRefused(f"'{type(node).__name__}' is not allowed in scripts", line)
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            raise ScriptRefused(f"attribute '{node.attr}' is not allowed (names starting with '_')", line)
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            raise ScriptRefused(f"name '{node.id}' is not allowed (names starting with '_')", line)
        if isinstance(node, ast.arg) and node.arg.startswith("_"):
            raise ScriptRefused(f"argument '{node.arg}' is not allowed (names starting with '_')", line)
    return tree


@functools.lru_cache(maxsize=4096)
def _compiled(source: str, mode: str) -> Any:
    tree = check_source(source, mode)
    return compile(tree, "<script>", mode)


class GuardedEnvironment(BasePythonScriptEngineEnvironment):
    """Evaluates and executes checked, cached code with whitelisted builtins and helpers."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        super().__init__(self._helpers())

    def _helpers(self) -> dict[str, Any]:
        def now() -> _dt.datetime:
            """The engine clock's time in Asia/Shanghai."""
            return self.clock.now().astimezone(BUSINESS_TZ)

        def today() -> _dt.date:
            return now().date()

        return {
            "now": now, "today": today, "date": _dt.date, "datetime": _dt.datetime,
            "timedelta": _dt.timedelta, "floor": math.floor, "ceil": math.ceil,
        }

    def evaluate(self, expression: str, context: dict[str, Any], external_context: dict | None = None) -> Any:
        code = _compiled(expression.strip(), "eval")
        scope = {"__builtins__": SAFE_BUILTINS, **self.globals, **(external_context or {}), **context}
        return eval(code, scope)

    def execute(self, script: str, context: dict[str, Any], external_context: dict | None = None) -> bool:
        code = _compiled(script, "exec")
        injected = {"__builtins__": SAFE_BUILTINS, **self.globals, **(external_context or {})}
        clash = set(injected).intersection(context) - {"__builtins__"}
        if clash:
            raise ValueError(f"data names shadow built-in helpers: {', '.join(sorted(clash))}")
        context.update(injected)
        try:
            exec(code, context)
        finally:
            for key in list(context):
                if key in injected or callable(context[key]):
                    context.pop(key)
        return True

    def call_service(self, context: dict[str, Any], **kwargs: Any) -> Any:
        raise NotImplementedError("service tasks run as jobs through workers, not inside scripts")


class HuhuaScriptEngine(PythonScriptEngine):
    """SpiffWorkflow's script engine on the guarded environment, carrying the engine clock."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or SystemClock()
        super().__init__(environment=GuardedEnvironment(self.clock))

    def validate(self, expression: str) -> None:
        check_source(expression, "exec")
