"""Accounts: what the log-in and token checks read on every request, the token lists, and whether a person is an
administrator, a service account, or has an account that may use the pages.

Asked with the engine clock's ``now`` (a session or token is over when the engine's time says so, virtual
clock included). Token hashes never leave this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.orm import aliased

from engine.access import policy
from engine.access.identity import ADMIN, SERVICE, is_service_account
from engine.commands.accounts import token_hash
from engine.commands.sessions import session_hash
from engine.queries.rows import iso
from engine.store.database import Database
from engine.store.models import Account, AccountSession, ApiToken, Person

#: The most tokens one list answers with (the administrator's view of all of them pages by owner).
MAX_TOKENS = 500


@dataclass(frozen=True)
class TokenCaller:
    """Who a presented token speaks for, and when it was last noted as used."""

    token_id: int
    username: str
    last_used_at: datetime | None


class AccountQueries:
    def __init__(self, database: Database) -> None:
        self.database = database

    def session_user(self, session_key: str, now: datetime) -> str | None:
        """Whose running session ``session_key`` is: None once it ended, expired or its account was deactivated."""
        with self.database.read() as session:
            return session.scalar(
                select(AccountSession.username)
                .join(Account, Account.username == AccountSession.username)
                .where(AccountSession.key_hash == session_hash(session_key), AccountSession.ended_at.is_(None),
                       AccountSession.expires_at > now, Account.active.is_(True),
                       _still_someone(AccountSession.username)))

    def token_caller(self, token: str, now: datetime) -> TokenCaller | None:
        """Whose a token is (None: unknown, revoked, expired, or its owner's account is deactivated)."""
        deactivated = exists().where(Account.username == ApiToken.username, Account.active.is_(False))
        with self.database.read() as session:
            row = session.execute(
                select(ApiToken.id, ApiToken.username, ApiToken.last_used_at)
                .where(ApiToken.token_hash == token_hash(token), ApiToken.revoked_at.is_(None),
                       ApiToken.expires_at > now, ~deactivated, _still_someone(ApiToken.username))).first()
        return TokenCaller(row.id, row.username, row.last_used_at) if row else None

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


def _still_someone(username: Any) -> ColumnElement[bool]:
    """The administrator, a service account, or a person still in the org directory: someone a directory load
    removed (they left the school) calls with nothing, whatever session or token they kept."""
    other = aliased(Account)  # the callers' own queries read Account already: this one must not correlate to it
    service = exists().where(other.username == username, other.kind == SERVICE)
    return or_(username == ADMIN, exists().where(Person.id == username), service)
