"""Completing human tasks, including items of a parallel multi-instance task."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select, update

from engine.commands.instance_state import load_instance, persist, require_json_object, run_step
from engine.commands.model import CompleteTask
from engine.commands.unit_of_work import UnitOfWork
from engine.errors import Conflict, Forbidden, NotFound
from engine.store.models import HumanTask, ItemGroup, TaskCandidate

ADMIN = "admin"


def complete_task(command: CompleteTask, uow: UnitOfWork) -> dict[str, Any]:
    data = require_json_object(command.data, "data")
    task = uow.session.get(HumanTask, command.task_id)
    if task is None:
        raise NotFound(f"task {command.task_id} does not exist")
    if task.state != "open":
        raise Conflict(f"task {task.id} is already {task.state}; it cannot be completed again")
    _authorise(uow, task, command.actor)
    if task.item_group_id is not None:
        _close(uow, task, command.actor, data)
        return _complete_item(uow, task, command.actor)
    loaded = load_instance(uow, task.instance_id)
    incident = run_step(lambda: uow.runtime.complete_human_task(loaded.workflow, task.spiff_task_id, data))
    _close(uow, task, command.actor, data)  # the guarded write: a concurrent completion fails here
    instance = persist(uow, loaded.row, loaded.workflow, incident, command.actor)
    return {"task_id": task.id, "state": "completed", "instance": instance}


def _complete_item(uow: UnitOfWork, task: HumanTask, actor: str) -> dict[str, Any]:
    """Count the item done; only the last one of its group loads and moves the workflow."""
    counted = uow.session.execute(
        update(ItemGroup).where(ItemGroup.id == task.item_group_id, ItemGroup.state == "open")
        .values(done=ItemGroup.done + 1).returning(ItemGroup.done, ItemGroup.total)
    ).first()
    if counted is None:
        raise Conflict(f"the multi-instance activity of task {task.id} is no longer open")
    done, total = counted
    if done < total:
        return {"task_id": task.id, "state": "completed", "items_done": done, "items_total": total}
    uow.session.execute(update(ItemGroup).where(ItemGroup.id == task.item_group_id).values(state="finished"))
    rows = uow.session.execute(
        select(HumanTask.item_key, HumanTask.item_output)
        .where(HumanTask.item_group_id == task.item_group_id, HumanTask.state == "completed")
        .order_by(HumanTask.id)).all()
    results = [(json.loads(key), json.loads(output or "{}")) for key, output in rows]
    loaded = load_instance(uow, task.instance_id)
    incident = run_step(lambda: uow.runtime.finish_items(loaded.workflow, task.spiff_task_id, results))
    instance = persist(uow, loaded.row, loaded.workflow, incident, actor)
    return {"task_id": task.id, "state": "completed", "items_done": done, "items_total": total,
            "instance": instance}


def _close(uow: UnitOfWork, task: HumanTask, actor: str, data: dict[str, Any]) -> None:
    values: dict[str, Any] = {"state": "completed", "completed_at": uow.now, "completed_by": actor}
    if task.item_group_id is not None:
        item_input = json.loads(task.item_input or "{}")
        values["item_output"] = json.dumps({**item_input, **data}, ensure_ascii=False)
    closed = uow.session.execute(update(HumanTask).where(HumanTask.id == task.id, HumanTask.state == "open")
                                 .values(**values))
    if closed.rowcount != 1:
        raise Conflict(f"task {task.id} was completed by someone else at the same time")
    task.state = "completed"
    uow.record("task_completed", instance_id=task.instance_id, element_id=task.element_id, task_id=task.id,
               actor=actor, fields=sorted(data))


def _authorise(uow: UnitOfWork, task: HumanTask, actor: str) -> None:
    """Admin may act on any task; otherwise the assignee, or a named candidate user of an unassigned task."""
    if actor == ADMIN or actor == task.assignee:
        return
    if task.assignee is None:
        candidate = uow.session.scalar(select(TaskCandidate.task_id).where(
            TaskCandidate.task_id == task.id, TaskCandidate.kind == "user", TaskCandidate.value == actor))
        if candidate is not None:
            return
    raise Forbidden(f"{actor} may not complete task {task.id}"
                    + (f"; it is assigned to {task.assignee}" if task.assignee else ""))
