"""Log-in sessions, kept on the server so that they can end.

Flask's session cookie is signed, not stored: by itself, a copy of it would work until it expires, after a
log-out or a new password. So a log-in makes a random key, keeps its hash here with an expiry, and puts only
the key in the cookie; every request asks :meth:`engine.queries.accounts.AccountQueries.session_caller` whether
the key's session still runs. Log-out ends that one session; a new password or deactivation ends all of the
account's sessions. A session's lifetime is measured on the people's clock (the wall clock, see
:class:`~engine.commands.requests.LogIn`); everything else here on the engine's.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from engine.access.identity import SERVICE
from engine.commands import login_throttle
from engine.commands.requests import LogIn, LogOut
from engine.commands.unit_of_work import UnitOfWork
from engine.errors import InvalidInput, Problem
from engine.store import tables

_a, _s = tables.account, tables.account_session
#: Ended and expired sessions are kept this long (who was logged in when), then deleted at the owner's next log-in.
KEEP_ENDED = timedelta(days=30)
#: The longest session a log-in may ask for.
MAX_LIFETIME_MINUTES = 7 * 24 * 60


def session_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@cache
def _no_account() -> str:
    """Checked against when there is no such account, so that a wrong name costs the same as a wrong password."""
    return generate_password_hash("no such account")


def log_in(command: LogIn, uow: UnitOfWork) -> dict[str, Any]:
    _check_lifetime(command.lifetime_minutes, command.person_now)
    username = command.username[:100]
    refused = check_password(uow, username, command.password, command.remote)
    if refused is not None:
        return refused
    uow.execute(update(_a).where(_a.c.username == username).values(last_login_at=uow.now))
    uow.record("logged_in", actor=username, remote=command.remote)
    return {"outcome": "ok", "username": username,
            **start_session(uow, username, command.remote, command.lifetime_minutes, command.person_now)}


def check_password(uow: UnitOfWork, username: str, password: str, remote: str | None) -> dict[str, Any] | None:
    """None when ``password`` opens ``username``'s active account; else the refusal (``refused``, or ``locked``
    with ``until``), the failure counted by the throttle. A locked name is refused without hashing anything."""
    lock = login_throttle.current_lock(uow, username, remote)
    if lock is not None:
        return {"outcome": "locked", "locked": lock.kind, "until": lock.until}
    row = uow.read(select(_a.c.password_hash).where(  # a service account never logs in
        _a.c.username == username, _a.c.active.is_(True), _a.c.kind != SERVICE)).first()
    if check_password_hash(row.password_hash if row else _no_account(), password) and row is not None:
        login_throttle.forget_failures(uow, username)
        return None
    login_throttle.record_failure(uow, username, remote)
    uow.record("login_failed", username=username, remote=remote, to_webhooks=False)
    lock = login_throttle.current_lock(uow, username, remote)
    return {"outcome": "locked", "locked": lock.kind, "until": lock.until} if lock else {"outcome": "refused"}


def start_session(uow: UnitOfWork, username: str, remote: str | None, lifetime_minutes: int,
                  person_now: datetime) -> dict[str, Any]:
    """A new session: its key (for the cookie, and nowhere else) and when it ends."""
    _check_lifetime(lifetime_minutes, person_now)
    key = secrets.token_urlsafe(32)
    expires = person_now + timedelta(minutes=lifetime_minutes)
    uow.execute(delete(_s).where(_s.c.username == username, or_(
        _s.c.ended_at < uow.now - KEEP_ENDED, _s.c.expires_at < person_now - KEEP_ENDED)))
    uow.execute(insert(_s).values(key_hash=session_hash(key), username=username, remote=remote,
                                  created_at=uow.now, expires_at=expires))
    return {"session_key": key, "expires_at": expires}


def _check_lifetime(lifetime_minutes: int, person_now: datetime) -> None:
    if not 1 <= lifetime_minutes <= MAX_LIFETIME_MINUTES:
        raise InvalidInput(f"a session lasts 1 to {MAX_LIFETIME_MINUTES} minutes",
                           [Problem("out of range", field="lifetime_minutes")])
    if person_now.tzinfo is None:
        raise InvalidInput("person_now must carry its time zone", [Problem("naive time", field="person_now")])


def log_out(command: LogOut, uow: UnitOfWork) -> dict[str, Any]:
    ended = uow.execute(update(_s).where(_s.c.key_hash == session_hash(command.session_key), _s.c.ended_at.is_(None))
                        .values(ended_at=uow.now).returning(_s.c.username)).first()
    if ended is not None:
        uow.record("logged_out", actor=ended.username)
    return {"ended": ended is not None}


def end_sessions(uow: UnitOfWork, username: str) -> int:
    """End every running session of ``username`` (a new password, deactivation); how many there were."""
    return uow.execute(update(_s).where(_s.c.username == username, _s.c.ended_at.is_(None))
                       .values(ended_at=uow.now)).rowcount
