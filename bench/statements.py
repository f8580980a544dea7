"""Counting the SQL statements a command, query or request runs: the figure that says whether a page grew chatty.

Transaction control and connection set-up are left out. On SQLite the driver's own trace is read, as the
hot-path INSERTs go straight to it (engine.store.raw_insert); on PostgreSQL SQLAlchemy's cursor events.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event

from engine.store.database import Database


class StatementCounter:
    """Counts the statements ``database`` runs while ``count`` runs an action."""

    def __init__(self, database: Database) -> None:
        self.counting, self.seen = False, 0
        if database.is_sqlite:
            database.dispose()  # the connections made from now on are traced
            event.listen(database.engine, "connect",
                         lambda connection, _record: connection.set_trace_callback(self._traced))
        else:
            event.listen(database.engine, "before_cursor_execute", lambda *_args: self._traced("SELECT"))

    def _traced(self, statement: str) -> None:
        if self.counting and not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA")):
            self.seen += 1

    def count(self, action: Callable[[], Any]) -> int:
        self.counting, self.seen = True, 0
        try:
            action()
        finally:
            self.counting = False
        return self.seen
