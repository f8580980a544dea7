"""Moving a running workflow onto a newer version of its process, element by element (identity mapping).

An instance can move when every element it is at — each ready, waiting, started or failed task, in the
process and in every sub-process it is inside — exists in the target under the same id and as the same
kind of element. The task tree then keeps its task ids (so human tasks, claims and timer jobs keyed by
them stay valid) and its data. What the old version had predicted beyond the current tasks is dropped
and predicted again from the target's flows, so the instance continues on the new model; completed
steps the target no longer has are cut out of the tree (their history stays in the audit log).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine.bpmn.parser import CompiledProcess

#: Where an instance "is": the tasks that hold a token now.
AT = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR
#: Tasks the workflow only expects to reach: rebuilt from the target's flows.
UNREACHED = TaskState.FUTURE | TaskState.PREDICTED_MASK
_BOUNDARY_SPLIT = ".BoundaryEventSplit"


@dataclass
class Incompatibility:
    """One element the instance is at that the target cannot take over, and why."""

    element_id: str
    reason: str


@dataclass
class MigrationPlan:
    """The compatibility report: where the instance is, what stops it moving, and what differs."""

    at: list[str] = field(default_factory=list)
    problems: list[Incompatibility] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    #: Display names of the elements above (the target's name where both versions have one).
    names: dict[str, str] = field(default_factory=dict)

    @property
    def compatible(self) -> bool:
        return not self.problems


def plan_migration(workflow: BpmnWorkflow, target: CompiledProcess, target_label: str) -> MigrationPlan:
    """Check ``workflow`` against ``target``; ``target_label`` names the target in reasons ("version 2")."""
    plan = MigrationPlan()
    seen: set[tuple[str, str]] = set()
    owners = {t.id: t for scope in _scopes(workflow) for t in scope.tasks.values()}

    def refuse(element_id: str, reason: str) -> None:
        if (element_id, reason) not in seen:
            seen.add((element_id, reason))
            plan.problems.append(Incompatibility(element_id, reason))

    for scope in _scopes(workflow):
        target_spec = _target_spec(workflow, scope, target)
        if target_spec is None:
            owner = owners.get(scope.parent_task_id)
            refuse(_element(owner.task_spec) if owner is not None else scope.spec.name,
                   f"its sub-process '{scope.spec.name}' does not exist in {target_label}")
            continue
        for task in scope.tasks.values():
            if not task.has_state(AT):
                continue
            old = task.task_spec
            element = _element(old)
            if old.bpmn_id and element not in plan.at:
                plan.at.append(element)
            new = target_spec.task_specs.get(old.name)
            if new is None:
                refuse(element, f"the instance is at this element, and {target_label} has no element '{element}'")
            elif type(new) is not type(old):
                refuse(element, f"it is a {_kind(old)} here but a {_kind(new)} in {target_label}")
            else:
                reason = _changed_wait(task, new, target_label) or _changed_boundaries(scope.spec, target_spec,
                                                                                        old.name, target_label)
                if reason:
                    refuse(element, reason)
    source_ids, target_ids = _element_ids(workflow.spec, workflow.subprocess_specs), _element_ids(
        target.spec, target.subprocess_specs)
    plan.added = sorted(target_ids - source_ids)
    plan.removed = sorted(source_ids - target_ids)
    known = {**_names(workflow.spec, workflow.subprocess_specs), **_names(target.spec, target.subprocess_specs)}
    listed = {*plan.at, *plan.added, *plan.removed, *(p.element_id for p in plan.problems)}
    plan.names = {element: known[element] for element in sorted(listed) if element in known}
    return plan


def migrate_workflow(workflow: BpmnWorkflow, target: CompiledProcess) -> None:
    """Re-attach ``workflow`` to ``target``'s specs in place; call only with a compatible plan.

    Task ids and data are kept; unreached tasks are predicted again from the target's flows.
    """
    for scope in _scopes(workflow):
        target_spec = _target_spec(workflow, scope, target)
        if target_spec is None:
            raise ValueError(f"sub-process '{scope.spec.name}' is not in the target")
        # What each current task expected next, and in which state, before those guesses are dropped.
        expected: dict[UUID, dict[str, int]] = {}
        for task in list(scope.tasks.values()):
            if task.id in scope.tasks and task.has_state(AT):
                for child in list(task.children):
                    if child.has_state(UNREACHED):
                        expected.setdefault(task.id, {})[child.task_spec.name] = child.state
                        scope._remove_task(child.id)
        for task in list(scope.tasks.values()):
            if task.id not in scope.tasks or task.task_spec.name in target_spec.task_specs:
                continue
            if task.has_state(AT):
                raise ValueError(f"task {task.id} is at '{task.task_spec.name}', which the target lacks")
            if task.has_state(UNREACHED):
                scope._remove_task(task.id)
            else:
                _cut_out(scope, task)
        scope.spec = target_spec
        for task in scope.tasks.values():
            task.task_spec = target_spec.task_specs[task.task_spec.name]
        for task_id, states in expected.items():
            _predict_again(scope.tasks[task_id], states)
    workflow.subprocess_specs = target.subprocess_specs


def element_names(target: CompiledProcess) -> dict[str, str]:
    """Element id to display name over the target's process and sub-processes (for the task index)."""
    return _names(target.spec, target.subprocess_specs)


def _names(spec: Any, subprocess_specs: dict[str, Any]) -> dict[str, str]:
    names: dict[str, str] = {}
    for process in [spec, *subprocess_specs.values()]:
        for task_spec in process.task_specs.values():
            if getattr(task_spec, "bpmn_id", None) and getattr(task_spec, "bpmn_name", None):
                names.setdefault(task_spec.bpmn_id, task_spec.bpmn_name)
    return names


def _scopes(workflow: BpmnWorkflow) -> list[Any]:
    return [workflow, *workflow.subprocesses.values()]


def _target_spec(workflow: BpmnWorkflow, scope: Any, target: CompiledProcess) -> Any:
    return target.spec if scope is workflow else target.subprocess_specs.get(scope.spec.name)


def _element(spec: Any) -> str:
    return str(getattr(spec, "bpmn_id", None) or spec.name)


def _kind(spec: Any) -> str:
    return type(spec).__name__


def _element_ids(spec: Any, subprocess_specs: dict[str, Any]) -> set[str]:
    return {s.bpmn_id for process in [spec, *subprocess_specs.values()] for s in process.task_specs.values()
            if getattr(s, "bpmn_id", None)}


def _changed_wait(task: Task, new: Any, target_label: str) -> str | None:
    """A waiting catch event must wait for the same message or signal in the target."""
    if not (task.state == TaskState.WAITING and isinstance(new, CatchingEvent)):
        return None
    old_names, new_names = _waited_names(task.task_spec), _waited_names(new)
    if old_names != new_names:
        return (f"it waits for {', '.join(old_names) or 'no named event'} here but for "
                f"{', '.join(new_names) or 'no named event'} in {target_label}")
    return None


def _waited_names(spec: Any) -> list[str]:
    definition = getattr(spec, "event_definition", None)
    definitions = getattr(definition, "event_definitions", None) or [definition]
    return sorted(f"{type(d).__name__.removesuffix('EventDefinition').lower()} '{d.name}'"
                  for d in definitions if getattr(d, "name", None))


def _changed_boundaries(source: Any, target: Any, name: str, target_label: str) -> str | None:
    """The boundary events around a current activity were set up when it began: they must stay the same."""
    old, new = _boundaries(source, name), _boundaries(target, name)
    if old == new:
        return None
    return (f"its boundary events are {', '.join(old) or 'none'} here but {', '.join(new) or 'none'} in "
            f"{target_label}; migrate after it has finished")


def _boundaries(process_spec: Any, name: str) -> list[str]:
    split = process_spec.task_specs.get(name + _BOUNDARY_SPLIT)
    if split is None:
        return []
    return sorted(_element(s) for s in split.outputs if s.name != name)


def _cut_out(scope: Any, task: Task) -> None:
    """Remove a finished task whose element the target dropped, joining its children to its parent."""
    parent = task.parent
    if parent is None:
        raise ValueError(f"the root task '{task.task_spec.name}' has no counterpart in the target")
    children = list(task._children)
    position = parent._children.index(task.id)
    parent._children[position:position + 1] = children
    for child_id in children:
        scope.tasks[child_id]._parent = parent.id
    del scope.tasks[task.id]
    if scope.last_task is task:
        scope.last_task = parent


def _predict_again(task: Task, expected: dict[str, int]) -> None:
    """Predict what follows ``task`` on the target's flows, keeping the states of successors that remain."""
    spec = task.task_spec
    if not task.children and task.has_state(TaskState.DEFINITE_MASK):
        spec._predict_hook(task)
    elif not task.children:  # a failed task: what follows stays a guess until it is retried
        task._sync_children(list(spec.outputs), TaskState.MAYBE)
    else:
        present = [child.task_spec for child in task.children]
        for output in spec.outputs:
            if output not in present:
                task._add_child(output, TaskState.FUTURE)
    for child in task.children:
        if child.has_state(UNREACHED):
            if child.task_spec.name in expected:
                child._set_state(expected[child.task_spec.name])
            child.task_spec._predict(child, mask=UNREACHED)
