"""Who is an administrator: the one definition every command, query and page asks.

An administrator is the built-in ``admin`` account (always, even before its account row exists) or any
active account whose ``is_admin`` flag is set (``huhua accounts password NAME --admin``). The flag is read
from the database each time it is asked, so granting or revoking it takes effect at the caller's next
command or request; nothing is remembered longer than one command (or, in the web layer, one request).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from engine.commands.model import ADMIN
from engine.commands.unit_of_work import UnitOfWork
from engine.store import tables

_a = tables.account


def is_administrator(reader: Connection | Session | UnitOfWork, user: str | None) -> bool:
    """Whether ``user`` may act on every task and administer the engine.

    ``reader`` is whatever the caller is already reading through: a command's unit of work (the answer is then
    read inside its transaction and kept for the command's life), a query's session or a connection.
    """
    if not user:
        return False
    if user == ADMIN:
        return True
    statement = select(_a.c.is_admin).where(_a.c.username == user, _a.c.active.is_(True))
    if isinstance(reader, UnitOfWork):
        key = f"is_administrator:{user}"
        if key not in reader.memo:
            reader.memo[key] = bool(reader.read(statement).scalar())
        return bool(reader.memo[key])
    found: Any = reader.execute(statement).scalar()
    return bool(found)
