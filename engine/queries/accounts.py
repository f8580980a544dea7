"""Accounts: what the log-in and token checks read on every request, the token lists, and whether a person is an
administrator, a service account, or has an account that may use the pages.

Asked with the engine clock's ``now`` (a session or token is over when the engine's time says so, virtual
clock included). Token hashes never leave this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam, exists, or_, select

from engine.access import policy
from engine.access.identity import ADMIN, SERVICE, is_service_account
from engine.commands.accounts import token_hash
from engine.commands.sessions import session_hash
from engine.queries.rows import iso
from engine.store import tables
from engine.store.database import Database
from engine.store.models import Account, ApiToken

#: The most tokens one list answers with (the administrator's view of all of them pages by owner).
MAX_TOKENS = 500


@dataclass(frozen=True)
class Caller:
    """Who a running session or a presented token speaks for, with what every request then asks of them."""

    username: str
    is_administrator: bool
    is_service_account: bool


@dataclass(frozen=True)
class TokenCaller(Caller):
    """A token's caller, the token, and when it was last noted as used."""

    token_id: int
    last_used_at: datetime | None


_k, _s, _a, _p = tables.api_token, tables.account_session, tables.account, tables.person


def _still_someone(username: Any) -> ColumnElement[bool]:
    """The administrator, a service account, or a person still in the org directory: someone a directory load
    removed (they left the school) calls with nothing, whatever session or token they kept. For the caller
    queries below, which read the caller's own account row (``_a``) already."""
    return or_(username == ADMIN, exists().where(_p.c.id == username), _a.c.kind == SERVICE)


# The two questions every request asks, built once (a statement built per call costs more than SQLite running
# it); the caller's account row comes along, so whether they administer or are a service account costs nothing.
_SESSION_CALLER = (
    select(_s.c.username, _a.c.is_admin, _a.c.kind)
    .join_from(_s, _a, _a.c.username == _s.c.username)
    .where(_s.c.key_hash == bindparam("digest"), _s.c.ended_at.is_(None), _s.c.expires_at > bindparam("now"),
           _a.c.active.is_(True), _still_someone(_s.c.username)))
_TOKEN_CALLER = (
    select(_k.c.id, _k.c.username, _k.c.last_used_at, _a.c.is_admin, _a.c.active, _a.c.kind)
    .outerjoin_from(_k, _a, _a.c.username == _k.c.username)  # a person given a token need not have a log-in
    .where(_k.c.token_hash == bindparam("digest"), _k.c.revoked_at.is_(None), _k.c.expires_at > bindparam("now"),
           _a.c.active.is_not(False), _still_someone(_k.c.username)))


class AccountQueries:
    def __init__(self, database: Database) -> None:
        self.database = database

    def session_caller(self, session_key: str, now: datetime) -> Caller | None:
        """Whose running session ``session_key`` is: None once it ended, expired or its account was deactivated."""
        with self.database.read_connection() as connection:
            row = connection.execute(_SESSION_CALLER, {"digest": session_hash(session_key), "now": now}).first()
        if row is None:
            return None
        return Caller(row.username, row.username == ADMIN or bool(row.is_admin), row.kind == SERVICE)

    def token_caller(self, token: str, now: datetime) -> TokenCaller | None:
        """Whose a token is (None: unknown, revoked, expired, or its owner's account is deactivated), in one
        statement."""
        with self.database.read_connection() as connection:
            row = connection.execute(_TOKEN_CALLER, {"digest": token_hash(token), "now": now}).first()
        if row is None:
            return None
        administrator = row.username == ADMIN or (bool(row.is_admin) and row.active is True)
        return TokenCaller(row.username, administrator, row.kind == SERVICE, row.id, row.last_used_at)

    def api_tokens(self, now: datetime, username: str | None = None, limit: int = MAX_TOKENS) -> list[dict[str, Any]]:
        """Tokens, newest first: ``username``'s, or everyone's (for the administrator); never the token itself."""
        query = select(ApiToken.id, ApiToken.username, ApiToken.name, ApiToken.created_at, ApiToken.expires_at,
                       ApiToken.last_used_at, ApiToken.revoked_at)
        if username is not None:
            query = query.where(ApiToken.username == username)
        with self.database.read() as session:
            rows = session.execute(query.order_by(ApiToken.id.desc()).limit(min(limit, MAX_TOKENS))).all()
        return [{"id": r.id, "username": r.username, "name": r.name, "state": _state(r, now),
                 "created_at": iso(r.created_at), "expires_at": iso(r.expires_at),
                 "last_used_at": iso(r.last_used_at), "revoked_at": iso(r.revoked_at)} for r in rows]

class AccountFamily:
    """The account questions of :class:`engine.queries.Queries` asked on every request: who is an administrator,
    a service account, or may use the pages."""

    database: Database

    def is_administrator(self, user: str) -> bool:
        """Whether ``user`` is an administrator now (engine.access.policy): asked afresh each time."""
        with self.database.read() as session:
            return policy.is_administrator(session, user)

    def is_service_account(self, user: str) -> bool:
        """Whether ``user`` is a service account (a system that sends messages; engine.access.messages)."""
        with self.database.read() as session:
            return is_service_account(session, user)

    def account(self, username: str) -> dict[str, Any] | None:
        """An active account that may use the pages (a service account may not: it calls with tokens only)."""
        with self.database.read() as session:
            row = session.execute(select(Account.username, Account.is_admin).where(
                Account.username == username, Account.active.is_(True), Account.kind != SERVICE)).first()
        return {"username": row.username, "is_admin": row.is_admin} if row else None



def _state(row: Any, now: datetime) -> str:
    if row.revoked_at is not None:
        return "revoked"
    return "expired" if row.expires_at <= now else "active"
