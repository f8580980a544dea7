"""Telling people of what just happened: a ``notify_event`` job's events become notifications.

The events were written by the command that caused them (:mod:`engine.notifications.outbox`); here the
recipients are read as they are now:

- a task offered to roles or people and not assigned → ``task_offered`` to everyone it is offered to;
- a task assigned (created with an assignee, to a role's sole holder, delegated, reassigned) → ``task_assigned``
  to the assignee;
- a task claimed → ``task_claimed`` to the others it was offered to;
- a task given back (or reassigned to nobody) → ``task_offered`` again to its pool;
- a task created at a step the instance already did (a loop back after a reviewer's 退回) → ``task_returned`` to
  who did it last time;
- an official document issued → ``document_issued`` to the people who receive the mail of the units it went to.

A task that is no longer open, or has changed hands again since, tells nobody: the later event speaks. Each
occasion has its dedupe key, so running a job twice tells nobody twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import desc, or_, select, update

from engine.access.sensitivity import sensitivity_of
from engine.commands.requests import TellOfEvents
from engine.commands.unit_of_work import UnitOfWork
from engine.errors import NotFound
from engine.notifications.outbox import EVENT_JOB
from engine.notifications.planning import Occasion, notify
from engine.notifications.recipients import TaskFacts, names_of, offered_to, task_facts
from engine.notifications.wording import plain, task_occasion
from engine.phrases import Phrase
from engine.store import tables

_j, _t, _o, _u = tables.job, tables.human_task, tables.official_document, tables.org_unit
_p, _r, _i = tables.person, tables.role_assignment, tables.process_instance
#: Who receives a unit's official mail: its heads and programme officer (a bureau), principal, programme
#: officer and 德育处主任 (a school). A school's own documents go to everyone of the school.
RECEIVING_ROLES = ("bureau_head", "deputy_head", "programme_officer", "principal", "moral_education_head")
_HANDED_OVER = ("task_delegated", "task_reassigned")


def tell_of_events(command: TellOfEvents, uow: UnitOfWork) -> dict[str, Any]:
    job = uow.read(select(_j.c.id, _j.c.kind, _j.c.payload).where(_j.c.id == command.job_id)).first()
    if job is None or job.kind != EVENT_JOB:
        raise NotFound(Phrase("job %(id)s does not exist", id=command.job_id))
    events: list[dict[str, Any]] = json.loads(job.payload or "{}").get("events", [])
    teller = _Teller(uow, job.id, events)
    for position, event in enumerate(events):
        teller.tell(position, event)
    uow.execute(update(_j).where(_j.c.id == job.id, _j.c.state == "pending")
                .values(state="done", attempts=_j.c.attempts + 1))
    return {"job_id": job.id, "events": len(events), "notifications": teller.told}


class _Teller:
    """One job's events, with the tasks they concern read once."""

    def __init__(self, uow: UnitOfWork, job_id: int, events: list[dict[str, Any]]) -> None:
        self.uow = uow
        self.job_id = job_id
        self.events = events
        self.public_url = uow.services.notifications.public_url
        self.tasks = task_facts(uow, {event["task_id"] for event in events if event.get("task_id") is not None})
        self.told = 0
        self._pools: dict[int, list[str]] | None = None

    def tell(self, position: int, event: dict[str, Any]) -> None:
        kind, detail = event["kind"], json.loads(event["detail"]) if event.get("detail") else {}
        if kind == "document_issued":
            self._document_issued(event, detail)
            return
        task = self.tasks.get(event.get("task_id"))  # type: ignore[arg-type]
        if task is None or task.state != "open":
            return  # done or withdrawn meanwhile: nobody needs to hear of it now
        if kind == "task_created":
            self._returned(task)
            if detail.get("assignee"):
                self._assigned(task, detail["assignee"], f"task_assigned:task:{task.id}:{detail['assignee']}")
            elif not self._assigned_later(position, task.id) and task.assignee is None:
                self._offered(task, f"task_offered:task:{task.id}")
        elif kind == "task_assigned" and detail.get("assignee"):
            self._assigned(task, detail["assignee"], f"task_assigned:task:{task.id}:{detail['assignee']}")
        elif kind in _HANDED_OVER and detail.get("assignee"):
            self._assigned(task, detail["assignee"],
                           f"task_assigned:task:{task.id}:{detail['assignee']}:job:{self.job_id}")
        elif kind in (*_HANDED_OVER, "task_unclaimed") and task.assignee is None:
            self._offered(task, f"task_offered:task:{task.id}:job:{self.job_id}")
        elif kind == "task_claimed" and task.assignee == detail.get("assignee"):
            self._claimed(task, str(task.assignee))

    def _notify(self, occasion: Occasion, people: Iterable[str]) -> None:
        self.told += len(notify(self.uow, occasion, sorted(set(people))).notifications)

    def _assigned_later(self, position: int, task_id: int) -> bool:
        """Whether a later event of this job assigns the task (a role's sole holder gets it as it is created)."""
        return any(event["kind"] == "task_assigned" and event.get("task_id") == task_id
                   for event in self.events[position + 1:])

    def _pool(self, task_id: int) -> list[str]:
        if self._pools is None:
            self._pools = offered_to(self.uow, self.tasks)
        return self._pools.get(task_id, [])

    def _assigned(self, task: TaskFacts, person: str, key: str) -> None:
        if task.assignee == person:  # handed on again since: the later event tells its assignee
            self._notify(task_occasion("task_assigned", task, self.public_url, key), [person])

    def _offered(self, task: TaskFacts, key: str) -> None:
        self._notify(task_occasion("task_offered", task, self.public_url, key), self._pool(task.id))

    def _claimed(self, task: TaskFacts, claimer: str) -> None:
        others = [person for person in self._pool(task.id) if person != claimer]
        if others:
            who = None if task.confidential else names_of(self.uow, [claimer]).get(claimer, claimer)
            self._notify(task_occasion("task_claimed", task, self.public_url, f"task_claimed:task:{task.id}",
                                       who=who), others)

    def _returned(self, task: TaskFacts) -> None:
        """A task at a step its instance already did: tell who did it last time that it came back."""
        if task.item_group_id is not None:
            return  # the items of one multi-instance step are not a loop back
        before = self.uow.read(select(_t.c.completed_by).where(
            _t.c.instance_id == task.instance_id, _t.c.element_id == task.element_id, _t.c.id != task.id,
            _t.c.state == "completed", _t.c.completed_by.is_not(None))
            .order_by(desc(_t.c.completed_at), desc(_t.c.id)).limit(1)).scalar()
        if before is not None:
            self._notify(task_occasion("task_returned", task, self.public_url, f"task_returned:task:{task.id}"),
                         [before])

    def _document_issued(self, event: dict[str, Any], detail: dict[str, Any]) -> None:
        document = self.uow.read(select(_o.c.id, _o.c.unit_id, _o.c.issuer, _o.c.title, _o.c.number, _o.c.content,
                                        _o.c.instance_id)
                                 .where(_o.c.id == detail.get("register_id"), _o.c.state == "issued")).first()
        if document is None:
            return
        issuer = self.uow.read(select(_u.c.id, _u.c.kind, _u.c.path).where(_u.c.id == document.unit_id)).first()
        if issuer is None:
            return
        main_to = "、".join(json.loads(document.content or "{}").get("main_to") or [])
        confidential = self._confidential_instance(document.instance_id)
        for unit_id, people in receivers(self.uow, issuer).items():
            if confidential:
                subject, body = "收到公文", "上级或本单位印发了一份公文，详情请登录系统查看。"
            else:
                subject = f"收到公文：{document.title}"
                body = (f"{plain(document.issuer)}印发《{plain(document.title)}》（{plain(document.number)}）"
                        + (f"，主送{plain(main_to)}" if main_to else "") + "。请及时查阅，按要求落实。")
            self._notify(Occasion("document_issued", subject, body, f"document_issued:{document.id}",
                                  instance_id=document.instance_id, unit_id=unit_id), people)

    def _confidential_instance(self, instance_id: int | None) -> bool:
        if instance_id is None:
            return False
        definition = self.uow.read(select(_i.c.definition_id).where(_i.c.id == instance_id)).scalar()
        return definition is not None and sensitivity_of(self.uow, definition).confidential


def receivers(uow: UnitOfWork, issuer: Any) -> dict[str, list[str]]:
    """Per receiving unit, its people who receive the document: a school's own documents go to everyone of the
    school and its teaching points; a bureau's to the :data:`RECEIVING_ROLES` of the units one tier below it."""
    if issuer.kind in ("school", "teaching_point"):
        units = [issuer.id, *uow.read(select(_u.c.id).where(_u.c.parent_id == issuer.id)).scalars()]
        rows = uow.read(select(_p.c.unit_id, _p.c.id).where(_p.c.unit_id.in_(units), _p.c.active.is_(True)))
    else:
        below = select(_u.c.id).where(_u.c.parent_id == issuer.id,
                                      or_(_u.c.kind == "county", _u.c.kind == "school"))
        rows = uow.read(select(_r.c.unit_id, _r.c.person_id).where(_r.c.unit_id.in_(below),
                                                                    _r.c.role.in_(RECEIVING_ROLES)))
    found: dict[str, list[str]] = {}
    for unit_id, person_id in rows:
        found.setdefault(unit_id, []).append(person_id)
    return found
