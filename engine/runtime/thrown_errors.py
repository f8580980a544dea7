"""A BPMN error thrown at a task from outside its script: a service task whose connector failed with a code.

spiff-arena throws a connector's error code as a BPMN error where the model catches it: first within the task's
own (sub-)workflow, then anywhere in the instance. The catching elements are found as SpiffWorkflow finds them
(``catches_event``); an error definition matches only one of its own class, so both the spiff and the plain
BPMN class are tried, as the model's parser made its catches.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import ErrorEventDefinition as BpmnErrorDefinition
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.spiff.specs.event_definitions import ErrorEventDefinition
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState


def error_catchers(workflow: BpmnWorkflow, task: Task, code: str,
                   payload: dict[str, Any] | None = None) -> tuple[BpmnEvent, list[Task]]:
    """The event to throw for error ``code`` at ``task`` and the waiting elements that catch it (none: nobody)."""
    event = BpmnEvent(ErrorEventDefinition(code, code=code))
    for kind in (ErrorEventDefinition, BpmnErrorDefinition):
        definition = kind(code, code=code)
        event = BpmnEvent(definition, payload=payload or {}, target=task.workflow)
        catchers = task.workflow.get_tasks(catches_event=event, state=TaskState.NOT_FINISHED_MASK)
        if not catchers:
            event = BpmnEvent(definition, payload=payload or {})
            catchers = workflow.get_tasks(catches_event=event, state=TaskState.NOT_FINISHED_MASK)
        if catchers:
            return event, catchers
    return event, []
