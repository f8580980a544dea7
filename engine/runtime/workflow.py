"""Huhua's workflow class: SpiffWorkflow's BpmnWorkflow with a flat walk over waiting tasks."""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine.runtime.event_subprocesses import ScopedEventManager


class HuhuaWorkflow(BpmnWorkflow):
    """A BpmnWorkflow that notes the BPMN elements it completes, and finds waiting tasks in its task map.

    SpiffWorkflow refreshes every WAITING task after each task completes, walking the tree with an
    iterator that stops at depth 1000. The task map holds the same tasks: reading it is faster
    (about 15% of a short instance's run) and sees waiting tasks at any depth.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.event_manager = ScopedEventManager(self, self.event_manager)
        #: Element ids completed since the workflow was loaded, in order: the activity history of one move.
        self.completed_elements: list[str] = []
        #: Tasks the engine closed since the workflow was loaded, with the reason: escalations whose work is done.
        self.closed_tasks: dict[str, str] = {}

    def create_subprocess(self, my_task: Any, spec_name: str) -> Any:
        subprocess = super().create_subprocess(my_task, spec_name)
        # SpiffWorkflow's ad-hoc sub-process merges this key into its tasks and then removes it again.
        subprocess.data.setdefault("data_objects", {})
        return subprocess

    def update_waiting_tasks(self) -> None:
        for task in [t for t in self.tasks.values() if t.state == TaskState.WAITING]:
            task.task_spec._update(task)  # what SpiffWorkflow's own walk does for each waiting task
