"""Who may deliver a message from outside (API, inbound webhook, CLI), and to which waiting instances.

- An **administrator** may deliver any message to any waiting instance.
- A **service account** (a system that sends messages, ``account.kind = 'service'``; it has no password and
  calls with API tokens only) may deliver only the messages it is allowed (``account.messages``), and, when it
  has a unit (``account.scope_unit``), only to instances whose ``org_scope`` is that unit or a unit below it.
- A **person** may deliver a message only to an instance in which they may act now: they are the assignee,
  or a candidate (by name, or by a role they hold at the task's unit), of one of its *open* tasks. Starting an
  instance, or having once worked on it, gives no right to move it on.

A waiting instance the caller may not deliver to is treated as if it were not waiting at all: a refused
delivery and a missing receiver get the same answer (404), and a reply names no instance the caller may not
see. A person's or administrator's reply names the instances delivered to (they take part in them); a service
account's reply gives only how many were delivered to, since a system reads no instance.

A **signal** thrown from outside (``huhua signal``, ``POST /api/v1/signals``) follows the same rules: it reaches
the waiting instances the caller may deliver it to (a service account's ``messages`` name the signals it may
throw too), and it starts a process that starts with the signal only where the caller may start it
(:func:`event_may_start`; so does a message that no instance waits for and a process starts with): the
administrator anywhere, a service account allowed the event at its unit or below, a person as if they started
the process by hand (its ``start_roles``, ``start_tier`` and ``start_units``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Executable, and_, exists, false, func, or_, select, true

from engine.access.identity import SERVICE
from engine.access.starting import Holding, Scope, StartRule, may_start
from engine.store import tables


class Reader(Protocol):
    """What the rules read through: a command's unit of work (``uow.read``), inside its transaction."""

    def read(self, statement: Executable, parameters: Any = None) -> Any: ...

_a, _i, _u, _t, _c, _r = (tables.account, tables.process_instance, tables.org_unit, tables.human_task,
                          tables.task_candidate, tables.role_assignment)



@dataclass(frozen=True)
class MessageSender:
    """What a caller is, as far as delivering messages goes."""

    name: str
    administrator: bool = False
    service: bool = False
    #: A service account's messages.
    messages: frozenset[str] = frozenset()
    #: A service account's unit path (None: anywhere).
    scope_path: str | None = None
    scope_unit: str | None = None

    @property
    def names_instances(self) -> bool:
        """Whether a reply may name the instances delivered to: not for a system, which reads no instance."""
        return not self.service


def message_sender(uow: Reader, caller: str, *, administrator: bool) -> MessageSender:
    """The caller as a sender of messages: an administrator (as the caller has found out), a service account or
    a person."""
    if administrator:
        return MessageSender(caller, administrator=True)
    row = uow.read(select(_a.c.kind, _a.c.messages, _a.c.scope_unit)
                   .where(_a.c.username == caller, _a.c.active.is_(True))).first()
    if row is None or row.kind != SERVICE:
        return MessageSender(caller)
    path = uow.read(select(_u.c.path).where(_u.c.id == row.scope_unit)).scalar() if row.scope_unit else None
    return MessageSender(caller, service=True, messages=frozenset(split_messages(row.messages)),
                         scope_path=path, scope_unit=row.scope_unit)


def split_messages(value: str | None) -> list[str]:
    """The message names of a comma-separated list (as ``account.messages`` keeps them)."""
    return [name.strip() for name in (value or "").split(",") if name.strip()]


def deliverable(uow: Reader, sender: MessageSender, message_name: str) -> ColumnElement[bool]:
    """The SQL condition on a waiting instance (``process_instance``, with its ``org_unit`` outer joined) that
    ``sender`` may deliver ``message_name`` to."""
    if sender.administrator:
        return true()
    if sender.service:
        if message_name not in sender.messages:
            return false()
        if sender.scope_unit is None:
            return true()
        if sender.scope_path is None:  # its unit left the directory: only an instance at that very unit id
            return _i.c.org_scope == sender.scope_unit
        return func.substr(_u.c.path, 1, len(sender.scope_path)) == sender.scope_path
    held = [f"{role}@{unit}" for role, unit in uow.read(
        select(_r.c.role, _r.c.unit_id).where(_r.c.person_id == sender.name)).all()]
    offered = exists().where(_c.c.task_id == _t.c.id, _c.c.task_open.is_(True), or_(
        and_(_c.c.kind == "user", _c.c.value == sender.name),
        and_(_c.c.kind == "role", _c.c.value.in_(held)) if held else false()))
    return exists().where(_t.c.instance_id == _i.c.id, _t.c.state == "open",
                          or_(_t.c.assignee == sender.name, and_(_t.c.assignee.is_(None), offered)))


def event_may_start(sender: MessageSender, event_name: str, rule: StartRule, scope: Scope | None,
                    holdings: Iterable[Holding]) -> bool:
    """Whether ``sender``'s message or signal ``event_name`` from outside may start a process governed by ``rule``
    at ``scope``.

    A start by an event is a way in, so the rule is read as if the process were started by hand: the
    administrator wherever its ``start_units`` allow; a service account allowed the event at its own unit or
    one below it (anywhere, without a unit), within the same ``start_units``; a person by its ``start_roles``.
    """
    by_hand = replace(rule, started_by=None)
    if sender.administrator:
        return may_start(by_hand, administrator=True, holdings=(), scope=scope).allowed
    if sender.service:
        if event_name not in sender.messages:
            return False
        outside = scope is None or sender.scope_path is None or not scope.path.startswith(sender.scope_path)
        if sender.scope_unit is not None and outside:
            return False
        return may_start(by_hand, administrator=True, holdings=(), scope=scope).allowed
    return may_start(by_hand, administrator=False, holdings=holdings, scope=scope).allowed
