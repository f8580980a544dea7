"""Advancing a SpiffWorkflow instance and reading off what it now waits for.

:class:`Runtime` is the only place that moves a workflow. Every move ends in :meth:`Runtime.advance`,
which runs engine tasks from a flat view of the tree (SpiffWorkflow's own iterator gives up at depth
1000 and can report an instance complete while a READY task hides below that depth), then checks
for exactly that case and raises :class:`Incident` instead of letting a false completion through.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent, ThrowingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent as StartEventMixin
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.specs.defaults import ServiceTask as SpiffServiceTask
from SpiffWorkflow.spiff.specs.event_definitions import ErrorEventDefinition
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine.bpmn.compensation import awaits_compensation, close_compensated_scopes, compensating
from engine.bpmn.lint_rules.timers import is_duration
from engine.bpmn.parser import CompiledProcess
from engine.bpmn.task_specs import (
    EXTERNAL_ITEMS,
    EXTERNAL_PENDING,
    ExternalParallelMultiInstanceTask,
    run_item_script,
)
from engine.bpmn.timevalues import due_from, parse_instant
from engine.clock import Clock
from engine.org.directory import UNIT_KINDS
from engine.runtime.conditional_starts import start_conditional_event_subprocesses
from engine.runtime.correlation import (
    SENDER_RULES,
    CorrelationError,
    catch_rules,
    declares_properties,
    message_variables,
    property_key,
    property_names,
)
from engine.runtime.event_subprocesses import ScopedEventManager, start_waiting, waiting_starts
from engine.runtime.script_environment import remember_completion
from engine.runtime.script_guards import ScriptLimits
from engine.runtime.scripting import DEFAULT_ENVIRONMENT, SERVICE_RESULT, BpmnErrorThrown, HuhuaScriptEngine
from engine.runtime.settled_urges import close_settled_urges
from engine.runtime.state_codec import StateCodec
from engine.runtime.task_titles import fill_from_data, is_expression
from engine.runtime.thrown_errors import error_catchers
from engine.runtime.workflow import HuhuaWorkflow

#: SpiffWorkflow's TaskIterator stops descending at this depth.
SPIFF_MAX_DEPTH = 1000


class Incident(Exception):
    """The model failed at run time (a script error, a data error, a task tree too deep)."""

    def __init__(self, message: str, element_id: str | None = None, kind: str = "failed_task") -> None:
        super().__init__(message)
        self.message = message
        self.element_id = element_id
        self.kind = kind


class InvalidAction(Exception):
    """The caller asked for something the instance cannot do now (the task is not open, ...)."""


@dataclass(frozen=True)
class HumanWork:
    """A user or manual task that waits for a person."""

    task_id: str
    element_id: str
    name: str
    lane: str | None
    properties: dict[str, str]
    #: What the task's data says of its lane's people (``lane_owners[lane]``), unchecked; None: it says nothing.
    lane_owners: Any = None


@dataclass(frozen=True)
class ItemsWork:
    """New item instances of a parallel multi-instance human task, to be handed out as separate tasks."""

    task_id: str
    element_id: str
    name: str
    lane: str | None
    properties: dict[str, str]
    #: (key, the item's start data, the item's own properties when they depend on the item)
    items: list[tuple[Any, dict[str, Any], dict[str, str] | None]]
    #: As :attr:`HumanWork.lane_owners`, from the multi-instance task's data.
    lane_owners: Any = None


@dataclass(frozen=True)
class TimerWait:
    task_id: str
    element_id: str
    due_at: datetime


@dataclass(frozen=True)
class EventWait:
    """A catch event waiting for a named message or signal, and what it accepts (see :mod:`.correlation`)."""

    task_id: str
    element_id: str
    kind: str  # message | signal
    name: str
    #: The key made of the message's correlation properties; None: the instance's business key is the key.
    correlation: str | None = None
    keyless: bool = False
    senders: str = SENDER_RULES[0]
    #: The variables a message from outside may bring (``messageVariables``); empty: none.
    accepts: tuple[str, ...] = ()


@dataclass(frozen=True)
class HeldWork:
    """A task the engine does not run in its own step: a service call or an asynchronous continuation.

    A worker runs it as a job: calls the service outside the transaction, then releases the task.
    """

    task_id: str
    element_id: str
    kind: str  # service | continuation
    payload: dict[str, Any]
    #: When the job falls due; None: at once. An activity with a ``duration`` is busy until then.
    due_at: datetime | None = None


@dataclass
class OpenWork:
    """Everything an instance waits for from outside, keyed by SpiffWorkflow task id."""

    human: dict[str, HumanWork] = field(default_factory=dict)
    new_items: list[ItemsWork] = field(default_factory=list)
    item_parents: set[str] = field(default_factory=set)
    timers: dict[str, TimerWait] = field(default_factory=dict)
    messages: dict[str, EventWait] = field(default_factory=dict)
    held: dict[str, HeldWork] = field(default_factory=dict)
    completed: bool = False


class Runtime:
    """Creates, advances and (de)serialises workflows; one per engine, shared by threads."""

    def __init__(self, clock: Clock, script_limits: ScriptLimits | None = None,
                 environment_name: str = DEFAULT_ENVIRONMENT) -> None:
        self.clock = clock
        self.script_engine = HuhuaScriptEngine(clock, script_limits, environment_name)
        self.codec = StateCodec()

    # -- creating and storing -------------------------------------------------------------------

    def create(self, compiled: CompiledProcess, variables: dict[str, Any]) -> BpmnWorkflow:
        """A new workflow with ``variables`` as its start data; call :meth:`advance` to run it."""
        workflow = self._guarded(lambda: HuhuaWorkflow(compiled.spec, compiled.subprocess_specs,
                                                       script_engine=self.script_engine), None)
        first = workflow.get_next_task(state=TaskState.READY)
        if first is not None:
            first.data.update(variables)
        return workflow

    def dumps(self, workflow: BpmnWorkflow) -> str:
        return self.codec.dumps(workflow)

    def loads(self, state: str, compiled: CompiledProcess) -> BpmnWorkflow:
        return self.codec.loads(state, compiled, self.script_engine)

    # -- moving -----------------------------------------------------------------------------------

    def complete_human_task(self, workflow: BpmnWorkflow, task_id: str, data: dict[str, Any]) -> None:
        task = self._task(workflow, task_id)
        if task.state != TaskState.READY or not task.task_spec.manual:
            raise InvalidAction(f"task {task_id} is not waiting for a person (state {TaskState.get_name(task.state)})")
        task.data.update(data)
        remember_completion(task)
        self._run(task)
        self.advance(workflow)

    def finish_items(self, workflow: BpmnWorkflow, task_id: str, results: list[tuple[Any, dict[str, Any]]]) -> None:
        """Hand back every item's result of an external multi-instance task and move on."""
        task = self._task(workflow, task_id)
        spec = task.task_spec
        if not isinstance(spec, ExternalParallelMultiInstanceTask) or task.state != TaskState.STARTED:
            raise InvalidAction(f"task {task_id} is not a running multi-instance activity")
        self._guarded(lambda: spec.finish_external(task, results), task)
        self.advance(workflow)

    def fire_timers(self, workflow: BpmnWorkflow) -> None:
        self._guarded(workflow.refresh_timers, None)
        self.advance(workflow)

    def deliver_message(self, workflow: BpmnWorkflow, task_id: str, payload: dict[str, Any], *,
                        omit: Collection[str] = ()) -> None:
        """Give a message or signal to the catching task ``task_id`` (found by the caller's correlation), or to
        the event sub-process start of that id (:func:`~engine.runtime.event_subprocesses.waiting_starts`).

        The whole payload goes with the event (SpiffWorkflow reads the correlation properties from it); the
        variables named in ``omit`` (read only to correlate) stay out of the receiver's data.
        """
        kept = {k: v for k, v in payload.items() if k not in omit}
        if self._guarded(lambda: start_waiting(workflow, task_id, payload, kept), None):
            self.advance(workflow)
            return
        task = self._task(workflow, task_id)
        definition = _waited_definition(task)
        if task.state != TaskState.WAITING or definition is None:
            raise InvalidAction(f"task {task_id} is not waiting for a message or signal")
        # A message matched by its key may lack the properties SpiffWorkflow reads again: they are the receiver's.
        own = {name: task.data[name] for name in property_names(definition)
               if name not in payload and name in task.data}
        event = BpmnEvent(definition, payload={**own, **payload}, correlations=dict(workflow.correlations))
        self._guarded(lambda: workflow.catch(event), task)
        if getattr(definition, "message_var", None) is None and isinstance(payload, dict):
            task.data.update(kept)
        self.advance(workflow)

    def waits_at_start(self, workflow: BpmnWorkflow, element_id: str) -> bool:
        """Whether a fresh workflow waits at start event ``element_id`` (not when a none start event ran first)."""
        return any(t.task_spec.bpmn_id == element_id and t.state == TaskState.WAITING for t in workflow.tasks.values())

    def deliver_start_event(self, workflow: BpmnWorkflow, element_id: str, event: Any) -> None:
        """Start a fresh workflow through its start event ``element_id`` with a message or signal thrown elsewhere."""
        start = _waiting_start(workflow, element_id)
        definition = _waited_definition(start)
        self._guarded(lambda: workflow.catch(BpmnEvent(definition, payload=event.payload)), start)
        if isinstance(event.payload, dict) and getattr(definition, "message_var", None) is None:
            start.data.update(event.payload)
        self.advance(workflow)

    def start_with_event(self, workflow: BpmnWorkflow, element_id: str, event: Any) -> None:
        """Start a fresh workflow that also has a none start event through its start event ``element_id``: the
        other start events are cancelled and the event caught before the workflow first moves, as spiff-arena
        starts such a process by a message. Call instead of :meth:`advance` on a new workflow."""
        starts = workflow.get_tasks(spec_class=StartEventMixin)
        start = next((t for t in starts if t.task_spec.bpmn_id == element_id), None)
        definition = _waited_definition(start) if start is not None else None
        if start is None or definition is None:
            raise InvalidAction(f"the process has no message or signal start event {element_id}")
        for other in starts:
            if other is not start:
                other.cancel()
        self._guarded(lambda: definition.catch(start, BpmnEvent(definition, payload=event.payload)), start)
        if isinstance(event.payload, dict) and getattr(definition, "message_var", None) is None:
            start.data.update(event.payload)
        self.advance(workflow)

    def fire_start_timer(self, workflow: BpmnWorkflow, element_id: str) -> None:
        """Run a fresh workflow through its timer start event ``element_id``: the scheduler says it is due.

        Call instead of :meth:`advance` on a new workflow. The timer is marked fired before the workflow
        first moves, so SpiffWorkflow never reads the value itself (it takes a zone-less time as UTC, and
        runs a cycle's occurrences inside one instance; here each occurrence is an instance of its own).
        """
        start = next((t for t in workflow.tasks.values() if t.task_spec.bpmn_id == element_id), None)
        definition = getattr(start.task_spec, "event_definition", None) if start is not None else None
        timer = next((d for d in getattr(definition, "event_definitions", None) or [definition]
                      if isinstance(d, TimerEventDefinition)), None)
        if start is None or timer is None:
            raise InvalidAction(f"the process has no timer start event {element_id}")

        def mark_fired() -> None:
            start._set_internal_data(event_fired=True)
            if isinstance(timer, CycleTimerEventDefinition) and not start.children:
                for output in start.task_spec.outputs:  # what SpiffWorkflow's cycle adds on each occurrence
                    child = start._add_child(output, TaskState.FUTURE)
                    child.task_spec._predict(child, mask=TaskState.NOT_FINISHED_MASK)

        self._guarded(mark_fired, start)
        self.advance(workflow)

    def advance(self, workflow: BpmnWorkflow) -> None:
        """Run every READY engine task, deepest subprocess first, until only waiting work is left."""
        while True:
            ran = self._close_settled_urges(workflow)
            ran = self._run_caught_boundary_events(workflow) or ran
            before = len(workflow.subprocesses)
            for sub in sorted(workflow.get_active_subprocesses(), key=lambda s: s.depth, reverse=True):
                while self._run_ready(sub, yield_to_boundaries=True):
                    ran = True
                    if self._run_caught_boundary_events(workflow):
                        break
                parent = workflow.get_task_from_id(sub.parent_task_id) if sub.parent_task_id is not None else None
                if parent is not None and not parent.has_state(TaskState.FINISHED_MASK):  # a compensating one is done
                    self._guarded(lambda p=parent: p.task_spec._update(p), parent)
            ran = self._run_ready(workflow) or ran
            if not ran and len(workflow.subprocesses) == before:
                break
        self._guarded(lambda: close_compensated_scopes(workflow), None)
        self._guarded(workflow.refresh_timers, None)
        if self._run_ready(workflow):
            self.advance(workflow)
            return
        self._check_depth(workflow)

    def _start_conditional_event_subprocesses(self, task: Task) -> None:
        """Start the event sub-processes whose conditions ``task`` has made true, interrupting their scopes if so."""
        started = self._guarded(lambda: start_conditional_event_subprocesses(task), task)
        manager = task.workflow.top_workflow.event_manager
        if started and isinstance(manager, ScopedEventManager):
            self._guarded(manager.apply_interrupts, task)

    def _close_settled_urges(self, workflow: BpmnWorkflow) -> bool:
        """Cancel escalations whose chased work is done, noting why (see :mod:`engine.runtime.settled_urges`)."""
        closed = self._guarded(lambda: close_settled_urges(workflow), None)
        noted = getattr(workflow, "closed_tasks", None)
        if closed and noted is not None:
            noted.update(closed)
        return bool(closed)

    def _run_ready(self, workflow: Any, *, yield_to_boundaries: bool = False) -> bool:
        ran = False
        for task in list(workflow.tasks.values()):
            if task.state == TaskState.READY and not task.task_spec.manual and _held_kind(task) is None \
                    and not _waits_for_compensation(task):
                self._run(task)
                ran = True
                if yield_to_boundaries and isinstance(task.task_spec, ThrowingEvent) \
                        and _caught_boundary_events(workflow.top_workflow):
                    break  # an event thrown in here was caught on the border: let it interrupt first
        return ran

    def _run_throwing_errors(self, task: Task) -> None:
        """Run ``task``; a script's ``throw_error(code)`` becomes the BPMN error ``code`` thrown from it."""
        try:
            task.run()
        except SpiffWorkflowException as err:
            thrown = _bpmn_error_in(err)
            if thrown is None:
                raise
            event = BpmnEvent(ErrorEventDefinition(thrown.code, code=thrown.code), payload=dict(task.data),
                              target=task.workflow)
            if not task.workflow.top_workflow.event_manager.catch(event, internal=False):
                raise Incident(f"the script threw BPMN error {thrown.code} and nothing catches it",
                               _element_id(task), kind="uncaught_error") from err
            task.cancel()  # the task ended in error: what would have followed it is cancelled

    def _run_caught_boundary_events(self, workflow: BpmnWorkflow) -> bool:
        """Run boundary events that have caught something, before the activity they sit on goes on."""
        caught = _caught_boundary_events(workflow)
        for task in caught:
            if task.state == TaskState.READY:
                self._run(task)
        return bool(caught)

    def _run(self, task: Task) -> None:
        manager = task.workflow.top_workflow.event_manager
        if isinstance(manager, ScopedEventManager):
            manager.running = task
            try:
                self._guarded(lambda: self._run_throwing_errors(task), task)
            finally:
                manager.running = None
            self._guarded(manager.apply_interrupts, task)
        else:
            self._guarded(task.run, task)
        self._start_conditional_event_subprocesses(task)  # its data may have changed
        element_id = task.task_spec.bpmn_id
        # A loop or multi-instance wrapper shares its element id with the instances that do the work.
        if element_id is not None and task.state == TaskState.COMPLETED and not isinstance(task.task_spec, LoopTask):
            completed = getattr(task.workflow.top_workflow, "completed_elements", None)
            if completed is not None:
                completed.append(element_id)

    def _guarded(self, action: Any, task: Task | None) -> Any:
        try:
            return action()
        except SpiffWorkflowException as err:
            failing = getattr(err, "task", None) or task
            raise Incident(_describe(err), _element_id(failing)) from err
        except Exception as err:
            raise Incident(f"{type(err).__name__}: {err}", _element_id(task)) from err

    def _check_depth(self, workflow: BpmnWorkflow) -> None:
        if len(workflow.tasks) < SPIFF_MAX_DEPTH:
            return
        for task in workflow.tasks.values():
            waiting = task.state & TaskState.NOT_FINISHED_MASK and task.state != TaskState.FUTURE
            if waiting and _depth(task) >= SPIFF_MAX_DEPTH:
                raise Incident(
                    f"the task tree is deeper than {SPIFF_MAX_DEPTH} levels (a loop ran too many times); "
                    "SpiffWorkflow would lose track of this task and report the instance complete",
                    _element_id(task), kind="tree_too_deep")

    # -- reading ----------------------------------------------------------------------------------

    def open_work(self, workflow: BpmnWorkflow, *, check_completion: bool = True) -> OpenWork:
        """What the instance waits for now; external item lists are taken out of the tree as they are read.

        Raises :class:`Incident` when SpiffWorkflow claims completion while tasks are still open.
        """
        work = OpenWork(completed=self.is_completed(workflow) if check_completion else False)
        for task in _all_tasks(workflow):
            spec = task.task_spec
            state = task.state
            if state == TaskState.READY and spec.manual:
                work.human[str(task.id)] = HumanWork(str(task.id), spec.bpmn_id, spec.bpmn_name or spec.bpmn_id,
                                                     spec.lane, self._properties(task, spec),
                                                     lane_owners_of(task.data, spec.lane))
            elif state == TaskState.STARTED and isinstance(spec, ExternalParallelMultiInstanceTask) \
                    and EXTERNAL_PENDING in task.internal_data:
                work.item_parents.add(str(task.id))
                items = task.internal_data.pop(EXTERNAL_ITEMS, None)
                if items is not None:
                    child = task.workflow.spec.task_specs[spec.task_spec]
                    each = [self._item(task, spec, child, key, item) for key, item in items]
                    shared = next((own for _, _, own in each if own is not None), None)  # the group's, by item one
                    lane = spec.lane or child.lane  # SpiffWorkflow gives the lane to the items' spec
                    work.new_items.append(ItemsWork(
                        str(task.id), spec.bpmn_id, child.bpmn_name or spec.bpmn_name or spec.bpmn_id,
                        lane, shared if shared is not None else self._properties(task, child) if each else {},
                        each, lane_owners_of(task.data, lane)))
            elif state == TaskState.WAITING and isinstance(spec, CatchingEvent):
                self._read_wait(task, work)
            elif state == TaskState.READY and (kind := _held_kind(task)) is not None:
                payload = self._guarded(lambda t=task: _service_call(t), task) if kind != "continuation" else {}
                due = self._guarded(lambda t=task: self._busy_until(t), task)
                work.held[str(task.id)] = HeldWork(str(task.id), spec.bpmn_id, kind, payload, due)
        for waiting in waiting_starts(workflow):
            work.messages[waiting.task_id] = self._start_wait(waiting.task_id, waiting.start, waiting.definition)
        return work

    def _busy_until(self, task: Task) -> datetime | None:
        """When an activity with a ``duration`` is done: that long after the engine's clock first found it reached
        (noted on the task, so that reading the instance again does not move it)."""
        duration = activity_duration(task.task_spec)
        if duration is None:
            return None
        if not is_duration(duration):
            raise ValueError(f"the duration '{duration}' is not an ISO 8601 duration such as PT10S")
        since = task.internal_data.setdefault(BUSY_SINCE, self.clock.now().isoformat())
        return due_from(duration, datetime.fromisoformat(since))

    def retry_failed(self, workflow: BpmnWorkflow, data: dict[str, Any]) -> int:
        """Run again every task that failed (with ``data`` added to it, the fix), and move on; how many were retried."""
        failed = [t for t in workflow.get_tasks(state=TaskState.ERROR)]
        for task in failed:
            task.data.update(data)
            task._set_state(TaskState.READY)
        self.advance(workflow)
        return len(failed)

    def hold_back(self, workflow: BpmnWorkflow, task_id: str) -> None:
        """Put a waiting human task in error: it cannot be offered as its data says (``lane_owners`` names people
        the directory does not know), so it waits for the incident's retry, which may bring corrected data."""
        task = self._task(workflow, task_id)
        if task.state == TaskState.READY and task.task_spec.manual:
            task._set_state(TaskState.ERROR)

    def holds(self, workflow: BpmnWorkflow, task_id: str) -> bool:
        """Whether task ``task_id`` still waits for its job (an interrupt may have ended it meanwhile)."""
        task = workflow.get_task_from_id(UUID(task_id)) if _is_uuid(task_id) else None
        return task is not None and task.state == TaskState.READY and _held_kind(task) is not None

    def release(self, workflow: BpmnWorkflow, task_id: str, result: Any = None) -> None:
        """Run a held task now that its job ran (with the service's ``result``), and move on from it."""
        task = self._task(workflow, task_id)
        kind = _held_kind(task) if task.state == TaskState.READY else None
        if kind is None:
            raise InvalidAction(f"task {task_id} is not waiting for a job (state {TaskState.get_name(task.state)})")
        task.internal_data[RELEASED] = True
        if kind in ("service", "fanout"):
            task.internal_data[SERVICE_RESULT] = result
        self.advance(workflow)

    def catches_error(self, workflow: BpmnWorkflow, task_id: str, code: str) -> bool:
        """Whether an element in reach of task ``task_id`` catches BPMN error ``code`` (:mod:`.thrown_errors`)."""
        return bool(error_catchers(workflow, self._task(workflow, task_id), code)[1])

    def throw_error(self, workflow: BpmnWorkflow, task_id: str, code: str, payload: dict[str, Any]) -> None:
        """Throw BPMN error ``code`` with ``payload`` from task ``task_id`` (a held service task whose connector
        failed) to the element that catches it, and move on."""
        event, catchers = error_catchers(workflow, self._task(workflow, task_id), code, payload)
        if not catchers:
            raise InvalidAction(f"nothing catches error '{code}' thrown at task {task_id}")
        workflow.catch(event)
        self.advance(workflow)

    def _read_wait(self, task: Task, work: OpenWork) -> None:
        spec = task.task_spec
        definitions = getattr(spec.event_definition, "event_definitions", None) or [spec.event_definition]
        for definition in definitions:
            if isinstance(definition, TimerEventDefinition):
                due = _timer_due(task)
                if due is not None:
                    work.timers[str(task.id)] = TimerWait(str(task.id), spec.bpmn_id, due)
            elif isinstance(definition, MessageEventDefinition | SignalEventDefinition):
                work.messages[str(task.id)] = self._event_wait(task, definition)

    @staticmethod
    def _start_wait(task_id: str, start: Any, definition: Any) -> EventWait:
        """What an event sub-process's start waits for; correlated like a start event (by business key)."""
        try:
            keyless, senders = catch_rules(start)
        except CorrelationError as err:
            raise Incident(str(err), start.bpmn_id, kind="correlation") from None
        kind = "message" if isinstance(definition, MessageEventDefinition) else "signal"
        return EventWait(task_id, start.bpmn_id, kind, definition.name, None, keyless, senders,
                         message_variables(start))

    def _event_wait(self, task: Task, definition: Any) -> EventWait:
        spec = task.task_spec
        try:
            keyless, senders = catch_rules(spec)
            established = {**task.workflow.top_workflow.correlations, **task.workflow.correlations}
            key = property_key(definition, self.script_engine.environment, task.data, established) \
                if isinstance(definition, MessageEventDefinition) and declares_properties(definition) else None
        except CorrelationError as err:
            raise Incident(str(err), _element_id(task), kind="correlation") from None
        kind = "message" if isinstance(definition, MessageEventDefinition) else "signal"
        return EventWait(str(task.id), spec.bpmn_id, kind, definition.name, key, keyless, senders,
                         message_variables(spec))

    def thrown_key(self, event: Any) -> str | None:
        """The key a thrown message carries by its own correlation properties (None: it has none declared)."""
        definition = event.event_definition
        if not declares_properties(definition):
            return None
        return property_key(definition, self.script_engine.environment,
                            event.payload if isinstance(event.payload, dict) else {})

    def payload_key(self, definition: Any, payload: dict[str, Any]) -> str | None:
        """The key a message from outside carries by the correlation properties ``definition`` declares, read from
        its ``payload`` (None: it declares none); CorrelationError when the payload does not give them."""
        if not declares_properties(definition):
            return None
        return property_key(definition, self.script_engine.environment, payload)

    @staticmethod
    def caught_message(compiled: CompiledProcess, element_id: str) -> Any:
        """The message definition the catching element ``element_id`` of a compiled process waits for (None: none)."""
        for spec in (compiled.spec, *compiled.subprocess_specs.values()):
            for task_spec in spec.task_specs.values():
                if getattr(task_spec, "bpmn_id", None) != element_id:
                    continue
                definition = getattr(task_spec, "event_definition", None)
                for candidate in getattr(definition, "event_definitions", None) or [definition]:
                    if isinstance(candidate, MessageEventDefinition):
                        return candidate
        return None

    @staticmethod
    def start_rules(compiled: CompiledProcess, element_id: str) -> tuple[bool, str]:
        """``(takes keyless messages, sender rule)`` of a start event of a compiled process."""
        return catch_rules(compiled.spec.task_specs.get(element_id))

    def _item(self, task: Task, spec: Any, child: Any, key: Any, item: Any) -> tuple[Any, dict, dict | None]:
        data = spec.item_data(item)
        if getattr(child, "prescript", None):
            self._guarded(lambda: run_item_script(task, child.prescript, data), task)
        raw = (getattr(child, "extensions", None) or {}).get("properties") or {}
        per_item = (any(is_expression(k, str(v)) for k, v in raw.items()) or "{" in str(raw.get("title", ""))) and data
        return key, data, self._properties(task, child, data) if per_item else None

    def _properties(self, task: Task, spec: Any, item: dict[str, Any] | None = None) -> dict[str, str]:
        """A task's ``spiffworkflow:properties``; a value starting with '=' is an expression on the task's data
        (and, for one item of a multi-instance task, on its item: ``=teacher["id"]``); a ``title`` is never one:
        its template's placeholders are filled from the same data, as text (see :mod:`.task_titles`)."""
        extensions = getattr(spec, "extensions", None) or {}
        properties = {}
        for name, value in (extensions.get("properties") or {}).items():
            value = str(value)
            if is_expression(name, value):
                result = self._guarded(lambda v=value: self.script_engine.evaluate(task, v[1:], item), task)
                value = ",".join(map(str, result)) if isinstance(result, list) else "" if result is None \
                    else str(result)
            elif name == "title":
                value = fill_from_data(value, item, task.data)
            if name == "dueDate" and value:
                self._guarded(lambda v=value: due_from(v, self.clock.now()), task)  # refuse a date nobody can read
            if name == "dueWorkingDays" and value and not (value.isdigit() and int(value) <= 3650):
                raise Incident(f"dueWorkingDays must be a whole number of days (0 to 3650), not '{value}'",
                               _element_id(task))
            properties[str(name)] = value
        return properties

    @staticmethod
    def is_completed(workflow: BpmnWorkflow) -> bool:
        if not workflow.completed:
            return False
        unfinished = [t for t in _all_tasks(workflow) if t.state & TaskState.DEFINITE_MASK]
        if unfinished:
            raise Incident("SpiffWorkflow reported the instance complete while tasks are still open",
                           _element_id(unfinished[0]), kind="false_completion")
        return True

    @staticmethod
    def was_caught(workflow: BpmnWorkflow, definition: Any) -> bool:
        """Whether a catch event for ``definition`` (same kind, same code) has completed in this instance.

        SpiffWorkflow also hands back errors and escalations that a level above the thrower caught
        (an event sub-process, a boundary event); this tells those apart from the really unhandled.
        """
        code = getattr(definition, "code", None)
        for task in _all_tasks(workflow):
            if task.state != TaskState.COMPLETED or not isinstance(task.task_spec, CatchingEvent):
                continue
            caught = getattr(task.task_spec, "event_definition", None)
            for each in getattr(caught, "event_definitions", None) or [caught]:
                if type(each) is type(definition) and getattr(each, "code", None) in (None, code):
                    return True
        return False

    @staticmethod
    def _task(workflow: BpmnWorkflow, task_id: str) -> Task:
        try:
            task = workflow.get_task_from_id(UUID(task_id))
        except (ValueError, SpiffWorkflowException):
            task = None
        if task is None:
            raise InvalidAction(f"task {task_id} does not belong to this instance")
        return task


def _bpmn_error_in(err: BaseException) -> BpmnErrorThrown | None:
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, BpmnErrorThrown):
            return seen
        seen = getattr(seen, "exception", None) or seen.__cause__ or seen.__context__
    return None


def _caught_boundary_events(workflow: BpmnWorkflow) -> list[Task]:
    """Boundary events that caught their event and may interrupt now (not while their activity compensates)."""
    return [t for t in _all_tasks(workflow) if t.state == TaskState.READY and isinstance(t.task_spec, BoundaryEvent)
            and not _waits_for_compensation(t)]


def _waits_for_compensation(task: Task) -> bool:
    """A caught boundary event whose activity is still running compensation handlers (a cancelled transaction), or
    a task after a compensation throw whose handlers are still running."""
    if isinstance(task.task_spec, BoundaryEvent):
        return compensating(task.workflow.top_workflow, task)
    return awaits_compensation(task)


def _waited_definition(task: Task) -> Any:
    """The message or signal definition a catching task waits for (looking inside multiple definitions)."""
    definition = getattr(task.task_spec, "event_definition", None)
    for candidate in getattr(definition, "event_definitions", None) or [definition]:
        if isinstance(candidate, MessageEventDefinition | SignalEventDefinition):
            return candidate
    return None


def _all_tasks(workflow: BpmnWorkflow) -> Iterator[Task]:
    yield from workflow.tasks.values()
    for sub in workflow.subprocesses.values():
        yield from sub.tasks.values()


def _depth(task: Task) -> int:
    depth = 0
    while task.parent is not None:
        task = task.parent
        depth += 1
    return depth


def _is_uuid(text: str) -> bool:
    try:
        UUID(text)
    except (ValueError, TypeError):
        return False
    return True


#: The task data variable that names a lane's people, as spiff-arena writes it: ``{"Finance": ["alice", "bob"]}``.
LANE_OWNERS = "lane_owners"


def lane_owners_of(data: Any, lane: str | None) -> Any:
    """``data["lane_owners"][lane]`` as the task's data has it (unchecked); None when it names no people for it.

    ``lane_owners`` that is not an object is returned whole, for the engine to refuse it as it would a bad entry.
    """
    if not lane or not isinstance(data, dict) or LANE_OWNERS not in data:
        return None
    owners = data[LANE_OWNERS]
    if owners is None:
        return None
    if not isinstance(owners, dict):
        return owners
    return owners.get(lane)


#: The service-task operator the engine runs itself: one child instance per org unit.
FAN_OUT = "fan_out"
#: Marks a held task whose job ran: the engine may run it now.
RELEASED = "huhua_released"
#: When the engine's clock found an activity with a ``duration`` reached (ISO 8601).
BUSY_SINCE = "huhua_busy_since"
#: The property giving how long an activity's work takes on the engine's clock (an ISO 8601 duration).
DURATION = "duration"
_TRUE = ("true", "yes", "1")


def activity_duration(spec: Any) -> str | None:
    """The ``duration`` property of an activity (``PT10S``): its work takes that long on the engine's clock."""
    if isinstance(spec, LoopTask):
        return None  # each instance takes it, not the loop around them
    properties = (getattr(spec, "extensions", None) or {}).get("properties") or {}
    value = str(properties.get(DURATION) or "").strip()
    return value or None


def _held_kind(task: Task) -> str | None:
    """``service`` for a service task, ``continuation`` for an activity marked ``async`` or taking a ``duration``
    (it goes on when its job runs: at once, or once the duration has passed); None to run it now."""
    if task.internal_data.get(RELEASED):
        return None
    spec = task.task_spec
    if isinstance(spec, SpiffServiceTask):
        return "fanout" if spec.operation_name == FAN_OUT else "service"
    properties = (getattr(spec, "extensions", None) or {}).get("properties") or {}
    if str(properties.get("async", "")).strip().lower() in _TRUE or activity_duration(spec) is not None:
        return "continuation"
    return None


def _service_call(task: Task) -> dict[str, Any]:
    """What a worker needs to call the service: the connector, its evaluated parameters, where the result goes."""
    spec = task.task_spec
    params = {name: value["value"] for name, value in spec.evaluate_params(task).items()}
    try:
        json.dumps(params)
    except (TypeError, ValueError) as err:
        raise ValueError(f"the service task's parameters must be JSON data: {err}") from None
    if spec.operation_name == FAN_OUT:
        _check_fan_out(params)
    return {"connector": spec.operation_name, "params": params, "result_variable": spec.result_variable}


def _check_fan_out(params: dict[str, Any]) -> None:
    """A fan-out names the child process, the unit kinds, and optionally the children's variables and a role."""
    if not isinstance(params.get("process"), str) or not params["process"]:
        raise ValueError("a fan_out task needs a 'process' parameter: the key of the child process")
    kinds = [k.strip() for k in str(params.get("for_each") or "").split(",") if k.strip()]
    if not kinds or any(k not in UNIT_KINDS for k in kinds):
        raise ValueError(f"a fan_out task's 'for_each' must name unit kinds ({', '.join(UNIT_KINDS)}), "
                         f"not '{params.get('for_each')}'")
    if not isinstance(params.get("variables", {}), dict):
        raise ValueError("a fan_out task's 'variables' must be a dict")
    for name in ("people", "collect"):
        if params.get(name) is not None and not isinstance(params[name], str):
            raise ValueError(f"a fan_out task's '{name}' must be a name")


def _waiting_start(workflow: BpmnWorkflow, element_id: str) -> Task:
    start = next((t for t in workflow.tasks.values() if t.task_spec.bpmn_id == element_id
                  and t.state == TaskState.WAITING), None)
    if start is None:
        raise InvalidAction(f"start event {element_id} is not waiting")
    return start


def _timer_due(task: Task) -> datetime | None:
    value = task.internal_data.get("event_value")
    if isinstance(value, dict):
        value = value.get("next") if value.get("cycles", 0) != 0 else None
    if not value:
        return None
    return parse_instant(value)


def _element_id(task: Task | None) -> str | None:
    return getattr(task.task_spec, "bpmn_id", None) if task is not None else None


def _describe(err: SpiffWorkflowException) -> str:
    text = str(err).strip() or type(err).__name__
    notes = [n for n in getattr(err, "notes", []) if n not in text]
    cause = err.__cause__ or getattr(err, "exception", None)
    if cause is not None and str(cause) not in text:
        text += f" ({type(cause).__name__}: {cause})"
    return " ".join([text, *notes])
