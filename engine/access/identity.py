"""Who someone is, and what the access rules read through.

Kept apart from :mod:`engine.access.policy` so that the rule modules it consults (counselling confidentiality,
say) can ask who is an administrator without importing the policy that imports them.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import Connection, Executable, Result, select
from sqlalchemy.orm import Session

from engine.store import tables

#: The built-in administrator account (always an administrator, even before its account row exists).
ADMIN = "admin"
#: The kind of account a system that sends messages has (engine.access.messages): no password, tokens only.
SERVICE = "service"

_a = tables.account


class CommandReader(Protocol):
    """A command's unit of work, as far as the policy uses it: reads in its transaction, a per-command memo."""

    memo: dict[str, Any]

    def read(self, statement: Executable, parameters: Any = None) -> Result[Any]: ...


#: What the policy reads through: a command's unit of work, a query's session, or a connection.
Reader = Connection | Session | CommandReader


def read_with(reader: Reader, statement: Executable) -> Result[Any]:
    if isinstance(reader, Connection | Session):
        return reader.execute(statement)
    return reader.read(statement)


def memo_of(reader: Reader) -> dict[str, Any] | None:
    """A unit of work keeps answers for its command's life; sessions and connections keep nothing."""
    return getattr(reader, "memo", None) if not isinstance(reader, Connection | Session) else None


# --- who someone is ---------------------------------------------------------------------------------------------

def is_administrator(reader: Reader, user: str | None) -> bool:
    """Whether ``user`` may act on every task and administer the engine.

    The built-in ``admin`` account always; any other active account whose ``is_admin`` flag is set. Read afresh
    each time (kept for one command's life in a unit of work), so granting or revoking counts at once.
    """
    if not user:
        return False
    if user == ADMIN:
        return True
    memo, key = memo_of(reader), f"is_administrator:{user}"
    if memo is not None and key in memo:
        return bool(memo[key])
    found = bool(read_with(reader, select(_a.c.is_admin).where(_a.c.username == user, _a.c.active.is_(True))).scalar())
    if memo is not None:
        memo[key] = found
    return found


def is_service_account(reader: Reader, user: str | None) -> bool:
    """Whether ``user`` is a service account: a system that delivers messages, never a person."""
    return bool(user) and read_with(reader, select(_a.c.kind).where(_a.c.username == user)).scalar() == SERVICE


class _ReadOnly:
    """A unit of work seen as a session that only reads (its ``read`` takes no write lock)."""

    def __init__(self, reader: CommandReader) -> None:
        self._reader = reader

    def execute(self, statement: Executable, parameters: Any = None) -> Result[Any]:
        return self._reader.read(statement, parameters)

    read = execute  # so the rules that take a reader take it too


def as_session(reader: Reader) -> Any:
    """Something with ``execute`` for rule modules written against a session; a unit of work only reads through it."""
    return reader if isinstance(reader, Connection | Session) else _ReadOnly(reader)
