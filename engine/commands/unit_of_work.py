"""What a command handler works with: one transaction's connection, the shared services, and its events."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Executable, Result, insert

from engine.bpmn.spec_cache import SpecCache
from engine.clock import Clock
from engine.config import Settings
from engine.runtime.execution import Runtime
from engine.store import tables
from engine.store.database import Database

_INSERT_EVENTS = insert(tables.event)


@dataclass
class Services:
    """Long-lived collaborators, wired once by :func:`engine.bootstrap.bootstrap`."""

    settings: Settings
    database: Database
    clock: Clock
    runtime: Runtime
    specs: SpecCache


@dataclass
class UnitOfWork:
    """One command's transaction. Events are buffered and written in one statement at the end."""

    connection: Connection
    services: Services
    now: datetime
    _events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def runtime(self) -> Runtime:
        return self.services.runtime

    def execute(self, statement: Executable, parameters: Any = None) -> Result[Any]:
        return self.connection.execute(statement, parameters)

    def record(self, kind: str, *, instance_id: int | None = None, element_id: str | None = None,
               task_id: int | None = None, actor: str | None = None, **detail: Any) -> None:
        """Add an audit event; it is written with the rest of the command, or not at all."""
        self._events.append({
            "instance_id": instance_id, "at": self.now, "kind": kind, "element_id": element_id,
            "task_id": task_id, "actor": actor,
            "detail": json.dumps(detail, ensure_ascii=False, default=str) if detail else None,
        })

    def flush_events(self) -> None:
        if self._events:
            self.connection.execute(_INSERT_EVENTS, self._events)
            self._events.clear()
