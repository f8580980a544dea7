"""A person's inbox tools: saved filters, and files attached to a task.

Attachments live in the database (not on a disk only one web process sees), with their size,
hash and who uploaded them; each is noted in the instance's history.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update

from engine.access.policy import may_read_task, may_work_on_task
from engine.attachments import check_upload
from engine.commands.instance_state import require_label
from engine.commands.requests import AddAttachment, DeleteFilter, SaveFilter
from engine.commands.unit_of_work import UnitOfWork
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem, TooLarge
from engine.phrases import Phrase
from engine.store import tables
from engine.task_filters import parse_filter

_s, _a, _t = tables.saved_filter, tables.task_attachment, tables.human_task
MAX_FILTERS = 50
MAX_FILTER_NAME = 40
_LOAD_TASK = select(_t.c.id, _t.c.instance_id, _t.c.element_id, _t.c.state, _t.c.assignee).where(
    _t.c.id == bindparam("id"))


def save_filter(command: SaveFilter, uow: UnitOfWork) -> dict[str, Any]:
    require_label(command.owner, "owner", 100)
    name = command.name.strip() if isinstance(command.name, str) else ""
    if not name or len(name) > MAX_FILTER_NAME or any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise InvalidInput(Phrase("A filter's name has 1 to %(n)s characters and no control characters",
                                  n=MAX_FILTER_NAME),
                           [Problem(Phrase("bad name"), field="name")])
    if not isinstance(command.filters, dict):
        raise InvalidInput(Phrase("filters must be a JSON object"),
                           [Problem(Phrase("expected an object"), field="filters")])
    stored = json.dumps(parse_filter(command.filters).to_dict(), ensure_ascii=False, sort_keys=True)
    existing = uow.read(select(_s.c.id).where(_s.c.owner == command.owner, _s.c.name == name)).scalar()
    if existing is not None:
        uow.execute(update(_s).where(_s.c.id == existing).values(filters=stored, created_at=uow.now))
        filter_id, replaced = existing, True
    else:
        count = uow.read(select(func.count()).select_from(_s).where(_s.c.owner == command.owner)).scalar() or 0
        if count >= MAX_FILTERS:
            raise Conflict(Phrase("At most %(n)s filters can be saved; delete one you no longer use first",
                                  n=MAX_FILTERS))
        filter_id = uow.execute(insert(_s).values(owner=command.owner, name=name, filters=stored,
                                                  created_at=uow.now).returning(_s.c.id)).scalar_one()
        replaced = False
    uow.record("filter_saved", actor=command.owner, to_webhooks=False, filter=filter_id, name=name)
    return {"id": filter_id, "name": name, "filters": json.loads(stored), "created_at": uow.now.isoformat(),
            "replaced": replaced}


def delete_filter(command: DeleteFilter, uow: UnitOfWork) -> dict[str, Any]:
    """Another person's filter is answered as not found: whether it exists is none of the caller's business."""
    require_label(command.owner, "owner", 100)
    removed = uow.execute(delete(_s).where(_s.c.id == command.filter_id, _s.c.owner == command.owner)
                          .returning(_s.c.name)).scalar()
    if removed is None:
        raise NotFound(Phrase("saved filter %(id)s does not exist", id=command.filter_id))
    uow.record("filter_deleted", actor=command.owner, to_webhooks=False, filter=command.filter_id, name=removed)
    return {"id": command.filter_id, "deleted": True}


def add_attachment(command: AddAttachment, uow: UnitOfWork) -> dict[str, Any]:
    require_label(command.actor, "actor", 100)
    limit = uow.services.settings.max_attachment_bytes
    if len(command.content) > limit:
        raise TooLarge(Phrase("The file is too large (%(size)s); an attachment may have at most %(limit)s",
                              size=_size(len(command.content)), limit=_size(limit)),
                       [Problem(Phrase("too large"), field="file")])
    name, kind = check_upload(command.filename, command.content)
    task = uow.read(_LOAD_TASK, {"id": command.task_id}).first()
    if task is None or not may_read_task(uow, command.actor, task.id):  # as missing for whoever may not see it
        raise NotFound(Phrase("task %(task)s does not exist", task=command.task_id))
    _may_attach(uow, task, command.actor)
    _within_quotas(uow, task.id, command.actor, len(command.content))
    digest = hashlib.sha256(command.content).hexdigest()
    attachment_id = uow.execute(insert(_a).values(
        task_id=task.id, instance_id=task.instance_id, name=name, content_type=kind.content_type,
        size=len(command.content), sha256=digest, content=command.content, uploaded_by=command.actor,
        uploaded_at=uow.now).returning(_a.c.id)).scalar_one()
    uow.record("attachment_added", instance_id=task.instance_id, element_id=task.element_id, task_id=task.id,
               actor=command.actor, attachment=attachment_id, name=name, size=len(command.content))
    return {"id": attachment_id, "task_id": task.id, "name": name, "content_type": kind.content_type,
            "size": len(command.content), "sha256": digest, "uploaded_by": command.actor,
            "uploaded_at": uow.now.isoformat()}


def _within_quotas(uow: UnitOfWork, task_id: int, actor: str, size: int) -> None:
    """A task holds a bounded number and size of files, and so does what one person has uploaded (configurable)."""
    settings = uow.services.settings
    for where, field, count_limit, bytes_limit, label in (
            (_a.c.task_id == task_id, "task", settings.max_attachments_per_task,
             settings.max_attachment_bytes_per_task, Phrase("This task has")),
            (_a.c.uploaded_by == actor, "uploaded_by", settings.max_attachments_per_person,
             settings.max_attachment_bytes_per_person, Phrase("You have"))):
        count, total = uow.read(select(func.count(), func.coalesce(func.sum(_a.c.size), 0)).where(where)).one()
        if count >= count_limit:
            raise TooLarge(Phrase("%(whose)s already %(count)s attachments, and at most %(n)s are allowed",
                                  whose=label, count=count, n=count_limit),
                           [Problem(Phrase("too many files"), field=field)])
        if total + size > bytes_limit:
            raise TooLarge(Phrase("%(whose)s already %(total)s of attachments; this file would pass the limit of "
                                  "%(limit)s", whose=label, total=_size(total), limit=_size(bytes_limit)),
                           [Problem(Phrase("too many bytes"), field=field)])


def _may_attach(uow: UnitOfWork, task: Any, actor: str) -> None:
    """Files go to an open task, from whoever holds it or may claim it (or an administrator), not to anyone's."""
    if task.state != "open":
        raise Conflict(Phrase("The task is done; no more files can be attached"),
                       [Problem(Phrase("task is not open"), field="task")])
    if not may_work_on_task(uow, task, actor):
        raise Forbidden(Phrase("Only whoever holds the task (or may claim it) can attach files"),
                        [Problem(Phrase("not the task's"), field="task")])


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{max(1, n // 1024)} KB"
