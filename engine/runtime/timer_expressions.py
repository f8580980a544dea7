"""Timer expressions that can never give the ISO 8601 text a timer needs, found before deployment.

A timer written as an expression must give a text such as ``PT30S`` or ``2026-09-01T08:00``.
spiff-arena models sometimes write Python objects instead (``timedelta(seconds=30)``,
``datetime.now() + timedelta(days=1)``); such a model would deploy and fail when an instance reaches
the timer. Read from the syntax tree alone, an expression whose value is certainly not a text (a
call of ``timedelta``, ``datetime`` or ``now``, arithmetic on those, a number, a list) is refused,
naming what to write; an expression that may compute a text from data (``'PT%sS' % seconds``,
``deadline``) is left to run time, where the timer checks what it got.
"""

from __future__ import annotations

import ast
import datetime as dt

from engine.bpmn.lint_rules.timers import is_cycle, is_date_time, is_duration
from engine.phrases import Phrase

_DATE_TIME, _DURATION, _NUMBER, _TRUTH, _COLLECTION = "a date-time", "a timedelta", "a number", "True or False", \
    "a list or dict"
#: Helpers and builtins of scripts whose result is certainly not a text.
_CALL_RESULTS = {"datetime": _DATE_TIME, "date": _DATE_TIME, "now": _DATE_TIME, "today": _DATE_TIME,
                 "timedelta": _DURATION, "int": _NUMBER, "float": _NUMBER, "Decimal": _NUMBER, "len": _NUMBER,
                 "abs": _NUMBER, "round": _NUMBER, "sum": _NUMBER, "floor": _NUMBER, "ceil": _NUMBER,
                 "bool": _TRUTH, "list": _COLLECTION, "dict": _COLLECTION, "set": _COLLECTION,
                 "tuple": _COLLECTION, "sorted": _COLLECTION}
#: Methods whose result is certainly not a text.
_METHOD_RESULTS = {"now": _DATE_TIME, "fromisoformat": _DATE_TIME, "strptime": _DATE_TIME, "combine": _DATE_TIME,
                   "astimezone": _DATE_TIME, "date": _DATE_TIME, "total_seconds": _NUMBER, "timestamp": _NUMBER,
                   "time": _NUMBER}
_MAX_SHOWN = 80
#: How each kind of timer value is recognised, and an example of one.
_ISO_VALUES = {"duration": (is_duration, "a duration such as 'PT30S' or 'P2D'"),
               "date-time": (is_date_time, "a date-time such as '2026-09-01T08:00:00'"),
               "cycle": (is_cycle, "a repetition such as 'R3/PT1H'")}


def timer_expression_refusal(source: str, kind: str = "duration") -> Phrase | None:
    """Why the expression ``source`` of a timer that needs a ``kind`` (duration, date-time, cycle) value cannot
    give one as ISO 8601 text, naming what to write; None if it may."""
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError:
        return None  # the sandbox's own check names the syntax error
    shown = source.strip() if len(source.strip()) <= _MAX_SHOWN else source.strip()[:_MAX_SHOWN - 1] + "…"
    body = tree.body
    if isinstance(body, ast.Constant) and isinstance(body.value, str):
        valid, example = _ISO_VALUES[kind]
        if valid(body.value.strip()):
            return None
        return Phrase("the timer's value '%(value)s' is not an ISO 8601 %(kind)s; write %(example)s",
                      value=body.value, kind=Phrase(kind), example=Phrase(example))
    found = _certain_kind(body)
    if found is None:
        return None
    return Phrase("the timer expression '%(expression)s' gives %(kind)s, not ISO 8601 text; %(instead)s",
                  expression=shown, kind=Phrase(found), instead=_instead(tree.body, found))


def _instead(node: ast.expr, kind: str) -> Phrase:
    if kind == _DURATION:
        literal = _literal_duration(node)
        if literal is not None:
            return Phrase("write the duration as text: %(duration)s", duration=literal)
        return Phrase("write the duration as text, e.g. PT30S, P2D or f'PT{seconds}S'")
    if kind == _DATE_TIME:
        return Phrase("write the date-time as text: (%(expression)s).isoformat()", expression=ast.unparse(node))
    return Phrase("a timer needs text such as PT30S (a duration), 2026-09-01T08:00 (a date-time) or R3/PT1H "
                  "(a cycle)")


def _certain_kind(node: ast.expr) -> str | None:
    """What ``node`` certainly gives when it is not a text (None: it is a text, or may be one)."""
    if isinstance(node, ast.Constant):
        return None if isinstance(node.value, str) else _TRUTH if isinstance(node.value, bool) or node.value is None \
            else _NUMBER
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Name):
            return _CALL_RESULTS.get(node.func.id)
        if isinstance(node.func, ast.Attribute):
            return _METHOD_RESULTS.get(node.func.attr)
        return None
    if isinstance(node, ast.BinOp) and not isinstance(node.op, ast.Mod):  # '%' formats a text
        left, right = _certain_kind(node.left), _certain_kind(node.right)
        for kind in (_DATE_TIME, _DURATION):
            if kind in (left, right):
                return _DATE_TIME if _DATE_TIME in (left, right) else kind
        return _NUMBER if left == right == _NUMBER else None
    if isinstance(node, ast.Compare | ast.BoolOp) or (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)):
        return _TRUTH if not isinstance(node, ast.BoolOp) else None  # 'a or b' gives one of them
    if isinstance(node, ast.UnaryOp):
        return _certain_kind(node.operand)
    if isinstance(node, ast.List | ast.Tuple | ast.Set | ast.Dict | ast.ListComp | ast.SetComp | ast.DictComp):
        return _COLLECTION
    if isinstance(node, ast.IfExp):
        body, orelse = _certain_kind(node.body), _certain_kind(node.orelse)
        return body if body is not None and orelse is not None else None
    return None


def _literal_duration(node: ast.expr) -> str | None:
    """``timedelta(seconds=30)`` with constant arguments as the ISO 8601 duration it stands for (``PT30S``)."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "timedelta"):
        return None
    try:
        positional = [ast.literal_eval(argument) for argument in node.args]
        named = {keyword.arg: ast.literal_eval(keyword.value) for keyword in node.keywords if keyword.arg}
        if len(named) != len(node.keywords) or not all(isinstance(v, int | float) for v in (*positional,
                                                                                             *named.values())):
            return None
        delta = dt.timedelta(*positional, **named)
    except (ValueError, TypeError, OverflowError, SyntaxError):
        return None
    if delta <= dt.timedelta(0):
        return None
    return _iso_duration(delta)


def _iso_duration(delta: dt.timedelta) -> str:
    hours, rest = divmod(delta.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    fraction = f"{seconds + delta.microseconds / 1e6:g}" if delta.microseconds else str(seconds)
    time = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M")) if n)
    time += f"{fraction}S" if seconds or delta.microseconds else ""
    return f"P{delta.days}D" + (f"T{time}" if time else "") if delta.days else f"PT{time}"
