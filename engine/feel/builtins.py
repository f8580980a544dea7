"""The DMN 1.5 built-in function library (chapter 10.3.4), as FEEL function values.

Each function takes FEEL values and returns one; where the specification says the result is null (a wrong
kind of argument, an index out of range) it raises ``FeelNull`` and the call evaluates to null with a warning.
"""

from __future__ import annotations

import decimal
import re
import statistics
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import regex

from engine.feel import semantics, temporal
from engine.feel.calls import invoke
from engine.feel.errors import FeelNull
from engine.feel.scope import Run
from engine.feel.values import CONTEXT, DaysTimeDuration, Function, Range, YearsMonthsDuration

BUILTINS: dict[str, Function] = {}


def builtin(name: str, params: str, required: int | None = None, variadic: bool = False,
            run: bool = False, overloads: Sequence[str] = ()) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Registers ``function`` under ``name``; ``params`` are its parameter names, comma separated."""
    names = [part.strip() for part in params.split(",") if part.strip()]

    def register(function: Callable[..., Any]) -> Callable[..., Any]:
        call = function if run else (lambda _run, *arguments: function(*arguments))
        BUILTINS[name] = Function(name, names, call, variadic, len(names) if required is None else required,
                                  [[part.strip() for part in other.split(",")] for other in overloads])
        return function
    return register


def _single(value: Any) -> Any:
    """A singleton list where one value is wanted is that value (DMN 1.5, 10.3.2.9.4)."""
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def _number(value: Any, what: str = "argument") -> Decimal:
    value = _single(value)
    if not isinstance(value, Decimal):
        raise FeelNull(f"{what} must be a number")
    return value


def _text(value: Any, what: str = "argument") -> str:
    value = _single(value)
    if not isinstance(value, str):
        raise FeelNull(f"{what} must be a string")
    return value


def _list(value: Any) -> list[Any]:
    if value is None:
        raise FeelNull("a list is required")
    return value if isinstance(value, list) else [value]


def _integer(value: Any, what: str = "argument") -> int:
    """A whole-number argument; a fraction is truncated, as the TCK's engines do (``substring("ab", 1, 1.5)``)."""
    return int(_number(value, what))


def _items(arguments: tuple[Any, ...]) -> list[Any]:
    """The values of a function taking a list or the values themselves (``max([1, 2])``, ``max(1, 2)``)."""
    if len(arguments) == 1 and isinstance(arguments[0], list):
        return arguments[0]
    if not arguments:
        raise FeelNull("no values")
    return list(arguments)


# ---- conversion -------------------------------------------------------------------------------------------

@builtin("date", "from", required=1, variadic=True, overloads=["year, month, day"])
def _date(*arguments: Any) -> Any:
    if len(arguments) == 1:
        value = arguments[0]
        if isinstance(value, str):
            return temporal.parse_date(value)
        if isinstance(value, datetime):
            return temporal.with_cycles(value.date(), temporal.cycles_of(value))
        if isinstance(value, date):
            return value
        raise FeelNull("date() needs a string or a date and time")
    if len(arguments) != 3:
        raise FeelNull("date() takes one or three arguments")
    year, month, day = (_integer(part) for part in arguments)
    return temporal.make_date(year, month, day)


@builtin("time", "from", required=1, variadic=True, overloads=["hour, minute, second, offset"])
def _time(*arguments: Any) -> Any:
    if len(arguments) == 1:
        value = arguments[0]
        if isinstance(value, str):
            return temporal.parse_time(value)
        if isinstance(value, datetime):
            return value.timetz()
        if isinstance(value, date):
            return time(0, 0, tzinfo=UTC)
        if isinstance(value, time):
            return value
        raise FeelNull("time() needs a string, a date or a date and time")
    if len(arguments) not in (3, 4):
        raise FeelNull("time() takes one, three or four arguments")
    hour, minute = _integer(arguments[0]), _integer(arguments[1])
    second = _number(arguments[2])
    zone = None
    if len(arguments) == 4 and arguments[3] is not None:
        if not isinstance(arguments[3], DaysTimeDuration):
            raise FeelNull("offset must be a days and time duration")
        zone = temporal.timezone(arguments[3].delta)
    whole = int(second)
    return time(hour, minute, whole, int((second - whole) * 1_000_000), tzinfo=zone)


@builtin("date and time", "from", required=1, variadic=True, overloads=["date, time"])
def _date_and_time(*arguments: Any) -> Any:
    if len(arguments) == 1:
        value = arguments[0]
        if isinstance(value, str):
            return temporal.parse_date_time(value)
        raise FeelNull("date and time() needs a string")
    if len(arguments) != 2:
        raise FeelNull("date and time() takes one or two arguments")
    day, clock = arguments
    if not isinstance(day, date) or not isinstance(clock, time):
        raise FeelNull("date and time(date, time) needs a date and a time")
    combined = datetime.combine(day, clock.replace(tzinfo=None), tzinfo=clock.tzinfo)
    return temporal.with_cycles(combined, temporal.cycles_of(day))


@builtin("duration", "from")
def _duration(text: Any) -> Any:
    return temporal.parse_duration(_text(text))


@builtin("years and months duration", "from, to")
def _years_and_months(start: Any, end: Any) -> Any:
    if not isinstance(start, date) or not isinstance(end, date):
        raise FeelNull("years and months duration() needs two dates")
    if isinstance(start, datetime) and not isinstance(end, datetime):
        end = datetime.combine(end, time(), tzinfo=start.tzinfo)
    if isinstance(end, datetime) and not isinstance(start, datetime):
        start = datetime.combine(start, time(), tzinfo=end.tzinfo)
    return YearsMonthsDuration(temporal.months_between(start, end))


@builtin("number", "from, grouping separator, decimal separator", required=1)
def _to_number(text: Any, grouping: Any = None, separator: Any = None) -> Any:
    text = _text(text)
    if grouping is not None and grouping not in (" ", ",", "."):
        raise FeelNull("grouping separator must be one of space, comma or period")
    if separator is not None and separator not in (",", "."):
        raise FeelNull("decimal separator must be comma or period")
    if grouping is not None and grouping == separator:
        raise FeelNull("the separators must differ")
    if grouping:
        text = text.replace(grouping, "")
    if separator:
        text = text.replace(separator, ".")
    if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", text):
        raise FeelNull(f"{text!r} is not a number")
    return Decimal(text)


@builtin("string", "from")
def _string(value: Any) -> Any:
    return None if value is None else semantics.to_text(value)


@builtin("context", "entries")
def _context(entries: Any) -> Any:
    result: dict[str, Any] = {}
    for entry in _list(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("key"), str) or "value" not in entry:
            raise FeelNull("each entry needs a string key and a value")
        if entry["key"] in result:
            raise FeelNull(f"duplicate key {entry['key']!r}")
        result[entry["key"]] = entry["value"]
    return result


# ---- boolean ----------------------------------------------------------------------------------------------

@builtin("not", "negand")
def _not(value: Any) -> Any:
    return not value if isinstance(value, bool) else None


@builtin("is", "value1, value2", required=0)
def _is(left: Any = None, right: Any = None) -> Any:
    if semantics.kind(left) != semantics.kind(right):
        return False
    if isinstance(left, (time, datetime)):
        return left == right and left.tzinfo == right.tzinfo and left.utcoffset() == right.utcoffset()
    return semantics.equal(left, right) is True


# ---- strings ----------------------------------------------------------------------------------------------

def _code_points(text: str) -> list[str]:
    return list(text)


@builtin("substring", "string, start position, length", required=2)
def _substring(text: Any, start: Any, length: Any = None) -> Any:
    text, begin = _text(text), _integer(start)
    if begin == 0 or (abs(begin) > len(text) and begin < 0):
        raise FeelNull("start position out of range")
    index = begin - 1 if begin > 0 else len(text) + begin
    if length is None:
        return text[index:]
    count = _integer(length)
    if count < 0:
        raise FeelNull("length must not be negative")
    return text[index:index + count]


@builtin("string length", "string")
def _string_length(text: Any) -> Any:
    return Decimal(len(_text(text)))


@builtin("upper case", "string")
def _upper(text: Any) -> Any:
    return _text(text).upper()


@builtin("lower case", "string")
def _lower(text: Any) -> Any:
    return _text(text).lower()


@builtin("substring before", "string, match")
def _before(text: Any, match: Any) -> Any:
    text, match = _text(text), _text(match)
    index = text.find(match)
    return "" if index < 0 else text[:index]


@builtin("substring after", "string, match")
def _after(text: Any, match: Any) -> Any:
    text, match = _text(text), _text(match)
    index = text.find(match)
    return "" if index < 0 else text[index + len(match):]


#: seconds one regular-expression call may take (a pathological pattern is null, not a hung worker)
REGEX_TIMEOUT = 1.0


def _regex(pattern: Any, flags: Any = None) -> regex.Pattern[str]:
    """An XML Schema / XPath regular expression (``matches``, ``replace``, ``split``) as a ``regex`` pattern."""
    pattern = _text(pattern, "pattern")
    flags = "" if flags is None else _text(flags, "flags")
    if len(pattern) > 10_000:
        raise FeelNull("the pattern is too long")
    options = regex.V1
    for flag in flags:
        if flag not in "smixq":
            raise FeelNull(f"unknown regular expression flag {flag!r}")
        options |= {"s": regex.DOTALL, "m": regex.MULTILINE, "i": regex.IGNORECASE}.get(flag, 0)
    translated = regex.escape(pattern) if "q" in flags else _xpath_pattern(pattern, "x" in flags, "s" in flags)
    try:
        return regex.compile(translated, options)
    except (regex.error, ValueError) as error:
        raise FeelNull(f"invalid pattern: {error}") from None


def _without_spaces(pattern: str) -> str:
    """The ``x`` flag: whitespace outside character classes removed before the pattern is read."""
    out, depth = [], 0
    for char in pattern:
        if char == "[":
            depth += 1
        elif char == "]" and depth:
            depth -= 1
        elif char.isspace() and not depth:
            continue
        out.append(char)
    return "".join(out)


def _xpath_pattern(pattern: str, free_spacing: bool, dot_all: bool) -> str:
    r"""XPath's dialect in ``regex``'s: ``.`` stops at CR and LF, ``[a-z-[aeiou]]`` subtracts, ``\p{IsBlock}``
    names a block, the ``x`` flag drops whitespace, and Perl's ``(?…)`` groups and back-references inside
    classes are errors."""
    if free_spacing:
        pattern = _without_spaces(pattern)
    out, depth, index = [], 0, 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            escape = pattern[index + 1]
            if depth and escape.isdigit():
                raise FeelNull("a back-reference inside a character class")
            if escape in "pP" and pattern.startswith("{", index + 2):
                end = pattern.find("}", index)
                if end < 0:
                    raise FeelNull("an unclosed \\p{…}")
                name = "".join(pattern[index + 3:end].split()) if free_spacing else pattern[index + 3:end]
                out.append(f"\\{escape}{{{'In' + name[2:] if name.startswith('Is') else name}}}")
                index = end + 1
                continue
            out.append(pattern[index:index + 2])
            index += 2
            continue
        if depth == 0 and pattern.startswith("(?", index):
            raise FeelNull("the pattern uses a construct XPath does not have")
        if char == "[":
            if depth and out and out[-1] == "-":
                out[-1] = "--"
            depth += 1
        elif char == "]" and depth:
            depth -= 1
        elif char == "." and depth == 0 and not dot_all:
            out.append("[^\\n\\r]")
            index += 1
            continue
        out.append(char)
        index += 1
    return "".join(out)


@builtin("replace", "input, pattern, replacement, flags", required=3)
def _replace(text: Any, pattern: Any, replacement: Any, flags: Any = None) -> Any:
    compiled = _regex(pattern, flags)
    replacement = _text(replacement, "replacement")
    if flags is not None and "q" in flags:
        template = replacement.replace("\\", "\\\\")
    else:
        template = re.sub(r"\$(\d)", r"\\g<\1>", replacement)
    subject = _text(text)
    if len(replacement) > 1:  # bound the result before building it
        found = _timed(lambda: len(compiled.findall(subject, timeout=REGEX_TIMEOUT)))
        if len(subject) + found * len(replacement) > semantics.MAX_STRING:
            raise FeelNull("the replaced string would be too long")
    return _timed(lambda: compiled.sub(template, subject, timeout=REGEX_TIMEOUT))


def _timed(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except TimeoutError:
        raise FeelNull(f"the regular expression took longer than {REGEX_TIMEOUT} s") from None


@builtin("contains", "string, match")
def _contains(text: Any, match: Any) -> Any:
    return _text(match) in _text(text)


@builtin("starts with", "string, match")
def _starts_with(text: Any, match: Any) -> Any:
    return _text(text).startswith(_text(match))


@builtin("ends with", "string, match")
def _ends_with(text: Any, match: Any) -> Any:
    return _text(text).endswith(_text(match))


@builtin("matches", "input, pattern, flags", required=2)
def _matches(text: Any, pattern: Any, flags: Any = None) -> Any:
    compiled, subject = _regex(pattern, flags), _text(text)
    return _timed(lambda: compiled.search(subject, timeout=REGEX_TIMEOUT)) is not None


@builtin("split", "string, delimiter")
def _split(text: Any, delimiter: Any) -> Any:
    compiled, subject = _regex(delimiter), _text(text)
    return _timed(lambda: compiled.split(subject, timeout=REGEX_TIMEOUT))


@builtin("string join", "list, delimiter", required=1)
def _string_join(items: Any, delimiter: Any = None) -> Any:
    parts = [item for item in _list(items) if item is not None]
    if any(not isinstance(part, str) for part in parts):
        raise FeelNull("string join() needs a list of strings")
    separator = "" if delimiter is None else _text(delimiter)
    if sum(map(len, parts)) + len(separator) * len(parts) > semantics.MAX_STRING:
        raise FeelNull("string too long")
    return separator.join(parts)


# ---- lists ------------------------------------------------------------------------------------------------

@builtin("list contains", "list, element")
def _list_contains(items: Any, element: Any) -> Any:
    return any(semantics.equal(item, element) for item in _list(items))


@builtin("count", "list")
def _count(items: Any) -> Any:
    return Decimal(len(_list(items)))


def _ordered(arguments: tuple[Any, ...], pick: Callable[[int], bool]) -> Any:
    items = _items(arguments)
    if not items:
        return None
    best = items[0]
    for item in items[1:]:
        if pick(semantics.compare(item, best)):
            best = item
    return best


@builtin("min", "list", required=1, variadic=True)
def _min(*arguments: Any) -> Any:
    return _ordered(arguments, lambda order: order < 0)


@builtin("max", "list", required=1, variadic=True)
def _max(*arguments: Any) -> Any:
    return _ordered(arguments, lambda order: order > 0)


def _numbers(arguments: tuple[Any, ...]) -> list[Decimal]:
    return [_number(item, "each item") for item in _items(arguments)]


@builtin("sum", "list", required=1, variadic=True)
def _sum(*arguments: Any) -> Any:
    numbers = _numbers(arguments)
    if not numbers:
        return None
    total = Decimal(0)
    for number in numbers:
        total = CONTEXT.add(total, number)
    return total


@builtin("product", "list", required=1, variadic=True)
def _product(*arguments: Any) -> Any:
    numbers = _numbers(arguments)
    if not numbers:
        return None
    result = Decimal(1)
    for number in numbers:
        result = CONTEXT.multiply(result, number)
    return result


@builtin("mean", "list", required=1, variadic=True)
def _mean(*arguments: Any) -> Any:
    numbers = _numbers(arguments)
    if not numbers:
        return None
    return CONTEXT.divide(_sum(numbers), Decimal(len(numbers)))


@builtin("median", "list", required=1, variadic=True)
def _median(*arguments: Any) -> Any:
    numbers = sorted(_numbers(arguments))
    if not numbers:
        return None
    middle = len(numbers) // 2
    if len(numbers) % 2:
        return numbers[middle]
    return CONTEXT.divide(numbers[middle - 1] + numbers[middle], Decimal(2))


@builtin("stddev", "list", required=1, variadic=True)
def _stddev(*arguments: Any) -> Any:
    numbers = _numbers(arguments)
    if len(numbers) < 2:
        return None
    mean = CONTEXT.divide(sum(numbers, Decimal(0)), Decimal(len(numbers)))
    squares = sum((CONTEXT.power(number - mean, 2) for number in numbers), Decimal(0))
    return CONTEXT.sqrt(CONTEXT.divide(squares, Decimal(len(numbers) - 1)))


@builtin("mode", "list", required=1, variadic=True)
def _mode(*arguments: Any) -> Any:
    numbers = _numbers(arguments)
    if not numbers:
        return []
    return sorted(statistics.multimode(numbers))


def _booleans(arguments: tuple[Any, ...]) -> list[Any]:
    items = _items(arguments) if arguments and arguments != ([],) else []
    if any(item is not None and not isinstance(item, bool) for item in items):
        return [None]
    return items


@builtin("all", "list", required=1, variadic=True)
def _all(*arguments: Any) -> Any:
    items = _booleans(arguments)
    if False in items:
        return False
    return None if None in items else True


@builtin("any", "list", required=1, variadic=True)
def _any(*arguments: Any) -> Any:
    items = _booleans(arguments)
    if True in items:
        return True
    return None if None in items else False


@builtin("sublist", "list, start position, length", required=2)
def _sublist(items: Any, start: Any, length: Any = None) -> Any:
    items, begin = _list(items), _integer(start)
    if begin == 0 or abs(begin) > len(items):
        raise FeelNull("start position out of range")
    index = begin - 1 if begin > 0 else len(items) + begin
    if length is None:
        return items[index:]
    count = _integer(length)
    if count < 0 or index + count > len(items):
        raise FeelNull("length out of range")
    return items[index:index + count]


@builtin("append", "list, item", required=1, variadic=True)
def _append(items: Any, *more: Any) -> Any:
    return _bounded(_list(items) + list(more))


@builtin("concatenate", "list", required=0, variadic=True)
def _concatenate(*lists: Any) -> Any:
    result: list[Any] = []
    for items in lists:
        result.extend(_list(items))
        _bounded(result)
    return result


def _bounded(items: list[Any]) -> list[Any]:
    if len(items) > semantics.MAX_ITEMS:
        raise FeelNull("list too long")
    return items


def _position(items: list[Any], position: Any) -> int:
    index = _integer(position, "position")
    if index == 0 or abs(index) > len(items):
        raise FeelNull("position out of range")
    return index - 1 if index > 0 else len(items) + index


@builtin("insert before", "list, position, newItem")
def _insert_before(items: Any, position: Any, item: Any) -> Any:
    items = list(_list(items))
    items.insert(_position(items, position), item)
    return items


@builtin("remove", "list, position")
def _remove(items: Any, position: Any) -> Any:
    items = list(_list(items))
    del items[_position(items, position)]
    return items


@builtin("list replace", "list, position, newItem", run=True, overloads=["list, match, newItem"])
def _list_replace(run: Run, items: Any, position: Any, item: Any) -> Any:
    items = list(_list(items))
    if isinstance(position, Function):
        matches = [invoke(position, run, [old, item]) for old in items]
        if any(not isinstance(match, bool) for match in matches):
            raise FeelNull("list replace()'s match function must return true or false")
        return [item if match else old for old, match in zip(items, matches, strict=True)]
    items[_position(items, position)] = item
    return items


@builtin("reverse", "list")
def _reverse(items: Any) -> Any:
    return list(reversed(_list(items)))


@builtin("index of", "list, match")
def _index_of(items: Any, match: Any) -> Any:
    return [Decimal(index) for index, item in enumerate(_list(items), 1) if semantics.equal(item, match)]


def _distinct(items: list[Any]) -> list[Any]:
    result: list[Any] = []
    for item in items:
        if not any(semantics.equal(item, seen) is True for seen in result):
            result.append(item)
    return result


@builtin("union", "list", required=0, variadic=True)
def _union(*lists: Any) -> Any:
    return _distinct([item for items in lists for item in _list(items)])


@builtin("distinct values", "list")
def _distinct_values(items: Any) -> Any:
    return _distinct(_list(items))


@builtin("flatten", "list")
def _flatten(items: Any) -> Any:
    result: list[Any] = []
    stack = [iter(_list(items))]
    while stack:
        for item in stack[-1]:
            if isinstance(item, list):
                stack.append(iter(item))
                break
            result.append(item)
        else:
            stack.pop()
    return _bounded(result)


@builtin("sort", "list, precedes", required=1, run=True)
def _sort(run: Run, items: Any, precedes: Any = None) -> Any:
    items = list(_list(items))
    if precedes is None:
        return sorted(items, key=_SortKey)
    if not isinstance(precedes, Function):
        raise FeelNull("precedes must be a function")
    result: list[Any] = []
    for item in items:  # insertion sort: ``precedes`` is any FEEL function, not a key
        index = len(result)
        while index > 0 and invoke(precedes, run, [item, result[index - 1]]) is True:
            index -= 1
        result.insert(index, item)
    return result


class _SortKey:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: _SortKey) -> bool:
        return semantics.compare(self.value, other.value) < 0


# ---- numbers ----------------------------------------------------------------------------------------------

def _scaled(number: Any, scale: Any, rounding: str) -> Any:
    value, places = _number(number), _integer(scale, "scale")
    if not -6111 <= places <= 6176:
        raise FeelNull("scale out of range")
    try:
        return value.quantize(Decimal(1).scaleb(-places), rounding=rounding, context=CONTEXT)
    except decimal.InvalidOperation:
        return value  # more places than 34 digits hold: already exact at that scale


@builtin("decimal", "n, scale")
def _decimal(number: Any, scale: Any) -> Any:
    return _scaled(number, scale, decimal.ROUND_HALF_EVEN)


@builtin("floor", "n, scale", required=1)
def _floor(number: Any, scale: Any = Decimal(0)) -> Any:
    return _scaled(number, scale, decimal.ROUND_FLOOR)


@builtin("ceiling", "n, scale", required=1)
def _ceiling(number: Any, scale: Any = Decimal(0)) -> Any:
    return _scaled(number, scale, decimal.ROUND_CEILING)


@builtin("round up", "n, scale", required=1)
def _round_up(number: Any, scale: Any = Decimal(0)) -> Any:
    return _scaled(number, scale, decimal.ROUND_UP)


@builtin("round down", "n, scale", required=1)
def _round_down(number: Any, scale: Any = Decimal(0)) -> Any:
    return _scaled(number, scale, decimal.ROUND_DOWN)


@builtin("round half up", "n, scale", required=1)
def _round_half_up(number: Any, scale: Any = Decimal(0)) -> Any:
    return _scaled(number, scale, decimal.ROUND_HALF_UP)


@builtin("round half down", "n, scale", required=1)
def _round_half_down(number: Any, scale: Any = Decimal(0)) -> Any:
    return _scaled(number, scale, decimal.ROUND_HALF_DOWN)


@builtin("abs", "n")
def _abs(value: Any) -> Any:
    if isinstance(value, (DaysTimeDuration, YearsMonthsDuration)):
        return semantics.negate(value) if str(value).startswith("-") else value
    return abs(_number(value))


@builtin("modulo", "dividend, divisor")
def _modulo(dividend: Any, divisor: Any) -> Any:
    dividend, divisor = _number(dividend), _number(divisor)
    if not divisor:
        raise FeelNull("modulo by zero")
    return CONTEXT.subtract(dividend, CONTEXT.multiply(divisor, CONTEXT.divide_int(dividend, divisor)
                                                      - (1 if (dividend % divisor) and (dividend < 0) != (divisor < 0)
                                                         else 0)))


@builtin("sqrt", "number")
def _sqrt(value: Any) -> Any:
    number = _number(value)
    if number < 0:
        raise FeelNull("sqrt of a negative number")
    return CONTEXT.sqrt(number)


@builtin("log", "number")
def _log(value: Any) -> Any:
    number = _number(value)
    if number <= 0:
        raise FeelNull("log of a number not above zero")
    return CONTEXT.ln(number)


@builtin("exp", "number")
def _exp(value: Any) -> Any:
    return CONTEXT.exp(_number(value))


@builtin("odd", "number")
def _odd(value: Any) -> Any:
    number = _number(value)
    return number == number.to_integral_value() and int(number) % 2 == 1


@builtin("even", "number")
def _even(value: Any) -> Any:
    number = _number(value)
    return number == number.to_integral_value() and int(number) % 2 == 0


# ---- dates and times --------------------------------------------------------------------------------------

def _a_date(value: Any) -> date:
    if not isinstance(value, date):
        raise FeelNull("a date or date and time is required")
    return value


@builtin("day of year", "date")
def _day_of_year(value: Any) -> Any:
    return Decimal(_a_date(value).timetuple().tm_yday)


_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]


@builtin("day of week", "date")
def _day_of_week(value: Any) -> Any:
    return _DAYS[_a_date(value).weekday()]


@builtin("month of year", "date")
def _month_of_year(value: Any) -> Any:
    return _MONTHS[_a_date(value).month - 1]


@builtin("week of year", "date")
def _week_of_year(value: Any) -> Any:
    return Decimal(_a_date(value).isocalendar()[1])


@builtin("now", "", run=True)
def _now(run: Run) -> Any:
    return run.now or datetime.now(UTC)


@builtin("today", "", run=True)
def _today(run: Run) -> Any:
    return (run.now or datetime.now(UTC)).date()


# ---- ranges -----------------------------------------------------------------------------------------------

def _interval(value: Any) -> Range:
    return value if isinstance(value, Range) else Range(True, value, value, True)


def _lt(left: Any, right: Any) -> bool:
    return semantics.compare(left, right) < 0


def _eq(left: Any, right: Any) -> bool:
    return semantics.compare(left, right) == 0


def _range_function(name: str, params: str, test: Callable[[Range, Range], bool]) -> None:
    def function(left: Any, right: Any) -> Any:
        if left is None or right is None:
            raise FeelNull(f"{name}() needs two values")
        return test(_interval(left), _interval(right))
    builtin(name, params)(function)


def _before_range(a: Range, b: Range) -> bool:
    return _lt(a.end, b.start) or (_eq(a.end, b.start) and not (a.end_included and b.start_included))


def _meets(a: Range, b: Range) -> bool:
    return a.end_included and b.start_included and _eq(a.end, b.start)


def _overlaps(a: Range, b: Range) -> bool:
    return not (_before_range(a, b) or _before_range(b, a))


def _overlaps_before(a: Range, b: Range) -> bool:
    return (_lt(a.start, b.start) or (_eq(a.start, b.start) and a.start_included and not b.start_included)) and (
        _lt(b.start, a.end) or (_eq(a.end, b.start) and a.end_included and b.start_included)) and (
        _lt(a.end, b.end) or (_eq(a.end, b.end) and (not a.end_included or b.end_included)))


def _starts_range(a: Range, b: Range) -> bool:
    return _eq(a.start, b.start) and a.start_included == b.start_included and (
        _lt(a.end, b.end) or (_eq(a.end, b.end) and (not a.end_included or b.end_included)))


def _finishes_range(a: Range, b: Range) -> bool:
    return _eq(a.end, b.end) and a.end_included == b.end_included and (
        _lt(b.start, a.start) or (_eq(a.start, b.start) and (not a.start_included or b.start_included)))


def _includes(a: Range, b: Range) -> bool:
    return (_lt(a.start, b.start) or (_eq(a.start, b.start) and (a.start_included or not b.start_included))) and (
        _lt(b.end, a.end) or (_eq(a.end, b.end) and (a.end_included or not b.end_included)))


def _coincides(a: Range, b: Range) -> bool:
    return _eq(a.start, b.start) and _eq(a.end, b.end) and a.start_included == b.start_included and (
        a.end_included == b.end_included)


_range_function("before", "range1, range2", _before_range)
_range_function("after", "range1, range2", lambda a, b: _before_range(b, a))
_range_function("meets", "range1, range2", _meets)
_range_function("met by", "range1, range2", lambda a, b: _meets(b, a))
_range_function("overlaps", "range1, range2", _overlaps)
_range_function("overlaps before", "range1, range2", _overlaps_before)
_range_function("overlaps after", "range1, range2", lambda a, b: _overlaps_before(b, a))
_range_function("finishes", "range1, range2", _finishes_range)
_range_function("finished by", "range1, range2", lambda a, b: _finishes_range(b, a))
_range_function("includes", "range1, range2", _includes)
_range_function("during", "range1, range2", lambda a, b: _includes(b, a))
_range_function("starts", "range1, range2", _starts_range)
_range_function("started by", "range1, range2", lambda a, b: _starts_range(b, a))
_range_function("coincides", "range1, range2", _coincides)


_ENDPOINT = re.compile(
    r'\s*(?:(-?\d+(?:\.\d+)?)|"([^"]*)"|@"([^"]*)"|(date and time|date|time|duration)\("([^"]*)"\))\s*')


@builtin("range", "from")
def _range(text: Any) -> Any:
    text = _text(text).strip()
    match = re.fullmatch(r"([\[(\]])(.*?)\.\.(.*?)([\])\[])", text)
    if not match:
        raise FeelNull(f"{text!r} is not a range")
    start, end = _endpoint(match[2]), _endpoint(match[3])
    if semantics.kind(start) != semantics.kind(end) or semantics.compare(start, end) > 0:
        raise FeelNull("a range's ends must be of one kind, the start not after the end")
    return Range(match[1] == "[", start, end, match[4] == "]")


def _endpoint(text: str) -> Any:
    match = _ENDPOINT.fullmatch(text)
    if not match:
        raise FeelNull(f"{text!r} is not a range endpoint")
    if match[1] is not None:
        return Decimal(match[1])
    if match[2] is not None:
        return match[2]
    literal = match[3] if match[3] is not None else match[5]
    kind = match[4]
    if kind == "duration" or (kind is None and literal.lstrip("-").startswith("P")):
        return temporal.parse_duration(literal)
    if kind == "date and time" or (kind is None and "T" in literal):
        return temporal.parse_date_time(literal)
    if kind == "time" or (kind is None and ":" in literal):
        return temporal.parse_time(literal)
    return temporal.parse_date(literal)


# ---- contexts ---------------------------------------------------------------------------------------------

@builtin("get value", "m, key")
def _get_value(context: Any, key: Any) -> Any:
    if not isinstance(context, dict):
        raise FeelNull("get value() needs a context")
    return context.get(_text(key, "key"))


@builtin("get entries", "m")
def _get_entries(context: Any) -> Any:
    if not isinstance(context, dict):
        raise FeelNull("get entries() needs a context")
    return [{"key": key, "value": value} for key, value in context.items()]


@builtin("context put", "context, key, value", overloads=["context, keys, value"])
def _context_put(context: Any, key: Any, value: Any) -> Any:
    if not isinstance(context, dict):
        raise FeelNull("context put() needs a context")
    keys = key if isinstance(key, list) else [key]
    if not keys or any(not isinstance(part, str) for part in keys):
        raise FeelNull("context put() needs a key or a list of keys")
    result = dict(context)
    if len(keys) == 1:
        result[keys[0]] = value
        return result
    inner = result.get(keys[0])
    if not isinstance(inner, dict):
        raise FeelNull(f"{keys[0]!r} is not a context")
    result[keys[0]] = _context_put(inner, keys[1:], value)
    return result


@builtin("context merge", "contexts")
def _context_merge(contexts: Any) -> Any:
    result: dict[str, Any] = {}
    for context in _list(contexts):
        if not isinstance(context, dict):
            raise FeelNull("context merge() needs a list of contexts")
        result.update(context)
    return result


MULTI_WORD_NAMES = [*sorted(name for name in BUILTINS if " " in name),
                    "days and time duration", "years and months duration", "date and time", "start included",
                    "end included", "time offset"]

__all__ = ["BUILTINS", "MULTI_WORD_NAMES"]
