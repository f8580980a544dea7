"""Deploy-time checks of a DMN file in FEEL: every cell and expression parses, names what it can find, and
holds a value of its column's type, so a typo never reaches a running instance.

Each problem names the file, the decision, the rule (its number, as the editor shows it), the column and the
cell, carries the offending element's id (the DMN editor marks it) and, in ``location``, the same for programs
with a ``reason`` code shared with the Python-cell checks (``engine.bpmn.dmn_lint``), which
``engine.web.problem_texts`` words in the reader's language. A cell may name the table's inputs (the names its
input expressions read), the model's own elements and FEEL's built-in functions; an input expression may read
any name of the task's data.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from lark import Tree
from lxml import etree

from engine.bpmn import dmn_lint
from engine.dmn.dialect import FEEL, PYTHON, declared
from engine.dmn.model import Model
from engine.dmn.tables import AGGREGATIONS, HIT_POLICIES
from engine.dmn.types import base_type
from engine.dmn.xml import child, children, local, text_of
from engine.errors import Problem
from engine.feel import BUILTINS, FeelSyntaxError, kind
from engine.feel.compiler import compile_tree, name_of, parse, root_scope
from engine.feel.scope import Run

#: reason codes of the problems only FEEL files have
LANGUAGE, LITERAL_SYNTAX, HIT_POLICY = "dmn_language", "dmn_literal_syntax", "dmn_hit_policy"

#: how a value's kind is said in a problem (the words ``engine.web.problem_texts`` translates)
_SAID = {"string": "text", "number": "number", "boolean": "yes/no"}


def check_dmn(tree: etree._ElementTree, filename: str) -> list[Problem]:
    """Every problem of a schema-valid DMN file in FEEL (empty when it has none)."""
    root = tree.getroot()
    languages = declared(root)
    if languages - {FEEL, PYTHON} or languages >= {FEEL, PYTHON}:
        what = "FEEL and Python" if languages >= {FEEL, PYTHON} else "a language that is neither FEEL nor Python"
        return [Problem(f"the file declares {what} as its expression language; write it in FEEL (the default) or "
                        "declare expressionLanguage=\"python\" on its definitions", file=filename,
                        line=root.sourceline, element_id=root.get("id"), location={"reason": LANGUAGE})]
    model = Model([root])
    problems: list[Problem] = []
    for decision in children(root, "decision"):
        problems += _DecisionCheck(model, decision, filename).problems()
    return problems


def free_names(tree: Tree) -> set[str]:
    """The names a FEEL text reads from outside (less those it binds itself: loop variables, parameters, context
    keys), without built-in functions, ``?`` and ``item``."""
    read = {name_of(node.children[0]) for node in tree.iter_subtrees() if node.data == "variable"}
    bound = {name_of(node) for node in tree.iter_subtrees()
             for node in (node.children if node.data != "variable" else ())
             if isinstance(node, Tree) and node.data == "name"}
    return read - bound - set(BUILTINS) - {"?", "item"}


class _DecisionCheck:
    def __init__(self, model: Model, decision: Any, filename: str) -> None:
        self.model, self.decision, self.filename = model, decision, filename
        self.name = decision.get("name") or decision.get("id") or "?"
        self.found: list[Problem] = []

    def problems(self) -> list[Problem]:
        for element in self.decision.iter():
            tag = local(element)
            if tag == "decisionTable":
                self._table(element)
            elif tag == "literalExpression" and not _in_table(element):
                self._literal(element)
        return self.found

    # ---- literal expressions ---------------------------------------------------------------------------------

    def _literal(self, element: Any) -> None:
        text = text_of(element).strip()
        if not text:
            return
        try:
            self.model.expression(text)
        except FeelSyntaxError as error:
            self._add(f"the expression '{text}' is not FEEL: {error}", element,
                      {"cell": text, "reason": LITERAL_SYNTAX, "detail": str(error)})

    # ---- decision tables -------------------------------------------------------------------------------------

    def _table(self, table: Any) -> None:
        inputs, outputs = children(table, "input"), children(table, "output")
        policy, aggregation = (table.get("hitPolicy") or "UNIQUE").upper(), table.get("aggregation")
        if policy not in HIT_POLICIES or (aggregation and (aggregation not in AGGREGATIONS or policy != "COLLECT")):
            self._add(f"the hit policy '{policy}{' ' + aggregation if aggregation else ''}' is not one DMN has",
                      table, {"reason": HIT_POLICY, "detail": f"{policy} {aggregation or ''}".strip()})
        known = set(self.model.names)
        for column in inputs:
            expression = child(column, "inputExpression")
            text = text_of(expression).strip() if expression is not None else ""
            if not text:
                self._add(f"input column '{_label(column)}' has no input expression; write the value its rules "
                          "test, e.g. the name of a task data variable (amount) or an expression (order.total)",
                          expression if expression is not None else column,
                          {"input_id": column.get("id"), "column": _label(column), "reason": dmn_lint.INPUT_EMPTY})
                continue
            try:
                known |= free_names(parse(text, "start", self.model.names))
            except FeelSyntaxError as error:
                self._add(f"input column '{_label(column)}': the input expression '{text}' cannot be evaluated "
                          f"(it is not FEEL: {error})", expression,
                          {"input_id": column.get("id"), "column": _label(column), "cell": text,
                           "reason": dmn_lint.INPUT_EXPRESSION})
        self._output_columns(outputs)
        for number, rule in enumerate(children(table, "rule"), 1):
            self._rule(number, rule, inputs, outputs, known)

    def _output_columns(self, outputs: list[Any]) -> None:
        names = [output.get("name") for output in outputs]
        for number, column in enumerate(outputs, 1):
            where = {"output_id": column.get("id"), "column": _label(column), "column_number": number}
            if len(outputs) > 1 and not (column.get("name") or "").strip():
                self._add(f"output column {number} '{_label(column)}' needs a name (the variable its value is "
                          "written to)", column, {**where, "reason": dmn_lint.OUTPUT_UNNAMED})
            elif column.get("name") and names.count(column.get("name")) > 1:
                self._add(f"output column {number}: the name '{column.get('name')}' is used by two output columns",
                          column, {**where, "name": column.get("name"), "reason": dmn_lint.OUTPUT_NAME_TWICE})

    def _rule(self, number: int, rule: Any, inputs: list[Any], outputs: list[Any], known: set[str]) -> None:
        entries, results = children(rule, "inputEntry"), children(rule, "outputEntry")
        where = {"rule_id": rule.get("id"), "rule_number": number}
        if len(entries) != len(inputs) or len(results) != len(outputs):
            self._add(f"rule {number} has {len(entries)} input and {len(results)} output cells; the table has "
                      f"{len(inputs)} input and {len(outputs)} output columns", rule,
                      {**where, "reason": dmn_lint.CELL_COUNT, "input_cells": len(entries),
                       "output_cells": len(results), "input_columns": len(inputs), "output_columns": len(outputs)})
            return
        for column, entry in zip(inputs, entries, strict=True):
            self._cell(number, "input", column, entry, known, where)
        for column, entry in zip(outputs, results, strict=True):
            self._cell(number, "output", column, entry, known, where)

    def _cell(self, number: int, kind_of_cell: str, column: Any, entry: Any, known: set[str],
              where: dict[str, Any]) -> None:
        text = text_of(entry).strip()
        if not text or (kind_of_cell == "input" and text == "-"):
            return
        cell = {**where, f"{kind_of_cell}_id": column.get("id"), "entry_id": entry.get("id"),
                "column": _label(column), "cell": text}
        said = f"rule {number}, {kind_of_cell} '{_label(column)}': '{text}'"
        try:
            tree = parse(text, "unary_start" if kind_of_cell == "input" else "start", self.model.names)
            if kind_of_cell == "input":
                self.model.tests(text)
            else:
                self.model.expression(text)
        except FeelSyntaxError:
            if kind_of_cell == "input":
                self._add(f"{said} is not a value, a list of values like '\"甲\",\"乙\"', a comparison like "
                          "'>= 60', a range like '[60..80)' or not(…)", entry,
                          {**cell, "reason": dmn_lint.INPUT_SYNTAX})
            else:
                self._add(f"{said} is not a FEEL expression (write text in quotes: \"合格\")", entry,
                          {**cell, "reason": dmn_lint.OUTPUT_SYNTAX})
            return
        unknown = sorted(free_names(tree) - known)
        if unknown:
            named = ", ".join(f"'{name}'" for name in unknown)
            self._add(f"{said}: {named} is neither an input of this table nor a function the engine knows; "
                      f"write text in quotes (\"{unknown[0]}\") and numbers as digits (90)", entry,
                      {**cell, "reason": dmn_lint.UNKNOWN_NAMES, "names": unknown})
            return
        declared_type = _type_ref(column, kind_of_cell)
        wrong = _mistyped(tree, declared_type, kind_of_cell)
        if wrong is not None:
            value, found = wrong
            self._add(f"{said}: the column holds {declared_type} values, but {value} is a {found} value: write "
                      "numbers without quotes (90) and text in quotes (\"合格\")", entry,
                      {**cell, "reason": dmn_lint.MISTYPED, "type": declared_type, "value": value, "found": found})

    def _add(self, text: str, element: Any, location: dict[str, Any]) -> None:
        decision_id = self.decision.get("id")
        self.found.append(Problem(f"decision '{self.name}' ({decision_id}): {text}", file=self.filename,
                                  line=element.sourceline, element_id=element.get("id"),
                                  location={"decision_id": decision_id, "decision_name": self.name, **location}))


def _mistyped(tree: Tree, declared_type: str, kind_of_cell: str) -> tuple[str, str] | None:
    """A constant of a cell that can never be of its column's type, as (its text, its kind), or None."""
    expected = base_type(declared_type) if declared_type else None
    if expected not in _SAID:
        return None
    if kind_of_cell == "output":
        constants = [tree.children[0]]
    else:
        tests = [node for node in tree.iter_subtrees() if node.data in ("test_expression", "test_compare")]
        constants = [node.children[-1] for node in tests]
        constants += [end for node in tree.iter_subtrees() if node.data.endswith("_range")
                      for end in node.children[:2] if isinstance(end, Tree)]
    for constant in constants:
        if not isinstance(constant, Tree) or free_names(constant) or _uses_input(constant) \
                or constant.data == "null" or constant.data.endswith("_range"):
            continue
        try:
            value = _constant_value(constant)
        except Exception:  # a constant FEEL cannot compute is left to the evaluation (null)
            continue
        found = kind(value) if value is not None else None
        if found is not None and found != expected:
            return _written(value), _SAID.get(found, found)
    return None


def _uses_input(tree: Tree) -> bool:
    return any(node.data == "variable" and name_of(node.children[0]) in ("?", "item") for node in tree.iter_subtrees())


def _constant_value(tree: Tree) -> Any:
    return compile_tree(tree)(root_scope({}, Run()))


def _written(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def _in_table(element: Any) -> bool:
    return any(local(ancestor) == "decisionTable" for ancestor in element.iterancestors())


def _type_ref(column: Any, kind_of_cell: str) -> str:
    typed = child(column, "inputExpression") if kind_of_cell == "input" else column
    return (typed.get("typeRef") or "").strip() if typed is not None else ""


def _label(column: Any) -> str:
    return column.get("label") or column.get("name") or column.get("id") or "?"
