"""A waiting task's data read from an instance's stored state, without restoring the workflow.

SpiffWorkflow keeps a task's data as the changes it made (``delta``: updates and deletions) once the task has
run, and the data a workflow or subprocess started with on its start task. The data a waiting task (a user task
inside a called subprocess: a leader's sign-off) will see is its ancestors' changes applied in order, from the
start task down. The instance summary (``process_instance.data``) holds the top workflow's last data only, which
is not that task's when the task waits inside a call activity or on a parallel branch.
"""

from __future__ import annotations

import json
from typing import Any


def waiting_task_data(state: str | None, task_id: str) -> dict[str, Any] | None:
    """The data task ``task_id`` holds in ``state`` (a stored workflow), or None when it is not in it."""
    try:
        stored = json.loads(state or "{}")
    except ValueError:
        return None
    for tasks in _task_maps(stored):
        if task_id in tasks:
            return _merged(tasks, task_id)
    return None


def waiting_task_process(state: str | None, task_id: str) -> str | None:
    """The name of the subprocess task ``task_id`` waits in (a called process's key), or None for the top
    workflow's own tasks and a task not in ``state``."""
    try:
        stored = json.loads(state or "{}")
    except ValueError:
        return None
    for sub in (stored.get("subprocesses") or {}).values() if isinstance(stored, dict) else ():
        if isinstance(sub, dict) and isinstance(sub.get("tasks"), dict) and task_id in sub["tasks"]:
            spec = sub.get("spec")
            return spec if isinstance(spec, str) else None
    return None


def _task_maps(stored: dict[str, Any]) -> list[dict[str, Any]]:
    """The task tables of the workflow and of each of its subprocesses."""
    maps = [stored.get("tasks")]
    maps += [sub.get("tasks") for sub in (stored.get("subprocesses") or {}).values() if isinstance(sub, dict)]
    return [m for m in maps if isinstance(m, dict)]


def _merged(tasks: dict[str, Any], task_id: str) -> dict[str, Any]:
    chain, current, seen = [], task_id, set()
    while isinstance(current, str) and current in tasks and current not in seen:
        seen.add(current)
        chain.append(tasks[current])
        current = tasks[current].get("parent")
    data: dict[str, Any] = {}
    for task in reversed(chain):
        data.update(task.get("data") or {})
        delta = task.get("delta") or {}
        data.update(delta.get("updates") or {})
        for name in delta.get("deletions") or []:
            data.pop(name, None)
    return data
