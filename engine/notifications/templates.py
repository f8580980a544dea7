"""Message templates of a ``notify`` service task, rendered safely over the task's data.

A model's author writes ``subject`` and ``body`` as Jinja templates (``{{ school_name }}：请于{{ task_due }}前报送``).
They run in Jinja's :class:`~jinja2.sandbox.SandboxedEnvironment`, narrowed further because a model is data, not
code: no attribute of anything but a mapping (so no ``''.__class__`` and no string methods such as ``ljust``), a
short list of filters, no ``lipsum``/``cycler``/``namespace`` globals, a ``range`` with one budget for the whole
render, no ``%`` formatting and bounded ``*``/``**``, loops nested at most :data:`MAX_LOOP_DEPTH` deep, and the
output cut off (an error, not a truncation) past its limit. Every failure is a :class:`TemplateFailure`.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateError, nodes
from jinja2.sandbox import SandboxedEnvironment

#: The longest template a model may hold, and the longest subject and body a render may produce.
MAX_TEMPLATE_CHARS = 4_000
MAX_SUBJECT_CHARS = 300
MAX_BODY_CHARS = 4_000
#: How many numbers ``range`` may hand out in one render, all calls together.
RANGE_BUDGET = 2_000
MAX_LOOP_DEPTH = 2
_MAX_PRODUCT_CHARS = 10_000
_MAX_EXPONENT = 64
_MAX_BITS = 4_096
_FILTERS = ("default", "d", "join", "length", "count", "upper", "lower", "title", "capitalize", "trim", "truncate",
            "round", "int", "float", "string", "first", "last", "sort", "list", "replace", "abs", "min", "max",
            "sum", "unique", "reverse", "e", "escape", "map", "select", "reject", "selectattr", "rejectattr",
            "batch", "slice", "dictsort", "items")


class TemplateFailure(Exception):
    """A template that does not parse, uses what the sandbox refuses, or renders too much."""


class _MessageEnvironment(SandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "%"})

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        return False  # data is reached by item (``a.b`` on a mapping falls back to ``a['b']``), never by attribute

    def call_binop(self, context: Any, operator_name: str, left: Any, right: Any) -> Any:
        if operator_name == "%":
            raise TemplateFailure("'%' formatting is not allowed in a message template; use {{ }} and filters")
        if operator_name == "**":
            if (isinstance(right, int | float) and abs(right) > _MAX_EXPONENT) or \
                    (isinstance(left, int) and isinstance(right, int) and left.bit_length() * right > _MAX_BITS):
                raise TemplateFailure("a power that large is not allowed in a message template")
            return operator.pow(left, right)
        for sequence, times in ((left, right), (right, left)):
            if isinstance(sequence, str | list | tuple) and isinstance(times, int) and \
                    len(sequence) * times > _MAX_PRODUCT_CHARS:
                raise TemplateFailure(f"a repeated text or list longer than {_MAX_PRODUCT_CHARS} is not allowed")
        return operator.mul(left, right)


def _environment() -> _MessageEnvironment:
    environment = _MessageEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
    environment.filters = {name: environment.filters[name] for name in _FILTERS if name in environment.filters}
    environment.tests = {name: environment.tests[name] for name in
                         ("defined", "undefined", "none", "number", "string", "mapping", "sequence", "in", "eq", "ne",
                          "lt", "le", "gt", "ge", "odd", "even", "true", "false")
                         if name in environment.tests}
    environment.globals = {}
    return environment


_ENVIRONMENT = _environment()


def check(source: str) -> None:
    """Refuse a template that is too long, does not parse or nests loops too deep (at deployment, and at run)."""
    if len(source) > MAX_TEMPLATE_CHARS:
        raise TemplateFailure(f"the template has {len(source)} characters; at most {MAX_TEMPLATE_CHARS}")
    try:
        tree = _ENVIRONMENT.parse(source)
    except TemplateError as err:
        line = getattr(err, "lineno", None)
        raise TemplateFailure(f"{err.message or err}" + (f" (line {line})" if line else "")) from None
    depth = _loop_depth(tree)
    if depth > MAX_LOOP_DEPTH:
        raise TemplateFailure(f"loops are nested {depth} deep; a message template nests at most {MAX_LOOP_DEPTH}")


def render(source: str, data: Mapping[str, Any], limit: int) -> str:
    """``source`` over ``data``, at most ``limit`` characters; any failure is a :class:`TemplateFailure`."""
    check(source)
    budget = [RANGE_BUDGET]

    def budgeted_range(*args: int) -> range:
        numbers = range(*args)
        budget[0] -= len(numbers)
        if budget[0] < 0:
            raise TemplateFailure(f"range() handed out more than {RANGE_BUDGET} numbers in one message")
        return numbers

    written: list[str] = []
    size = 0
    try:
        template = _ENVIRONMENT.from_string(source, globals={"range": budgeted_range})
        for chunk in template.generate(dict(data)):
            size += len(chunk)
            if size > limit:
                raise TemplateFailure(f"the message is longer than {limit} characters")
            written.append(chunk)
    except TemplateFailure:
        raise
    except TemplateError as err:  # an undefined variable, a refused attribute (SecurityError), a bad filter call
        raise TemplateFailure(f"{type(err).__name__}: {err.message or err}") from None
    except (ArithmeticError, TypeError, ValueError, LookupError, RecursionError) as err:
        raise TemplateFailure(f"{type(err).__name__}: {err}") from None
    return "".join(written).strip()


def _loop_depth(node: nodes.Node, depth: int = 0) -> int:
    here = depth + 1 if isinstance(node, nodes.For) else depth
    return max([here, *(_loop_depth(child, here) for child in node.iter_child_nodes())])
