"""Huhua's rule for ``notify`` service tasks (:mod:`engine.notifications.operator`): refused at deployment, not
met in a running instance, are an unknown kind, a task that names no recipients, an unknown role, a user task
that is not in the process, and a message template that does not parse.

Parameters are expressions; a literal one (``'reminder'``, ``'催办：{{ task_title }}'``) is checked here, a
computed one when the step runs (a failure there is an incident of the step).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from engine.bpmn.lint_rules.model import LintModel
from engine.errors import Problem
from engine.notifications.operator import MODEL_KINDS, OPERATOR, RECIPIENT_PARAMETERS, TEMPLATE_PARAMETERS
from engine.notifications.templates import TemplateFailure, check
from engine.org.directory import role_code

_SPIFF = "{http://spiffworkflow.org/bpmn/schema/1.0/core}"
_RULE = "notify-task (HUHUA.NOTIFY.1)"
_MISSING = object()


def check_notify_tasks(model: LintModel) -> Iterator[Problem]:
    """HUHUA.NOTIFY.1: a ``notify`` task has a known kind, recipients, known roles and tasks, parsing templates."""
    user_tasks = {task.get("id") for task in model.by_kind["userTask"]}
    for task in model.by_kind["serviceTask"]:
        for operator in task.iterfind(f"*/{_SPIFF}serviceTaskOperator"):
            if operator.get("id") != OPERATOR:
                continue
            params = {p.get("id") or "": p.get("value") or "" for p in
                      operator.iterfind(f"{_SPIFF}parameters/{_SPIFF}parameter")}
            for message in _findings(params, user_tasks):
                yield model.problem(task, f"{model.describe(task)}: {message}", _RULE, line=operator.sourceline)


def _findings(params: dict[str, str], user_tasks: set[str | None]) -> Iterator[str]:
    kind = _literal(params.get("kind"))
    if "kind" not in params:
        yield f"a notify task needs the parameter 'kind' ({', '.join(MODEL_KINDS)})"
    elif kind is not _MISSING and kind not in MODEL_KINDS:
        yield f"parameter 'kind' is {kind!r}; a notify task's kind is one of {', '.join(MODEL_KINDS)}"
    given = [name for name in RECIPIENT_PARAMETERS if _literal(params.get(name)) not in ("", None, [], ())]
    if not given:
        yield "a notify task needs recipients: 'to_roles', 'to_people' or 'to_task_holders'"
    roles = _literal(params.get("to_roles"))
    if isinstance(roles, str):
        for entry in (part.strip() for part in roles.split(",") if part.strip()):
            if role_code(entry.partition("@")[0].strip()) is None:
                yield f"parameter 'to_roles' names '{entry}', which is not a role of the directory"
    for name in ("to_task_holders", "link_task"):
        element = _literal(params.get(name))
        if isinstance(element, str) and element and element not in user_tasks:
            yield f"parameter '{name}' names '{element}', which is not a user task of this process"
    for name in TEMPLATE_PARAMETERS:
        if name not in params:
            yield f"a notify task needs the parameter '{name}' (a message template)"
            continue
        template = _literal(params[name])
        if isinstance(template, str):
            try:
                check(template)
            except TemplateFailure as err:
                yield f"the template of parameter '{name}' is refused: {err}"


def _literal(source: str | None) -> object:
    """The value of a literal expression; :data:`_MISSING` for one computed at run time (or not parsing)."""
    if source is None:
        return None
    if not source.strip():
        return ""
    try:
        return ast.literal_eval(source.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return _MISSING
