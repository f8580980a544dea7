"""Log-in accounts and API tokens. Passwords and tokens are stored hashed; a token is shown once.

An account belongs to a person of the org directory (its username is the person's id) or is the
administrator. A password has at least 8 characters. A new password or deactivation ends the account's
sessions (:mod:`engine.commands.sessions`). Tokens are for programs calling the API: each expires (the
configured default, or fewer days if asked, never more than the configured maximum) and can be revoked
by its owner or the administrator; a deactivated account's tokens stop until it is active again.

A *service account* is a system that sends messages (a school platform, a hotline's switchboard): it is no
person of the directory, has no password (it cannot log in to the pages), calls only with API tokens, and may
deliver only the messages it is given, optionally only within one unit (:mod:`engine.access.messages`).
Only an administrator makes or changes one.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, or_, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from engine.access.identity import ADMIN, SERVICE, is_service_account
from engine.access.messages import split_messages
from engine.commands import login_throttle
from engine.commands.administrators import is_administrator
from engine.commands.instance_state import require_label
from engine.commands.requests import (
    ChangeOwnPassword,
    CreateApiToken,
    RevokeApiToken,
    SetAccountActive,
    SetPassword,
    SetServiceAccount,
    TouchApiToken,
    UnlockLogIn,
)
from engine.commands.sessions import check_password, end_sessions, start_session
from engine.commands.unit_of_work import UnitOfWork
from engine.errors import Forbidden, InvalidInput, NotFound, Problem
from engine.phrases import Phrase
from engine.store import tables

_a, _k, _p, _u = tables.account, tables.api_token, tables.person, tables.org_unit
MIN_PASSWORD, MAX_PASSWORD = 8, 200
#: ``last_used_at`` is written at most this often per token.
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)
#: The password hash of an account no password opens: a service account, or a person deactivated before ever
#: being given a password.
NO_PASSWORD = "!service-account"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def set_password(command: SetPassword, uow: UnitOfWork) -> dict[str, Any]:
    require_label(command.actor, "actor", 100)
    _known(uow, command.username)
    if is_service_account(uow, command.username):
        raise InvalidInput(f"'{command.username}' is a service account: it has no password and calls with API "
                           "tokens only", [Problem("service account", field="username")])
    _check_new_password(command.password, "password")
    hashed = generate_password_hash(command.password)
    admin = command.username == ADMIN or command.is_admin
    old = uow.read(select(_a.c.password_hash).where(_a.c.username == command.username)).first()
    ended = revoked = 0
    if old is None:
        uow.execute(insert(_a).values(username=command.username, password_hash=hashed, is_admin=admin, active=True,
                                      created_at=uow.now))
    else:  # a new password does not make a deactivated account active again: that is SetAccountActive's
        uow.execute(update(_a).where(_a.c.username == command.username).values(password_hash=hashed, is_admin=admin))
        if not check_password_hash(old.password_hash, command.password):  # a changed password ends every session
            ended = end_sessions(uow, command.username)
            revoked = _revoke_tokens(uow, command.username)
    uow.record("password_set", actor=command.actor, username=command.username, sessions_ended=ended,
               tokens_revoked=revoked)
    return {"username": command.username, "is_admin": admin}


def change_own_password(command: ChangeOwnPassword, uow: UnitOfWork) -> dict[str, Any]:
    require_label(command.username, "username", 100)
    _check_new_password(command.new_password, "new_password")
    refused = check_password(uow, command.username, command.current_password, command.remote)
    if refused is not None:
        return refused
    uow.execute(update(_a).where(_a.c.username == command.username)
                .values(password_hash=generate_password_hash(command.new_password)))
    ended = end_sessions(uow, command.username)
    revoked = _revoke_tokens(uow, command.username)
    uow.record("password_changed", actor=command.username, remote=command.remote, sessions_ended=ended,
               tokens_revoked=revoked)
    return {"outcome": "ok", "username": command.username, "sessions_ended": ended,
            **start_session(uow, command.username, command.remote, command.lifetime_minutes, command.person_now)}


def set_account_active(command: SetAccountActive, uow: UnitOfWork) -> dict[str, Any]:
    _administrator(uow, command.actor)
    require_label(command.username, "username", 100)
    changed = uow.execute(update(_a).where(_a.c.username == command.username).values(active=command.active)).rowcount
    if not changed and command.active:
        raise NotFound(f"'{command.username}' has no account", [Problem("no account", field="username")])
    if not changed:  # a person given tokens but never a password: an inactive row stops the tokens all the same
        _known(uow, command.username)
        uow.execute(insert(_a).values(username=command.username, password_hash=NO_PASSWORD, is_admin=False,
                                      active=False, created_at=uow.now))
    ended = 0 if command.active else end_sessions(uow, command.username)
    uow.record("account_activated" if command.active else "account_deactivated", actor=command.actor,
               username=command.username, sessions_ended=ended)
    return {"username": command.username, "active": command.active, "sessions_ended": ended}


def _revoke_tokens(uow: UnitOfWork, username: str) -> int:
    """A new password ends the account's API tokens too: one made from a stolen session must not outlive it."""
    return uow.execute(update(_k).where(_k.c.username == username, _k.c.revoked_at.is_(None))
                       .values(revoked_at=uow.now)).rowcount


def unlock_log_in(command: UnlockLogIn, uow: UnitOfWork) -> dict[str, Any]:
    _administrator(uow, command.actor)
    require_label(command.username, "username", 100)
    login_throttle.forget_failures(uow, command.username)
    uow.record("login_unlocked", actor=command.actor, username=command.username)
    return {"username": command.username, "unlocked": True}


def create_api_token(command: CreateApiToken, uow: UnitOfWork) -> dict[str, Any]:
    require_label(command.name, "name", 200)
    require_label(command.actor, "actor", 100)
    _known(uow, command.username)
    if command.actor != command.username and not is_administrator(uow, command.actor):
        raise Forbidden("one makes API tokens for oneself; only the administrator makes them for others")
    days = _token_days(uow, command.days)
    token = "hh_" + secrets.token_urlsafe(32)
    expires = uow.now + timedelta(days=days)
    token_id = uow.execute(insert(_k).values(token_hash=token_hash(token), username=command.username,
                                             name=command.name, created_at=uow.now, expires_at=expires)
                           .returning(_k.c.id)).scalar_one()
    uow.record("api_token_created", actor=command.actor, username=command.username, token_id=token_id,
               name=command.name, expires_at=expires)
    return {"id": token_id, "username": command.username, "name": command.name, "token": token,
            "created_at": uow.now.isoformat(), "expires_at": expires.isoformat()}


def revoke_api_token(command: RevokeApiToken, uow: UnitOfWork) -> dict[str, Any]:
    require_label(command.actor, "actor", 100)
    if isinstance(command.token_id, bool) or not isinstance(command.token_id, int) or not 0 <= command.token_id < 2**63:
        raise InvalidInput("token_id must be a whole number", [Problem("not a token id", field="token_id")])
    whose = () if is_administrator(uow, command.actor) else (_k.c.username == command.actor,)
    revoked = uow.execute(update(_k).where(_k.c.id == command.token_id, _k.c.revoked_at.is_(None), *whose)
                          .values(revoked_at=uow.now).returning(_k.c.username)).first()
    if revoked is None:  # someone else's token is as unknown as a missing one
        raise NotFound(f"no active API token {command.token_id} of yours",
                       [Problem("no such token", field="token_id")])
    uow.record("api_token_revoked", actor=command.actor, username=revoked.username, token_id=command.token_id)
    return {"id": command.token_id, "username": revoked.username, "revoked": True}


def touch_api_token(command: TouchApiToken, uow: UnitOfWork) -> dict[str, Any]:
    """No audit event: this is bookkeeping, written at most once a minute per token."""
    stale = or_(_k.c.last_used_at.is_(None), _k.c.last_used_at <= uow.now - TOKEN_TOUCH_INTERVAL)
    touched = uow.execute(update(_k).where(_k.c.id == command.token_id, stale).values(last_used_at=uow.now)).rowcount
    return {"id": command.token_id, "touched": bool(touched)}


def _check_new_password(password: str, field: str) -> None:
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidInput(f"a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters",
                           [Problem("bad length", field=field)])


def _token_days(uow: UnitOfWork, days: int | None) -> int:
    settings = uow.services.settings
    if days is None:
        return min(settings.token_days, settings.token_max_days)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= settings.token_max_days:
        raise InvalidInput(f"days: a token lasts 1 to {settings.token_max_days} days",
                           [Problem(f"a whole number from 1 to {settings.token_max_days}", field="days")])
    return days


def _administrator(uow: UnitOfWork, actor: str) -> None:
    require_label(actor, "actor", 100)
    if not is_administrator(uow, actor):
        raise Forbidden("only the administrator may do this")


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


def _known(uow: UnitOfWork, username: str) -> None:
    """A person of the directory, the administrator, or a service account."""
    require_label(username, "username", 100)
    if username != ADMIN and uow.read(select(_p.c.id).where(_p.c.id == username)).first() is None \
            and not is_service_account(uow, username):
        raise InvalidInput(Phrase("'%(person)s' is not a person of the org directory", person=username),
                           [Problem(Phrase("unknown person"), field="username")])
