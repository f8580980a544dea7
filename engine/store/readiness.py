"""Whether this process can serve: the database answers within a few seconds and its schema is the one this
code's migrations end at. A load balancer or an orchestrator asks it (``/readyz``) before sending work, and
after an outage, to know when to send it again."""

from __future__ import annotations

import logging

from alembic.runtime.migration import MigrationContext
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from engine.store.database import Database
from engine.store.migration import head_revision

log = logging.getLogger("huhua.readiness")

#: How long the readiness query may run on PostgreSQL before it counts as no answer.
STATEMENT_TIMEOUT_MS = 2000


def unready_reason(database: Database) -> str | None:
    """None when ready; otherwise what is wrong, in a sentence for the operator. The answer is public, so the
    driver's words (they name the database's address) go to the log only."""
    try:
        with database.engine.connect() as connection:
            if not database.is_sqlite:  # a connection that takes long to make fails by connect_timeout (Database)
                connection.exec_driver_sql(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}")
            current = MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError as err:
        log.warning("not ready: the database does not answer: %s", first_line(err))
        return f"the database does not answer ({type(err).__name__}; the log says more)"
    head = head_revision()
    if current != head:
        return (f"the database schema is at revision {current or 'none'} but this code expects {head}: "
                "run 'huhua db upgrade'")
    return None


def database_unreachable(err: Exception) -> bool:
    """The database is away or out of connections (try again later), not a statement that failed (a bug)."""
    if isinstance(err, OperationalError | DisconnectionError | PoolTimeout):
        return True
    return isinstance(err, DBAPIError) and err.connection_invalidated


def first_line(err: Exception) -> str:
    """The driver's own words, first line only: enough to tell a refused connection from a timeout."""
    text = str(getattr(err, "orig", None) or err).strip().splitlines()
    return text[0][:200] if text else ""
