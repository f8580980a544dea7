"""A person's own account pages: their password, changed (every other session of theirs ends), and their API
tokens, made (the token shown once, on the answer page only) and revoked. The administrator's view of
everyone's tokens is ``/admin/tokens`` (engine.web.admin), drawn by the same :func:`tokens_page`. Plain forms
with the CSRF token: no script is needed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext
from flask_login import current_user, login_required, login_user

from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ
from engine.commands import ChangeOwnPassword, CreateApiToken, RevokeApiToken
from engine.commands.accounts import MAX_PASSWORD, MIN_PASSWORD
from engine.errors import HuhuaError
from engine.web.auth import Account, lock_message, person_clock, session_minutes

account = Blueprint("account", __name__, url_prefix="/account")


@account.get("/password")
@login_required
def password() -> Any:
    return render_template("account_password.html", error=None, done=False, min_length=MIN_PASSWORD)


@account.post("/password")
@login_required
def change_password() -> Any:
    """Prove the current password, set a new one: the person's other sessions end, this browser goes on."""
    current = request.form.get("current_password") or ""
    new, again = request.form.get("new_password") or "", request.form.get("confirm_password") or ""
    problem = None
    if not MIN_PASSWORD <= len(new) <= MAX_PASSWORD:
        problem = gettext("新密码须为 %(low)s 至 %(high)s 个字符", low=MIN_PASSWORD, high=MAX_PASSWORD)
    elif new != again:
        problem = gettext("两次输入的新密码不一致")
    if problem:
        return render_template("account_password.html", error=problem, done=False, min_length=MIN_PASSWORD), 400
    username = str(current_user.id)
    result = _huhua().execute(ChangeOwnPassword(username, current, new, request.remote_addr, session_minutes(),
                                                person_clock().now()))
    if result["outcome"] == "locked":
        message, retry_after = lock_message(result)
        page = render_template("account_password.html", error=message, done=False, min_length=MIN_PASSWORD)
        return page, 429, {"Retry-After": retry_after}
    if result["outcome"] != "ok":
        return render_template("account_password.html", error=gettext("当前密码不正确"), done=False,
                               min_length=MIN_PASSWORD), 401
    session.clear()  # the old session has ended with the others; this browser carries on in a new one
    session.permanent = True
    login_user(Account(username, result["session_key"]))
    return render_template("account_password.html", error=None, done=True, min_length=MIN_PASSWORD)


@account.get("/tokens")
@login_required
def tokens() -> Any:
    return tokens_page(admin_view=False)


@account.post("/tokens")
@login_required
def create_token() -> Any:
    """Make a token for oneself; the answer page shows it this once."""
    huhua, user = _huhua(), str(current_user.id)
    name = (request.form.get("name") or "").strip()
    raw_days = (request.form.get("days") or "").strip()
    largest = huhua.settings.token_max_days
    if not name or len(name) > 200:
        return tokens_page(admin_view=False, error=gettext("请填写令牌用途（1 至 200 个字）")), 400
    days = int(raw_days) if raw_days.isdigit() else None
    if raw_days and (days is None or not 1 <= days <= largest):
        return tokens_page(admin_view=False, error=gettext("有效天数须为 1 至 %(n)s 的整数", n=largest)), 400
    try:
        made = huhua.execute(CreateApiToken(user, name, user, days))
    except HuhuaError as err:
        return tokens_page(admin_view=False, error=str(err)), err.status
    return tokens_page(admin_view=False, new_token=made)


@account.post("/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int) -> Any:
    revoke(token_id)
    return redirect(url_for("account.tokens", revoked=token_id))


def revoke(token_id: int) -> None:
    """Revoke as the logged-in person; someone else's token (unless one administers) is a 404."""
    try:
        _huhua().execute(RevokeApiToken(token_id, str(current_user.id)))
    except HuhuaError:  # NotFound, or an id out of range: both are no token of theirs
        abort(404)


def tokens_page(*, admin_view: bool, user: str | None = None, error: str | None = None,
                new_token: dict[str, Any] | None = None) -> str:
    """The token list: the caller's own, or (``admin_view``) everyone's or ``user``'s, with its revoke buttons."""
    huhua = _huhua()
    whose = (user or None) if admin_view else str(current_user.id)
    rows = [{**row, **{key: _beijing(row[key]) for key in ("created_at", "expires_at", "last_used_at")}}
            for row in huhua.queries.accounts.api_tokens(huhua.clock.now(), whose)]
    settings = huhua.settings
    return render_template("tokens.html", admin_view=admin_view, tokens=rows, user=user or "", error=error,
                           new_token=new_token, new_token_expires=_beijing(new_token and new_token["expires_at"]),
                           revoked=request.args.get("revoked", type=int), max_days=settings.token_max_days,
                           default_days=min(settings.token_days, settings.token_max_days))


def _beijing(iso: str | None) -> str:
    return datetime.fromisoformat(iso).astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M") if iso else ""


def _huhua() -> Huhua:
    return current_app.extensions["huhua"]
