"""The audit log: administrators' commands and reads of confidential records, in an append-only table.

An administrator's command is written by the command bus in the command's own transaction
(:func:`audit_command`), so the log holds exactly the changes that were made; a command of theirs that is
refused is written after its transaction rolled back, in a transaction of its own (:func:`audit_refusal`), so
a failed attempt is visible too. A read of a confidential
record (a counselling case) is its own small command, :class:`RecordCaseRead`, run by the entry point that
served the read. The table refuses UPDATE and DELETE (triggers of migration 0019).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from sqlalchemy import insert, select

from engine.commands.administrators import is_administrator
from engine.commands.requests import RecordCaseRead
from engine.commands.unit_of_work import UnitOfWork
from engine.errors import InvalidInput, Problem
from engine.store import tables

_a, _i = tables.audit_log, tables.process_instance
SURFACES = ("api", "page", "cli")
#: Fields that name what a command acts on, in the order they are tried.
_RESOURCE_FIELDS = (("instance_id", "instance"), ("task_id", "task"), ("definition_id", "definition"),
                    ("subscription_id", "webhook"), ("token_id", "token"), ("filter_id", "filter"),
                    ("username", "account"), ("process_key", "process"), ("message_name", "message"),
                    ("day", "calendar"), ("url", "webhook"), ("schedule_key", "schedule"),
                    ("person_id", "person"))
#: Fields never copied into the log: secrets, file contents, what could carry a child's data, and how a person is
#: reached (an append-only log would keep an address or a number for good; the event names which one changed).
_WITHHELD = {"actor", "password", "content", "xml", "schema", "secret", "directory", "files", "context", "email",
             "phone"}
_MAX_TEXT = 200
_MAX_REFUSAL = 1000


def audit_command(uow: UnitOfWork, command: Any) -> None:
    """Write a line for ``command`` if an administrator gave it (called by the bus before the commit)."""
    actor = getattr(command, "actor", None)
    if not isinstance(actor, str) or isinstance(command, RecordCaseRead) or not is_administrator(uow, actor):
        return
    uow.execute(insert(_a).values(at=uow.now, kind="command", actor=actor[:100], action=type(command).__name__,
                                  resource=_resource(command), school=None, surface=None,
                                  detail=json.dumps(_summary(command), ensure_ascii=False, default=str)))


def audit_refusal(uow: UnitOfWork, command: Any, message: str) -> bool:
    """Write a line for an administrator's command that was refused (who, what, on what, and why)."""
    actor = getattr(command, "actor", None)
    if not isinstance(actor, str) or isinstance(command, RecordCaseRead) or not is_administrator(uow, actor):
        return False
    detail = {**_summary(command), "refused": message[:_MAX_REFUSAL]}
    uow.execute(insert(_a).values(at=uow.now, kind="refused", actor=actor[:100], action=type(command).__name__,
                                  resource=_resource(command), school=None, surface=None,
                                  detail=json.dumps(detail, ensure_ascii=False, default=str)))
    return True


def record_case_read(command: RecordCaseRead, uow: UnitOfWork) -> dict[str, Any]:
    """Log one read of a confidential case (the reader was already let in by the access rules)."""
    if command.surface not in SURFACES:
        raise InvalidInput(f"surface must be one of {', '.join(SURFACES)}", [Problem("unknown", field="surface")])
    school = uow.read(select(_i.c.org_scope).where(_i.c.id == command.instance_id)).scalar()
    entry = uow.execute(insert(_a).values(
        at=uow.now, kind="read", actor=command.actor[:100], action=f"read_{command.what}"[:100],
        resource=f"instance:{command.instance_id}", school=school, surface=command.surface,
        detail=json.dumps({"access": command.access}, ensure_ascii=False)).returning(_a.c.id)).scalar_one()
    return {"id": entry}


def _resource(command: Any) -> str | None:
    for name, kind in _RESOURCE_FIELDS:
        value = getattr(command, name, None)
        if value is not None and not isinstance(value, bool):
            return f"{kind}:{value}"[:300]
    return None


def _summary(command: Any) -> dict[str, Any]:
    """The command's fields as plain values, without secrets or contents (a dict's keys, a file's name)."""
    summary: dict[str, Any] = {}
    for field in dataclasses.fields(command):
        value = getattr(command, field.name)
        if field.name in _WITHHELD:
            if field.name in ("files", "context") and isinstance(value, tuple):  # (name, content): the names
                summary[field.name] = [str(item[0])[:_MAX_TEXT] for item in value]
            continue
        if isinstance(value, dict):
            summary[field.name] = sorted(str(key)[:_MAX_TEXT] for key in value)[:50]
        elif isinstance(value, str):
            summary[field.name] = value[:_MAX_TEXT]
        elif value is None or isinstance(value, bool | int | float):
            summary[field.name] = value
        else:
            summary[field.name] = str(value)[:_MAX_TEXT]
    return summary
