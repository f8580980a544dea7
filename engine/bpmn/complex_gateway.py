"""The complex gateway, which SpiffWorkflow refuses to parse.

Diverging, it behaves as an inclusive gateway: a token on every flow whose condition holds, the
default when none does. Converging, it fires as soon as its ``activationCondition`` holds for the
number of tokens that have arrived (``activationCount``), once per round: tokens of the same round
that arrive after it fired are absorbed. Without an activation condition it waits like an
inclusive gateway for every token that can still arrive.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.parser.task_parsers import ConditionalGatewayParser
from SpiffWorkflow.bpmn.specs.defaults import InclusiveGateway
from SpiffWorkflow.util.task import TaskState


class ComplexGateway(InclusiveGateway):
    def __init__(self, wf_spec: Any, bpmn_id: str, activation_condition: str | None = None, **kwargs: Any) -> None:
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.activation_condition = activation_condition

    def _joins(self) -> bool:
        return len(self.inputs) > 1 or self.activation_condition is not None

    def _update_hook(self, my_task: Any) -> Any:
        if self._joins() and self._fired_this_round(my_task):
            my_task.cancel()  # a late token of a round that has already gone on
            return False
        return super()._update_hook(my_task)

    def _check_threshold_unstructured(self, my_task: Any) -> bool:
        if not self._joins():
            return True
        if self.activation_condition is None:
            return super()._check_threshold_unstructured(my_task)
        count = len(self._arrived(my_task))
        return bool(my_task.workflow.script_engine.evaluate(
            my_task, self.activation_condition, external_context={"activationCount": count}))

    def _arrived(self, my_task: Any) -> list[Any]:
        ancestors = _ancestors(my_task)
        return [t for t in my_task.workflow.tasks.values()
                if t.task_spec is self and t.parent is not None and t.parent.state == TaskState.COMPLETED
                and t.state != TaskState.COMPLETED and id(t) not in ancestors]

    def _fired_this_round(self, my_task: Any) -> bool:
        ancestors = _ancestors(my_task)
        return any(t is not my_task and t.task_spec is self and t.state in (TaskState.READY, TaskState.COMPLETED)
                   and id(t) not in ancestors for t in my_task.workflow.tasks.values())


def _ancestors(task: Any) -> set[int]:
    found = set()
    while task.parent is not None:
        task = task.parent
        found.add(id(task))
    return found


class ComplexGatewayParser(ConditionalGatewayParser):
    def create_task(self) -> Any:
        condition = self.xpath("./bpmn:activationCondition")
        text = condition[0].text.strip() if condition and condition[0].text else None
        return self.spec_class(self.spec, self.bpmn_id, activation_condition=text, **self.bpmn_attributes)
