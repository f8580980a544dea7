"""Decision tables: the rules that match, by FEEL unary tests, and the seven hit policies (UNIQUE, ANY,
PRIORITY and OUTPUT ORDER by the outputs' listed values, FIRST, RULE ORDER, COLLECT with SUM, MIN, MAX or
COUNT)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from engine.dmn.xml import child, children, text_of
from engine.feel.semantics import equal

if TYPE_CHECKING:
    from engine.dmn.model import Model

SINGLE_HIT = ("UNIQUE", "ANY", "PRIORITY", "FIRST")
MULTIPLE_HIT = ("COLLECT", "RULE ORDER", "OUTPUT ORDER")
HIT_POLICIES = SINGLE_HIT + MULTIPLE_HIT
AGGREGATIONS = ("SUM", "MIN", "MAX", "COUNT")


@dataclass
class Hits:
    """What a table's hit policy made of the rules that matched."""

    policy: str
    #: the output columns' names
    names: list[str]
    #: the outputs of the rules the policy keeps, in its order (one row for a single-hit policy)
    rows: list[list[Any]] = field(default_factory=list)
    aggregation: str | None = None
    #: why the policy has no answer (several rules of a UNIQUE table, different outputs in an ANY table)
    conflict: str | None = None
    #: no rule matched and the outputs' defaults were taken
    defaulted: bool = False

    @property
    def single(self) -> bool:
        return self.policy in SINGLE_HIT or self.defaulted

    def value(self) -> Any:
        """The table's value as FEEL has it: a row (a context for several outputs), a list, an aggregate."""
        if self.conflict is not None:
            return None
        if self.single:
            return shape(self.rows[0], self.names) if self.rows else None
        rows = [shape(row, self.names) for row in self.rows]
        if self.aggregation:
            return aggregate(self.aggregation, rows)
        return rows


@dataclass
class CompiledTable:
    """A table's texts compiled, read from its XML once per model."""

    policy: str
    aggregation: str | None
    outputs: list[Any]
    names: list[str]
    inputs: list[Any]
    #: per rule: its number, the tests of its input entries, the expressions of its output entries (None: empty)
    rules: list[tuple[int, list[Any], list[Any]]]
    defaults: list[Any] | None


def compile_table(model: Model, element: Any) -> CompiledTable:
    outputs = children(element, "output")
    defaults = [child(output, "defaultOutputEntry") for output in outputs]
    rules = []
    for number, rule in enumerate(children(element, "rule"), 1):
        rules.append((number, [model.tests(text_of(entry).strip() or "-") for entry in children(rule, "inputEntry")],
                      [model.expression(text_of(entry)) if text_of(entry).strip() else None
                       for entry in children(rule, "outputEntry")]))
    return CompiledTable(
        (element.get("hitPolicy") or "UNIQUE").upper(), element.get("aggregation"), outputs,
        [output.get("name") or "" for output in outputs],
        [model.expression(text_of(child(column, "inputExpression"))) for column in children(element, "input")],
        rules, [model.expression(text_of(default)) if default is not None else None for default in defaults]
        if any(default is not None for default in defaults) else None)


def hits(model: Model, element: Any, scope: Mapping[str, Any]) -> Hits:
    """The rules of decision table ``element`` that match in ``scope``, as its hit policy keeps them."""
    table = model.table(element)
    inputs = [expression.evaluate(scope) for expression in table.inputs]
    policy = table.policy
    found = Hits(policy, table.names, aggregation=table.aggregation)
    matched = []
    for number, tests, results in table.rules:
        if all(test.matches(value, scope) is True for test, value in zip(tests, inputs, strict=False)):
            matched.append((number, [result.evaluate(scope) if result is not None else None for result in results]))
    if not matched:
        if table.defaults is not None:
            found.defaulted = True
            found.rows = [[default.evaluate(scope) if default is not None else None for default in table.defaults]]
        return found
    if policy in ("PRIORITY", "OUTPUT ORDER"):
        matched = sorted(matched, key=lambda hit: _priority(model, table.outputs, hit[1], scope))
    rows = [row for _, row in matched]
    if policy == "UNIQUE" and len(rows) > 1:
        found.conflict = f"rules {', '.join(str(number) for number, _ in matched)} all match a UNIQUE table"
    elif policy == "ANY" and not all(equal(row, rows[0]) is True for row in rows):
        found.conflict = (f"rules {', '.join(str(number) for number, _ in matched)} match an ANY table with "
                          "different outputs")
    found.rows = rows[:1] if policy in SINGLE_HIT else rows
    return found


def decision_table(model: Model, element: Any, scope: Mapping[str, Any]) -> Any:
    """The value of a decision table (FEEL's: null when its hit policy has no answer)."""
    found = hits(model, element, scope)
    if not found.rows and not found.single and not found.aggregation:
        return []
    return found.value()


def null_tested_inputs(model: Model) -> frozenset[str]:
    """The names a table tests for null by hand: a column whose input expression is just the name, with a cell
    that says ``null`` (``null``, ``not(null)``, ``? = null``). Such a name may be absent from a task's data."""
    found = set()
    for root in model.roots:
        for table in root.iter("{*}decisionTable"):
            columns = [text_of(child(column, "inputExpression")).strip() for column in children(table, "input")]
            for rule in children(table, "rule"):
                for name, entry in zip(columns, children(rule, "inputEntry"), strict=False):
                    if name and _NULL.search(_STRING.sub('""', text_of(entry))):
                        found.add(name)
    return frozenset(found)


_NULL = re.compile(r"(?<![\w.])null(?![\w.])")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def shape(row: list[Any], names: list[str]) -> Any:
    """One rule's outputs: the value of a single output, else a context of the outputs by name."""
    return row[0] if len(row) == 1 else dict(zip(names, row, strict=False))


def _priority(model: Model, outputs: list[Any], row: list[Any], scope: Mapping[str, Any]) -> tuple[int, ...]:
    ranks = []
    for output, value in zip(outputs, row, strict=False):
        allowed = child(output, "outputValues")
        order = [] if allowed is None else model.expression(f"[{text_of(allowed)}]").evaluate(scope) or []
        ranks.append(next((index for index, item in enumerate(order) if equal(item, value)), len(order)))
    return tuple(ranks)


def aggregate(aggregation: str, rows: list[Any]) -> Any:
    """C+, C<, C>, C#: the sum, least, greatest or count of the matched rules' (non-null) outputs."""
    values = [row for row in rows if row is not None]
    if aggregation == "COUNT":
        return Decimal(len(values))
    if not values:
        return None
    if aggregation == "SUM":
        return sum(values, Decimal(0)) if all(isinstance(v, Decimal) for v in values) else None
    try:
        return min(values) if aggregation == "MIN" else max(values)
    except TypeError:
        return None
