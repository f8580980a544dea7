"""Compensation, which SpiffWorkflow refuses to parse.

A compensation boundary event links an activity to its handler (an activity marked
``isForCompensation``, joined by an association). A compensation throw event — intermediate or end,
optionally naming one ``activityRef`` — runs the handler of every completed activity in its scope
that has one, most recently completed first, once per completed activity instance. A completed
sub-process is compensated by its compensation event sub-process (one whose start event is a
compensation start event), run inside it; a throw in there compensates the sub-process's activities.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.base import EventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.simple import CancelEventDefinition
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.spiff.parser.event_parsers import SpiffEndEventParser, SpiffIntermediateThrowEventParser
from SpiffWorkflow.spiff.parser.process import SpiffProcessParser
from SpiffWorkflow.util.task import TaskState

from engine.bpmn.schema import bpmn_tag

_COMPENSATE = bpmn_tag("compensateEventDefinition")
_HAS_COMPENSATE = "bpmn:compensateEventDefinition"
COMPENSATED = "compensated"
#: Marks a compensation handler (or event sub-process) started by a throw, with the throwing task's id.
COMPENSATING = "compensating"
#: Marks the root of a completed sub-process reopened to run its compensation (see :func:`_reopen`).
REOPENED = "reopened_for_compensation"


class CompensateEventDefinition(EventDefinition):
    def __init__(self, handlers: dict[str, str], outer: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        #: activity element id -> name of its handler's task spec (in the scope compensated)
        self.handlers = handlers
        #: Thrown in a compensation event sub-process: it compensates the sub-process around it.
        self.outer = outer

    def throw(self, my_task: Any) -> None:
        compensate(my_task.workflow.parent_workflow if self.outer else my_task.workflow, self.handlers, my_task)


class CompensationStartDefinition(EventDefinition):
    """The start of a compensation event sub-process: the handler of the sub-process it sits in, started when a
    completed instance of that sub-process is compensated (never by an event of its own)."""


class CompensatingCancelEventDefinition(EventDefinition):
    """A transaction's cancel end event: it compensates the transaction's completed activities, then throws the
    cancel event to the transaction's cancel boundary event (which waits for the handlers: see :func:`compensating`)
    and interrupts the transaction. (Not a CancelEventDefinition: SpiffWorkflow's end event would cancel the
    transaction, and its handlers with it, at once.)"""

    def __init__(self, handlers: dict[str, str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.handlers = handlers

    def throw(self, my_task: Any, **kwargs: Any) -> None:
        compensate(my_task.workflow, self.handlers, my_task)
        event = BpmnEvent(CancelEventDefinition(description="Cancel"), target=my_task.workflow.parent_workflow)
        my_task.workflow.top_workflow.catch(event)


def compensate(scope: Any, handlers: dict[str, str], thrower: Any) -> None:
    """Start the handler of every completed activity of ``scope`` that ``handlers`` names, and the compensation
    event sub-process of every completed sub-process that has one; most recently completed first. What follows the
    ``thrower`` waits until they are done (:func:`awaits_compensation`)."""
    subprocesses = scope.top_workflow.subprocesses
    _reopen(scope)
    done = [t for t in scope.tasks.values() if t.state == TaskState.COMPLETED and not t.internal_data.get(COMPENSATED)
            and (t.task_spec.bpmn_id in handlers or _compensation_start(subprocesses.get(t.id)) is not None)]
    for task in sorted(done, key=lambda t: t.last_state_change, reverse=True):
        task.internal_data[COMPENSATED] = True
        if task.task_spec.bpmn_id in handlers:
            handler = scope.spec.task_specs[handlers[task.task_spec.bpmn_id]]
            started = scope.task_tree._add_child(handler, TaskState.READY)  # a branch of its own, ending nowhere
            started.internal_data[COMPENSATING] = str(thrower.id)
            started.data = deepcopy(task.data)  # it undoes that activity: it sees the data as the activity left it
        else:
            _start_compensation_event_subprocess(subprocesses[task.id], thrower)


def _compensation_start(sub: Any) -> tuple[str, Any] | None:
    """The (event sub-process name, start event) of a completed sub-process's compensation event sub-process."""
    if sub is None or not sub.completed:
        return None
    for name in getattr(sub.spec.start, "trigger_specs", None) or ():
        sub_spec = sub.top_workflow.subprocess_specs.get(name)
        for start in getattr(sub_spec, "bpmn_start_events", None) or ():
            if isinstance(start.event_definition, CompensationStartDefinition):
                return name, start
    return None


def _start_compensation_event_subprocess(sub: Any, thrower: Any) -> None:
    """Run the compensation event sub-process inside the completed ``sub``, with its data as it ended. Its task there
    leads nowhere when it is done (it is not joined to the sub-process's end), so the sub-process does not end
    again."""
    name, start = _compensation_start(sub)  # type: ignore[misc]
    _reopen(sub)
    keeper = sub.task_tree._add_child(sub.spec.task_specs[name], TaskState.FUTURE)
    keeper.triggered = True
    keeper.internal_data[COMPENSATING] = str(thrower.id)
    keeper.data = deepcopy(sub.data)
    keeper.task_spec._update(keeper)
    event_subprocess = sub.top_workflow.subprocesses.get(keeper.id)
    waiting = event_subprocess.get_next_task(state=TaskState.WAITING, spec_name=start.name) \
        if event_subprocess is not None else None
    if waiting is not None:
        waiting.task_spec.catch(waiting, BpmnEvent(start.event_definition))
        waiting.task_spec._update(waiting)


def _reopen(scope: Any) -> None:
    """Let a completed sub-process run its compensation: not completed again until that is done (else SpiffWorkflow
    would tell its activity, done long ago, that it completed once more; see :func:`close_compensated_scopes`)."""
    if scope is not scope.top_workflow and scope.completed:
        scope.completed = False
        scope.task_tree.internal_data[REOPENED] = True


def close_compensated_scopes(workflow: Any) -> None:
    """Mark completed again each sub-process reopened for compensation whose compensation is done."""
    for sub in workflow.subprocesses.values():
        if sub.task_tree.internal_data.get(REOPENED) and not any(
                t.internal_data.get(COMPENSATING) and t.state & TaskState.NOT_FINISHED_MASK
                and t.state != TaskState.FUTURE for t in sub.tasks.values()):
            del sub.task_tree.internal_data[REOPENED]
            sub.completed = True


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
    """Leaves compensation boundary events out of the boundary events of an activity (they handle nothing), and
    parses the compensation handlers of a level that has a compensation event sub-process (which starts them)."""

    def get_boundary_events(self, attached_to_ref: str) -> list[Any]:
        return [e for e in super().get_boundary_events(attached_to_ref) if e.find(_COMPENSATE) is None]

    def add_tasks(self) -> None:
        super().add_tasks()
        compensation_subprocesses = self.xpath(
            f"./bpmn:subProcess[@triggeredByEvent='true'][bpmn:startEvent/{_HAS_COMPENSATE}]")
        for node in compensation_subprocesses:
            spec = self.spec.task_specs.get(node.get("id"))
            if spec is not None and not spec.inputs:
                spec.inputs = [self.spec.start]  # started by compensation only, and leading nowhere after
        if compensation_subprocesses:
            for node in self.xpath("./*[@isForCompensation='true']"):
                handler = self.parse_node(node)
                if not handler.inputs:
                    handler.inputs = [self.spec.start]  # reached only through a throw, never by a sequence flow


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
        outer = _is_compensation_event_subprocess(self.node.getparent())
        handlers = self._handlers(definition.get("activityRef"), outer)
        task = self._create_task(CompensateEventDefinition(handlers, outer,  # type: ignore[attr-defined]
                                                           description="Compensation"))
        if not outer:
            self._reached_by_throw(task, handlers)
        self._connect(task)
        return task

    def _reached_by_throw(self, task: Any, handlers: dict[str, str]) -> None:
        for name in handlers.values():
            handler = self.process_parser.spec.task_specs[name]
            if not handler.inputs:
                handler.inputs = [task]  # reached only through the throw, never by a sequence flow

    def _handlers(self, only: str | None, outer: bool = False) -> dict[str, str]:
        """Activity id -> the name of its compensation handler's task spec, for the activities of this level (of the
        level around, for a throw in a compensation event sub-process: that level's parser names them by id)."""
        scope = self.node.getparent().getparent() if outer else self.node.getparent()
        handlers: dict[str, str] = {}
        associations = {a.get("sourceRef"): a.get("targetRef") for a in scope.iter(bpmn_tag("association"))}
        for boundary in scope.findall(bpmn_tag("boundaryEvent")):
            activity = boundary.get("attachedToRef")
            handler_id = associations.get(boundary.get("id"))
            if boundary.find(_COMPENSATE) is None or handler_id is None or (only and activity != only):
                continue
            if outer:
                handlers[activity] = handler_id
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


def _is_compensation_event_subprocess(node: Any) -> bool:
    return node.tag == bpmn_tag("subProcess") and node.get("triggeredByEvent") == "true" and any(
        start.find(_COMPENSATE) is not None for start in node.findall(bpmn_tag("startEvent")))


def awaits_compensation(task: Any) -> bool:
    """Whether ``task`` follows a compensation throw whose handlers are still running: BPMN's throw waits for the
    compensation to complete before the flow goes on."""
    parent = task.parent
    definition = getattr(parent.task_spec, "event_definition", None) if parent is not None else None
    if not isinstance(definition, CompensateEventDefinition):
        return False
    thrower = str(parent.id)
    top = task.workflow.top_workflow
    return any(t.internal_data.get(COMPENSATING) == thrower and t.state & TaskState.NOT_FINISHED_MASK
               and t.state != TaskState.FUTURE
               for scope in (top, *top.subprocesses.values()) for t in scope.tasks.values())
