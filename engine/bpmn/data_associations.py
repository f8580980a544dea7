"""Data associations that map a task's own data inputs and outputs to data objects.

SpiffWorkflow reads a data object into task data under the data object's own id, and writes back
whatever task data holds under that id, ignoring the other end of the association. BPMN maps the
two ends: a ``dataInputAssociation`` copies the data object into the named ``dataInput`` and a
``dataOutputAssociation`` copies the named ``dataOutput`` into the data object. An association whose target is
the ``__targetRef_placeholder`` property that bpmn-js and spiff-arena's modeler draw (no input of the task's own)
reads the data object under its own id, as SpiffWorkflow does.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.specs.data_spec import DataObject


class MappedDataInput:
    """Reads a data object into the task data under the name of the task's data input."""

    def __init__(self, data_object: DataObject, target: str) -> None:
        self.data_object = data_object
        self.target = target
        self.bpmn_id = data_object.bpmn_id

    def get(self, my_task: Any) -> None:
        self.data_object.get(my_task)
        my_task.data[self.target] = my_task.data.pop(self.bpmn_id)

    def delete(self, my_task: Any) -> None:
        my_task.data.pop(self.target, None)


class MappedDataOutput:
    """Writes the task's data output into a data object."""

    def __init__(self, data_object: DataObject, source: str) -> None:
        self.data_object = data_object
        self.source = source
        self.bpmn_id = data_object.bpmn_id

    def set(self, my_task: Any) -> None:
        if self.source in my_task.data:
            my_task.data[self.bpmn_id] = my_task.data[self.source]
        self.data_object.set(my_task)

    def delete(self, my_task: Any) -> None:
        self.data_object.delete(my_task)


class DataAssociationsParser:
    """Mixin for task parsers: data associations honour both their ends."""

    def parse_incoming_data_references(self) -> list[Any]:
        specs = super().parse_incoming_data_references()  # type: ignore[misc]
        targets = [a.findtext("{*}targetRef") for a in self.xpath("./bpmn:dataInputAssociation")]  # type: ignore
        placeholders = {p.get("id") for p in self.xpath("./bpmn:property[@name='__targetRef_placeholder']")}  # type: ignore
        return [MappedDataInput(spec, target.strip())
                if isinstance(spec, DataObject) and target and target.strip() not in placeholders else spec
                for spec, target in zip(specs, targets, strict=False)]

    def parse_outgoing_data_references(self) -> list[Any]:
        specs = super().parse_outgoing_data_references()  # type: ignore[misc]
        sources = [a.findtext("{*}sourceRef") for a in self.xpath("./bpmn:dataOutputAssociation")]  # type: ignore
        return [MappedDataOutput(spec, source.strip()) if isinstance(spec, DataObject) and source else spec
                for spec, source in zip(specs, sources, strict=False)]
