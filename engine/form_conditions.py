"""A form field's ``conditional.hide``, evaluated on the server as form-js evaluates it in the browser.

form-js skips a hidden field's validation and drops its value, so a field can be required only when it
shows ("未参加的原因" only for a teacher who did not attend). The server must agree, or it would refuse
what the browser sent or accept what the browser would have refused. form-js reads ``hide`` as a FEEL
unary test against the form's data; this module reads the part of FEEL such conditions use — names and
dotted paths, text, numbers, ``true``/``false``/``null``, ``= != < <= > >=``, ``and``, ``or``, ``not(…)``
and parentheses — with FEEL's rules for null (a comparison with a missing value is null, and a unary test
whose value is null holds, since the test's input is null too). Anything else is :data:`UNKNOWN`: the
server then checks the field as if it showed, as it always did.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

#: The answer for a condition this module cannot read.
UNKNOWN = object()
Condition = Callable[[dict[str, Any]], bool]

_TOKEN = re.compile(r'\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<str>"[^"\\]*")|(?P<op><=|>=|!=|[=<>().])'
                    r'|(?P<name>[A-Za-z_][A-Za-z0-9_]*))')
_KEYWORDS = {"true": True, "false": False, "null": None}


def hide_condition(expression: Any) -> Condition | object | None:
    """The check for a ``conditional.hide`` value: None when there is none, :data:`UNKNOWN` when unreadable."""
    if not isinstance(expression, str) or not expression.strip():
        return None
    text = expression.strip()
    if not text.startswith("="):
        return UNKNOWN
    try:
        tokens = _tokens(text[1:])
        parser = _Parser(tokens)
        tree = parser.expression()
        if parser.position != len(tokens):
            return UNKNOWN
    except ValueError:
        return UNKNOWN
    return lambda data: _unary_test(tree, data)


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(text.rstrip()):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise ValueError(text[position:])
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class _Parser:
    """Recursive descent over the tokens into nested tuples: ("or", a, b), ("cmp", op, a, b), ("path", …)."""

    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens, self.position = tokens, 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            raise ValueError(value or "end")
        self.position += 1
        return token

    def expression(self) -> Any:
        left = self.conjunction()
        while self.peek() == ("name", "or"):
            self.take()
            left = ("or", left, self.conjunction())
        return left

    def conjunction(self) -> Any:
        left = self.comparison()
        while self.peek() == ("name", "and"):
            self.take()
            left = ("and", left, self.comparison())
        return left

    def comparison(self) -> Any:
        left = self.operand()
        token = self.peek()
        if token is not None and token[1] in ("=", "!=", "<", "<=", ">", ">="):
            self.take()
            return ("cmp", token[1], left, self.operand())
        return left

    def operand(self) -> Any:
        kind, value = self.take()
        if kind == "num":
            return ("value", float(value) if "." in value else int(value))
        if kind == "str":
            return ("value", value[1:-1])
        if value == "(":
            inner = self.expression()
            self.take(")")
            return inner
        if kind != "name" or value in ("and", "or"):
            raise ValueError(value)
        if value in _KEYWORDS:
            return ("value", _KEYWORDS[value])
        if value == "not" and self.peek() == ("op", "("):
            self.take("(")
            inner = self.expression()
            self.take(")")
            return ("not", inner)
        path = [value]
        while self.peek() == ("op", "."):
            self.take()
            path.append(self.take()[1])
        return ("path", tuple(path))


def _unary_test(tree: Any, data: dict[str, Any]) -> bool:
    """FEEL's unary test with no input: a boolean is the answer, null matches the null input."""
    if tree[0] == "not":
        return not _unary_test(tree[1], data)
    value = _evaluate(tree, data)
    return value if isinstance(value, bool) else value is None


def _evaluate(tree: Any, data: dict[str, Any]) -> Any:
    kind = tree[0]
    if kind == "value":
        return tree[1]
    if kind == "path":
        value: Any = data
        for part in tree[1]:
            value = value.get(part) if isinstance(value, dict) else None
        return value
    if kind == "not":
        inner = _evaluate(tree[1], data)
        return (not inner) if isinstance(inner, bool) else None
    if kind in ("and", "or"):
        values = [_evaluate(tree[1], data), _evaluate(tree[2], data)]
        decisive = kind == "or"  # or: any true decides; and: any false decides
        if decisive in values:
            return decisive
        return (not decisive) if all(isinstance(v, bool) for v in values) else None
    return _compare(tree[1], _evaluate(tree[2], data), _evaluate(tree[3], data))


def _compare(op: str, left: Any, right: Any) -> Any:
    if op in ("=", "!="):
        if left is None or right is None:
            same = left is None and right is None
        elif _comparable(left, right):
            same = left == right
        else:
            return None
        return same if op == "=" else not same
    if left is None or right is None or not _comparable(left, right) or isinstance(left, bool):
        return None
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]


def _comparable(left: Any, right: Any) -> bool:
    numbers = (int, float)
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool)
    return (isinstance(left, numbers) and isinstance(right, numbers)) or type(left) is type(right)
