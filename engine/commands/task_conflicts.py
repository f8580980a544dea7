"""The answer to acting on a task someone else got to first: who, when, in words the person reads.

Claiming, completing and handing on a task all lose the same race; each answers with this
conflict (HTTP 409) instead of a bare error, so the page can say 「该任务已由某某于某时办结」.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine.clock import BUSINESS_TZ
from engine.commands.unit_of_work import UnitOfWork
from engine.errors import TaskTaken
from engine.phrases import Phrase
from engine.store import tables

_t, _e, _p = tables.human_task, tables.event, tables.person
_HANDED = ("task_claimed", "task_delegated", "task_reassigned")


def task_taken(uow: UnitOfWork, task_id: int) -> TaskTaken:
    """The conflict for a task that is no longer open, or is now someone else's (read afresh)."""
    task = uow.read(select(_t).where(_t.c.id == task_id)).first()
    if task is None or (task.state == "open" and task.assignee is None):
        return TaskTaken(Phrase("Task %(task)s was just changed by someone else; reload and try again", task=task_id),
                         task={"id": task_id})
    if task.state == "open":
        by, at, verb, state = task.assignee, _handed_at(uow, task), Phrase("claimed"), "claimed"
    else:
        by, at = task.completed_by, task.completed_at
        verb, state = ((Phrase("finished"), "completed") if task.state == "completed"
                       else (Phrase("cancelled"), "cancelled"))
    name = uow.read(select(_p.c.name).where(_p.c.id == by)).scalar() if by else None
    when = at.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M") if at else None
    who = name or by  # a person reads a name; the log-in id stays in ``task.by`` for programs
    message = Phrase("%(who)s %(verb)s this task at %(when)s", who=who, when=when, verb=verb) if who and when \
        else Phrase("%(who)s %(verb)s this task", who=who, verb=verb) if who \
        else Phrase("This task was %(verb)s at %(when)s", when=when, verb=verb) if when \
        else Phrase("This task was %(verb)s", verb=verb)
    return TaskTaken(message, task={"id": task_id, "state": state, "by": by, "by_name": name,
                                    "at": at.isoformat() if at else None})


def _handed_at(uow: UnitOfWork, task: Any) -> Any:
    return uow.read(select(_e.c.at).where(_e.c.instance_id == task.instance_id, _e.c.task_id == task.id,
                                          _e.c.kind.in_(_HANDED)).order_by(_e.c.id.desc()).limit(1)).scalar()
