"""Outgoing sequence flows of activities: several of them, and conditional ones.

BPMN lets any activity have more than one outgoing flow (each unconditional flow gets a token, an
implicit parallel split) and conditional flows (a token where the condition holds, the default flow
when none does). SpiffWorkflow only allows this on gateways. Huhua's task parsers put a hidden split
spec behind such an activity; the spec has no BPMN id, so it never shows in the activity history.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.bpmn_task_spec import BpmnTaskSpec
from SpiffWorkflow.specs.base import TaskSpec
from SpiffWorkflow.specs.MultiChoice import MultiChoice
from SpiffWorkflow.util.task import TaskState


class ActivitySplit(MultiChoice, BpmnTaskSpec):
    """Takes every unconditional flow and every flow whose condition holds; the default when none holds."""

    def __init__(self, wf_spec: Any, name: str, **kwargs: Any) -> None:
        super().__init__(wf_spec, name, **kwargs)
        self.default_task_spec: str | None = None

    def connect_default(self, task_spec: Any) -> None:
        TaskSpec.connect(self, task_spec)  # an output, but not one of the conditional choices
        self.default_task_spec = task_spec.name

    def _predict_hook(self, my_task: Any) -> None:
        super()._predict_hook(my_task)
        if self.default_task_spec is not None:
            my_task._add_child(my_task.workflow.spec.get_task_spec_from_name(self.default_task_spec),
                               TaskState.MAYBE)

    def _run_hook(self, my_task: Any) -> bool:
        matches, unconditional = self._get_matching_outputs(my_task)
        chosen = unconditional + matches
        conditional = any(condition is not None for condition, _ in self.cond_task_specs)
        if conditional and not matches and self.default_task_spec is not None:
            chosen.append(my_task.workflow.spec.get_task_spec_from_name(self.default_task_spec))
        if not chosen:
            raise WorkflowTaskException("no outgoing flow's condition holds and there is no default flow",
                                        task=my_task)
        my_task._sync_children(chosen, TaskState.FUTURE)
        for child in my_task.children:
            child.task_spec._predict(child, mask=TaskState.FUTURE | TaskState.PREDICTED_MASK)
        return True


class OutgoingFlowsParser:
    """Mixin for task parsers: an activity with several or conditional outgoing flows gets an ActivitySplit."""

    task: Any
    spec: Any
    bpmn_id: str
    process_parser: Any
    node: Any

    def handles_multiple_outgoing(self) -> bool:
        return True

    def connect_outgoing(self, outgoing_task: Any, sequence_flow_node: Any, is_default: bool) -> None:
        if not self._needs_split():
            super().connect_outgoing(outgoing_task, sequence_flow_node, is_default)  # type: ignore[misc]
            return
        split = self._split()
        condition = self.parse_condition(sequence_flow_node)  # type: ignore[attr-defined]
        if is_default:
            split.connect_default(outgoing_task)
        else:
            split.connect_outgoing_if(condition, outgoing_task)

    def _needs_split(self) -> bool:
        outgoing = self.process_parser.get_outgoing_sequence_flows(self.bpmn_id)
        return len(outgoing) > 1 or any(self.parse_condition(flow) is not None  # type: ignore[attr-defined]
                                        for flow in outgoing)

    def _split(self) -> ActivitySplit:
        name = f"{self.bpmn_id}.OutgoingFlows"
        split = self.spec.task_specs.get(name)
        if split is None:
            split = ActivitySplit(self.spec, name, lane=self.task.lane, description="Outgoing flows")
            self.task.connect(split)
        return split
