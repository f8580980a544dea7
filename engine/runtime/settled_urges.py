"""Escalations that close themselves: a 督办 task ends, with its reason, once the work it chases is done.

An urge hangs off a non-interrupting timer on the activity it chases (the school's report, the county's
training): the timer fires when the activity is late and offers the tier above a task to chase it. In BPMN
that branch runs on by itself after the activity completes, so a late-but-done school would still be
"urged" and counted overdue. A user task declaring ``closeWhenDone`` (its value: the reason the history
gives, such as 已报送，督办自动关闭) is cancelled as soon as the activity its boundary event sits on
has completed.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.util.task import TaskState

CLOSE_WHEN_DONE = "closeWhenDone"


def close_settled_urges(workflow: Any) -> dict[str, str]:
    """Cancel every ready task whose chased activity has completed; {SpiffWorkflow task id: reason}."""
    closed: dict[str, str] = {}
    for scope in (workflow, *workflow.subprocesses.values()):
        for task in list(scope.tasks.values()):
            if task.state != TaskState.READY:
                continue
            reason = ((getattr(task.task_spec, "extensions", None) or {}).get("properties") or {}).get(CLOSE_WHEN_DONE)
            if not reason:
                continue
            chased = _chased_activity(task)
            if chased is not None and chased.state == TaskState.COMPLETED:
                task.cancel()
                closed[str(task.id)] = str(reason)
    return closed


def _chased_activity(task: Any) -> Any:
    """The activity whose boundary event started ``task``'s branch (its sibling under the boundary split)."""
    node = task.parent
    while node is not None and not isinstance(node.task_spec, BoundaryEvent):
        node = node.parent
    if node is None or node.parent is None:
        return None
    return next((sibling for sibling in node.parent.children
                 if sibling is not node and not isinstance(sibling.task_spec, BoundaryEvent)), None)
