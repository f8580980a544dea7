"""Multi-instance behaviour ``None``, ``One`` and ``Complex``: events thrown as instances complete.

With ``behavior="None"`` every completed instance throws the event named by
``noneBehaviorEventRef``; with ``behavior="One"`` only the first does (``oneBehaviorEventRef``). A
signal thrown this way starts, for each completion, the path of the activity's boundary events that
catch it — without interrupting the multi-instance activity, which goes on with its other instances.

With ``behavior="Complex"`` each ``complexBehaviorDefinition`` is checked as an instance completes: when
its ``condition`` holds (evaluated on that instance's data), its ``event`` is thrown as above and, as BPMN
says of that condition, the remaining instances are cancelled and the activity completes (its outgoing
flow is taken).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from SpiffWorkflow.bpmn.specs.control import BoundaryEventJoin, BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.util.task import TaskState

_REF_ATTRIBUTE = {"None": "noneBehaviorEventRef", "One": "oneBehaviorEventRef"}
THROWN = "behaviour_event_thrown"
#: Set on the multi-instance activity when a complex behaviour's condition held: it completes now.
COMPLEX_COMPLETED = "complex_behaviour_completed"


def _throw_to_boundary(instance: Any, signal_name: str) -> None:
    """Start the path of each boundary event of the instance's activity that catches ``signal_name``."""
    split = instance.parent.parent
    if split is None or not isinstance(split.task_spec, BoundaryEventSplit):
        return
    for boundary in split.children:
        definition = getattr(boundary.task_spec, "event_definition", None)
        if isinstance(boundary.task_spec, BoundaryEvent) and isinstance(definition, SignalEventDefinition) \
                and definition.name == signal_name:
            for output in boundary.task_spec.outputs:
                if not isinstance(output, BoundaryEventJoin):
                    instance._add_child(output, TaskState.READY)


class BehaviourSignal:
    """Called as each instance of a multi-instance activity completes; throws its behaviour signal."""

    def __init__(self, behaviour: str, signal_name: str) -> None:
        self.behaviour = behaviour
        self.signal_name = signal_name

    def __call__(self, workflow: Any, instance: Any) -> None:
        activity = instance.parent
        if self.behaviour == "One" and activity.internal_data.get(THROWN):
            return
        activity.internal_data[THROWN] = True
        _throw_to_boundary(instance, self.signal_name)


class ComplexBehaviour:
    """Called as each instance completes: the first ``(condition, signal name)`` that holds throws its signal
    (if it names one) and completes the activity."""

    def __init__(self, definitions: list[tuple[str, str | None]]) -> None:
        self.definitions = definitions

    def __call__(self, workflow: Any, instance: Any) -> None:
        activity = instance.parent
        if activity.internal_data.get(COMPLEX_COMPLETED):
            return
        for condition, signal_name in self.definitions:
            if instance.workflow.script_engine.evaluate(instance, condition):
                activity.internal_data[COMPLEX_COMPLETED] = True
                if signal_name is not None:
                    _throw_to_boundary(instance, signal_name)
                return


@cache
def _completing_on_complex_behaviour(spec_class: type) -> type:
    """``spec_class`` (a multi-instance task spec) whose completion condition also holds once a complex
    behaviour's condition did: SpiffWorkflow then cancels the remaining instances and the activity completes."""

    def check_completion_condition(self: Any, my_task: Any) -> bool:
        return bool(my_task.internal_data.get(COMPLEX_COMPLETED)) \
            or bool(spec_class.check_completion_condition(self, my_task))

    return type(spec_class.__name__, (spec_class,), {"check_completion_condition": check_completion_condition})


class MultiInstanceBehaviourParser:
    """Mixin for task parsers: reads the behaviour of a multi-instance activity."""

    def _add_multiinstance_task(self, loop_characteristics: Any) -> None:
        super()._add_multiinstance_task(loop_characteristics)  # type: ignore[misc]
        behaviour = loop_characteristics.get("behavior", "All")
        instance_spec = self.spec.task_specs[self.task.task_spec]  # type: ignore[attr-defined]
        if behaviour == "Complex":
            definitions = [(self._condition_of(d), self._signal_name(d.find(_EVENT_SIGNAL, _NS)))
                           for d in loop_characteristics.findall("bpmn:complexBehaviorDefinition", _NS)]
            definitions = [(c, s) for c, s in definitions if c]
            if definitions:
                self.task.__class__ = _completing_on_complex_behaviour(type(self.task))  # type: ignore[attr-defined]
                self.task.complex_conditions = [c for c, _ in definitions]  # type: ignore[attr-defined]  # audited
                instance_spec.completed_event.connect(ComplexBehaviour(definitions))
            return
        ref = loop_characteristics.get(_REF_ATTRIBUTE[behaviour]) if behaviour in _REF_ATTRIBUTE else None
        if not ref:
            return
        found = self.doc_xpath(f".//bpmn:signalEventDefinition[@id='{ref}']")  # type: ignore[attr-defined]
        if not found:
            return
        instance_spec.completed_event.connect(BehaviourSignal(behaviour, self._signal_name(found[0])))

    @staticmethod
    def _condition_of(definition: Any) -> str:
        condition = definition.find("bpmn:condition", _NS)
        return (condition.text or "").strip() if condition is not None else ""

    def _signal_name(self, definition: Any) -> str | None:
        if definition is None:
            return None
        signal = self.doc_xpath(f".//bpmn:signal[@id='{definition.get('signalRef')}']")  # type: ignore[attr-defined]
        return signal[0].get("name") if signal else definition.get("signalRef")


_NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}
_EVENT_SIGNAL = "bpmn:event/bpmn:signalEventDefinition"
