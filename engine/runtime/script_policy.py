"""What a script may contain, checked on its syntax tree before it ever runs, and how it is rewritten.

:func:`check_tree` refuses everything outside the subset described in ``engine.runtime.scripting``;
:func:`rewrite_tree` then routes the operations that can build huge results in one C call through
the size-checked helpers of ``engine.runtime.script_guards``. Both work on the tree alone, so the
same verdict is given at deploy time (``script_audit``) and at run time.

Attributes are allowed by name from a short list, not refused by a list of dangers: every escape
from a Python sandbox walks an attribute chain (``().__class__.__base__``, ``gen.gi_frame.f_back``,
``"{0.__class__}".format``), and a list of what is allowed cannot miss one. Methods must be called
where they are named (``d.get(k)``, never ``key=d.get``): a bound method handed to a C function
(``any(map(items.append, items))``) would loop inside C, where nothing can stop it.
"""

from __future__ import annotations

import ast
import math
import re

from engine.runtime.script_environment import CLOCK_NOW
from engine.runtime.script_guards import (
    ADD,
    GROWING_METHODS,
    INPLACE,
    INPLACE_ITEM,
    LSHIFT,
    MAX_FORMAT_WIDTH,
    METHOD,
    MOD,
    MUL,
    POW,
)
from engine.runtime.script_hints import (
    dict_key_refusal,
    import_refusal,
    replaced_attribute_refusal,
    unoffered_name_refusal,
)


class ScriptRefused(Exception):
    """A script uses a construct that scripts may not use; raised before it runs."""

    def __init__(self, message: str, line: int | None = None) -> None:  # message: a str or a Phrase
        super().__init__(message if line is None else f"line {line}: {message}")
        self.reason = message
        self.line = line


#: Attributes read as values (of dates, times, durations, numbers and exceptions).
VALUE_ATTRIBUTES = frozenset({
    "year", "month", "day", "hour", "minute", "second", "microsecond", "tzinfo", "fold",
    "days", "seconds", "microseconds", "min", "max", "resolution",
    "real", "imag", "numerator", "denominator", "args",
})

#: Methods that change the object they are called on; an expression (a condition, a property, a
#: payload) must not change data, so these are for scripts only.
MUTATING_METHODS = frozenset({
    "append", "clear", "extend", "insert", "pop", "remove", "reverse", "sort",
    "update", "setdefault", "popitem", "add", "discard",
    "difference_update", "intersection_update", "symmetric_difference_update",
})

#: Methods of str, list, dict, set, numbers and dates that scripts may call.
METHOD_ATTRIBUTES = MUTATING_METHODS | frozenset({
    # str
    "capitalize", "casefold", "center", "count", "endswith", "find", "index", "isalnum", "isalpha",
    "isascii", "isdecimal", "isdigit", "isidentifier", "islower", "isnumeric", "isprintable", "isspace",
    "istitle", "isupper", "join", "ljust", "lower", "lstrip", "partition", "removeprefix", "removesuffix",
    "replace", "rfind", "rindex", "rjust", "rpartition", "rsplit", "rstrip", "split", "splitlines",
    "startswith", "strip", "swapcase", "title", "upper", "zfill",
    # list, dict, set
    "copy", "get", "items", "keys", "values", "fromkeys", "difference", "intersection", "union",
    "symmetric_difference", "issubset", "issuperset", "isdisjoint",
    # numbers
    "bit_length", "is_integer", "conjugate", "as_integer_ratio",
    # date, datetime, time, timedelta; ``x.now()`` is rewritten to read the engine clock, ``.today()`` is refused
    "now", "weekday", "isoweekday", "isocalendar", "isoformat", "strftime", "strptime", "fromisoformat",
    "fromordinal", "toordinal", "date", "time", "timetz", "astimezone", "timestamp",
    "combine", "total_seconds", "utcoffset", "dst", "tzname",
    # time (the engine clock's, see script_environment.EngineTime), Decimal
    "time_ns", "quantize", "normalize",
})

#: Attributes refused with a reason of their own (everything not allowed above is refused anyway).
REFUSED_ATTRIBUTES = {
    "format": "str.format can read attributes ('{0.__class__}'); use an f-string",
    "format_map": "str.format_map can read attributes ('{0.__class__}'); use an f-string",
    "mro": "classes are not reachable from scripts",
}

#: Names refused even where task data might define them (none of them is a builtin of scripts, so
#: this is defence in depth with a clear message): each one reaches outside the sandbox, runs code
#: from a string, or (iter/next) can drive an endless loop inside C.
REFUSED_NAMES = frozenset({
    "getattr", "setattr", "delattr", "hasattr", "eval", "exec", "compile", "open", "type", "vars",
    "globals", "locals", "dir", "breakpoint", "input", "help", "memoryview", "bytearray", "object",
    "super", "classmethod", "staticmethod", "property", "exit", "quit", "iter", "next", "aiter", "anext",
})

_STATEMENTS = (ast.Module, ast.Expression, ast.Expr, ast.Assign, ast.AugAssign, ast.For, ast.While, ast.If,
               ast.Break, ast.Continue, ast.Pass, ast.Delete, ast.Try, ast.ExceptHandler, ast.Raise, ast.Assert)
_EXPRESSIONS = (ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.Lambda, ast.IfExp, ast.Dict, ast.Set, ast.ListComp,
                ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.comprehension, ast.Compare, ast.Call, ast.keyword,
                ast.FormattedValue, ast.JoinedStr, ast.Constant, ast.Attribute, ast.Subscript, ast.Starred,
                ast.Name, ast.List, ast.Tuple, ast.Slice, ast.NamedExpr, ast.arguments, ast.arg)
_PARTS = (ast.expr_context, ast.boolop, ast.operator, ast.unaryop, ast.cmpop)
_ALLOWED = _STATEMENTS + _EXPRESSIONS + _PARTS

_REFUSED_NODES: dict[type, str] = {
    ast.Global: "'global' is not allowed",
    ast.Nonlocal: "'nonlocal' is not allowed",
    ast.FunctionDef: "'def' is not allowed; write plain statements, or a lambda for a sort key",
    ast.AsyncFunctionDef: "async constructs are not allowed",
    ast.ClassDef: "'class' is not allowed",
    ast.Return: "'return' is not allowed",
    ast.Yield: "'yield' is not allowed",
    ast.YieldFrom: "'yield' is not allowed",
    ast.Await: "async constructs are not allowed",
    ast.AsyncFor: "async constructs are not allowed",
    ast.AsyncWith: "async constructs are not allowed",
    ast.With: "'with' is not allowed",
    ast.AnnAssign: "annotations are not allowed",
    ast.Match: "'match' is not allowed; use if/elif",
}
if hasattr(ast, "TryStar"):
    _REFUSED_NODES[ast.TryStar] = "'except*' is not allowed"

_FORMAT_NUMBER = re.compile(r"\d+")

_BINARY_HELPERS: dict[type, str] = {ast.Add: ADD, ast.Mult: MUL, ast.Pow: POW, ast.LShift: LSHIFT, ast.Mod: MOD}


def parse(source: str, mode: str) -> ast.AST:
    """Parse ``source`` ('exec' for a script, 'eval' for an expression), refusing syntax errors."""
    try:
        return ast.parse(source, mode=mode)
    except SyntaxError as err:
        raise ScriptRefused(f"syntax error: {err.msg}", err.lineno) from None
    except ValueError as err:  # e.g. a NUL character in the source
        raise ScriptRefused(f"cannot read the script: {err}") from None


def check_tree(tree: ast.AST, mode: str) -> None:
    """Raise :class:`ScriptRefused` at the first construct outside the allowed subset."""
    called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    # A name called, or read an attribute from that no data has (``json.loads``), is a helper or module: task
    # data cannot be called, and a form's ``calendar`` dict may still be read with ``calendar.get('x')``.
    reached = called | {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Attribute)
                        and node.attr not in METHOD_ATTRIBUTES and node.attr not in VALUE_ATTRIBUTES}
    assigned = _assigned_names(tree)
    helpers = {id(node) for node in ast.walk(tree) if isinstance(node, ast.Name) and id(node) in reached
               and node.id not in assigned}
    refusals = [(node, reason) for node in ast.walk(tree)
                if (reason := _refusal(node, mode, called, helpers)) is not None]
    if refusals:  # the first in reading order: in ``a._b.c``, '_b' rather than 'c'
        # a construct refused outright before a helper spiff-arena has and scripts here lack: ``random._os``
        node, reason = min(refusals, key=lambda found: (_is_hint(found[0], helpers), _position(found[0])))
        raise ScriptRefused(reason, getattr(node, "lineno", None))


def _position(node: ast.AST) -> tuple[float, int, int]:
    """Where a node starts (and ends); parts without a position (a 'with' item) sort after their statement."""
    return getattr(node, "lineno", math.inf), getattr(node, "col_offset", 0), getattr(node, "end_col_offset", 0)


def _is_hint(node: ast.AST, helpers: set[int]) -> bool:
    """Whether ``node`` is refused only as a helper that scripts here lack (see ``script_hints.UNOFFERED``)."""
    return isinstance(node, ast.Name) and id(node) in helpers and _name_refusal(node.id) is None


def _assigned_names(tree: ast.AST) -> set[str]:
    """Names the source itself gives a value to (a variable, a loop or lambda variable, an exception)."""
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load)}
    names |= {node.arg for node in ast.walk(tree) if isinstance(node, ast.arg)}
    return names | {node.name for node in ast.walk(tree) if isinstance(node, ast.ExceptHandler) and node.name}


def _refusal(node: ast.AST, mode: str, called: set[int], helpers: set[int]) -> str | None:
    """Why ``node`` is refused, or None; ``helpers`` are the names used as functions or modules."""
    if isinstance(node, ast.Import | ast.ImportFrom):
        return import_refusal(node)
    if not isinstance(node, _ALLOWED):
        return _REFUSED_NODES.get(type(node), f"'{type(node).__name__}' is not allowed in scripts")
    if isinstance(node, ast.Name):
        refused = _name_refusal(node.id)
        if refused is None and id(node) in helpers:
            return unoffered_name_refusal(node.id)
        return refused
    if isinstance(node, ast.Attribute):
        return _attribute_refusal(node, mode, called, helpers)
    if isinstance(node, ast.arg | ast.keyword) and (node.arg or "").startswith("_"):
        return f"name '{node.arg}' is not allowed (names starting with '_' are reserved)"
    if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store) and isinstance(node.slice, ast.Slice):
        return "assigning to a slice is not allowed; build a new list instead"
    if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Subscript) \
            and isinstance(node.target.slice, ast.Slice):
        return "assigning to a slice is not allowed; build a new list instead"
    if isinstance(node, ast.List | ast.Tuple | ast.Set) and isinstance(getattr(node, "ctx", ast.Load()), ast.Load) \
            and any(isinstance(element, ast.Starred) for element in node.elts):
        return "'*' unpacking inside a list, tuple or set is not allowed; join them with +"
    if isinstance(node, ast.Try) and node.finalbody:
        return "'finally' is not allowed (it could swallow the stop of a script over its budget)"
    if isinstance(node, ast.ExceptHandler) and node.type is None:
        return "a bare 'except:' is not allowed; name the exceptions, e.g. 'except ValueError:'"
    if isinstance(node, ast.ExceptHandler) and node.name is not None:
        return _name_refusal(node.name)
    if isinstance(node, ast.comprehension) and node.is_async:
        return "async constructs are not allowed"
    if isinstance(node, ast.FormattedValue) and node.format_spec is not None:
        return _format_spec_refusal(node.format_spec)
    return None


def _name_refusal(name: str) -> str | None:
    if name.startswith("_"):
        return f"name '{name}' is not allowed (names starting with '_' are reserved)"
    if name in REFUSED_NAMES:
        return f"'{name}' is not available in scripts (it reaches outside the script's data)"
    return None


def _attribute_refusal(node: ast.Attribute, mode: str, called: set[int], helpers: set[int]) -> str | None:
    name = node.attr
    if name.startswith("_"):
        return f"attribute '{name}' is not allowed (names starting with '_' are reserved)"
    if name in REFUSED_ATTRIBUTES:
        return f"'.{name}' is not allowed: {REFUSED_ATTRIBUTES[name]}"
    if not isinstance(node.ctx, ast.Load):
        return f"assigning to an attribute ('.{name}') is not allowed; data is changed through d['key']"
    if name in VALUE_ATTRIBUTES:
        return None
    if name not in METHOD_ATTRIBUTES:
        replaced = replaced_attribute_refusal(name)
        if replaced is not None:
            return replaced
        if isinstance(node.value, ast.Name) and id(node.value) in helpers:  # ``random.randint``: say what random is
            unoffered = unoffered_name_refusal(node.value.id)
            if unoffered is not None:
                return unoffered
        if isinstance(node.value, ast.Name | ast.Subscript | ast.Attribute):
            return dict_key_refusal(node.value, name)
        return f"attribute '.{name}' is not available in scripts"
    if id(node) not in called:
        return f"method '.{name}' must be called where it is named; for a sort key write 'lambda x: ...'"
    if mode == "eval" and name in MUTATING_METHODS:
        return f"an expression must not change data ('.{name}'); do that in a script task"
    return None


def _format_spec_refusal(spec: ast.AST) -> str | None:
    parts = spec.values if isinstance(spec, ast.JoinedStr) else [spec]
    if not all(isinstance(part, ast.Constant) for part in parts):
        return "a format spec in an f-string must be written out, not computed"
    for part in parts:
        for number in _FORMAT_NUMBER.findall(str(part.value)):  # type: ignore[attr-defined]
            if int(number) > MAX_FORMAT_WIDTH:
                return f"an f-string width or precision above {MAX_FORMAT_WIDTH} is not allowed"
    return None


def rewrite_tree(tree: ast.AST) -> ast.AST:
    """Route ``+ * ** << %``, their in-place forms and growing methods through the size guards (in place).

    Iterative on purpose: a long chain like ``a + b + c + ...`` is a deep tree, and a recursive
    transformer would hit the recursion limit long before CPython's compiler does.
    """
    pending = [tree]
    while pending:
        node = pending.pop()
        for field, value in ast.iter_fields(node):
            if isinstance(value, list):
                for index, item in enumerate(value):
                    if isinstance(item, ast.AST):
                        value[index] = _guarded(item)
                        pending.append(value[index])
            elif isinstance(value, ast.AST):
                replacement = _guarded(value)
                setattr(node, field, replacement)
                pending.append(replacement)
    return tree


def _guarded(node: ast.AST) -> ast.AST:
    """``node`` itself, or a shallow replacement that calls a guard with the same sub-trees."""
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY_HELPERS:
        return _located(_call(_BINARY_HELPERS[type(node.op)], [node.left, node.right]), node)
    if isinstance(node, ast.AugAssign) and type(node.op) in _BINARY_HELPERS:
        inplace = INPLACE[_BINARY_HELPERS[type(node.op)]]
        target = node.target
        if isinstance(target, ast.Name):
            value = _call(inplace, [_located(ast.Name(target.id, ast.Load()), target), node.value])
            return _located(ast.Assign([target], _located(value, node)), node)
        if isinstance(target, ast.Subscript):  # evaluates the container and the key once, as Python does
            item = _call(INPLACE_ITEM, [_located(ast.Constant(inplace), node), target.value, target.slice, node.value])
            return _located(ast.Expr(_located(item, node)), node)
        return node  # attribute targets were refused by check_tree
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "now":
        receiver = node.func  # ``datetime.now()`` reads the engine clock (see script_environment.clock_now)
        return _located(ast.Call(_located(ast.Name(CLOCK_NOW, ast.Load()), node), [receiver.value, *node.args],
                                 node.keywords), node)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in GROWING_METHODS:
        receiver = node.func
        arguments = [receiver.value, _located(ast.Constant(receiver.attr), receiver), *node.args]
        return _located(ast.Call(_located(ast.Name(METHOD, ast.Load()), node), arguments, node.keywords), node)
    return node


def _call(helper: str, arguments: list[ast.expr]) -> ast.Call:
    return ast.Call(ast.Name(helper, ast.Load()), arguments, [])


def _located(new: ast.AST, old: ast.AST) -> ast.AST:
    """Give ``new`` (and a helper name it calls) the source position of ``old``."""
    ast.copy_location(new, old)
    if isinstance(new, ast.Call) and not hasattr(new.func, "lineno"):
        ast.copy_location(new.func, old)
    return new
