"""Compensation, which SpiffWorkflow refuses to parse.

A compensation boundary event links an activity to its handler (an activity marked
``isForCompensation``, joined by an association). A compensation throw event — intermediate or end,
optionally naming one ``activityRef`` — runs the handler of every completed activity in its scope
that has one, most recently completed first, once per completed activity instance.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.base import EventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.simple import CancelEventDefinition
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.spiff.parser.event_parsers import SpiffEndEventParser, SpiffIntermediateThrowEventParser
from SpiffWorkflow.spiff.parser.process import SpiffProcessParser
from SpiffWorkflow.util.task import TaskState

from engine.bpmn.schema import bpmn_tag

_COMPENSATE = bpmn_tag("compensateEventDefinition")
COMPENSATED = "compensated"
#: Marks a compensation handler started by a throw (see :func:`compensating`).
COMPENSATING = "compensating"
_CANCEL = bpmn_tag("cancelEventDefinition")


class CompensateEventDefinition(EventDefinition):
    def __init__(self, handlers: dict[str, str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        #: activity element id -> name of its handler's task spec (in the thrower's scope)
        self.handlers = handlers

    def throw(self, my_task: Any) -> None:
        compensate(my_task.workflow, self.handlers)


class CompensatingCancelEventDefinition(EventDefinition):
    """A transaction's cancel end event: it compensates the transaction's completed activities, then throws the
    cancel event to the transaction's cancel boundary event (which waits for the handlers: see :func:`compensating`)
    and interrupts the transaction. (Not a CancelEventDefinition: SpiffWorkflow's end event would cancel the
    transaction, and its handlers with it, at once.)"""

    def __init__(self, handlers: dict[str, str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.handlers = handlers

    def throw(self, my_task: Any, **kwargs: Any) -> None:
        compensate(my_task.workflow, self.handlers)
        event = BpmnEvent(CancelEventDefinition(description="Cancel"), target=my_task.workflow.parent_workflow)
        my_task.workflow.top_workflow.catch(event)


def compensate(scope: Any, handlers: dict[str, str]) -> None:
    """Start the handler of every completed activity of ``scope`` that ``handlers`` names, most recent first."""
    done = [t for t in scope.tasks.values() if t.state == TaskState.COMPLETED
            and t.task_spec.bpmn_id in handlers and not t.internal_data.get(COMPENSATED)]
    for task in sorted(done, key=lambda t: t.last_state_change, reverse=True):
        task.internal_data[COMPENSATED] = True
        handler = scope.spec.task_specs[handlers[task.task_spec.bpmn_id]]
        started = scope.task_tree._add_child(handler, TaskState.READY)  # a branch of its own; the end waits for it
        started.internal_data[COMPENSATING] = True


def compensating(workflow: Any, boundary: Any) -> bool:
    """Whether the activity that ``boundary`` (a caught boundary event task) sits on is still running compensation
    handlers: its interruption waits for them (a transaction's cancel is caught only once it is rolled back)."""
    split = boundary.parent
    for activity in split.children if split is not None else ():
        sub = workflow.subprocesses.get(activity.id) if activity is not boundary else None
        if sub is not None and any(t.internal_data.get(COMPENSATING) and t.state & TaskState.NOT_FINISHED_MASK
                                   and t.state != TaskState.FUTURE for t in sub.tasks.values()):
            return True
    return False


class CompensationProcessParser(SpiffProcessParser):
    """Leaves compensation boundary events out of the boundary events of an activity (they handle nothing)."""

    def get_boundary_events(self, attached_to_ref: str) -> list[Any]:
        return [e for e in super().get_boundary_events(attached_to_ref) if e.find(_COMPENSATE) is None]


class _CompensationThrowing:
    """Mixin for throw-event parsers: a compensateEventDefinition becomes a CompensateEventDefinition."""

    node: Any
    process_parser: Any

    def create_task(self) -> Any:
        definition = self.node.find(_COMPENSATE)
        if definition is None:
            return super().create_task()  # type: ignore[misc]
        return self._compensation_task(definition)

    def _compensation_task(self, definition: Any) -> Any:
        handlers = self._handlers(definition.get("activityRef"))
        task = self._create_task(CompensateEventDefinition(handlers, description="Compensation"))  # type: ignore
        self._reached_by_throw(task, handlers)
        self._connect(task)
        return task

    def _reached_by_throw(self, task: Any, handlers: dict[str, str]) -> None:
        for name in handlers.values():
            handler = self.process_parser.spec.task_specs[name]
            if not handler.inputs:
                handler.inputs = [task]  # reached only through the throw, never by a sequence flow

    def _handlers(self, only: str | None) -> dict[str, str]:
        """Activity id -> the name of its compensation handler's task spec, for the activities of this level."""
        scope = self.node.getparent()
        handlers: dict[str, str] = {}
        associations = {a.get("sourceRef"): a.get("targetRef") for a in scope.iter(bpmn_tag("association"))}
        for boundary in scope.findall(bpmn_tag("boundaryEvent")):
            activity = boundary.get("attachedToRef")
            handler_id = associations.get(boundary.get("id"))
            if boundary.find(_COMPENSATE) is None or handler_id is None or (only and activity != only):
                continue
            handler_node = self.process_parser.get_node_by_id(handler_id)
            if handler_node is not None:
                handlers[activity] = self.process_parser.parse_node(handler_node).name
        return handlers

    def _connect(self, task: Any) -> None:
        pass


class IntermediateThrowEventParser(_CompensationThrowing, SpiffIntermediateThrowEventParser):
    pass


class EndEventParser(_CompensationThrowing, SpiffEndEventParser):
    def _connect(self, task: Any) -> None:
        task.connect(self.spec.end)

    def cancel_task(self) -> Any:
        """A cancel end event (in a transaction), which compensates the transaction's activities as it cancels."""
        handlers = self._handlers(None)
        task = self._create_task(CompensatingCancelEventDefinition(handlers, description="Cancel"))  # type: ignore
        self._reached_by_throw(task, handlers)
        self._connect(task)
        return task
