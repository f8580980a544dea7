"""Conditional start events of event sub-processes, evaluated as the data of their scope changes.

SpiffWorkflow makes an event sub-process's start only when an event arrives, and nothing throws a
condition: a conditional start would never fire. Here, each time a task completes (its data may have
changed), the conditional starts of its scope (the process, a sub-process, a called process) are
evaluated on that task's data; when one turns true (it was false, or the scope has just begun: its start
event is such a task) its event sub-process starts. An interrupting one starts once and cancels the rest
of its scope; a non-interrupting one starts again each time its condition turns true again. A condition
naming data the task does not have changes nothing. A nested sub-process's data reaches its scope when it
ends, as SpiffWorkflow hands it back.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.util.task import TaskState

from engine.runtime.event_subprocesses import ScopedEventManager

#: Kept on a scope's root task: the conditions that held when last evaluated, by start event id.
HELD = "conditions_held"


def start_conditional_event_subprocesses(task: Any) -> bool:
    """Evaluate, on the data of ``task`` (which has just run), the conditional starts of its scope; start each
    event sub-process whose condition has turned true. Whether any started."""
    workflow = task.workflow.top_workflow
    manager = workflow.event_manager
    scope = task.workflow
    if not isinstance(manager, ScopedEventManager) or task.state != TaskState.COMPLETED \
            or task.task_spec.name in (getattr(scope.spec.start, "trigger_specs", None) or ()):
        return False  # an event sub-process ending hands back the data it began with, not a change
    started = False
    for name, start in _conditional_starts(workflow, scope):
        started = _evaluate(manager, scope, name, start, task) or started
    return started


def _conditional_starts(workflow: Any, scope: Any) -> list[tuple[str, Any]]:
    found = []
    for name in getattr(scope.spec.start, "trigger_specs", None) or ():
        sub_spec = workflow.subprocess_specs.get(name)
        for start in getattr(sub_spec, "bpmn_start_events", None) or ():
            if isinstance(start.event_definition, ConditionalEventDefinition):
                found.append((name, start))
    return found


def _evaluate(manager: ScopedEventManager, scope: Any, name: str, start: Any, task: Any) -> bool:
    if scope.is_completed() or scope.task_tree is None:
        return False
    held: dict[str, bool] = scope.task_tree.internal_data.setdefault(HELD, {})
    interrupting = getattr(start, "interrupting", True)
    if interrupting and held.get(start.bpmn_id):
        return False  # it has started and interrupted its scope: once is all
    try:
        holds = bool(scope.script_engine.evaluate(task, start.event_definition.expression,
                                                  external_context=scope.data_objects))
    except Exception as err:
        if not _names_missing_data(err):
            raise
        return False  # it names data this task does not have: nothing is known to have changed
    was = held.get(start.bpmn_id, False)
    held[start.bpmn_id] = holds
    if not holds or was:
        return False
    manager.start_event_subprocess(scope, name, start, BpmnEvent(start.event_definition), dict(task.data))
    return True


def _names_missing_data(err: BaseException) -> bool:
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, NameError):
            return True
        seen = getattr(seen, "exception", None) or seen.__cause__ or seen.__context__
    return False
