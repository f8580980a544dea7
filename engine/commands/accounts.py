"""Log-in accounts and API tokens. Passwords and tokens are stored hashed; a token is shown once.

An account belongs to a person of the org directory (its username is the person's id) or is the
administrator. A password has at least 8 characters. Tokens are for programs calling the API.

A *service account* is a system that sends messages (a school platform, a hotline's switchboard): it is no
person of the directory, has no password (it cannot log in to the pages), calls only with API tokens, and may
deliver only the messages it is given, optionally only within one unit (:mod:`engine.access.messages`).
Only an administrator makes or changes one.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from sqlalchemy import insert, select, update
from werkzeug.security import generate_password_hash

from engine.access.messages import SERVICE, split_messages
from engine.commands.administrators import is_administrator
from engine.commands.instance_state import require_label
from engine.commands.model import ADMIN, CreateApiToken, RecordLogin, RevokeApiToken, SetPassword, SetServiceAccount
from engine.commands.unit_of_work import UnitOfWork
from engine.errors import Forbidden, InvalidInput, NotFound, Problem
from engine.store import tables

_a, _k, _p, _u = tables.account, tables.api_token, tables.person, tables.org_unit
MIN_PASSWORD = 8
#: A service account's password hash: no password opens it.
NO_PASSWORD = "!service-account"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def set_password(command: SetPassword, uow: UnitOfWork) -> dict[str, Any]:
    require_label(command.actor, "actor", 100)
    _known(uow, command.username)
    if _is_service(uow, command.username):
        raise InvalidInput(f"'{command.username}' is a service account: it has no password and calls with API "
                           "tokens only", [Problem("service account", field="username")])
    if not isinstance(command.password, str) or not MIN_PASSWORD <= len(command.password) <= 200:
        raise InvalidInput(f"a password has {MIN_PASSWORD} to 200 characters",
                           [Problem("bad length", field="password")])
    hashed = generate_password_hash(command.password)
    admin = command.username == ADMIN or command.is_admin
    if uow.read(select(_a.c.username).where(_a.c.username == command.username)).first() is None:
        uow.execute(insert(_a).values(username=command.username, password_hash=hashed, is_admin=admin, active=True,
                                      created_at=uow.now))
    else:
        uow.execute(update(_a).where(_a.c.username == command.username).values(password_hash=hashed, is_admin=admin,
                                                                              active=True))
    uow.record("password_set", actor=command.actor, username=command.username)
    return {"username": command.username, "is_admin": admin}


def record_login(command: RecordLogin, uow: UnitOfWork) -> dict[str, Any]:
    uow.execute(update(_a).where(_a.c.username == command.username).values(last_login_at=uow.now))
    uow.record("logged_in", actor=command.username, remote=command.remote)
    return {"username": command.username}


def create_api_token(command: CreateApiToken, uow: UnitOfWork) -> dict[str, Any]:
    require_label(command.name, "name", 200)
    _known(uow, command.username)
    token = "hh_" + secrets.token_urlsafe(32)
    token_id = uow.execute(insert(_k).values(token_hash=token_hash(token), username=command.username,
                                             name=command.name, created_at=uow.now).returning(_k.c.id)).scalar_one()
    uow.record("api_token_created", actor=command.actor, username=command.username, token_id=token_id,
               name=command.name)
    return {"id": token_id, "username": command.username, "name": command.name, "token": token}


def revoke_api_token(command: RevokeApiToken, uow: UnitOfWork) -> dict[str, Any]:
    revoked = uow.execute(update(_k).where(_k.c.id == command.token_id, _k.c.revoked_at.is_(None))
                          .values(revoked_at=uow.now)).rowcount
    if not revoked:
        raise NotFound(f"no active API token {command.token_id}")
    uow.record("api_token_revoked", actor=command.actor, token_id=command.token_id)
    return {"id": command.token_id, "revoked": True}


def set_service_account(command: SetServiceAccount, uow: UnitOfWork) -> dict[str, Any]:
    """Make (or change) a service account; its tokens come from :func:`create_api_token` as anyone's do."""
    require_label(command.actor, "actor", 100)
    require_label(command.name, "name", 100)
    if not is_administrator(uow, command.actor):
        raise Forbidden("only the administrator may make or change service accounts")
    existing = uow.read(select(_a.c.kind).where(_a.c.username == command.name)).first()
    if command.name == ADMIN or (existing is not None and existing.kind != SERVICE) \
            or uow.read(select(_p.c.id).where(_p.c.id == command.name)).first() is not None:
        raise InvalidInput(f"'{command.name}' is a person or the administrator; a service account needs a name "
                           "of its own", [Problem("name taken", field="name")])
    messages = [m for each in command.messages for m in split_messages(each)]
    bad = [m for m in messages if len(m) > 200]
    if not messages or bad:
        raise InvalidInput("a service account needs the names of the messages it may deliver (comma-separated, "
                           "each at most 200 characters)", [Problem("missing or too long", field="messages")])
    if command.scope_unit is not None and uow.read(
            select(_u.c.id).where(_u.c.id == command.scope_unit)).first() is None:
        raise InvalidInput(f"unit '{command.scope_unit}' is not in the org directory",
                           [Problem("unknown unit", field="scope")])
    values = {"kind": SERVICE, "messages": ",".join(sorted(set(messages))), "scope_unit": command.scope_unit,
              "password_hash": NO_PASSWORD, "is_admin": False, "active": True}
    if existing is None:
        uow.execute(insert(_a).values(username=command.name, created_at=uow.now, **values))
    else:
        uow.execute(update(_a).where(_a.c.username == command.name).values(**values))
    uow.record("service_account_set", actor=command.actor, username=command.name, messages=values["messages"],
               scope_unit=command.scope_unit)
    return {"username": command.name, "kind": SERVICE, "messages": sorted(set(messages)),
            "scope_unit": command.scope_unit}


def _is_service(uow: UnitOfWork, username: str) -> bool:
    return uow.read(select(_a.c.kind).where(_a.c.username == username)).scalar() == SERVICE


def _known(uow: UnitOfWork, username: str) -> None:
    """A person of the directory, the administrator, or a service account."""
    require_label(username, "username", 100)
    if username != ADMIN and uow.read(select(_p.c.id).where(_p.c.id == username)).first() is None \
            and not _is_service(uow, username):
        raise InvalidInput(f"'{username}' is not a person of the org directory",
                           [Problem("unknown person", field="username")])
