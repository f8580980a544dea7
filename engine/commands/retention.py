"""Retention: what a year of work leaves behind that nobody needs once it is done, deleted after its time.

A finished instance already keeps only its history: its workflow state is dropped when it completes (the history,
its tasks, documents and figures stay for good — the bureau's record). What grows without limit besides is
machinery: finished jobs (timers, fan-outs, notification and webhook steps — what they did is in the history), the
PDFs and workbooks of drafts that were superseded or issued (the issued document is the record), and notifications
read long ago with their deliveries. A simulated year of the demo directory leaves some 20,000 finished jobs and
dozens of MiB of draft PDFs; the full city a hundred times that. Each kind is kept for its own number of days
(``HUHUA_RETAIN_*``; 0 keeps it forever), counted on the engine clock, and deleted in batches so that a first run on
a large database never holds a long transaction.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select, update

from engine.commands.requests import ApplyRetention
from engine.commands.unit_of_work import UnitOfWork
from engine.errors import InvalidInput, Problem
from engine.store import tables

_j, _d, _o = tables.job, tables.document, tables.official_document
_n, _nd, _ni = tables.notification, tables.notification_delivery, tables.notification_delivery_item
FINISHED_JOBS = ("done", "cancelled")


def apply_retention(command: ApplyRetention, uow: UnitOfWork) -> dict[str, Any]:
    """Delete (or count) one batch of each kind past its time; ``more`` says whether another call has work."""
    if not 1 <= command.batch <= 50_000 or min(command.job_days, command.draft_days, command.notification_days) < 0:
        raise InvalidInput("batch must be 1..50000 and the days 0 or more",
                           [Problem("out of range", field="batch/days")])
    found = {"jobs": _jobs(uow, command), "draft_documents": _drafts(uow, command),
             "notifications": _notifications(uow, command)}
    return {"dry_run": command.dry_run, "deleted" if not command.dry_run else "would_delete": found,
            "more": not command.dry_run and any(count >= command.batch for count in found.values())}


def _cutoff(uow: UnitOfWork, days: int) -> Any:
    return uow.now - timedelta(days=days)


def _jobs(uow: UnitOfWork, command: ApplyRetention) -> int:
    if not command.job_days:
        return 0
    old = (_j.c.state.in_(FINISHED_JOBS)) & (_j.c.due_at < _cutoff(uow, command.job_days))
    if command.dry_run:
        return int(uow.read(select(func.count()).select_from(_j).where(old)).scalar_one())
    ids = select(_j.c.id).where(old).order_by(_j.c.id).limit(command.batch).scalar_subquery()
    return uow.execute(delete(_j).where(_j.c.id.in_(ids))).rowcount


def _drafts(uow: UnitOfWork, command: ApplyRetention) -> int:
    """The files of drafts that were superseded or issued: the issued document is the record."""
    if not command.draft_days:
        return 0
    rows = uow.read(select(_o.c.id, _o.c.draft_documents).where(
        _o.c.state.in_(("issued", "superseded")), _o.c.drafted_at < _cutoff(uow, command.draft_days),
        _o.c.draft_documents.is_not(None), _o.c.draft_documents != "[]").order_by(_o.c.id)).all()
    ids: list[int] = []
    done: list[int] = []
    for row in rows:
        if len(ids) >= command.batch:
            break
        ids += [i for i in json.loads(row.draft_documents or "[]") if isinstance(i, int)]
        done.append(row.id)
    if command.dry_run or not ids:
        return len(ids)
    uow.execute(delete(_d).where(_d.c.id.in_(ids), _d.c.kind == "official_draft"))
    uow.execute(update(_o).where(_o.c.id.in_(done)).values(draft_documents="[]"))
    return len(ids)


def _notifications(uow: UnitOfWork, command: ApplyRetention) -> int:
    """Notifications read long ago, with the deliveries that carried nothing else (a delivery still pending keeps
    what it carries)."""
    if not command.notification_days:
        return 0
    pending = select(_ni.c.notification_id).join(_nd, _nd.c.id == _ni.c.delivery_id).where(_nd.c.state == "pending")
    old = (_n.c.read_at.is_not(None)) & (_n.c.read_at < _cutoff(uow, command.notification_days)) & \
        _n.c.id.not_in(pending)
    if command.dry_run:
        return int(uow.read(select(func.count()).select_from(_n).where(old)).scalar_one())
    ids = [row.id for row in uow.execute(select(_n.c.id).where(old).order_by(_n.c.id).limit(command.batch))]
    if ids:
        carriers = [row.delivery_id for row in uow.execute(select(_ni.c.delivery_id).where(
            _ni.c.notification_id.in_(ids)).distinct())]
        uow.execute(delete(_ni).where(_ni.c.notification_id.in_(ids)))
        if carriers:
            still_carrying = select(_ni.c.delivery_id).where(_ni.c.delivery_id.in_(carriers))
            uow.execute(delete(_nd).where(_nd.c.id.in_(carriers), _nd.c.state != "pending",
                                          _nd.c.id.not_in(still_carrying)))
        uow.execute(delete(_n).where(_n.c.id.in_(ids)))
    return len(ids)
