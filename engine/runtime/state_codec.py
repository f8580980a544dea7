"""Instance state to JSON and back, without the spec.

SpiffWorkflow's serializer embeds the whole process spec in every saved workflow. Specs are
immutable per deployed version and cached, so Huhua stores only the task tree and data and
re-attaches the cached spec on load: smaller rows, and no spec restoring on every command.

Events a workflow threw and did not catch itself (``bpmn_events``) are never stored: the command that
threw them routes them in its own transaction (:mod:`engine.commands.event_routing`), so a stored copy
could only be thrown again. States written before that rule may still hold some; they are ignored on load.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.serializer.helpers.encoder import create_encoder
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from engine.bpmn.parser import CompiledProcess
from engine.bpmn.task_specs import CLOCK_TIMER_BASES, ExternalParallelMultiInstanceTask
from engine.runtime.workflow import HuhuaWorkflow


class _SpeclessWorkflowConverter(BpmnWorkflowConverter):
    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = super(BpmnWorkflowConverter, self).to_dict(workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = []  # routed by the command that threw them, never kept (see the module docstring)
        return dct

    def from_dict(self, dct: dict[str, Any], compiled: CompiledProcess | None = None,
                  script_engine: Any = None) -> BpmnWorkflow:
        if compiled is None:
            raise ValueError("restoring an instance needs its compiled process")
        workflow = self.target_class(compiled.spec, compiled.subprocess_specs, script_engine=script_engine,
                                     deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = []  # an older state's events were routed when they were thrown
        return workflow


def _registry() -> Any:
    config = dict(SPIFF_CONFIG)
    del config[BpmnWorkflow]
    config[HuhuaWorkflow] = _SpeclessWorkflowConverter
    config[ExternalParallelMultiInstanceTask] = SPIFF_CONFIG[
        next(cls for cls in SPIFF_CONFIG if cls.__name__ == "ParallelMultiInstanceTask")]
    # An event-based gateway keeps the event that fired in the task tree: our clock-reading timers too.
    for clock_timer, timer in CLOCK_TIMER_BASES.items():
        config[clock_timer] = SPIFF_CONFIG[timer]
    return BpmnWorkflowSerializer.configure(config)


class StateCodec:
    """Encodes workflows as compact JSON strings, decodes them against a cached spec."""

    def __init__(self) -> None:
        self._serializer = BpmnWorkflowSerializer(_registry())
        self._encoder = create_encoder(self._serializer.registry, None)

    def dumps(self, workflow: BpmnWorkflow) -> str:
        return self._serializer.serialize_json(workflow)

    def loads(self, state: str, compiled: CompiledProcess, script_engine: Any) -> BpmnWorkflow:
        dct = json.loads(state)
        self._serializer.migrate(dct)
        return self._serializer.from_dict(dct, compiled=compiled, script_engine=script_engine)

    def data_dumps(self, data: dict[str, Any]) -> str:
        """Workflow data alone, as JSON (for the instance summary that queries read)."""
        registry = self._serializer.registry
        return json.dumps(registry.convert(registry.clean(data)), cls=self._encoder,
                          separators=(",", ":"), ensure_ascii=False)
