"""Log-in accounts and API tokens. Passwords and tokens are stored hashed; a token is shown once.

An account belongs to a person of the org directory (its username is the person's id) or is the
administrator. A password has at least 8 characters. Tokens are for programs calling the API.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from sqlalchemy import insert, select, update
from werkzeug.security import generate_password_hash

from engine.commands.instance_state import require_label
from engine.commands.model import ADMIN, CreateApiToken, RecordLogin, RevokeApiToken, SetPassword
from engine.commands.unit_of_work import UnitOfWork
from engine.errors import InvalidInput, NotFound, Problem
from engine.store import tables

_a, _k, _p = tables.account, tables.api_token, tables.person
MIN_PASSWORD = 8


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def set_password(command: SetPassword, uow: UnitOfWork) -> dict[str, Any]:
    require_label(command.actor, "actor", 100)
    _known(uow, command.username)
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


def _known(uow: UnitOfWork, username: str) -> None:
    require_label(username, "username", 100)
    if username != ADMIN and uow.read(select(_p.c.id).where(_p.c.id == username)).first() is None:
        raise InvalidInput(f"'{username}' is not a person of the org directory",
                           [Problem("unknown person", field="username")])
