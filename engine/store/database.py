"""Connecting to the database: SQLite (WAL, durable commits, one writer at a time) or PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


class Database:
    """Owns the SQLAlchemy engine and hands out sessions for writing and for reading."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            _ensure_sqlite_directory(url)
            self.engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30})
            _configure_sqlite(self.engine)
        else:
            self.engine = create_engine(url, echo=echo, pool_size=10, max_overflow=20, pool_pre_ping=True)
        self._command_engine = self.engine.execution_options(huhua_command=True)
        self._reader = sessionmaker(self.engine, expire_on_commit=False)

    def connect_for_command(self) -> Connection:
        """A connection for one command: reads take no lock until :meth:`begin_writing` is called on it.

        On SQLite its reads run in autocommit mode, so no snapshot goes stale while SpiffWorkflow works;
        on PostgreSQL it is an ordinary READ COMMITTED transaction (reads take no row locks there).
        """
        return self._command_engine.connect()

    def begin_writing(self, connection: Connection) -> None:
        """Take the write lock now (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL locks rows as they are written)."""
        if self.is_sqlite:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for queries; never commits."""
        session = self._reader()
        try:
            yield session
        finally:
            session.rollback()
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


def _ensure_sqlite_directory(url: str) -> None:
    path = url.split("///", 1)[-1] if "///" in url else ""
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module so BEGIN IMMEDIATE can be issued.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")  # durable: a committed command survives power loss
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Queries read from one snapshot. Commands read in autocommit mode and take the write lock
        # with BEGIN IMMEDIATE at their first write, so they never upgrade a read lock (no deadlock).
        if not connection.get_execution_options().get("huhua_command", False):
            connection.exec_driver_sql("BEGIN")
