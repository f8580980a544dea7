"""FEEL, DMN's expression language: compile a text once, evaluate it many times against a scope.

    expression = compile_expression("if age >= 18 then \\"adult\\" else \\"minor\\"")
    expression.evaluate({"age": Decimal(20)})          # "adult"
    tests = compile_unary_tests('"甲","乙"')              # a decision-table input entry
    tests.matches("乙")                                  # True

Values are FEEL's: ``Decimal`` numbers, ``str``, ``bool``, ``None`` (null), ``list``, ``dict`` (contexts),
``datetime.date`` / ``time`` / ``datetime``, and the ``YearsMonthsDuration`` / ``DaysTimeDuration`` / ``Range`` /
``Function`` types below. An evaluation never raises for bad data: what the specification makes null is
``None``, with the reason appended to ``warnings`` when a list is given. A text that does not parse raises
``FeelSyntaxError`` (with ``line`` and ``column``) when compiled.

Names with spaces or symbols (``Monthly Salary``, ``Applicant's age``) are resolved against the names given to
``compile_*(…, names=…)``, plus the built-ins and what the text itself declares; words not known still join
into one name (``Monthly Salary`` works unannounced, ``Loan-to-value`` needs announcing).

For a DMN layer (decisions, knowledge models, decision tables):

- compile every literal expression and cell once per deployed version with ``names`` = the model's names
  (decisions, input data, knowledge models, context entries, parameters, item components) and ``types`` = its
  item definitions as predicates (for ``instance of`` and typed parameters); a ``FeelSyntaxError`` then names
  the line and column for the deploy-time message;
- convert task data with ``from_python`` (JSON's ints and floats become ``Decimal``); then
- evaluate with any ``Mapping`` as the scope (a lazy one that evaluates required decisions on first read works:
  only ``get`` is called); ``warnings`` collects why something became null; ``now`` pins ``now()``/``today()``;
- put knowledge models and decision services into the scope as ``Function(name, params, call)`` values, where
  ``call(run, *arguments)`` receives an opaque ``run`` first; FEEL calls them by position or by name, and
  ``call_function`` calls FEEL functions (a context's ``function(…)`` entry) from Python;
- an input entry is ``compile_unary_tests(cell).matches(input_value, scope)``: ``True`` is a hit, ``False`` and
  ``None`` are not (cells of constants need no scope and take under a microsecond).

Bounds: nesting deeper than 64 brackets or 160 syntax levels is refused when compiling; at run time a list
or range of more than a million items, more than a million loop steps or calls, calls nested deeper than 48,
and a regular expression running past a second make the result null.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from engine.feel.builtins import BUILTINS
from engine.feel.calls import invoke
from engine.feel.compiler import compile_tests, compile_tree, is_static, parse, root_scope
from engine.feel.errors import FeelLimitExceeded, FeelNull, FeelSyntaxError
from engine.feel.scope import Run
from engine.feel.semantics import kind, to_text
from engine.feel.types import NAMED_TYPES
from engine.feel.values import DaysTimeDuration, Function, Range, YearsMonthsDuration, from_python

#: a named type: whether a value conforms to it
TypeCheck = Callable[[Any], bool]

__all__ = [
    "BUILTINS",
    "DaysTimeDuration",
    "Expression",
    "FeelSyntaxError",
    "Function",
    "Range",
    "TypeCheck",
    "UnaryTests",
    "YearsMonthsDuration",
    "call_function",
    "compile_expression",
    "compile_unary_tests",
    "from_python",
    "kind",
    "to_text",
]


_NO_SCOPE = root_scope({}, Run())


class Expression:
    """A compiled FEEL expression."""

    __slots__ = ("_node", "text")

    def __init__(self, text: str, names: Iterable[str] = (), types: Mapping[str, TypeCheck] | None = None) -> None:
        self.text = text
        with _named_types(types):
            self._node = compile_tree(parse(text, "start", names))

    def evaluate(self, scope: Mapping[str, Any] | None = None, warnings: list[str] | None = None,
                 now: datetime | None = None) -> Any:
        """The value of the expression with ``scope``'s names; ``now`` fixes ``now()`` and ``today()``."""
        run = Run(warnings, now)
        try:
            return self._node(root_scope({} if scope is None else scope, run))
        except (RecursionError, FeelLimitExceeded, FeelNull) as error:
            run.warn("the evaluation nested too deeply" if isinstance(error, RecursionError) else str(error))
            return None


class UnaryTests:
    """A compiled decision-table input entry (``-``, ``< 5``, ``[1..10]``, ``"a","b"``, ``not(…)``, ``? > 3``)."""

    __slots__ = ("_any", "_negated", "_static", "_test", "text")

    def __init__(self, text: str, names: Iterable[str] = (), types: Mapping[str, TypeCheck] | None = None) -> None:
        self.text = text
        tree = parse(text, "unary_start", names)
        self._any = tree.data == "any_input"
        self._negated = False
        if self._any:
            return
        tests = tree.children[0]
        only = tests.children[0] if len(tests.children) == 1 else None
        if only is not None and only.data == "test_expression" and getattr(only.children[0], "data", "") == "negation":
            self._negated, tests = True, only.children[0].children[0]
        with _named_types(types):
            self._test = compile_tests(tests)
        self._static = is_static(tests)

    def matches(self, value: Any, scope: Mapping[str, Any] | None = None, warnings: list[str] | None = None,
                now: datetime | None = None) -> bool | None:
        """Whether ``value`` satisfies the tests: True, False, or None when FEEL cannot tell."""
        if self._any:
            return True
        if type(value) in (int, float, tuple):
            value = from_python(value)
        if self._static:  # constant cells need no scope nor bookkeeping
            try:
                result = self._test(value, _NO_SCOPE)
            except FeelNull as error:
                Run(warnings).warn(str(error))
                return None
            return (not result if result is not None else None) if self._negated else result
        run = Run(warnings, now)
        try:
            result = self._test(value, root_scope({} if scope is None else scope, run).child({"?": value}))
        except (RecursionError, FeelLimitExceeded, FeelNull) as error:
            run.warn("the evaluation nested too deeply" if isinstance(error, RecursionError) else str(error))
            return None
        if self._negated and result is not None:
            return not result
        return result


def compile_expression(text: str, names: Iterable[str] = (), types: Mapping[str, TypeCheck] | None = None
                       ) -> Expression:
    """``text`` compiled; ``names`` are names in scope that hold spaces or symbols; ``types`` are named types
    (a DMN model's item definitions) as predicates, for ``instance of`` and typed parameters. Raises
    ``FeelSyntaxError``."""
    return Expression(text, names, types)


def compile_unary_tests(text: str, names: Iterable[str] = (), types: Mapping[str, TypeCheck] | None = None
                        ) -> UnaryTests:
    """A decision-table input entry compiled; raises ``FeelSyntaxError``."""
    return UnaryTests(text, names, types)


@contextmanager
def _named_types(types: Mapping[str, TypeCheck] | None) -> Iterator[None]:
    token = NAMED_TYPES.set(types or {})
    try:
        yield
    finally:
        NAMED_TYPES.reset(token)


def call_function(function: Function, arguments: list[Any] | Mapping[str, Any],
                  warnings: list[str] | None = None) -> Any:
    """Invokes a FEEL function value (a BKM, a ``function(…)`` result) with positional or named arguments;
    null (and a warning) when it fails."""
    run = Run(warnings)
    try:
        if isinstance(arguments, Mapping):
            return invoke(function, run, (), dict(arguments))
        return invoke(function, run, list(arguments))
    except (FeelNull, FeelLimitExceeded, RecursionError) as error:
        run.warn(str(error))
        return None
