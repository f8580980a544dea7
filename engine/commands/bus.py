"""Runs commands through a chain of interceptors (measuring, logging, retry, transaction), Camunda-style.

Cross-cutting concerns live here, not in the handlers. A handler never calls another command.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import IntegrityError, OperationalError

from engine.access.identity import forget_request_answers
from engine.commands.audit import audit_command, audit_refusal
from engine.commands.input_limits import check_input
from engine.commands.unit_of_work import Services, UnitOfWork
from engine.errors import Conflict, HuhuaError, StaleVersion, StorageFull
from engine.metrics import record_command
from engine.org.calendar import COMMAND_CALENDAR
from engine.phrases import Phrase

log = logging.getLogger("huhua.commands")

Handler = Callable[[Any, UnitOfWork], Any]
Next = Callable[[Any], Any]
Interceptor = Callable[[Any, Next], Any]


class CommandBus:
    def __init__(self, services: Services, handlers: dict[type, Handler],
                 retry_on_conflict: frozenset[type] = frozenset()) -> None:
        self.services = services
        self.handlers = handlers
        self._chain: Next = self._build_chain([
            self._measure,
            self._log,
            self._bounded,
            self._retry(retry_on_conflict),
            self._transaction,
        ])

    def execute(self, command: Any) -> Any:
        """Run ``command`` in its own transaction and return its plain-data result."""
        if type(command) not in self.handlers:
            raise TypeError(f"no handler for {type(command).__name__}")
        return self._chain(command)

    def _build_chain(self, interceptors: list[Interceptor]) -> Next:
        def terminal(command: Any) -> Any:
            raise AssertionError("the transaction interceptor must end the chain")

        chain: Next = terminal
        for interceptor in reversed(interceptors):
            chain = (lambda inner, nxt: lambda cmd: inner(cmd, nxt))(interceptor, chain)
        return chain

    @staticmethod
    def _measure(command: Any, nxt: Next) -> Any:
        """Count the command by kind and outcome, and time it with its retries (engine.metrics)."""
        started = time.perf_counter()
        error: BaseException | None = None
        try:
            return nxt(command)
        except BaseException as err:
            error = err
            raise
        finally:
            record_command(type(command).__name__, time.perf_counter() - started, error)

    def _log(self, command: Any, nxt: Next) -> Any:
        started = time.perf_counter()
        try:
            result = nxt(command)
        except HuhuaError as err:
            log.info("%s refused: %s", type(command).__name__, err.message)
            self._audit_refusal(command, err)
            raise
        log.debug("%s done in %.1f ms", type(command).__name__, (time.perf_counter() - started) * 1000)
        return result

    def _audit_refusal(self, command: Any, err: HuhuaError) -> None:
        """Log an administrator's refused command in a transaction of its own (the command's rolled back); a full
        database cannot take the note either."""
        if isinstance(err, StorageFull):
            return
        uow = UnitOfWork(self.services, self.services.clock.now())
        try:
            if audit_refusal(uow, command, err.message):
                uow.commit()
        except Exception:  # the refusal is the answer; a log that cannot be written must not replace it
            log.exception("the refusal of %s could not be written to the audit log", type(command).__name__)
        finally:
            uow.close()

    def _bounded(self, command: Any, nxt: Next) -> Any:
        """Caller-given variables within their depth and size, before any work (see input_limits)."""
        check_input(command, self.services.settings)
        return nxt(command)

    @staticmethod
    def _retry(retryable: frozenset[type], attempts: int = 5) -> Interceptor:
        def intercept(command: Any, nxt: Next) -> Any:
            for attempt in range(attempts):
                try:
                    return nxt(command)
                except Conflict as conflict:
                    # A stale version means nothing was applied and a fresh read may well succeed.
                    again = isinstance(conflict, StaleVersion) or type(command) in retryable
                    if not again or attempt == attempts - 1:
                        raise
                    time.sleep(0.005 * (2 ** attempt))
            raise AssertionError("unreachable")

        return intercept

    def _transaction(self, command: Any, _nxt: Next) -> Any:
        handler = self.handlers[type(command)]
        uow = UnitOfWork(self.services, self.services.clock.now())
        calendar = COMMAND_CALENDAR.set(lambda: uow.calendar)
        try:
            result = handler(command, uow)
            audit_command(uow, command)  # an administrator's command is logged in its own transaction
            uow.commit()
            forget_request_answers()  # a request's later queries read who holds what as the command left it
            return result
        except IntegrityError as err:
            raise Conflict("the change collides with another one made at the same time; try again") from err
        except (OperationalError, sqlite3.OperationalError) as err:  # the latter from the hot path's raw inserts
            cause = getattr(err, "orig", err)
            if _is_lock_conflict(cause):
                raise Conflict("another change to the same data is in progress; try again") from err
            if _is_storage_full(cause):
                log.error("%s was not stored: the database or its disk is full (%s)", type(command).__name__, cause)
                raise StorageFull(Phrase("the database or the disk it is on is full, so nothing was saved; ask the "
                                         "administrator to free disk space, then try again")) from err
            raise
        finally:
            COMMAND_CALENDAR.reset(calendar)
            uow.close()


def _is_storage_full(cause: Exception) -> bool:
    """The driver's SQLITE_FULL ("database or disk is full": the disk, or the database's max_page_count) or
    PostgreSQL's disk_full (SQLSTATE 53100)."""
    return getattr(cause, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL \
        or getattr(cause, "sqlstate", None) == "53100"


def _is_lock_conflict(cause: Exception) -> bool:
    text = str(cause).lower()
    return "database is locked" in text or "deadlock detected" in text or "could not serialize" in text
