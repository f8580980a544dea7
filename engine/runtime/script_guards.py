"""Size guards that scripts run through, so that no single operation can allocate without bound.

The watchdog (``engine.runtime.watchdog``) can stop Python-level loops, but not one C call that
builds a huge object (``'a' * 10**10``, ``10**10**10``, ``''.join([s] * 10**6)``). The script
rewriter (``engine.runtime.script_policy``) therefore routes the operators and methods that can
grow a result through the helpers below; each one works out the size of the result *before*
building it and refuses beyond :attr:`ScriptLimits.max_elements` (characters of a string,
elements of a list) or :attr:`ScriptLimits.max_int_bits`. ``range``, ``round`` and ``sum`` get
bounded stand-ins, and :func:`check_data` walks what a script leaves behind, because aliasing
(``[big] * 1000``) can make data whose serialised size is far beyond any single allocation.
"""

from __future__ import annotations

import builtins
import operator
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from engine.runtime.script_environment import EngineTime

#: Names the rewriter calls; they start with '_' so that scripts cannot name (or shadow) them.
ADD, MUL, POW, LSHIFT, MOD = "_huhua_add", "_huhua_mul", "_huhua_pow", "_huhua_lshift", "_huhua_mod"
INPLACE = {ADD: "_huhua_iadd", MUL: "_huhua_imul", POW: "_huhua_ipow", LSHIFT: "_huhua_ilshift", MOD: "_huhua_imod"}
INPLACE_ITEM = "_huhua_inplace_item"
METHOD = "_huhua_method"
#: Methods whose result (or receiver) can grow far beyond their arguments in one C call.
GROWING_METHODS = frozenset({"join", "replace", "ljust", "rjust", "center", "zfill", "extend"})
#: ``round(5, -10**9)`` computes ``10**(10**9)`` inside CPython; real roundings need a few digits.
MAX_ROUND_DIGITS = 1000
#: Width and precision in ``%`` formatting and f-strings: ``'%.100000000f' % 1`` allocates 100 MB at once.
MAX_FORMAT_WIDTH = 1000
#: Data nested deeper than this (or cyclic) is refused after a script: nothing real needs it.
MAX_DATA_DEPTH = 64

_SEQUENCES = (str, bytes, list, tuple)
_NUMBERS = (int, float, complex)
#: Types that are data and hold nothing else.
DATA_LEAVES = frozenset({type(None), bool, int, float, date, datetime, time, timedelta})
_STRINGS = frozenset({str, bytes})
_CONTAINERS = frozenset({list, tuple, dict, set, frozenset})
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d*)(?:\.(\*|\d*))?")
_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    ADD: operator.iadd, MUL: operator.imul, POW: operator.ipow, LSHIFT: operator.ilshift, MOD: operator.imod}


@dataclass(frozen=True)
class ScriptLimits:
    """The budget of one evaluation; see ``config/README.md`` for the settings behind it."""

    #: Wall-clock seconds one evaluation may run.
    seconds: float = 1.0
    #: The largest string (in characters), list, tuple or data (in elements) a script may build.
    max_elements: int = 10_000_000
    #: How much the process may grow while one evaluation runs (0: unchecked).
    max_memory_bytes: int = 1024 * 1024 * 1024
    #: Integers beyond this many bits make ``*``, ``//`` and ``%`` slow in CPython (quadratic).
    max_int_bits: int = 100_000


class BudgetExceeded(BaseException):
    """A script went over its budget.

    A ``BaseException`` on purpose: a script's ``except Exception`` must not swallow it (scripts
    cannot name ``BaseException``, and a bare ``except:`` is refused). The evaluator turns it into
    :class:`ScriptLimitExceeded` at the boundary.
    """

    default_message = "script went over its budget"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default_message)


class SizeLimitExceeded(BudgetExceeded):
    """An operation would build a result beyond the size limit; raised before it is built."""


class ScriptLimitExceeded(Exception):
    """What the engine sees of a budget stop: an ordinary error, so that it becomes an incident."""


def guards(limits: ScriptLimits) -> dict[str, Any]:
    """The helpers the rewritten code calls, and bounded ``range``/``round``/``sum``, keyed by name."""
    max_elements, max_bits = limits.max_elements, limits.max_int_bits
    too_many = f"result would exceed {max_elements:,} elements"
    too_big = f"integer result would exceed {max_bits:,} bits"

    def check_length(length: int) -> None:
        if length > max_elements:
            raise SizeLimitExceeded(too_many)

    def add_check(a: Any, b: Any) -> None:
        if isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES):
            check_length(len(a) + len(b))

    def mul_check(a: Any, b: Any) -> None:
        if isinstance(a, int) and isinstance(b, int):
            if a.bit_length() + b.bit_length() > max_bits:
                raise SizeLimitExceeded(too_big)
        elif isinstance(a, _SEQUENCES) and isinstance(b, int):
            check_length(len(a) * b)
        elif isinstance(b, _SEQUENCES) and isinstance(a, int):
            check_length(len(b) * a)

    def pow_check(a: Any, b: Any) -> None:
        if isinstance(a, int) and isinstance(b, int) and b > 1 and abs(a) > 1 and a.bit_length() * b > max_bits:
            raise SizeLimitExceeded(too_big)

    def lshift_check(a: Any, b: Any) -> None:
        if isinstance(a, int) and isinstance(b, int) and a and a.bit_length() + b > max_bits:
            raise SizeLimitExceeded(too_big)

    def mod_check(a: Any, b: Any) -> None:
        if isinstance(a, str):
            _check_percent_format(a)
        elif isinstance(a, bytes):
            _check_percent_format(a.decode("latin-1"))

    def add(a: Any, b: Any) -> Any:
        if type(a) is int and type(b) is int:  # the common case first: counters and sums
            return a + b
        add_check(a, b)
        return a + b

    def mul(a: Any, b: Any) -> Any:
        mul_check(a, b)
        return a * b

    def power(a: Any, b: Any) -> Any:
        pow_check(a, b)
        return a ** b

    def lshift(a: Any, b: Any) -> Any:
        lshift_check(a, b)
        return a << b

    def mod(a: Any, b: Any) -> Any:
        mod_check(a, b)
        return a % b

    checked = {ADD: add, MUL: mul, POW: power, LSHIFT: lshift, MOD: mod}
    prechecks = {ADD: add_check, MUL: mul_check, POW: pow_check, LSHIFT: lshift_check, MOD: mod_check}

    def inplace(name: str) -> Callable[[Any, Any], Any]:
        """``a op= b``: lists change in place (other names may refer to them), other values are replaced."""
        check, apply = prechecks[name], _OPERATORS[name]

        def operate(a: Any, b: Any) -> Any:
            if name == ADD and type(a) is list:
                b = _materialised(b)  # ``l += map(abs, l)`` would feed itself forever inside C
            check(a, b)
            return apply(a, b)
        return operate

    inplace_operators = {INPLACE[name]: inplace(name) for name in checked}

    def inplace_item(name: str, container: Any, key: Any, value: Any) -> None:
        container[key] = inplace_operators[name](container[key], value)

    def method(receiver: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        if isinstance(receiver, type):  # ``str.join(sep, items)``: the receiver is the first argument
            if not args:
                return getattr(receiver, name)(*args, **kwargs)
            bound, rest = args[0], args[1:]
        else:
            bound, rest = receiver, args
        if name == "join" and isinstance(bound, str | bytes) and len(rest) == 1 and not kwargs:
            items = _materialised(rest[0])
            try:
                total = sum(map(len, items))
            except TypeError:
                total = 0  # not all strings: join raises its own, clearer error
            check_length(total + len(bound) * max(len(items) - 1, 0))
            return bound.join(items)
        if name == "extend" and isinstance(bound, list) and len(rest) == 1 and not kwargs:
            items = _materialised(rest[0])
            check_length(len(bound) + len(items))
            bound.extend(items)
            return None
        if isinstance(bound, str | bytes):
            _check_string_growth(bound, name, rest, kwargs, check_length)
        return getattr(receiver, name)(*args, **kwargs)

    def bounded_range(*args: Any) -> range:
        numbers = range(*args)
        try:
            length = len(numbers)
        except OverflowError:
            length = max_elements + 1
        check_length(length)
        return numbers

    def bounded_round(number: Any, ndigits: Any = None) -> Any:
        if isinstance(ndigits, int) and abs(ndigits) > MAX_ROUND_DIGITS:
            raise ValueError(f"round() takes at most {MAX_ROUND_DIGITS} digits in scripts")
        return builtins.round(number) if ndigits is None else builtins.round(number, ndigits)

    def bounded_sum(items: Any, start: Any = 0) -> Any:
        if isinstance(start, _NUMBERS):
            return builtins.sum(items, start)
        total = start
        for item in items:  # ``sum(lists, [])`` would concatenate without limit inside C
            add_check(total, item)
            total = total + item
        return total

    return {**checked, **inplace_operators, INPLACE_ITEM: inplace_item, METHOD: method,
            "range": bounded_range, "round": bounded_round, "sum": bounded_sum}


def check_data(values: list[Any], limits: ScriptLimits, where: str) -> None:
    """Refuse data too large (counting shared references each time), too deep, or not data at all.

    ``values`` are a task's data values, or an expression's result in a list. Each distinct container
    is measured once, so a list holding one big list many times costs one walk, not many.
    """
    if _measure(values, 1, {}, limits.max_elements, where) > limits.max_elements:
        raise ScriptLimitExceeded(f"{where} would exceed {limits.max_elements:,} elements")


def _measure(items: Any, depth: int, sizes: dict[int, int], budget: int, where: str) -> int:
    """Characters and elements below ``items``, stopping soon after ``budget`` is exceeded."""
    kinds = set(map(type, items))  # one C-level pass tells the common cases apart
    if kinds <= DATA_LEAVES:
        return 0
    if kinds <= _STRINGS:
        return sum(map(len, items))
    if depth > MAX_DATA_DEPTH:
        raise ScriptLimitExceeded(f"{where} is nested deeper than {MAX_DATA_DEPTH} levels (or refers to itself)")
    total = 0
    for item in items:
        kind = type(item)
        if kind in DATA_LEAVES:
            continue
        if kind is str or kind is bytes:
            total += len(item)
        elif kind in _CONTAINERS:
            known = sizes.get(id(item))
            if known is None:
                known = len(item) + _measure(item.values() if kind is dict else item, depth + 1, sizes, budget, where)
                sizes[id(item)] = known
            total += known
        elif kind is Decimal:
            raise ScriptLimitExceeded(f"{where} holds the Decimal {item}, which is for computing and cannot be "
                                      "stored; keep float(x) or str(x)")
        elif isinstance(item, Iterator | range | EngineTime) or callable(item):
            raise ScriptLimitExceeded(f"{where} holds a {kind.__name__}, which is not data; turn it into a list first")
        if total > budget:
            break
    return total


def _materialised(items: Any) -> list[Any] | tuple[Any, ...] | str | bytes:
    return items if isinstance(items, list | tuple | str | bytes) else list(items)


def _check_string_growth(text: str | bytes, name: str, args: tuple[Any, ...], kwargs: dict[str, Any],
                         check_length: Callable[[int], None]) -> None:
    if name in ("ljust", "rjust", "center", "zfill"):
        width = args[0] if args else kwargs.get("width", 0)
        if isinstance(width, int):
            check_length(width)
    elif name == "replace" and len(args) >= 2:
        old, new = args[0], args[1]
        if isinstance(old, str | bytes) and isinstance(new, str | bytes) and len(new) > len(old):
            count = text.count(old)
            limit = args[2] if len(args) > 2 else kwargs.get("count", -1)
            if isinstance(limit, int) and limit >= 0:
                count = min(count, limit)
            check_length(len(text) + count * (len(new) - len(old)))


def _check_percent_format(template: str) -> None:
    if "%" not in template:
        return
    for match in _PERCENT_SPEC.finditer(template):
        for number in match.groups():
            if number == "*":
                raise ValueError("'*' widths are not allowed in % formatting in scripts")
            if number and int(number) > MAX_FORMAT_WIDTH:
                raise SizeLimitExceeded(f"a % format width or precision above {MAX_FORMAT_WIDTH}")
