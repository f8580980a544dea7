"""Multi-instance behaviour ``None`` and ``One``: events thrown as instances complete.

With ``behavior="None"`` every completed instance throws the event named by
``noneBehaviorEventRef``; with ``behavior="One"`` only the first does (``oneBehaviorEventRef``). A
signal thrown this way starts, for each completion, the path of the activity's boundary events that
catch it — without interrupting the multi-instance activity, which goes on with its other instances.
(``Complex`` behaviour is not implemented; such models run as ``All``.)
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.specs.control import BoundaryEventJoin, BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.util.task import TaskState

_REF_ATTRIBUTE = {"None": "noneBehaviorEventRef", "One": "oneBehaviorEventRef"}
THROWN = "behaviour_event_thrown"


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
        split = activity.parent
        if split is None or not isinstance(split.task_spec, BoundaryEventSplit):
            return
        for boundary in split.children:
            definition = getattr(boundary.task_spec, "event_definition", None)
            if isinstance(boundary.task_spec, BoundaryEvent) and isinstance(definition, SignalEventDefinition) \
                    and definition.name == self.signal_name:
                for output in boundary.task_spec.outputs:
                    if not isinstance(output, BoundaryEventJoin):
                        instance._add_child(output, TaskState.READY)


class MultiInstanceBehaviourParser:
    """Mixin for task parsers: reads the behaviour of a multi-instance activity."""

    def _add_multiinstance_task(self, loop_characteristics: Any) -> None:
        super()._add_multiinstance_task(loop_characteristics)  # type: ignore[misc]
        behaviour = loop_characteristics.get("behavior", "All")
        ref = loop_characteristics.get(_REF_ATTRIBUTE[behaviour]) if behaviour in _REF_ATTRIBUTE else None
        if not ref:
            return
        found = self.doc_xpath(f".//bpmn:signalEventDefinition[@id='{ref}']")  # type: ignore[attr-defined]
        if not found:
            return
        signal = self.doc_xpath(f".//bpmn:signal[@id='{found[0].get('signalRef')}']")  # type: ignore[attr-defined]
        name = signal[0].get("name") if signal else found[0].get("signalRef")
        instance_spec = self.spec.task_specs[self.task.task_spec]  # type: ignore[attr-defined]
        instance_spec.completed_event.connect(BehaviourSignal(behaviour, name))
