"""Connecting to the database: SQLite (WAL, durable commits, one writer at a time) or PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

#: Seconds a new PostgreSQL connection may take to open (libpq ``connect_timeout``).
CONNECT_TIMEOUT = 5


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
            # pre-ping: a connection the server dropped (a restart, a failover) is replaced at checkout, so the
            # process reconnects by itself when the database is back; a connection that cannot be made within
            # CONNECT_TIMEOUT fails (an answer of 503) rather than holding the request.
            self.engine = create_engine(url, echo=echo, pool_size=10, max_overflow=20, pool_pre_ping=True,
                                        connect_args=_connect_timeout(url))
        self._command_engine = self.engine.execution_options(huhua_command=True)
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._reader = sessionmaker(self.engine, expire_on_commit=False)

    def connect_for_command(self) -> Connection:
        """A connection for one command: reads take no lock until :meth:`begin_writing` is called on it.

        On SQLite its reads run in autocommit mode, so no snapshot goes stale while SpiffWorkflow works,
        and each thread keeps its connection between commands (a local file has nothing to reconnect
        to, and checking a connection out per command costs more than many commands' SQL). On
        PostgreSQL it comes from the pool and is an ordinary READ COMMITTED transaction.
        """
        if not self.is_sqlite:
            return self._command_engine.connect()
        connection = getattr(self._local, "connection", None)
        if connection is None or connection.closed or connection.invalidated:
            connection = self._local.connection = self._command_engine.connect()
        return connection

    def release_command_connection(self, connection: Connection) -> None:
        """End the command: whatever was not committed is rolled back, and the write lock released."""
        try:
            if self.is_sqlite and connection is getattr(self._local, "connection", None) \
                    and not connection.invalidated:
                connection.rollback()
            else:
                connection.close()
        finally:
            if getattr(self._local, "writing", False):
                self._local.writing = False
                self._write_lock.release()

    def begin_writing(self, connection: Connection) -> None:
        """Take the write lock now (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL locks rows as they are written).

        On SQLite the threads of this process first queue on a lock of their own: SQLite's busy
        handler would make a waiting writer sleep in steps of milliseconds, where a thread lock
        wakes it the moment the other command commits.
        """
        if not connection.in_transaction():
            connection.begin()  # SQLAlchemy must count the transaction, or its commit would not reach SQLite
        if self.is_sqlite:
            self._write_lock.acquire()
            self._local.writing = True
            # Straight to the driver: SQLAlchemy already counts the connection as in a transaction
            # (its BEGIN is suppressed for command connections), and commits or rolls back through it.
            connection.connection.driver_connection.execute("BEGIN IMMEDIATE")

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for queries; never commits."""
        session = self._reader()
        try:
            yield session
        finally:
            session.rollback()
            session.close()

    @contextmanager
    def read_connection(self) -> Iterator[Connection]:
        """A plain connection for a query asked on every request, without an ORM session's cost; never commits."""
        with self.engine.connect() as connection:
            yield connection  # closing it rolls the read back

    def dispose(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None
        self.engine.dispose()


def _connect_timeout(url: str) -> dict[str, Any]:
    """libpq's connect_timeout, unless the URL sets its own."""
    return {} if "connect_timeout=" in url else {"connect_timeout": CONNECT_TIMEOUT}


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
