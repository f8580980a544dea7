"""Expression and script rules: what an engine has to evaluate is present, formal, and of the right kind.

Huhua evaluates conditions and scripts as Python, but the conformance models and many tools write
other languages (JUEL, FEEL), so conditions are not parsed here: only what no language could
evaluate is refused (an empty formal expression, a sentence, a number used as a condition).
Scripts without a ``scriptFormat`` are Huhua's own Python and are syntax-checked (never run).
"""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Iterator

from engine.bpmn.lint_rules.model import XSI_TYPE, Element, LintModel, kind_of, text_of
from engine.errors import Problem

#: Elements that hold an expression an executable process evaluates.
_EXPRESSIONS = ("conditionExpression", "condition", "completionCondition", "loopCondition", "loopCardinality",
                "activationCondition", "from", "to", "timeDate", "timeCycle", "timeDuration", "messagePath",
                "dataPath", "transformation", "formalExpression")
#: Elements that are formal expressions whatever their xsi:type says.
_ALWAYS_FORMAL = frozenset({"messagePath", "dataPath", "transformation", "formalExpression"})
#: Expressions reported elsewhere when empty (timers and conditional events have rules of their own).
_EMPTY_REPORTED_ELSEWHERE = frozenset({"timeDate", "timeCycle", "timeDuration"})
_CONDITIONS = ("conditionExpression", "condition", "completionCondition", "loopCondition", "activationCondition")
_PROSE = re.compile(r"^[A-Za-z][A-Za-z'-]*(?:\s+[A-Za-z][A-Za-z'-]*)+[.!?]?$")
#: Words that make a run of words an expression in Python, JUEL or FEEL rather than prose.
_OPERATOR_WORDS = frozenset({"and", "or", "not", "in", "is", "if", "else", "for", "lambda", "none", "true", "false",
                             "null", "eq", "ne", "lt", "gt", "le", "ge", "div", "mod", "empty", "instanceof",
                             "between", "some", "every", "satisfies", "return", "then", "function", "let"})
_NOT_BOOLEAN = re.compile(r"""^(?:[+-]?\d+(?:\.\d+)?|"[^"]*"|'[^']*')$""")
_MIME_TYPE = re.compile(r"^[A-Za-z0-9][\w.+-]*/[\w.+-]+(?:\s*;.*)?$")


def is_formal(element: Element) -> bool:
    """Whether the author declared ``element`` a formal (machine-evaluable) expression."""
    declared = (element.get(XSI_TYPE) or "").strip()
    return kind_of(element) in _ALWAYS_FORMAL or declared.rpartition(":")[2] == "tFormalExpression"


def _owner(element: Element) -> Element:
    owner = element.getparent()
    while owner is not None and not owner.get("id"):
        owner = owner.getparent()
    return owner if owner is not None else element


def check_formal_expressions_have_a_body(model: LintModel) -> Iterator[Problem]:
    """EXT.013: a formal expression is evaluated, so it cannot be empty."""
    for kind in _EXPRESSIONS:
        if kind in _EMPTY_REPORTED_ELSEWHERE:
            continue
        for expression in model.by_kind[kind]:
            if is_formal(expression) and not text_of(expression) and not _is_conditional_event_condition(expression):
                owner = _owner(expression)
                yield model.problem(expression, f"{model.describe(owner)} has an empty {kind}; a formal expression "
                                    f"needs a body: write the expression inside <bpmn:{kind}>…</bpmn:{kind}>",
                                    "expression-body (EXT.013)")


def _is_conditional_event_condition(expression: Element) -> bool:
    parent = expression.getparent()
    return parent is not None and kind_of(parent) == "conditionalEventDefinition"


def check_natural_language(model: LintModel) -> Iterator[Problem]:
    """EXT.012, EXT.123: an executable process cannot evaluate a sentence."""
    for kind in _EXPRESSIONS:
        for expression in model.by_kind[kind]:
            text = " ".join(text_of(expression).split())
            if not _PROSE.match(text) or not model.is_executable(expression):
                continue
            if {word.lower() for word in text.rstrip(".!?").split()} & _OPERATOR_WORDS:
                continue
            yield model.problem(expression, f"{model.describe(_owner(expression))} has the {kind} \"{text}\", which "
                                "reads as a sentence rather than an expression the engine could evaluate",
                                "formal-expressions (EXT.012, EXT.123)")


def check_conditions_are_boolean(model: LintModel) -> Iterator[Problem]:
    """EXT.071, EXT.072: a condition is true or false, never a number or a text."""
    for kind in _CONDITIONS:
        for expression in model.by_kind[kind]:
            text = text_of(expression)
            if _NOT_BOOLEAN.match(text):
                yield model.problem(expression, f"{model.describe(_owner(expression))} has the {kind} {text}, which is "
                                    "a value, not a condition that is true or false", "boolean-conditions (EXT.071, "
                                    "EXT.072)")


def check_scripts(model: LintModel) -> Iterator[Problem]:
    """EXT.053, EXT.145: a script is in a language Huhua runs (Python) and is valid in it."""
    for task in model.by_kind["scriptTask"]:
        script_format = (task.get("scriptFormat") or "").strip()
        if script_format and "python" not in script_format.lower():
            yield model.problem(task, f"{model.describe(task)} has scriptFormat '{script_format}', which is not a "
                                "script language Huhua runs; leave it out or use 'python'", "script-format (EXT.145)")
            continue
        script = model.child(task, "script")
        if script is None or not model.is_executable(task):
            continue
        problem = _python_syntax_problem(script)
        if problem:
            message, line = problem
            yield model.problem(script, f"the script of {model.describe(task)} is not valid Python ({message}); "
                                "Huhua runs scripts as Python 3: correct the script at this line",
                                "script-syntax (EXT.053)", line=line)


def _python_syntax_problem(script: Element) -> tuple[str, int | None] | None:
    """Why the script is not Python, and the file line where that shows; None when it parses.

    The script is dedented first: XML indentation around a script is layout, not Python.
    """
    raw = script.text or ""
    leading_lines = len(raw) - len(raw.lstrip("\n"))
    try:
        ast.parse(textwrap.dedent(raw.lstrip("\n")), mode="exec")
    except SyntaxError as err:
        line = script.sourceline + leading_lines + (err.lineno or 1) - 1 if script.sourceline else None
        return err.msg, line
    except (ValueError, RecursionError, MemoryError) as err:
        return type(err).__name__, None
    return None


def check_text_formats(model: LintModel) -> Iterator[Problem]:
    """EXT.004, EXT.010: a documentation's or text annotation's textFormat is a MIME type."""
    for kind in ("documentation", "textAnnotation"):
        for element in model.by_kind[kind]:
            text_format = element.get("textFormat")
            if text_format is not None and not _MIME_TYPE.match(text_format.strip()):
                subject = model.describe(element) if kind == "textAnnotation" else \
                    f"the documentation of {model.describe(_owner(element))}"
                yield model.problem(element, f"{subject} has textFormat '{text_format}', which is not a MIME type "
                                    "such as text/plain", "text-format (EXT.004, EXT.010)")
