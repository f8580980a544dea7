"""The log-in throttle: too many wrong passwords for one account name, or from one address, lock its log-in.

``HUHUA_LOGIN_ACCOUNT_LIMIT`` (5) failures for a name within ``WINDOW`` lock that name for ``LOCK`` (a right
password is refused too), whatever address they came from; ``HUHUA_LOGIN_ADDRESS_LIMIT`` (50) failures from
one address lock every log-in from it, so that one machine cannot try a few passwords on each of many
accounts. Attempts refused by a lock are not counted (the lock ends when it said it would) and cost no
password hashing.

The failures are rows in the database, not counters in a process's memory: every gunicorn worker and every
restart sees the same count, on SQLite and PostgreSQL alike. A name counts whether or not an account has
it, so a lock tells nothing about which accounts exist. Rows older than a window and a lock are deleted as
new failures come in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select

from engine.commands.unit_of_work import UnitOfWork
from engine.store import tables

WINDOW = timedelta(minutes=15)
LOCK = timedelta(minutes=15)
ACCOUNT, ADDRESS = "account", "address"
_f = tables.login_failure


@dataclass(frozen=True)
class Lock:
    """Log-in is refused for ``kind`` (the account name, or the address) until ``until``."""

    kind: str
    until: datetime


def current_lock(uow: UnitOfWork, username: str, address: str | None) -> Lock | None:
    """The lock on this name or this address, whichever lasts longer; None when neither is locked."""
    locks = [Lock(kind, until) for kind, subject, limit in _subjects(uow, username, address)
             if limit > 0 and (until := _locked_until(uow, kind, subject, limit)) is not None]
    return max(locks, key=lambda lock: lock.until, default=None)


def record_failure(uow: UnitOfWork, username: str, address: str | None) -> None:
    """Count a wrong password against the name and the address (and forget failures too old to matter)."""
    uow.execute(delete(_f).where(_f.c.at < uow.now - WINDOW - LOCK))
    uow.execute(insert(_f), [{"kind": kind, "subject": subject, "at": uow.now}
                             for kind, subject, _ in _subjects(uow, username, address)])


def forget_failures(uow: UnitOfWork, username: str) -> None:
    """A right password (or the administrator) clears the name's count; the address keeps its own."""
    uow.execute(delete(_f).where(_f.c.kind == ACCOUNT, _f.c.subject == username))


def _subjects(uow: UnitOfWork, username: str, address: str | None) -> list[tuple[str, str, int]]:
    """What a failure counts against, each with its limit (0: that count is off)."""
    settings = uow.services.settings
    subjects = [(ACCOUNT, username[:100], settings.login_account_limit)]
    if address:
        subjects.append((ADDRESS, address[:100], settings.login_address_limit))
    return subjects


def _locked_until(uow: UnitOfWork, kind: str, subject: str, limit: int) -> datetime | None:
    """When the newest ``limit`` failures fell within one window, the last of them locked the subject."""
    newest = [row.at for row in uow.read(
        select(_f.c.at).where(_f.c.kind == kind, _f.c.subject == subject, _f.c.at > uow.now - WINDOW - LOCK)
        .order_by(_f.c.at.desc()).limit(limit))]
    if len(newest) < limit or newest[0] - newest[-1] >= WINDOW:
        return None
    until = newest[0] + LOCK
    return until if until > uow.now else None
