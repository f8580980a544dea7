"""Who someone is, and what the access rules read through.

Kept apart from :mod:`engine.access.policy` so that the rule modules it consults (counselling confidentiality,
say) can ask who is an administrator without importing the policy that imports them.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Connection, Executable, Result, bindparam, select
from sqlalchemy.orm import Session

from engine.store import tables

#: The built-in administrator account (always an administrator, even before its account row exists).
ADMIN = "admin"
#: The kind of account a system that sends messages has (engine.access.messages): no password, tokens only.
SERVICE = "service"

_a, _r, _u = tables.account, tables.role_assignment, tables.org_unit
# Asked on nearly every request and command: built once (building a statement costs more than running it).
_IS_ADMINISTRATOR = select(_a.c.is_admin).where(_a.c.username == bindparam("user"), _a.c.active.is_(True))
_KIND = select(_a.c.kind).where(_a.c.username == bindparam("user"))
_HOLDINGS = (select(_r.c.role, _r.c.unit_id, _u.c.kind, _u.c.path).join(_u, _u.c.id == _r.c.unit_id, isouter=True)
             .where(_r.c.person_id == bindparam("user")).order_by(_r.c.id))


class CommandReader(Protocol):
    """A command's unit of work, as far as the policy uses it: reads in its transaction, a per-command memo."""

    memo: dict[str, Any]

    def read(self, statement: Executable, parameters: Any = None) -> Result[Any]: ...


#: What the policy reads through: a command's unit of work, a query's session, or a connection.
Reader = Connection | Session | CommandReader


def read_with(reader: Reader, statement: Executable, parameters: dict[str, Any] | None = None) -> Result[Any]:
    if isinstance(reader, Connection | Session):
        return reader.execute(statement, parameters)
    return reader.read(statement, parameters)


#: The answers of one request (who is an administrator, a service account, which roles someone holds), kept
#: for the rest of it: the web layer sets it when a request begins (engine.web.auth); None elsewhere.
_REQUEST_ANSWERS: ContextVar[dict[str, Any] | None] = ContextVar("huhua_request_answers", default=None)


def keep_request_answers(answers: dict[str, Any]) -> Token[dict[str, Any] | None]:
    """From now until :func:`stop_keeping_request_answers`, queries keep who-is-what in ``answers``: a request asks
    each once however many queries it runs, and the next request asks afresh (so a change counts from then)."""
    return _REQUEST_ANSWERS.set(answers)


def stop_keeping_request_answers(token: Token[dict[str, Any] | None]) -> None:
    _REQUEST_ANSWERS.reset(token)


def forget_request_answers() -> None:
    """A command has committed: what the request kept may have changed, so its later queries ask again."""
    answers = _REQUEST_ANSWERS.get()
    if answers is not None:
        answers.clear()


def note_caller(user: str, *, administrator: bool, service_account: bool) -> None:
    """What the caller's own lookup read already (engine.queries.accounts), kept so the request asks no more."""
    answers = _REQUEST_ANSWERS.get()
    if answers is not None:
        answers[f"is_administrator:{user}"] = administrator
        answers[f"is_service_account:{user}"] = service_account


def memo_of(reader: Reader) -> dict[str, Any] | None:
    """A unit of work keeps answers for its command's life; a query's session for the request's (see
    :func:`keep_request_answers`), and nothing outside one; a bare connection keeps nothing."""
    if isinstance(reader, Session):
        return _REQUEST_ANSWERS.get()
    return None if isinstance(reader, Connection) else getattr(reader, "memo", None)


# --- who someone is ---------------------------------------------------------------------------------------------

def is_administrator(reader: Reader, user: str | None) -> bool:
    """Whether ``user`` may act on every task and administer the engine.

    The built-in ``admin`` account always; any other active account whose ``is_admin`` flag is set. Read afresh
    each time (kept for one command's life in a unit of work, or one request's by its queries), so granting or
    revoking counts at once, or from the next request.
    """
    if not user:
        return False
    if user == ADMIN:
        return True
    memo, key = memo_of(reader), f"is_administrator:{user}"
    if memo is not None and key in memo:
        return bool(memo[key])
    found = bool(read_with(reader, _IS_ADMINISTRATOR, {"user": user}).scalar())
    if memo is not None:
        memo[key] = found
    return found


def is_service_account(reader: Reader, user: str | None) -> bool:
    """Whether ``user`` is a service account: a system that delivers messages, never a person."""
    if not user:
        return False
    # kept for a request only: a command that makes an account a service account may ask again after
    memo = _REQUEST_ANSWERS.get() if isinstance(reader, Session) else None
    key = f"is_service_account:{user}"
    if memo is not None and key in memo:
        return bool(memo[key])
    found = read_with(reader, _KIND, {"user": user}).scalar() == SERVICE
    if memo is not None:
        memo[key] = found
    return found


@dataclass(frozen=True)
class Held:
    """One role a person holds at a unit, with what the rules ask of that unit (its tier, its place in the tree)."""

    role: str
    unit_id: str
    unit_kind: str | None
    unit_path: str | None


def holdings(reader: Reader, user: str | None) -> tuple[Held, ...]:
    """Every role ``user`` holds, read in one statement and kept like :func:`is_administrator`'s answer (for a
    command's life, or a request's): the inbox, the start list, the dashboard's scope and the counselling rules
    all ask it, and a page asks it once. ``admin`` is no person and holds none."""
    if not user or user == ADMIN:
        return ()
    memo, key = memo_of(reader), f"holdings:{user}"
    if memo is not None and key in memo:
        return memo[key]
    found = tuple(Held(*row) for row in read_with(reader, _HOLDINGS, {"user": user}))
    if memo is not None:
        memo[key] = found
    return found


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
