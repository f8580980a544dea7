"""API tokens under /api/v1/tokens: one's own, listed, made (shown once) and revoked; the administrator sees
and revokes anyone's. Another person's token answers 404, the same as a missing one."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from engine.commands import CreateApiToken, RevokeApiToken
from engine.errors import Forbidden, InvalidInput, NotFound, Problem
from engine.phrases import Phrase
from engine.web import calls
from engine.web.auth import by_token, is_administrator

account_api = Blueprint("account_api", __name__, url_prefix="/api/v1")


@account_api.get("/tokens")
def list_tokens() -> Any:
    """The caller's tokens (the administrator: ``?user=``'s), newest first, without the tokens themselves."""
    caller = calls.actor()
    whose = request.args.get("user") or caller
    if whose != caller and not is_administrator(caller):
        raise NotFound(Phrase("no tokens of '%(whose)s' to show", whose=whose),
                       [Problem(Phrase("not yours"), field="user")])
    huhua = calls.engine()
    return jsonify(huhua.queries.accounts.api_tokens(huhua.clock.now(), whose))


@account_api.post("/tokens")
def create_token() -> Any:
    """A token for the caller, in the answer only. Made by a logged-in person: a token cannot beget tokens (else a
    leaked one would outlive its expiry)."""
    caller = calls.actor()
    if by_token():
        raise Forbidden(Phrase("log in to make an API token; a token cannot make tokens"))
    body = calls.json_body()
    name = calls.str_field(body, "name", required=True) or ""
    days = body.get("days")
    if days is not None and (isinstance(days, bool) or not isinstance(days, int)):
        raise InvalidInput(Phrase("days must be a whole number"),
                           [Problem(Phrase("expected an integer"), field="days")])
    return jsonify(calls.engine().execute(CreateApiToken(caller, name, caller, days))), 201


@account_api.delete("/tokens/<int:token_id>")
def revoke_token(token_id: int) -> Any:
    """Revoke one of the caller's tokens (the administrator: anyone's)."""
    caller = calls.actor()
    return jsonify(calls.engine().execute(RevokeApiToken(calls.path_id(token_id, "token_id"), caller)))
