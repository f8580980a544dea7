"""Message templates of a ``notify`` service task, rendered safely over the task's data.

A model's author writes ``subject`` and ``body`` as Jinja templates (``{{ school_name }}：请于{{ task_due }}前报送``).
They run in Jinja's :class:`~jinja2.sandbox.SandboxedEnvironment`, narrowed further because a model is data, not
code: no attribute but a mapping's ``items``/``keys``/``values``/``get`` (so no ``''.__class__`` and no string
methods such as ``ljust``), a short list of filters, no ``lipsum``/``cycler``/``namespace`` globals, a ``range``
with one budget for the whole render, no ``%`` formatting and bounded ``*``/``**``, loops nested at most
:data:`MAX_LOOP_DEPTH` deep, no macros, call blocks or recursive loops, and the output cut off (an error, not a
truncation) past its limit.

Memory is bounded too, since a text can double at each step (``{% set s = s ~ s %}`` forty times): every value
that ``~``, ``+`` or a filter makes, and every value a filter takes or ``{{ }}`` writes, weighs at most
:data:`MAX_VALUE_WEIGHT` (characters of its texts plus items of its lists, counted without building anything);
``replace`` and ``join`` reckon their result's length before they make it. Every failure, a MemoryError
included, is a :class:`TemplateFailure`.

A body is markdown; what ``{{ }}`` writes into it is the task's data, so each value is written as literal text
(:func:`engine.notifications.wording.plain`): a form field ``[点此](https://…)`` cannot become a link in
somebody else's notification. The author's own words around it stay markdown. A subject is plain text.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateError, nodes
from jinja2.compiler import CodeGenerator, Frame, optimizeconst
from jinja2.sandbox import SandboxedEnvironment

from engine.notifications.wording import plain

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
#: The most a value made or used in a render may weigh (see :func:`_weight`).
MAX_VALUE_WEIGHT = 100_000
_MAPPING_READS = frozenset({"items", "keys", "values", "get"})
_FILTERS = ("default", "d", "join", "length", "count", "upper", "lower", "title", "capitalize", "trim", "truncate",
            "round", "int", "float", "string", "first", "last", "sort", "list", "replace", "abs", "min", "max",
            "sum", "unique", "reverse", "e", "escape", "map", "select", "reject", "selectattr", "rejectattr",
            "batch", "slice", "dictsort", "items")


class TemplateFailure(Exception):
    """A template that does not parse, uses what the sandbox refuses, or renders too much."""


def _weight(value: Any, limit: int = MAX_VALUE_WEIGHT) -> int:
    """Characters of the texts plus items of the lists and mappings in ``value``, counted up to just past ``limit``
    (a list that holds itself many times over is walked no further than that)."""
    total, stack = 0, [value]
    while stack and total <= limit:
        item = stack.pop()
        total += len(item) if isinstance(item, str) else 1
        if isinstance(item, list | tuple | set | frozenset):
            total += len(item)
            if total <= limit:
                stack.extend(item)
        elif isinstance(item, Mapping):
            total += len(item)
            if total <= limit:
                stack.extend(item.keys())
                stack.extend(item.values())
    return total


def _bounded(value: Any) -> Any:
    if _weight(value) > MAX_VALUE_WEIGHT:
        raise TemplateFailure(f"a value larger than {MAX_VALUE_WEIGHT} characters is not allowed in a message")
    return value


def _guarded(run: Callable[..., Any]) -> Callable[..., Any]:
    """A filter whose arguments and result are :func:`_bounded` (``jinja_pass_arg`` is kept by ``wraps``)."""

    @functools.wraps(run)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        for value in (*args, *kwargs.values()):
            if isinstance(value, str | list | tuple | set | frozenset | dict):  # not the context Jinja passes
                _bounded(value)
        return _bounded(run(*args, **kwargs))

    return guarded


def _replace(value: Any, old: Any, new: Any, count: int | None = None) -> str:
    """Jinja's ``replace``, refused before it makes a text past the bound."""
    text, old, new = str(value), str(old), str(new)
    times = text.count(old) if old else len(text) + 1
    if count is not None:
        times = min(times, max(int(count), 0))
    if len(text) + times * (len(new) - len(old)) > MAX_VALUE_WEIGHT:
        raise TemplateFailure(f"replace() would make a text longer than {MAX_VALUE_WEIGHT} characters")
    return text.replace(old, new, -1 if count is None else int(count))


def _join(value: Any, separator: Any = "", attribute: Any = None) -> str:
    """Jinja's ``join`` (of texts or of an attribute of mappings), refused before it makes a text past the bound."""
    items = list(value)
    if attribute is not None:
        items = [item.get(attribute) if isinstance(item, Mapping) else None for item in items]
    texts = [str(item) for item in items]
    separator = str(separator)
    if sum(map(len, texts)) + len(separator) * max(len(texts) - 1, 0) > MAX_VALUE_WEIGHT:
        raise TemplateFailure(f"join() would make a text longer than {MAX_VALUE_WEIGHT} characters")
    return separator.join(texts)


class _MessageCodeGenerator(CodeGenerator):
    """``a ~ b`` calls :meth:`_MessageEnvironment.call_concat` (Jinja joins the texts inline, unchecked)."""

    @optimizeconst
    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.call_concat((")
        for argument in node.nodes:
            self.visit(argument, frame)
            self.write(", ")
        self.write("))")


class _MessageEnvironment(SandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "%", "+"})
    code_generator_class = _MessageCodeGenerator

    def call_concat(self, values: tuple[Any, ...]) -> str:
        for value in values:
            _bounded(value)
        texts = [str(value) for value in values]
        if sum(map(len, texts)) > MAX_VALUE_WEIGHT:
            raise TemplateFailure(f"'~' would make a text longer than {MAX_VALUE_WEIGHT} characters")
        return "".join(texts)

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        # data is reached by item (``a.b`` on a mapping falls back to ``a['b']``); of attributes, only a mapping's
        # read-only views, which hand out what the data already holds (``{% for k, v in d.items() %}``)
        return isinstance(obj, Mapping) and attr in _MAPPING_READS

    def call_binop(self, context: Any, operator_name: str, left: Any, right: Any) -> Any:
        if operator_name == "%":
            raise TemplateFailure("'%' formatting is not allowed in a message template; use {{ }} and filters")
        if operator_name == "**":
            if (isinstance(right, int | float) and abs(right) > _MAX_EXPONENT) or \
                    (isinstance(left, int) and isinstance(right, int) and left.bit_length() * right > _MAX_BITS):
                raise TemplateFailure("a power that large is not allowed in a message template")
            return operator.pow(left, right)
        if operator_name == "+":
            return _bounded(operator.add(left, right))
        for sequence, times in ((left, right), (right, left)):
            if isinstance(sequence, str | list | tuple) and isinstance(times, int) and \
                    len(sequence) * times > _MAX_PRODUCT_CHARS:
                raise TemplateFailure(f"a repeated text or list longer than {_MAX_PRODUCT_CHARS} is not allowed")
        return operator.mul(left, right)


def _written(value: Any) -> str:
    return str(_bounded(value))


def _written_literally(value: Any) -> str:
    return plain(_written(value))


def _environment(finalize: Callable[[Any], str]) -> _MessageEnvironment:
    environment = _MessageEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False,
                                      finalize=finalize)
    own = {"replace": _replace, "join": _join}
    environment.filters = {name: _guarded(own.get(name) or environment.filters[name]) for name in _FILTERS
                           if name in own or name in environment.filters}
    environment.tests = {name: environment.tests[name] for name in
                         ("defined", "undefined", "none", "number", "string", "mapping", "sequence", "in", "eq", "ne",
                          "lt", "le", "gt", "ge", "odd", "even", "true", "false")
                         if name in environment.tests}
    environment.globals = {}
    return environment


#: Subjects (plain text) and bodies (markdown, each written value literal).
_ENVIRONMENT = _environment(_written)
_MARKDOWN_ENVIRONMENT = _environment(_written_literally)


def check(source: str, longest: int = MAX_TEMPLATE_CHARS) -> None:
    """Refuse a template that is too long (``longest`` characters: a message's, unless said), does not parse or
    nests loops too deep (at deployment, and at run)."""
    if len(source) > longest:
        raise TemplateFailure(f"the template has {len(source)} characters; at most {longest}")
    try:
        tree = _ENVIRONMENT.parse(source)
    except TemplateError as err:
        line = getattr(err, "lineno", None)
        raise TemplateFailure(f"{err.message or err}" + (f" (line {line})" if line else "")) from None
    depth = _loop_depth(tree)
    if depth > MAX_LOOP_DEPTH:
        raise TemplateFailure(f"loops are nested {depth} deep; a message template nests at most {MAX_LOOP_DEPTH}")
    if any(True for _ in tree.find_all((nodes.Macro, nodes.CallBlock))):
        raise TemplateFailure("macros and call blocks are not allowed in a message template")
    if any(loop.recursive for loop in tree.find_all(nodes.For)):
        raise TemplateFailure("a recursive loop is not allowed in a message template")


def render(source: str, data: Mapping[str, Any], limit: int, *, markdown: bool = False,
           longest: int = MAX_TEMPLATE_CHARS) -> str:
    """``source`` over ``data``, at most ``limit`` characters; any failure is a :class:`TemplateFailure`.

    ``markdown``: the result is markdown (a body), so each value ``{{ }}`` writes is escaped to literal text.
    ``longest``: the longest source accepted (a message's, unless said: a task's instructions may be longer)."""
    check(source, longest)
    environment = _MARKDOWN_ENVIRONMENT if markdown else _ENVIRONMENT
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
        template = environment.from_string(source, globals={"range": budgeted_range})
        for chunk in template.generate(dict(data)):
            size += len(chunk)
            if size > limit:
                raise TemplateFailure(f"the message is longer than {limit} characters")
            written.append(chunk)
    except TemplateFailure:
        raise
    except TemplateError as err:  # an undefined variable, a refused attribute (SecurityError), a bad filter call
        raise TemplateFailure(f"{type(err).__name__}: {err.message or err}") from None
    except MemoryError:
        raise TemplateFailure("the message needs more memory than a message may take") from None
    except (ArithmeticError, TypeError, ValueError, LookupError, RecursionError) as err:
        raise TemplateFailure(f"{type(err).__name__}: {err}") from None
    return "".join(written).strip()


def _loop_depth(node: nodes.Node, depth: int = 0) -> int:
    here = depth + 1 if isinstance(node, nodes.For) else depth
    return max([here, *(_loop_depth(child, here) for child in node.iter_child_nodes())])
