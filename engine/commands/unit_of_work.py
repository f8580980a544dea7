"""What a command handler works with: reads, one write transaction, the shared services, and its events.

Reads before the first write take no write lock; the write lock (``BEGIN IMMEDIATE`` on SQLite,
row locks on PostgreSQL) is taken at the first write. Starting, completing a task and firing a timer
run SpiffWorkflow before writing; the last item of a multi-instance task and the instances that
receive a thrown message or signal are moved after the first write, inside the lock. Everything read
before the first write is re-checked by the write itself (the instance version, the task's ``open``
state, the job's ``pending`` state): optimistic concurrency.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Executable, Result, insert, select

from engine.access.sensitivity import sensitivity_of
from engine.bpmn.spec_cache import SpecCache
from engine.clock import Clock
from engine.commands.webhook_outbox import SubscriptionCache, webhook_jobs
from engine.config import Settings
from engine.connectors.config import ConnectorSettings
from engine.notifications.outbox import outbox_job
from engine.notifications.settings import NotificationSettings
from engine.org.calendar import Override, WorkingCalendar
from engine.outbound import OutboundPolicy
from engine.runtime.execution import Runtime
from engine.store import tables
from engine.store.database import Database
from engine.store.raw_insert import RawInsert

_INSERT_EVENTS = RawInsert(insert(tables.event), ["instance_id", "at", "kind", "element_id", "task_id", "actor",
                                                  "detail"])
_INSERT_JOB = RawInsert(insert(tables.job), ["kind", "instance_id", "spiff_task_id", "element_id", "due_at", "state",
                                             "attempts", "created_at", "payload"])


@dataclass
class Services:
    """Long-lived collaborators, wired once by :func:`engine.bootstrap.bootstrap`."""

    settings: Settings
    database: Database
    clock: Clock
    runtime: Runtime
    specs: SpecCache
    #: Newest definition id per process key, as last seen; starts re-check it in their INSERT.
    latest_definitions: dict[str, int] = field(default_factory=dict)
    #: Who listens to engine events (outbound webhooks).
    webhooks: SubscriptionCache = field(default_factory=SubscriptionCache)
    #: Parsed task forms by content hash (a form's content never changes under its hash).
    forms: dict[str, Any] = field(default_factory=dict)
    #: Which addresses webhooks and service tasks may reach (built from ``settings.outbound_allow``).
    outbound: OutboundPolicy = field(default_factory=OutboundPolicy)
    #: How people are told (see config/notifications.toml): channels, robots, quiet hours.
    notifications: NotificationSettings = field(default_factory=NotificationSettings)
    #: What service tasks may call (see config/connectors.toml): the hosts, the connector proxy and its operators.
    connectors: ConnectorSettings = field(default_factory=ConnectorSettings)


@dataclass
class UnitOfWork:
    """One command's work on one connection. Events are buffered and written in one statement at the end."""

    services: Services
    now: datetime
    _connection: Connection | None = None
    _writing: bool = False
    _calendar: WorkingCalendar | None = None
    _events: list[dict[str, Any]] = field(default_factory=list)
    #: Lookups a command may repeat (an org unit's chain, say), kept for the command's life.
    memo: dict[str, Any] = field(default_factory=dict)

    @property
    def runtime(self) -> Runtime:
        return self.services.runtime

    @property
    def calendar(self) -> WorkingCalendar:
        """The working-day calendar as this command sees it (overrides read once per year, in its transaction)."""
        if self._calendar is None:
            o = tables.workday_override

            def overrides(year: int) -> list[Override]:
                rows = self.read(select(o).where(o.c.day >= date(year, 1, 1), o.c.day <= date(year, 12, 31)))
                return [Override(r.day, r.working, r.note, r.set_by, r.set_at) for r in rows]

            self._calendar = WorkingCalendar(overrides)
        return self._calendar

    def _connect(self) -> Connection:
        if self._connection is None:
            self._connection = self.services.database.connect_for_command()
        return self._connection

    def read(self, statement: Executable, parameters: Any = None) -> Result[Any]:
        """Run a query; before the first write it takes no lock."""
        return self._connect().execute(statement, parameters)

    def execute(self, statement: Executable, parameters: Any = None) -> Result[Any]:
        """Run a write; the first one takes the write lock for the rest of the command."""
        self.begin_writing()
        return self._connect().execute(statement, parameters)

    def insert(self, raw: RawInsert, rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        """A hot-path INSERT (see :mod:`engine.store.raw_insert`): on SQLite straight to the driver."""
        if not self.services.database.is_sqlite:
            result = self.execute(raw.statement, rows)
            return list(result.all()) if result.returns_rows else []
        self.begin_writing()
        return raw.run(self._connect(), rows)

    def begin_writing(self) -> None:
        """Take the write lock, once per command (the first write does it)."""
        connection = self._connect()
        if not self._writing:
            self.services.database.begin_writing(connection)
            self._writing = True

    def record(self, kind: str, *, instance_id: int | None = None, element_id: str | None = None,
               task_id: int | None = None, actor: str | None = None, to_webhooks: bool = True,
               **detail: Any) -> None:
        """Add an audit event; it is written with the rest of the command, or not at all.

        ``to_webhooks=False`` keeps it from subscribers (a failing delivery must not beget deliveries).
        """
        self._events.append({
            "instance_id": instance_id, "at": self.now, "kind": kind, "element_id": element_id,
            "task_id": task_id, "actor": actor,
            "detail": json.dumps(detail, ensure_ascii=False, default=str) if detail else None,
            **({} if to_webhooks else {"deliver": False}),
        })

    def commit(self) -> None:
        if self._events:
            deliver = [event.pop("deliver", True) for event in self._events]
            self.insert(_INSERT_EVENTS, self._events)
            telling = outbox_job(self._events, self.now)  # who is told is worked out later, by a worker
            if telling is not None:
                self.insert(_INSERT_JOB, [telling])
            subscriptions = self.services.webhooks.current(self.read)
            if subscriptions:
                wanted = [event for event, flag in zip(self._events, deliver, strict=True) if flag]
                jobs = webhook_jobs(subscriptions, wanted, self.now, self._confidential_instances(wanted))
                if jobs:
                    self.execute(insert(tables.job), jobs)
            self._events.clear()
        if self._connection is not None:
            self._connection.commit()

    def _confidential_instances(self, events: list[dict[str, Any]]) -> frozenset[int]:
        """Which of the events' instances are confidential cases (their webhook payloads are cut to the bare event)."""
        ids = {event["instance_id"] for event in events if event["instance_id"] is not None}
        if not ids:
            return frozenset()
        i = tables.process_instance
        rows = self.read(select(i.c.id, i.c.definition_id).where(i.c.id.in_(ids))).all()
        return frozenset(row.id for row in rows if sensitivity_of(self, row.definition_id).confidential)

    def close(self) -> None:
        """Roll back whatever was not committed and give the connection back."""
        if self._connection is not None:
            self.services.database.release_command_connection(self._connection)
            self._connection = None
