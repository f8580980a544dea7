"""Event sub-processes at every level, interrupting or not.

SpiffWorkflow starts an event sub-process only for events that reach the top level, only when the
sub-process sits at the top level, and never interrupts anything. Here an event is offered, scope
by scope from where it was thrown outwards, to the event sub-processes of each scope: the first
scope with a matching start event starts one. An interrupting start (``isInterrupting``, the
default) then cancels everything else in that scope, once the task that threw has finished, so that
the scope completes when the event sub-process does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid5

from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import (
    ErrorEventDefinition,
    EscalationEventDefinition,
    SignalEventDefinition,
)
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.bpmn.util.event import EventManager
from SpiffWorkflow.util.task import TaskState

#: Events an event sub-process start may catch from inside its scope.
_SCOPED = (ErrorEventDefinition, EscalationEventDefinition, SignalEventDefinition)


class ScopedEventManager(EventManager):
    """SpiffWorkflow's event manager, offering events to the event sub-processes of each enclosing scope."""

    def __init__(self, workflow: Any, replacing: EventManager | None = None) -> None:
        super().__init__(workflow)
        if replacing is not None:
            self.tasks.update(replacing.tasks)  # tasks that began waiting while the workflow was built
        #: (scope workflow, event sub-process task) pairs whose interruption waits for the thrower to finish.
        self.pending_interrupts: list[tuple[Any, Any]] = []
        #: The task the runtime is running: its workflow is where an event without a target was thrown.
        self.running: Any = None

    def catch(self, event: Any, internal: bool = True) -> int:
        if isinstance(event.event_definition, _SCOPED):
            scope = event.target or (self.running.workflow if self.running is not None else self.workflow)
            while scope is not None:
                if self._start_event_subprocess(scope, event):
                    return 1
                if isinstance(event.event_definition, SignalEventDefinition):
                    break  # signals are broadcast by SpiffWorkflow itself below; only the thrower's scope is ours
                scope = scope.parent_workflow
        return super().catch(event, internal)

    def _start_event_subprocess(self, scope: Any, event: Any) -> bool:
        top = self.workflow
        for name in scope.spec.start.trigger_specs:
            sub_spec = top.subprocess_specs.get(name)
            if sub_spec is None:
                continue
            for start in sub_spec.bpmn_start_events:
                if start.event_definition != event.event_definition:
                    continue
                self.start_event_subprocess(scope, name, start, event)
                return True
        return False

    def start_event_subprocess(self, scope: Any, name: str, start: Any, event: Any,
                               data: dict[str, Any] | None = None) -> None:
        """Start the event sub-process ``name`` of ``scope`` through its start event ``start`` with ``event``;
        ``data``, the scope's data as it is now, is given to the scope's root first (the event sub-process
        inherits it). An interrupting start then cancels the rest of the scope (:meth:`apply_interrupts`)."""
        if data:
            scope.task_tree.data.update(data)  # what the event sub-process's tasks inherit their data from
        task_id = scope.spec.start.trigger_wf(scope.task_tree, name)
        keeper = scope.get_task_from_id(task_id)
        # Predict the path after it (the scope's end), which trigger_wf leaves out.
        keeper.task_spec._predict(keeper, mask=TaskState.NOT_FINISHED_MASK)
        subprocess = self.workflow.subprocesses[task_id]
        waiting = subprocess.get_next_task(state=TaskState.WAITING, spec_name=start.name)
        if waiting is not None:
            waiting.task_spec.catch(waiting, event)
            waiting.task_spec._update(waiting)
        if getattr(start, "interrupting", True):
            self.pending_interrupts.append((scope, keeper))

    def apply_interrupts(self) -> None:
        """Cancel the rest of each scope whose interrupting event sub-process has started."""
        while self.pending_interrupts:
            scope, keeper = self.pending_interrupts.pop(0)
            spared = {id(t) for t in keeper} | {id(t) for t in _ancestors(keeper)}
            for task in list(scope.tasks.values()):
                if id(task) not in spared and task.state & TaskState.NOT_FINISHED_MASK and task.parent is not None:
                    task.cancel()


def _ancestors(task: Any) -> list[Any]:
    found = []
    while task.parent is not None:
        task = task.parent
        found.append(task)
    return found


# -- event sub-processes waiting for a message or signal from another instance or from outside ---------------------

#: Names the synthetic ids of event sub-process starts (below): stable across loads, unlike a task of their own.
_WAITING_START = UUID("6f1c2b0e-8d4a-4c1e-9b57-3e2f0d6a9c41")


@dataclass(frozen=True)
class WaitingStart:
    """A top-level event sub-process that a message or signal would start now: it has no waiting task of its own
    (SpiffWorkflow makes one only when the event comes), so it is found by this id, its start event and spec."""

    task_id: str
    start: Any
    definition: Any


def waiting_starts(workflow: Any) -> list[WaitingStart]:
    """The message and signal starts of the workflow's top-level event sub-processes that may start now: while the
    workflow runs, a non-interrupting one any number of times, an interrupting one until it has started."""
    if not workflow.spec.start.trigger_specs or workflow.is_completed():
        return []
    started = {sub.spec.name for sub in workflow.subprocesses.values()}
    found = []
    for name in workflow.spec.start.trigger_specs:
        sub_spec = workflow.subprocess_specs.get(name)
        if sub_spec is None:
            continue
        for start in sub_spec.bpmn_start_events:
            definition = start.event_definition
            if not isinstance(definition, MessageEventDefinition | SignalEventDefinition):
                continue
            if getattr(start, "interrupting", True) and name in started:
                continue
            task_id = str(uuid5(_WAITING_START, f"{workflow.task_tree.id}/{start.bpmn_id}"))
            found.append(WaitingStart(task_id, start, definition))
    return found


def start_waiting(workflow: Any, task_id: str, payload: dict[str, Any], data: dict[str, Any]) -> bool:
    """Start the event sub-process whose :class:`WaitingStart` has ``task_id`` with an event carrying ``payload``
    (``data``, what of it the receiver keeps, joins the sub-process's data); False when no such start waits."""
    waiting = next((w for w in waiting_starts(workflow) if w.task_id == task_id), None)
    if waiting is None:
        return False
    before = set(workflow.subprocesses)
    workflow.catch(BpmnEvent(waiting.definition, payload=dict(payload), correlations=dict(workflow.correlations)))
    if getattr(waiting.definition, "message_var", None) is None:
        for key in set(workflow.subprocesses) - before:
            for task in workflow.subprocesses[key].tasks.values():
                if task.task_spec.name == waiting.start.name:
                    task.data.update(data)
    return True
