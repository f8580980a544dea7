"""Huhua's rule for a task's instructions (spiff-arena's ``spiffworkflow:instructionsForEndUser``, see
:mod:`engine.end_user_instructions`): the Jinja template parses and stays within the sandbox's limits, so that an
author meets a mistake at deployment rather than a person meets it on the task's page."""

from __future__ import annotations

from collections.abc import Iterator

from engine.bpmn.lint_rules.model import TASKS, LintModel
from engine.end_user_instructions import INSTRUCTIONS_TAG, check_instructions
from engine.errors import Problem
from engine.notifications.templates import TemplateFailure

_RULE = "end-user-instructions (HUHUA.INSTRUCTIONS.1)"


def check_end_user_instructions(model: LintModel) -> Iterator[Problem]:
    """HUHUA.INSTRUCTIONS.1: a task's ``instructionsForEndUser`` is a template the sandbox accepts."""
    for kind in sorted(TASKS):
        for task in model.by_kind[kind]:
            for element in task.iterfind(f"*/{INSTRUCTIONS_TAG}"):
                try:
                    check_instructions("".join(element.itertext()).strip())
                except TemplateFailure as err:
                    yield model.problem(task, f"{model.describe(task)}: its spiffworkflow:instructionsForEndUser "
                                              f"is refused: {err}; correct the Jinja template there "
                                              "({{ name }} shows a value, {% if … %}…{% endif %} chooses what to "
                                              "show)", _RULE, line=element.sourceline)
