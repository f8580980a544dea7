"""Semantic checks of a DMN decision table, beyond its XSD: what would otherwise fail in a running instance.

The engine evaluates a table's cells as Python (SpiffWorkflow's DMN engine): an input entry is a
value compared with ``==`` (``"甲"``, ``True``), a comparison missing its left side (``>= 60``), a
test on ``?`` (``60 <= ? < 80``), or ``-``/empty for "any"; an output entry is an expression. Each
problem names the decision, the rule (its number, as the editor shows it) and the column's label, and
carries the id of the offending cell, so the DMN editor can mark it.
"""

from __future__ import annotations

import ast
import re

from lxml import etree

from engine.errors import Problem

#: ``?`` outside quotes stands for the input value, as the engine reads it.
_QUESTION_MARK = re.compile(r"(\?)(?=(?:[^'\"]|['\"][^'\"]*['\"])*$)")


def lint_dmn(tree: etree._ElementTree, filename: str) -> list[Problem]:
    """Every problem of the decision tables of a schema-valid DMN document (empty when it has none)."""
    problems: list[Problem] = []
    for decision in _children(tree.getroot(), "decision"):
        for table in _children(decision, "decisionTable"):
            problems += _table_problems(decision, table, filename)
    return problems


def _table_problems(decision: etree._Element, table: etree._Element, filename: str) -> list[Problem]:
    where = f"decision '{decision.get('name') or decision.get('id')}'"
    inputs, outputs = _children(table, "input"), _children(table, "output")
    problems = []

    def problem(text: str, element: etree._Element) -> None:
        problems.append(Problem(f"{where}: {text}", file=filename, line=element.sourceline,
                                element_id=element.get("id")))

    for number, column in enumerate(inputs, 1):
        expression = next(iter(_children(column, "inputExpression")), None)
        text = _text(expression)
        if expression is not None and text and not _parses(text):
            problem(f"input column {number} '{_label(column)}': the input expression '{text}' is not a Python "
                    "expression", expression)
    names = [o.get("name") for o in outputs]
    for number, column in enumerate(outputs, 1):
        if len(outputs) > 1 and not (column.get("name") or "").strip():
            problem(f"output column {number} '{_label(column)}' needs a name (the variable its value is written "
                    "to)", column)
        elif column.get("name") and names.count(column.get("name")) > 1:
            problem(f"output column {number}: the name '{column.get('name')}' is used by two output columns", column)
    for number, rule in enumerate(_children(table, "rule"), 1):
        entries = _children(rule, "inputEntry")
        results = _children(rule, "outputEntry")
        if len(entries) != len(inputs) or len(results) != len(outputs):
            problem(f"rule {number} has {len(entries)} input and {len(results)} output cells; the table has "
                    f"{len(inputs)} input and {len(outputs)} output columns", rule)
            continue
        for column, entry in zip(inputs, entries, strict=True):
            text = _text(entry)
            if text and text != "-" and not _is_input_test(text):
                problem(f"rule {number}, input '{_label(column)}': '{text}' is not a value, a comparison like "
                        "'>= 60' or a test on ? like '60 <= ? < 80'", entry)
        for column, entry in zip(outputs, results, strict=True):
            text = _text(entry)
            if text and not _parses(text):
                problem(f"rule {number}, output '{_label(column)}': '{text}' is not a Python expression "
                        "(write text in quotes: \"合格\")", entry)
    return problems


def _is_input_test(text: str) -> bool:
    tested = _QUESTION_MARK.sub("dmninputexpr", text)
    return _parses(tested) or _parses(f"v {tested}")


def _parses(text: str) -> bool:
    try:
        ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError):
        return False
    return True


def _children(element: etree._Element, local_name: str) -> list[etree._Element]:
    return [e for e in element if isinstance(e.tag, str) and etree.QName(e).localname == local_name]


def _text(element: etree._Element | None) -> str:
    if element is None:
        return ""
    text = next(iter(_children(element, "text")), None)
    return (text.text or "").strip() if text is not None else ""


def _label(column: etree._Element) -> str:
    return column.get("label") or column.get("name") or column.get("id") or "?"
