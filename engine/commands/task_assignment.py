"""Who works on a task: claiming it from the candidates, giving it back, delegating and reassigning it.

Every change is an audit event naming who did it, from whom and to whom. A candidate (by name or by
a role they hold at the task's unit) may claim an unassigned task and give back one they claimed.
The assignee may delegate to a colleague — another of the people it is offered to, or someone of the
task's unit — who completes it in their place (and reads its instance only while it is theirs); the
administrator, or the programme officer of a tier above, may reassign an open task (a teacher is ill, a
post is vacant) to another of the people it is offered to; only the administrator may give it to anyone
else. Who may do which is :mod:`engine.access.policy`'s answer.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, insert, select, update

from engine.access import confidential
from engine.access.identity import as_session
from engine.access.policy import is_administrator, is_candidate, may_delegate_to, may_read_task, may_reassign
from engine.commands.instance_state import require_label
from engine.commands.requests import AddComment, ClaimTask, DelegateTask, ReassignTask, UnclaimTask
from engine.commands.task_conflicts import task_taken
from engine.commands.task_refusals import not_a_candidate
from engine.commands.unit_of_work import UnitOfWork
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem
from engine.phrases import Phrase
from engine.store import tables

_t, _c, _p = tables.human_task, tables.task_candidate, tables.person
_LOAD = select(_t).where(_t.c.id == bindparam("id"))
MAX_COMMENT = 2000


def claim_task(command: ClaimTask, uow: UnitOfWork) -> dict[str, Any]:
    task = _open_task(uow, command.task_id, command.actor)
    if task.assignee is not None:
        raise task_taken(uow, task.id)
    if not is_administrator(uow, command.actor) and not is_candidate(uow, task.id, command.actor):
        raise Forbidden(not_a_candidate(uow, task, command.actor))
    return _assign(uow, task, command.actor, command.actor, "task_claimed", expected=None)


def unclaim_task(command: UnclaimTask, uow: UnitOfWork) -> dict[str, Any]:
    task = _open_task(uow, command.task_id, command.actor)
    if task.assignee != command.actor and not is_administrator(uow, command.actor):
        raise Forbidden(Phrase("only %(assignee)s may give task %(task)s back", assignee=task.assignee, task=task.id)
                        if task.assignee else Phrase("task %(task)s has nobody to give it back", task=task.id))
    if not uow.read(select(_c.c.task_id).where(_c.c.task_id == task.id).limit(1)).first():
        raise Conflict(Phrase("task %(task)s has no candidates to give it back to; reassign it instead",
                              task=task.id))
    return _assign(uow, task, command.actor, None, "task_unclaimed", expected=task.assignee)


def delegate_task(command: DelegateTask, uow: UnitOfWork) -> dict[str, Any]:
    task = _open_task(uow, command.task_id, command.actor)
    if task.assignee != command.actor:
        raise Forbidden(Phrase("only the assignee (%(assignee)s) may delegate task %(task)s",
                               assignee=task.assignee, task=task.id) if task.assignee
                        else Phrase("nobody has claimed task %(task)s yet; claim it before delegating it",
                                    task=task.id))
    _existing_person(uow, command.to)
    if command.to == command.actor:
        raise InvalidInput(Phrase("a task cannot be delegated to its own assignee"),
                           [Problem(Phrase("same person"), field="to")])
    if not may_delegate_to(uow, task, command.actor, command.to):
        raise Forbidden(Phrase("%(to)s is neither offered task %(task)s nor of its unit; delegate within those, "
                               "or ask the tier above to reassign it", to=command.to, task=task.id),
                        [Problem(Phrase("outside the task's pool and unit"), field="to")])
    return _assign(uow, task, command.actor, command.to, "task_delegated", expected=task.assignee,
                   reason=command.reason)


def reassign_task(command: ReassignTask, uow: UnitOfWork) -> dict[str, Any]:
    task = _open_task(uow, command.task_id, command.actor, reassigning=True)
    if not may_reassign(uow, task, command.actor):
        raise Forbidden(f"{command.actor} may not reassign task {task.id}: the administrator or the programme "
                        "officer of a tier above may")
    if command.to is not None:
        _existing_person(uow, command.to)
        has_candidates = uow.read(select(_c.c.task_id).where(_c.c.task_id == task.id).limit(1)).first()
        if has_candidates and not is_administrator(uow, command.actor) \
                and not is_candidate(uow, task.id, command.to):
            raise Forbidden(f"{command.to} is not among the people task {task.id} is offered to; only the "
                            "administrator may give it to someone else")
        if confidential.is_confidential(as_session(uow), task.instance_id) \
                and not may_delegate_to(uow, task, command.actor, command.to):
            raise Forbidden(f"task {task.id} belongs to a confidential case: it may go only to someone it is offered "
                            f"to or who works at {task.org_scope}", [Problem("outside the case", field="to")])
    return _assign(uow, task, command.actor, command.to, "task_reassigned", expected=task.assignee,
                   reason=command.reason)


def _open_task(uow: UnitOfWork, task_id: int, actor: str, *, reassigning: bool = False) -> Any:
    """The task, if ``actor`` may read it (or, reassigning, is of the tier above it); else as if it did not exist."""
    require_label(actor, "actor", 100)
    task = uow.read(_LOAD, {"id": task_id}).first()
    if task is None or not (may_read_task(uow, actor, task_id) or (reassigning and may_reassign(uow, task, actor))):
        raise NotFound(Phrase("task %(task)s does not exist", task=task_id))
    if task.state != "open":
        raise task_taken(uow, task.id)
    return task


def _assign(uow: UnitOfWork, task: Any, actor: str, to: str | None, event: str, *, expected: str | None,
            reason: str | None = None) -> dict[str, Any]:
    require_label(reason, "reason", 500)
    guard = _t.c.assignee.is_(None) if expected is None else _t.c.assignee == expected
    changed = uow.execute(update(_t).where(_t.c.id == task.id, _t.c.state == "open", guard)
                          .values(assignee=to)).rowcount
    if changed != 1:
        raise task_taken(uow, task.id)
    uow.record(event, instance_id=task.instance_id, element_id=task.element_id, task_id=task.id, actor=actor,
               previous=task.assignee, assignee=to, reason=reason)
    return {"task_id": task.id, "assignee": to, "previous": task.assignee}


def _existing_person(uow: UnitOfWork, person: str) -> None:
    require_label(person, "to", 100)
    if not person or uow.read(select(_p.c.id).where(_p.c.id == person)).first() is None:
        raise InvalidInput(Phrase("'%(person)s' is not a person of the org directory", person=person),
                           [Problem(Phrase("unknown person"), field="to")])


def add_comment(command: AddComment, uow: UnitOfWork) -> dict[str, Any]:
    """A remark on a task (open or done): kept with who wrote it and when, and noted in the instance's history."""
    require_label(command.actor, "actor", 100)
    body = command.body.strip() if isinstance(command.body, str) else ""
    if not body or len(body) > MAX_COMMENT:
        raise InvalidInput(Phrase("a comment has 1 to %(n)s characters", n=MAX_COMMENT),
                           [Problem(Phrase("bad length"), field="body")])
    task = uow.read(_LOAD, {"id": command.task_id}).first()
    if task is None or not may_read_task(uow, command.actor, task.id):  # whoever may read the task may remark on it
        raise NotFound(Phrase("task %(task)s does not exist", task=command.task_id))
    comment_id = uow.execute(insert(tables.task_comment).values(
        task_id=task.id, instance_id=task.instance_id, author=command.actor, body=body, created_at=uow.now,
    ).returning(tables.task_comment.c.id)).scalar_one()
    uow.record("comment_added", instance_id=task.instance_id, element_id=task.element_id, task_id=task.id,
               actor=command.actor, comment=comment_id)
    return {"id": comment_id, "task_id": task.id, "author": command.actor, "body": body,
            "created_at": uow.now.isoformat()}
