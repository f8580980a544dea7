"""Every script and expression in a compiled process, checked against the sandbox before deployment.

The runtime refuses a script outside the allowed subset anyway, but only when an instance reaches
it, as an incident. Checking at deploy time tells the modeller at once, with the element's id, and
stores nothing. The check is the very one the evaluator runs (``scripting.check_source``), so a
model that deploys never meets a refusal later.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask, StandardLoopTask
from SpiffWorkflow.bpmn.specs.mixins.script_task import ScriptTask

from engine.bpmn.lint_rules.timers import is_duration
from engine.bpmn.parser import CompiledProcess, ModelFile, ProcessSummary, compile_processes
from engine.bpmn.task_specs import timer_value
from engine.errors import InvalidModel, Problem
from engine.phrases import Phrase
from engine.runtime.execution import activity_duration
from engine.runtime.scripting import ScriptRefused, check_source, expression_source
from engine.runtime.task_titles import is_expression
from engine.runtime.timer_expressions import timer_expression_refusal

SCRIPT, EXPRESSION = "exec", "eval"
#: The purpose of a timer's expression, which is also checked to give ISO 8601 text (``timer_expressions``).
TIMER_EXPRESSION = Phrase("timer expression")
#: The kind of value each timer definition needs (see ``timer_expressions``).
_TIMER_KINDS = ((DurationTimerEventDefinition, "duration"), (TimeDateEventDefinition, "date-time"),
                (CycleTimerEventDefinition, "cycle"))


@dataclass(frozen=True)
class ScriptSource:
    """One piece of user code in a model: where it is, what it is for, and how it is evaluated."""

    element_id: str
    #: What the code is for, in words (a Phrase: "script", "condition of the flow to 'x'", ...).
    purpose: str
    source: str
    mode: str
    #: For a timer's expression, the kind of ISO 8601 value it must give: duration, date-time or cycle.
    timer_kind: str | None = None


def refuse_unsafe_scripts(files: list[ModelFile], summaries: Iterable[ProcessSummary], max_bytes: int) -> None:
    """Raise :class:`InvalidModel` listing every script of these processes that the sandbox refuses."""
    problems: list[Problem] = []
    seen: set[tuple[str | None, str | None, str]] = set()
    summaries = list(summaries)
    compiled_all = compile_processes(files, [s.key for s in summaries], max_bytes) if summaries else {}
    for summary in summaries:
        compiled = compiled_all[summary.key]
        for problem in audit_process(compiled, summary.filename):
            if (problem.file, problem.element_id, problem.message) not in seen:  # a shared called process
                seen.add((problem.file, problem.element_id, problem.message))
                problems.append(problem)
    if problems:
        raise InvalidModel("the model was refused; nothing was deployed", problems)


def audit_process(compiled: CompiledProcess, filename: str | None = None) -> list[Problem]:
    """A :class:`Problem` for each script or expression of ``compiled`` that the sandbox refuses."""
    problems = []
    for process in (compiled.spec, *compiled.subprocess_specs.values()):
        if process is None:
            continue
        for found in scripts_in_process(process):
            source = found.source if found.mode == SCRIPT else expression_source(found.source)
            file = getattr(process, "file", None) or filename
            try:
                check_source(source, found.mode)
            except ScriptRefused as refused:
                if "\n" in source.strip():
                    where = Phrase("%(purpose)s, line %(line)s", purpose=found.purpose, line=refused.line) \
                        if refused.line else found.purpose
                else:
                    where = Phrase("%(purpose)s (%(source)s)", purpose=found.purpose,
                                   source=_shortened(source.strip()))
                problems.append(Problem(Phrase("%(where)s: %(reason)s", where=where, reason=refused.reason),
                                        file=file, element_id=found.element_id))
                continue
            if found.timer_kind and (refusal := timer_expression_refusal(source, found.timer_kind)) is not None:
                problems.append(Problem(refusal, file=file, element_id=found.element_id))
        for spec in process.task_specs.values():
            duration = activity_duration(spec)
            if duration is not None and not is_duration(duration):
                problems.append(Problem(Phrase("the duration '%(value)s' is not an ISO 8601 duration such as PT10S",
                                               value=duration), file=file, element_id=_element_id(spec)))
    return problems


def _shortened(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def scripts_in_process(process: Any) -> Iterator[ScriptSource]:
    """Every script and expression of one process spec (not of the processes it calls)."""
    completion = getattr(process, "completion_condition", None)  # an ad-hoc subprocess
    if isinstance(completion, str):
        yield ScriptSource(process.name, Phrase("completion condition"), completion, EXPRESSION)
    for spec in process.task_specs.values():
        yield from _scripts_of_task(spec, process)


def _scripts_of_task(spec: Any, process: Any) -> Iterator[ScriptSource]:
    element = _element_id(spec)
    if isinstance(spec, ScriptTask) and spec.script:
        yield ScriptSource(element, Phrase("script"), spec.script, SCRIPT)
    for attribute, purpose in (("prescript", Phrase("pre-script")), ("postscript", Phrase("post-script"))):
        script = getattr(spec, attribute, None)
        if script:
            yield ScriptSource(element, purpose, script, SCRIPT)
    for condition, target in getattr(spec, "cond_task_specs", None) or ():
        if condition is not None and getattr(condition, "args", None):
            target_id = _element_id(process.task_specs[target]) if target in process.task_specs else target
            yield ScriptSource(element, Phrase("condition of the flow to '%(target)s'", target=target_id),
                               condition.args[0], EXPRESSION)
    if isinstance(spec, StandardLoopTask) and spec.condition:
        yield ScriptSource(element, Phrase("loop condition"), spec.condition, EXPRESSION)
    if isinstance(spec, MultiInstanceTask):
        if spec.cardinality:
            yield ScriptSource(element, Phrase("loop cardinality"), spec.cardinality, EXPRESSION)
        if spec.condition:
            yield ScriptSource(element, Phrase("completion condition"), spec.condition, EXPRESSION)
        for condition in getattr(spec, "complex_conditions", None) or ():
            yield ScriptSource(element, Phrase("complex behaviour condition"), condition, EXPRESSION)
    definition = getattr(spec, "event_definition", None)
    if definition is not None:
        for each in _event_definitions(definition):
            yield from _scripts_of_event(element, each)
    properties = (getattr(spec, "extensions", None) or {}).get("properties") or {}
    for name, value in properties.items():
        if is_expression(name, value):
            yield ScriptSource(element, Phrase("property '%(name)s'", name=name), value[1:], EXPRESSION)
    for name, parameter in (getattr(spec, "operation_params", None) or {}).items():
        value = parameter.get("value") if isinstance(parameter, dict) else None
        if isinstance(value, str):
            yield ScriptSource(element, Phrase("service parameter '%(name)s'", name=name), value, EXPRESSION)
    yield from _scripts_of_decision(element, spec)


def _event_definitions(definition: Any) -> Iterator[Any]:
    yield definition
    for nested in getattr(definition, "event_definitions", None) or ():
        yield from _event_definitions(nested)


def _scripts_of_event(element: str, definition: Any) -> Iterator[ScriptSource]:
    name = getattr(definition, "name", None)
    if isinstance(definition, TimerEventDefinition):
        expression = _evaluated_timer_expression(definition.expression)
        if expression is not None:
            kind = next((kind for cls, kind in _TIMER_KINDS if isinstance(definition, cls)), "duration")
            yield ScriptSource(element, TIMER_EXPRESSION, expression, EXPRESSION, kind)
        return
    expression = getattr(definition, "expression", None)
    if isinstance(definition, ConditionalEventDefinition) and expression:
        yield ScriptSource(element, Phrase("event condition"), expression, EXPRESSION)
    elif isinstance(expression, str) and expression:  # the payload of a message, signal, error or escalation
        yield ScriptSource(element, Phrase("payload of '%(name)s'", name=name) if name else Phrase("payload"),
                          expression, EXPRESSION)
    properties = [*(getattr(definition, "correlation_properties", None) or ()),
                  *(getattr(definition, "process_correlations", None) or ())]
    for prop in properties:
        retrieval = getattr(prop, "retrieval_expression", None)
        if isinstance(retrieval, str) and retrieval:
            yield ScriptSource(element, Phrase("correlation property '%(name)s'", name=prop.name), retrieval,
                              EXPRESSION)


class _ExpressionRecorder:
    """Stands in for a task (and its workflow and script engine) and records what would be evaluated."""

    def __init__(self) -> None:
        self.workflow = self
        self.script_engine = self
        self.evaluated: list[str] = []

    def evaluate(self, task: Any, expression: str) -> str:
        self.evaluated.append(expression)
        return expression


def _evaluated_timer_expression(expression: str | None) -> str | None:
    """The expression a timer evaluates, or None for an ISO-8601 literal, as ``timer_value`` decides."""
    recorder = _ExpressionRecorder()
    timer_value(recorder, expression or "")
    return recorder.evaluated[0] if recorder.evaluated else None


def _scripts_of_decision(element: str, spec: Any) -> Iterator[ScriptSource]:
    """Input expressions, rule cells and output cells of a business rule task's DMN table."""
    table = getattr(getattr(spec, "dmnEngine", None), "decision_table", None)
    if table is None:
        return
    for column in getattr(table, "inputs", ()):
        if getattr(column, "expression", None):
            yield ScriptSource(element, Phrase("decision input '%(name)s'", name=column.label or column.id),
                              column.expression, EXPRESSION)
    for rule in getattr(table, "rules", ()):
        for entry in rule.inputEntries:
            for cell in entry.lhs:
                if cell:
                    yield ScriptSource(element, Phrase("decision rule '%(name)s'", name=rule.id),
                                      _as_match_expression(cell), EXPRESSION)
        for entry in rule.outputEntries:
            if entry.text:
                yield ScriptSource(element, Phrase("decision rule '%(name)s'", name=rule.id), entry.text, EXPRESSION)


def _as_match_expression(cell: str) -> str:
    """A DMN input cell as the engine evaluates it: '?' stands for the input, '> 5' is compared with it."""
    if "?" in cell:
        return cell.replace("?", "dmninputexpr")
    try:
        ast.parse(cell.strip(), mode="eval")
    except SyntaxError:
        return f"dmninputexpr {cell.strip()}"
    return cell


def _element_id(spec: Any) -> str:
    """The BPMN id of a spec; a hidden spec (an activity's outgoing-flow split) reports its activity."""
    bpmn_id = getattr(spec, "bpmn_id", None)
    if bpmn_id:
        return str(bpmn_id)
    inputs = getattr(spec, "inputs", None) or []
    return str(getattr(inputs[0], "bpmn_id", None) or spec.name) if inputs else str(spec.name)
