"""Semantic checks of a DMN decision table, beyond its XSD: what would otherwise fail in a running instance.

The engine evaluates a table's cells as Python (SpiffWorkflow's DMN engine on the sandboxed evaluator,
``engine.runtime.scripting``): an input entry is a value compared with ``==`` (``"甲"``, ``True``), a
comparison missing its left side (``>= 60``), a test on ``?`` (``60 <= ? < 80``), or ``-``/empty for
"any"; an output entry is an expression. Each cell is checked as the expression the engine will build
from it (:func:`input_test`): it must parse, pass the sandbox, and use only names it will find when it
runs: the table's inputs (names of its input expressions), the evaluator's builtins and helpers. So
``>= 九十分`` (unquoted text, which raised ``NameError`` in every instance) is refused at deploy, and so
is a literal of the wrong type for its column's typeRef (``>= "九十"`` on a number: ``TypeError``).

Each problem names the file, the decision, the rule (its number, as the editor shows it), the column's
label and the cell's text, carries the id of the offending element (so the DMN editor can mark it),
and in ``location`` the same for programs with a ``reason`` code (``engine.web.problem_texts`` words it
in the reader's language).
"""

from __future__ import annotations

import ast
import re
from typing import Any

from lxml import etree

from engine.errors import Problem
from engine.runtime.scripting import ScriptRefused, compile_checked, evaluator_names

#: ``?`` outside quotes stands for the input value, as the engine reads it.
_QUESTION_MARK = re.compile(r"(\?)(?=(?:[^'\"]|['\"][^'\"]*['\"])*$)")
#: The name under which SpiffWorkflow's DMN engine hands a ``?`` test its input value.
INPUT_VALUE = "dmninputexpr"

#: ``reason`` codes of the problems (see ``engine.web.problem_texts``).
INPUT_EXPRESSION, INPUT_SYNTAX, OUTPUT_SYNTAX = "dmn_input_expression", "dmn_input_syntax", "dmn_output_syntax"
INPUT_EMPTY = "dmn_input_empty"
REFUSED, UNKNOWN_NAMES = "dmn_refused", "dmn_unknown_names"
OUTPUT_UNNAMED, OUTPUT_NAME_TWICE, CELL_COUNT = "dmn_output_unnamed", "dmn_output_name_twice", "dmn_cell_count"
MISTYPED = "dmn_mistyped"

#: A column's declared type (typeRef), and the Python types its literal values have.
_LITERAL_TYPES: dict[str, tuple[type, ...]] = {
    "number": (int, float), "integer": (int,), "long": (int,), "double": (int, float), "string": (str,),
    "boolean": (bool,),
}


def lint_dmn(tree: etree._ElementTree, filename: str) -> list[Problem]:
    """Every problem of the decision tables of a schema-valid DMN document (empty when it has none)."""
    problems: list[Problem] = []
    for decision in _children(tree.getroot(), "decision"):
        for table in _children(decision, "decisionTable"):
            problems += _TableCheck(decision, table, filename).problems()
    return problems


def input_test(cell: str, input_expression: str) -> str:
    """The expression the engine evaluates for input cell ``cell`` (as ``DMNEngine.evaluate`` builds it)."""
    tested = _QUESTION_MARK.sub(INPUT_VALUE, cell)
    if INPUT_VALUE in tested:
        return tested
    try:
        ast.parse(tested)  # as the engine decides whether the cell is a value to compare with ==
    except SyntaxError:
        return input_expression + tested
    return f"({input_expression}) == ({tested})"


class _TableCheck:
    """The checks of one decision table, with what its problems say about where they are."""

    def __init__(self, decision: etree._Element, table: etree._Element, filename: str) -> None:
        self.decision, self.filename = decision, filename
        self.inputs, self.outputs = _children(table, "input"), _children(table, "output")
        self.rules = _children(table, "rule")
        self.name = decision.get("name") or decision.get("id") or "?"
        self.found: list[Problem] = []

    def problems(self) -> list[Problem]:
        expressions = [_text(next(iter(_children(column, "inputExpression")), None)) for column in self.inputs]
        known = set(evaluator_names()) | {INPUT_VALUE}
        for number, (column, text) in enumerate(zip(self.inputs, expressions, strict=True)):
            if text and self._evaluable(text) is None:
                known |= _free_names(ast.parse(text, mode="eval"))
            elif text:
                self._input_expression_problem(column, text)
                expressions[number] = ""  # its cells are checked on their own, not refused once more for it
        self._check_output_columns()
        for number, rule in enumerate(self.rules, 1):
            self._check_rule(number, rule, expressions, known)
        return self.found

    def _evaluable(self, source: str) -> str | None:
        """None if ``source`` parses as an expression and passes the sandbox, else why not."""
        try:
            ast.parse(source, mode="eval")
        except (SyntaxError, ValueError):
            return "syntax"
        try:
            compile_checked(source, "eval")
        except ScriptRefused as refused:
            return refused.reason
        return None

    def _input_expression_problem(self, column: etree._Element, text: str) -> None:
        expression = next(iter(_children(column, "inputExpression")))
        why = self._evaluable(text)
        detail = "it is not a Python expression" if why == "syntax" else f"the engine refuses it: {why}"
        self._add(f"input column '{_label(column)}': the input expression '{text}' cannot be evaluated ({detail})",
                  expression, {"input_id": column.get("id"), "column": _label(column), "cell": text,
                               "reason": INPUT_EXPRESSION, **({} if why == "syntax" else {"detail": why})})

    def _check_output_columns(self) -> None:
        names = [o.get("name") for o in self.outputs]
        for number, column in enumerate(self.outputs, 1):
            where = {"output_id": column.get("id"), "column": _label(column), "column_number": number}
            if len(self.outputs) > 1 and not (column.get("name") or "").strip():
                self._add(f"output column {number} '{_label(column)}' needs a name (the variable its value is "
                          "written to)", column, {**where, "reason": OUTPUT_UNNAMED})
            elif column.get("name") and names.count(column.get("name")) > 1:
                self._add(f"output column {number}: the name '{column.get('name')}' is used by two output columns",
                          column, {**where, "name": column.get("name"), "reason": OUTPUT_NAME_TWICE})

    def _check_rule(self, number: int, rule: etree._Element, expressions: list[str], known: set[str]) -> None:
        entries, results = _children(rule, "inputEntry"), _children(rule, "outputEntry")
        where = {"rule_id": rule.get("id"), "rule_number": number}
        if len(entries) != len(self.inputs) or len(results) != len(self.outputs):
            self._add(f"rule {number} has {len(entries)} input and {len(results)} output cells; the table has "
                      f"{len(self.inputs)} input and {len(self.outputs)} output columns", rule,
                      {**where, "reason": CELL_COUNT, "input_cells": len(entries), "output_cells": len(results),
                       "input_columns": len(self.inputs), "output_columns": len(self.outputs)})
            return
        for column, entry, expression in zip(self.inputs, entries, expressions, strict=True):
            text = _text(entry)
            if text and text != "-":
                self._check_cell(number, "input", column, entry, input_test(text, expression or INPUT_VALUE),
                                 known, where)
        for column, entry in zip(self.outputs, results, strict=True):
            if _text(entry):
                self._check_cell(number, "output", column, entry, _text(entry), known, where)

    def _check_cell(self, number: int, kind: str, column: etree._Element, entry: etree._Element, evaluated: str,
                    known: set[str], where: dict[str, Any]) -> None:
        text = _text(entry)
        cell = {**where, f"{kind}_id": column.get("id"), "entry_id": entry.get("id"), "column": _label(column),
                "cell": text}
        said = f"rule {number}, {kind} '{_label(column)}': '{text}'"
        why = self._evaluable(evaluated)
        if why == "syntax":
            if kind == "input":
                self._add(f"{said} is not a value, a comparison like '>= 60' or a test on ? like '60 <= ? < 80'",
                          entry, {**cell, "reason": INPUT_SYNTAX})
            else:
                self._add(f"{said} is not a Python expression (write text in quotes: \"合格\")", entry,
                          {**cell, "reason": OUTPUT_SYNTAX})
        elif why is not None:
            self._add(f"{said}: the engine refuses it: {why}", entry, {**cell, "reason": REFUSED, "detail": why})
        else:
            tree = ast.parse(evaluated, mode="eval")
            unknown = sorted(_free_names(tree) - known)
            declared = _type_ref(column, kind)
            own = ast.parse(input_test(text, INPUT_VALUE), mode="eval") if kind == "input" else tree  # not its column's
            wrong = _mistyped_literal(own, declared, kind)
            if unknown:
                named = ", ".join(f"'{n}'" for n in unknown)
                self._add(f"{said}: {named} is neither an input of this table nor a function the engine knows; "
                          f"write text in quotes (\"{unknown[0]}\") and numbers as digits (90)", entry,
                          {**cell, "reason": UNKNOWN_NAMES, "names": unknown})
            elif wrong is not None:
                value, found = wrong
                self._add(f"{said}: the column holds {declared} values, but {value} is a {found} value: write numbers "
                          "without quotes (90) and text in quotes (\"合格\")", entry,
                          {**cell, "reason": MISTYPED, "type": declared, "value": value, "found": found})

    def _add(self, text: str, element: etree._Element, location: dict[str, Any]) -> None:
        decision_id = self.decision.get("id")
        self.found.append(Problem(f"decision '{self.name}' ({decision_id}): {text}", file=self.filename,
                                  line=element.sourceline, element_id=element.get("id"),
                                  location={"decision_id": decision_id, "decision_name": self.name, **location}))


def _type_ref(column: etree._Element, kind: str) -> str:
    """The declared type of a column (an input's is on its input expression), '' when none is declared."""
    typed = next(iter(_children(column, "inputExpression")), None) if kind == "input" else column
    return (typed.get("typeRef") or "").strip().lower() if typed is not None else ""


def _mistyped_literal(tree: ast.Expression, declared: str, kind: str) -> tuple[str, str] | None:
    """A literal of a cell that cannot be the column's declared type, as (its text, its kind), or None.

    An output cell that is a literal must have the column's type (``"九十"`` in a number column would fail
    in the scripts that compare it). In an input cell, a text compared with a number column (or a number
    with a text column) never matches, and ordered (``>= "90"``) it raises ``TypeError`` in every instance.
    ``None`` stands for "no value" in any column; boolean input columns are left alone (``True == 1``).
    """
    allowed = _LITERAL_TYPES.get(declared)
    if allowed is None:
        return None
    if kind == "output":
        literals = [tree.body]
    elif declared == "boolean":
        return None
    else:
        literals = [side for node in ast.walk(tree) if isinstance(node, ast.Compare)
                    for side in (node.left, *node.comparators)]
    for literal in literals:
        value = _literal_value(literal)
        if value is not None and not (type(value) in allowed or (bool not in allowed and type(value) is bool
                                                                  and kind == "input")):
            found = "text" if isinstance(value, str) else "yes/no" if isinstance(value, bool) else "number"
            return ast.unparse(literal), found
    return None


def _literal_value(node: ast.expr) -> object:
    """The value of a literal (a constant, or a negative number), else None."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int, float, bool)):
        return node.value
    return None


def _free_names(tree: ast.AST) -> set[str]:
    """The names an expression reads from outside: not those its comprehensions and lambdas bind."""
    bound = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load)}
    bound |= {arg.arg for node in ast.walk(tree) if isinstance(node, ast.Lambda) for arg in ast.walk(node.args)
              if isinstance(arg, ast.arg)}
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)} - bound


def _children(element: etree._Element, local_name: str) -> list[etree._Element]:
    return [e for e in element if isinstance(e.tag, str) and etree.QName(e).localname == local_name]


def _text(element: etree._Element | None) -> str:
    if element is None:
        return ""
    text = next(iter(_children(element, "text")), None)
    return (text.text or "").strip() if text is not None else ""


def _label(column: etree._Element) -> str:
    return column.get("label") or column.get("name") or column.get("id") or "?"
