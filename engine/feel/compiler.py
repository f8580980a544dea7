"""From FEEL text to a tree of Python closures: parsed once by lark, each node compiled to a function of the
scope, so an evaluation walks no syntax tree and never reaches Python objects beyond FEEL's values."""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.lexer import Lexer

from engine.feel import semantics, temporal
from engine.feel.builtins import BUILTINS, MULTI_WORD_NAMES
from engine.feel.calls import invoke
from engine.feel.errors import FeelLimitExceeded, FeelNull, FeelSyntaxError
from engine.feel.lexer import tokens
from engine.feel.properties import property_of
from engine.feel.scope import Run, Scope
from engine.feel.types import type_check
from engine.feel.values import Function, Range, from_python
from engine.phrases import Phrase

Node = Callable[[Scope], Any]
#: syntax trees deeper than this are refused (bounds recursion when compiling and evaluating)
MAX_DEPTH = 160


class _FeelLexer(Lexer):
    def __init__(self, conf: Any) -> None:
        pass

    def lex(self, data: Any) -> Any:  # type: ignore[override]
        text, names = data
        return iter(tokens(text, names))


@lru_cache(maxsize=1)
def _parser() -> Lark:
    grammar = (Path(__file__).with_name("feel.lark")).read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", lexer=_FeelLexer, start=["start", "unary_start"])


def parse(text: str, start: str, names: Iterable[str] = ()) -> Tree:
    """The syntax tree of ``text``; ``start`` is ``start`` (an expression) or ``unary_start``."""
    if not text.strip():
        raise FeelSyntaxError(Phrase("the expression is empty"), text, 1, 1)
    try:
        tree = _parser().parse((text, [*MULTI_WORD_NAMES, *names]), start=start)
    except FeelSyntaxError:
        raise
    except (UnexpectedToken, UnexpectedCharacters, UnexpectedEOF) as error:
        raise _syntax_error(text, error) from None
    except UnexpectedInput as error:  # pragma: no cover - other lark failures
        raise FeelSyntaxError(Phrase("the expression does not parse: %(reason)s", reason=str(error)), text, 1,
                              1) from None
    _check_depth(tree, text)
    return tree


def _syntax_error(text: str, error: UnexpectedInput) -> FeelSyntaxError:
    token = getattr(error, "token", None)
    if token is None or token.type == "$END" or getattr(token, "line", None) is None:
        lines = text.split("\n")
        return FeelSyntaxError(Phrase("the expression ends too early"), text, len(lines), len(lines[-1]) + 1)
    return FeelSyntaxError(Phrase("unexpected %(token)s", token=repr(token.value)), text, token.line, token.column)


def _check_depth(tree: Tree, text: str) -> None:
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise FeelSyntaxError(Phrase("the expression nests deeper than %(limit)s levels", limit=MAX_DEPTH),
                                  text, 1, 1)
        stack.extend((child, depth + 1) for child in node.children if isinstance(child, Tree))


def name_of(tree: Tree) -> str:
    return " ".join(token.value for token in tree.children)


def uses_input(tree: Tree) -> bool:
    """Whether a unary test mentions ``?`` (then it is a boolean condition, not a value to compare)."""
    return any(node.data == "name" and name_of(node) == "?" for node in tree.iter_subtrees())


def compile_tree(tree: Tree) -> Node:
    compiler = _COMPILERS.get(tree.data)
    if compiler is None:
        raise FeelSyntaxError(Phrase("the expression does not parse: %(reason)s", reason=tree.data), "", 1, 1)
    node = compiler(*tree.children)
    if tree.data not in _LEAVES and is_static(tree):
        return _fold(node)
    return node


#: nodes that are constants already, or whose value depends on more than their text
_LOOPS = {"for_expr", "quantified", "filter"}
_LEAVES = {"number", "string", "true", "false", "null", "at_literal", "function", "start"}


def is_constant(tree: Tree) -> bool:
    """Whether ``tree`` reads no names (no variables, no calls, no ``?``): its value is fixed at compile time."""
    return not any(node.data in ("name", "function", "negation") for node in tree.iter_subtrees())


def is_static(tree: Tree) -> bool:
    """Constant and loop-free: cheap to compute once, and safe to evaluate without an evaluation's bookkeeping."""
    return is_constant(tree) and not any(node.data in _LOOPS for node in tree.iter_subtrees())


def _fold(node: Node) -> Node:
    """A constant subtree evaluated once; one that warns is left to warn at each evaluation."""
    run = Run()
    try:
        value = node(Scope({}, None, run))
    except (FeelLimitExceeded, RecursionError):
        return node
    if run.warnings:
        return node
    if isinstance(value, (list, dict)):
        # a caller may change a list or context it was given: build a fresh one each time, but let unary
        # tests (which only read it) use the value computed here
        node.constant = value  # type: ignore[attr-defined]
        return node
    return _constant(value)


def constant_value(node: Node) -> tuple[bool, Any]:
    """Whether a compiled node is a constant, and its value."""
    value = getattr(node, "constant", _NOT_CONSTANT)
    return value is not _NOT_CONSTANT, value


_NOT_CONSTANT = object()


def _guard(function: Callable[[Scope], Any]) -> Node:
    """A node whose failures become null with a warning, as FEEL's errors do."""
    def node(scope: Scope) -> Any:
        try:
            return function(scope)
        except FeelNull as error:
            scope.run.warn(str(error))
            return None
    return node


# ---- literals and names ----------------------------------------------------------------------------------

def _constant(value: Any) -> Node:
    def constant(scope: Scope) -> Any:
        return value
    constant.constant = value  # type: ignore[attr-defined]
    return constant


def _number(token: Token) -> Node:
    return _constant(Decimal(token.value))


def _string(token: Token) -> Node:
    return _constant(token.value)


def _at_literal(token: Token) -> Node:
    """``@"2026-09-01"``, ``@"10:30:00@Asia/Shanghai"``, ``@"P1D"``: read once; an unreadable one is null."""
    try:
        value = temporal.parse_literal(token.value)
    except FeelNull as error:
        message = str(error)

        def unreadable(scope: Scope) -> Any:
            raise FeelNull(message)
        return _guard(unreadable)
    return _constant(value)


def _variable(name_tree: Tree) -> Node:
    name = name_of(name_tree)

    def variable(scope: Scope) -> Any:
        value = scope.lookup(name)
        return from_python(value) if type(value) in _PYTHON_NUMBERS else value
    if "." in name:
        return _guard(_dotted(name, variable))
    return _guard(variable)


_PYTHON_NUMBERS = (int, float, tuple)


def _dotted(name: str, variable: Node) -> Node:
    """A known name with a dot (a parameter ``Person.Name``) where it is not in scope is a path into
    ``Person``: the lexer knows the model's names, not which of them are in scope here."""
    head, *path = name.split(".")

    def dotted(scope: Scope) -> Any:
        if scope.defines(name):
            return variable(scope)
        value = scope.lookup(head.strip())
        for part in path:
            value = [_member(item, part.strip()) for item in value] if isinstance(value, list) else \
                _member(value, part.strip())
        return value
    return dotted


# ---- structures ------------------------------------------------------------------------------------------

def _list(*items: Tree | None) -> Node:
    nodes = [compile_tree(item) for item in items if item is not None]
    return lambda scope: [node(scope) for node in nodes]


def _context(*entries: Tree | None) -> Node:
    compiled = []
    for entry in entries:
        if entry is None:
            continue
        key, value = entry.children
        compiled.append((key.value if isinstance(key, Token) else name_of(key), compile_tree(value)))

    def context(scope: Scope) -> Any:
        result: dict[str, Any] = {}
        inner = scope.child(result)
        for key, node in compiled:
            if key in result:
                raise FeelNull(f"the context has two entries named {key!r}")
            result[key] = node(inner)
        return result
    return _guard(context)


def _closed_range(start: Tree, end: Tree, closing: Tree) -> Node:
    return _range(True, start, end, closing)


def _open_range(*children: Any) -> Node:
    return _range(False, *children[-3:])


def _range(start_included: bool, start: Tree, end: Tree, closing: Tree) -> Node:
    start_node, end_node = compile_tree(start), compile_tree(end)
    end_included = closing.children[0].value == "]"

    def interval(scope: Scope) -> Any:
        low, high = start_node(scope), end_node(scope)
        if low is not None and high is not None and semantics.kind(low) != semantics.kind(high):
            raise FeelNull("a range's ends must be of one kind")
        return Range(start_included, low, high, end_included)
    return _guard(interval)


def _unary_range(operator: Tree, endpoint: Tree) -> Node:
    """``(< 10)``: the range of values that satisfy the comparison."""
    symbol, node = operator.children[0].value, compile_tree(endpoint)

    def interval(scope: Scope) -> Any:
        value = node(scope)
        if value is None:
            raise FeelNull("a range's end must not be null")
        if symbol == "=":
            return Range(True, value, value, True, unbounded=True)
        if symbol in ("<", "<="):
            return Range(False, None, value, symbol == "<=", unbounded=True)
        if symbol in (">", ">="):
            return Range(symbol == ">=", value, None, False, unbounded=True)
        raise FeelNull(f"({symbol} …) is not a range")
    return _guard(interval)


def _path(target: Tree, name_tree: Tree) -> Node:
    node, name = compile_tree(target), name_of(name_tree)

    def path(scope: Scope) -> Any:
        value = node(scope)
        if isinstance(value, list):
            return [_member(item, name) for item in value]
        return _member(value, name)
    return _guard(path)


def _member(value: Any, name: str) -> Any:
    if isinstance(value, dict):
        return value.get(name)
    if value is None:
        return None
    return property_of(value, name)


def _filter(target: Tree, condition: Tree) -> Node:
    node, test = compile_tree(target), compile_tree(condition)

    def filtered(scope: Scope) -> Any:
        value = node(scope)
        items = value if isinstance(value, list) else [value]
        result = []
        for index, item in enumerate(items):
            scope.run.step()
            names = {"item": item, **item} if isinstance(item, dict) else {"item": item}
            outcome = test(scope.child(names))
            if index == 0 and isinstance(outcome, Decimal):
                return _index(items, outcome)
            if outcome is True:
                result.append(item)
        return result
    return _guard(filtered)


def _index(items: list[Any], position: Decimal) -> Any:
    index = int(position)
    if index > 0 and index <= len(items):
        return items[index - 1]
    if index < 0 and -index <= len(items):
        return items[index]
    return None


# ---- operators -------------------------------------------------------------------------------------------

def _binary(operation: Callable[[Any, Any], Any]) -> Callable[[Tree, Tree], Node]:
    def build(left: Tree, right: Tree) -> Node:
        left_node, right_node = compile_tree(left), compile_tree(right)

        def binary(scope: Scope) -> Any:
            left_value, right_value = left_node(scope), right_node(scope)
            if left_value is None or right_value is None:
                return None
            return operation(left_value, right_value)
        return _guard(binary)
    return build


def _neg(operand: Tree) -> Node:
    node = compile_tree(operand)

    def negative(scope: Scope) -> Any:
        value = node(scope)
        return None if value is None else semantics.negate(value)
    return _guard(negative)


def _and(left: Tree, right: Tree) -> Node:
    left_node, right_node = compile_tree(left), compile_tree(right)

    def conjunction(scope: Scope) -> Any:
        first = left_node(scope)
        if first is False:
            return False
        second = right_node(scope)
        if second is False:
            return False
        return True if first is True and second is True else None
    return conjunction


def _or(left: Tree, right: Tree) -> Node:
    left_node, right_node = compile_tree(left), compile_tree(right)

    def disjunction(scope: Scope) -> Any:
        first = left_node(scope)
        if first is True:
            return True
        second = right_node(scope)
        if second is True:
            return True
        return False if first is False and second is False else None
    return disjunction


_ORDERED_PLAIN = (Decimal, str)
_FAST: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_ORDER_TESTS: dict[str, Callable[[int], bool]] = {
    "<": lambda order: order < 0, "<=": lambda order: order <= 0,
    ">": lambda order: order > 0, ">=": lambda order: order >= 0,
}


def comparison(operator: str, left: Any, right: Any) -> bool | None:
    """``left <operator> right`` with FEEL's null rules."""
    if type(left) is type(right) and type(left) in _ORDERED_PLAIN:
        return _FAST[operator](left, right)
    if operator == "=":
        return semantics.equal(left, right)
    if operator == "!=":
        result = semantics.equal(left, right)
        return None if result is None else not result
    if left is None or right is None:
        return None
    try:
        return _ORDER_TESTS[operator](semantics.compare(left, right))
    except FeelNull:
        return None


def _compare(left: Tree, operator: Tree, right: Tree) -> Node:
    left_node, right_node, symbol = compile_tree(left), compile_tree(right), operator.children[0].value
    return lambda scope: comparison(symbol, left_node(scope), right_node(scope))


def _between(value: Tree, low: Tree, high: Tree) -> Node:
    value_node, low_node, high_node = compile_tree(value), compile_tree(low), compile_tree(high)

    def between(scope: Scope) -> Any:
        subject = value_node(scope)
        above = comparison(">=", subject, low_node(scope))
        below = comparison("<=", subject, high_node(scope))
        if above is False or below is False:
            return False
        return True if above and below else None
    return between


# ---- unary tests -----------------------------------------------------------------------------------------

Test = Callable[[Any, Scope], Any]


def compile_test(tree: Tree) -> Test:
    """A positive unary test as a function of (input value, scope) → True / False / None."""
    if tree.data == "test_compare":
        operator, endpoint = tree.children
        symbol, node = operator.children[0].value, compile_tree(endpoint)
        fixed, target = constant_value(node)
        if fixed:
            return lambda value, scope: comparison(symbol, value, target)
        return lambda value, scope: comparison(symbol, value, node(scope))
    expression = tree.children[0]
    node = compile_tree(expression)
    fixed, target = constant_value(node)
    if fixed and isinstance(target, Range):
        return lambda value, scope: None if value is None else semantics.in_range(value, target)
    if fixed:
        return lambda value, scope: matches_value(value, target)
    if uses_input(expression):
        def condition(value: Any, scope: Scope) -> Any:
            result = node(scope.child({"?": value}))
            return result if isinstance(result, bool) else None
        return condition

    def equality(value: Any, scope: Scope) -> Any:
        return matches_value(value, node(scope.child({"?": value})))
    return equality


def matches_value(value: Any, target: Any) -> bool | None:
    """Whether ``value`` satisfies a unary test whose expression gave ``target``: equal, in its range, or in
    its list."""
    if isinstance(target, Range):
        return semantics.in_range(value, target) if value is not None else None
    if isinstance(target, list) and not isinstance(value, list):
        found: bool | None = False
        for item in target:
            if isinstance(item, Range):
                result = matches_value(value, item)
                if result is None:
                    found = None
            else:
                result = semantics.equal(value, item)
            if result:
                return True
        return None if value is None and found is not None and any(item is None for item in target) else found
    result = semantics.equal(value, target)
    if result is not True and isinstance(target, list):
        return True if any(semantics.equal(value, item) for item in target) else result
    return result


def _one_of(targets: list[Any]) -> Test:
    """``"甲","乙"``: membership in a list of plain constants."""
    def one_of(value: Any, scope: Scope) -> Any:
        if value is None:
            return False
        if type(value) not in _ORDERED_PLAIN:
            return matches_value(value, targets)
        comparable = [target for target in targets if type(target) is type(value)]
        return value in comparable if comparable else None
    return one_of


def compile_tests(tree: Tree) -> Test:
    """Comma-separated positive unary tests: true when any is true."""
    tests = [compile_test(child) for child in tree.children]
    if len(tests) == 1:
        return tests[0]
    plain = [child.children[0] for child in tree.children if child.data == "test_expression"]
    if len(plain) == len(tests) and all(child.data in ("string", "number") for child in plain):
        return _one_of([constant_value(compile_tree(child))[1] for child in plain])

    def any_of(value: Any, scope: Scope) -> Any:
        outcome: bool | None = False
        for test in tests:
            result = test(value, scope)
            if result is True:
                return True
            if result is None:
                outcome = None
        return outcome
    return any_of


def _in(value: Tree, target: Tree) -> Node:
    value_node = compile_tree(value)
    if target.data == "in_single":
        target_node = compile_tree(target.children[0])
        return lambda scope: matches_value(value_node(scope), target_node(scope))
    if target.data == "in_compare":
        operator, endpoint = target.children
        test = compile_test(Tree("test_compare", [operator, endpoint]))
    else:
        test = compile_tests(Tree("positive_unary_tests", target.children))
    return lambda scope: test(value_node(scope), scope)


def _negation(tests: Tree) -> Node:
    """``not(…)``: in an expression, boolean negation; as a unary test, the tests against ``?``."""
    if len(tests.children) == 1 and tests.children[0].data == "test_expression":
        node = compile_tree(tests.children[0].children[0])

        def negated(scope: Scope) -> Any:
            value = node(scope)
            return not value if isinstance(value, bool) else None
        return negated
    test = compile_tests(tests)

    def negated_tests(scope: Scope) -> Any:
        result = test(scope.lookup("?"), scope)
        return None if result is None else not result
    return _guard(negated_tests)


def _instance_of(value: Tree, type_tree: Tree) -> Node:
    node, check = compile_tree(value), type_check(type_tree, name_of)
    return lambda scope: check(node(scope))


# ---- control ---------------------------------------------------------------------------------------------

def _if(condition: Tree, then: Tree, otherwise: Tree) -> Node:
    test, yes, no = compile_tree(condition), compile_tree(then), compile_tree(otherwise)
    return lambda scope: yes(scope) if test(scope) is True else no(scope)


def _iterations(trees: list[Tree]) -> list[tuple[str, Node, Node | None]]:
    result = []
    for tree in trees:
        name, source, *end = tree.children
        result.append((name_of(name), compile_tree(source), compile_tree(end[0]) if end and end[0] else None))
    return result


def _domain(scope: Scope, source: Node, end: Node | None) -> list[Any]:
    start = source(scope)
    if end is not None:
        return _integers(start, end(scope))
    if isinstance(start, Range):
        if not (isinstance(start.start, Decimal) and isinstance(start.end, Decimal)) or start.start > start.end:
            raise FeelNull("only ascending ranges of numbers can be iterated")
        low = start.start if start.start_included else start.start + 1
        high = start.end if start.end_included else start.end - 1
        return _integers(low, high)
    return start if isinstance(start, list) else [start]


def _integers(low: Any, high: Any) -> list[Any]:
    if isinstance(low, date) and not isinstance(low, datetime) and type(high) is type(low):
        days = (high - low).days
        if abs(days) >= semantics.MAX_ITEMS:
            raise FeelNull(f"a range of more than {semantics.MAX_ITEMS} days")
        step = 1 if days >= 0 else -1
        return [low + timedelta(days=offset) for offset in range(0, days + step, step)]
    low, high = semantics.number(low), semantics.number(high)
    if low != low.to_integral_value() or high != high.to_integral_value():
        raise FeelNull("a range to iterate must have whole-number ends")
    if abs(high - low) >= semantics.MAX_ITEMS:
        raise FeelNull(f"a range of more than {semantics.MAX_ITEMS} numbers")
    step = 1 if high >= low else -1
    return [Decimal(number) for number in range(int(low), int(high) + step, step)]


def _for(*trees: Tree) -> Node:
    iterations, body = _iterations(list(trees[:-1])), compile_tree(trees[-1])

    def loop(scope: Scope) -> Any:
        results: list[Any] = []
        names: dict[str, Any] = {"partial": results}
        inner = scope.child(names)
        for _ in _bindings(inner, iterations, names):
            if len(results) >= semantics.MAX_ITEMS:
                raise FeelNull("a for loop made too many items")
            results.append(body(inner))
        return results
    return _guard(loop)


def _bindings(scope: Scope, iterations: list[tuple[str, Node, Node | None]], names: dict[str, Any],
              depth: int = 0) -> Iterable[None]:
    """Every combination of the iteration variables, bound into ``names`` in turn (later iterations may use
    earlier variables)."""
    if depth == len(iterations):
        yield None
        return
    name, source, end = iterations[depth]
    for value in _domain(scope, source, end):
        scope.run.step()
        names[name] = value
        yield from _bindings(scope, iterations, names, depth + 1)


def _quantified(kind: Token, *trees: Tree) -> Node:
    iterations = [(name, source, None) for name, source, _ in _iterations(list(trees[:-1]))]
    body, every = compile_tree(trees[-1]), kind.type == "EVERY"

    def quantified(scope: Scope) -> Any:
        names: dict[str, Any] = {}
        inner = scope.child(names)
        for _ in _bindings(inner, iterations, names):
            result = body(inner)
            if every and result is not True:
                return False
            if not every and result is True:
                return True
        return every
    return _guard(quantified)


# ---- functions -------------------------------------------------------------------------------------------

def _call(target: Tree, arguments: Tree | None) -> Node:
    callee = compile_tree(target)
    label = name_of(target.children[0]) if target.data == "variable" else "function"
    if arguments is None:
        positional: list[Node] = []
        named: list[tuple[str, Node]] | None = None
    elif arguments.data == "positional":
        positional, named = [compile_tree(child) for child in arguments.children], None
    else:
        positional = []
        named = [(name_of(child.children[0]), compile_tree(child.children[1])) for child in arguments.children]

    def call(scope: Scope) -> Any:
        function = callee(scope)
        if not isinstance(function, Function):
            raise FeelNull(f"{label} is not a function")
        if named is None:
            return invoke(function, scope.run, [node(scope) for node in positional])
        return invoke(function, scope.run, None, {name: node(scope) for name, node in named})
    return _guard(call)


def _function(*children: Any) -> Node:
    *parameters, external, body = children
    if external is not None:
        raise FeelSyntaxError(Phrase("external functions are not supported"), "", external.line, external.column)
    names, checks = [], []
    for parameter in parameters:
        if parameter is None:
            continue
        names.append(name_of(parameter.children[0]))
        checks.append(type_check(parameter.children[1], name_of) if len(parameter.children) > 1 else None)
    body_node = compile_tree(body)

    def define(scope: Scope) -> Function:
        def call(run: Run, *arguments: Any) -> Any:
            for check, argument in zip(checks, arguments, strict=False):
                if check is not None and argument is not None and not check(argument):
                    raise FeelNull("an argument does not match its parameter's type")
            run.enter()
            try:
                return body_node(Scope(dict(zip(names, arguments, strict=False)), scope, run))
            finally:
                run.depth -= 1
        return Function("function", names, call)
    return define


_COMPILERS: dict[str, Callable[..., Node]] = {
    "start": compile_tree,
    "number": _number, "string": _string, "true": lambda: _constant(True), "false": lambda: _constant(False),
    "null": lambda: _constant(None), "at_literal": _at_literal, "variable": _variable,
    "list": _list, "context": _context, "closed_range": _closed_range, "unary_range": _unary_range,
    "open_range": _open_range, "path": _path, "filter": _filter,
    "add": _binary(semantics.add), "sub": _binary(semantics.subtract), "mul": _binary(semantics.multiply),
    "div": _binary(semantics.divide), "pow": _binary(semantics.power), "neg": _neg,
    "and_": _and, "or_": _or, "compare": _compare, "between": _between, "in_": _in,
    "instance_of": _instance_of, "negation": _negation,
    "if_expr": _if, "for_expr": _for, "quantified": _quantified, "call": _call, "function": _function,
}


def root_scope(names: Any, run: Run) -> Scope:
    return Scope(names, Scope(BUILTINS, None, run), run)

