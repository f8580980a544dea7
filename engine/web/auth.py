"""Who is calling: a logged-in person (session cookie, CSRF-protected forms) or a program (API token).

Browsers log in with a username and password (hashed with werkzeug's scrypt/pbkdf2) under the log-in
throttle (:mod:`engine.commands.login_throttle`). The signed cookie holds only the key of a session kept in
the database (:mod:`engine.commands.sessions`), asked about on every request: log-out, a new password and
deactivation end it, so a copy of the cookie is worthless afterwards. It ends ``HUHUA_SESSION_HOURS`` (8 by
default) after the log-in however it is used, by the wall clock (:func:`person_clock`). No remember-me cookie
is set; one sent anyway carries a session key too and is checked the same way. Programs send
``Authorization: Bearer <token>``; an expired or revoked token, or a deactivated owner's, is refused. The
``X-Huhua-User`` header, which earlier versions trusted, is accepted only when the app is told to (tests, or
``HUHUA_TRUST_USER_HEADER=1`` on a machine nobody else reaches). Behind a reverse proxy,
``HUHUA_PROXY_HOPS=1`` makes the throttle count the address the proxy forwards (X-Forwarded-For) instead of
the proxy's own.
"""

from __future__ import annotations

import math
import os
import secrets
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, g, redirect, render_template, request, session, url_for
from flask_babel import gettext, lazy_gettext
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user
from flask_wtf.csrf import CSRFProtect, validate_csrf
from werkzeug.middleware.proxy_fix import ProxyFix
from wtforms import ValidationError

from engine.access.identity import keep_request_answers, note_caller, stop_keeping_request_answers
from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ, Clock, SystemClock
from engine.commands import LogIn, LogOut, TouchApiToken
from engine.commands.accounts import TOKEN_TOUCH_INTERVAL
from engine.commands.login_throttle import ACCOUNT

auth = Blueprint("auth", __name__)
_WALL_CLOCK = SystemClock()
csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = lazy_gettext("请先登录")


class Account(UserMixin):
    """The logged-in person; whether they administer is asked per request (see :func:`is_administrator`).

    ``id`` is the username (what the pages and commands use); the cookie holds :meth:`get_id`, the session key.
    """

    def __init__(self, username: str, session_key: str) -> None:
        self.id = username
        self.session_key = session_key

    def get_id(self) -> str:
        return self.session_key

    @property
    def is_admin(self) -> bool:
        return is_administrator(self.id)


def is_administrator(user: str) -> bool:
    """Whether ``user`` is an administrator, asked of the database once per request (so a revoked flag
    counts from the next request) and kept for the rest of it (see :func:`_keep_answers`)."""
    return bool(_huhua().queries.is_administrator(user))


def install(app: Flask, huhua: Huhua) -> None:
    """Sessions, CSRF and the log-in pages for ``app``."""
    if not app.config.get("SECRET_KEY"):  # Flask's default is None, not absent
        app.config["SECRET_KEY"] = _secret_key(huhua.settings.data_dir)
    hours = float(os.environ.get("HUHUA_SESSION_HOURS", "8"))
    app.config.update(PERMANENT_SESSION_LIFETIME=timedelta(hours=hours), SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Lax")
    app.config.setdefault("TRUST_USER_HEADER", os.environ.get("HUHUA_TRUST_USER_HEADER") == "1")
    hops = int(os.environ.get("HUHUA_PROXY_HOPS", "0"))
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops)  # type: ignore[method-assign]
    csrf.init_app(app)
    login_manager.init_app(app)
    app.before_request(_keep_answers)
    app.teardown_request(_stop_keeping_answers)
    app.register_blueprint(auth)


def _keep_answers() -> None:
    """Who the caller is, whether they (or anyone the request asks about) administer, are a service account or
    hold which roles: asked once per request and kept in ``g`` for the rest of it, never longer, so a change
    counts from the next request (and from the next query after a command of this one)."""
    g.huhua_answers = {}
    g.huhua_answers_kept = keep_request_answers(g.huhua_answers)


def _stop_keeping_answers(_error: BaseException | None) -> None:
    kept = g.pop("huhua_answers_kept", None)
    if kept is not None:
        stop_keeping_request_answers(kept)


@login_manager.user_loader
def _load(session_key: str) -> Account | None:
    """The cookie's session, if it still runs (not logged out, not past its time, its account active)."""
    found = _huhua().queries.accounts.session_caller(session_key, person_clock().now())
    if found is None:
        return None
    note_caller(found.username, administrator=found.is_administrator, service_account=found.is_service_account)
    return Account(found.username, session_key)


def acting_user() -> str | None:
    """The caller: a token's owner, the logged-in person, or (when trusted) the X-Huhua-User header.

    Worked out once per request and kept for the rest of it.
    """
    if "huhua_caller" not in g:
        g.huhua_caller = _caller()
    caller: str | None = g.huhua_caller
    return caller


def _caller() -> str | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return _token_owner(header.removeprefix("Bearer ").strip())
    if current_user.is_authenticated:
        if request.method not in ("GET", "HEAD", "OPTIONS") and current_app.config.get("WTF_CSRF_ENABLED", True):
            try:  # a page of this site calling with the session sends its CSRF token; another site cannot
                validate_csrf(request.headers.get("X-CSRFToken", ""))
            except ValidationError:
                return None
        return str(current_user.id)
    if current_app.config.get("TRUST_USER_HEADER"):
        return (request.headers.get("X-Huhua-User") or "").strip() or None
    return None


def _token_owner(token: str) -> str | None:
    """A live token's owner; its use is noted at most once a minute, to keep writes low."""
    huhua = _huhua()
    now = huhua.clock.now()
    found = huhua.queries.accounts.token_caller(token, now)
    if found is None:
        return None
    if found.last_used_at is None or now - found.last_used_at >= TOKEN_TOUCH_INTERVAL:
        huhua.execute(TouchApiToken(found.token_id))
    note_caller(found.username, administrator=found.is_administrator, service_account=found.is_service_account)
    g.huhua_by_token = True
    return found.username


def by_token() -> bool:
    """Whether this request's caller came with an API token (not a log-in)."""
    acting_user()
    return bool(g.get("huhua_by_token"))


def person_clock() -> Clock:
    """The clock a log-in's hours run on: the wall clock, also when the engine runs on a virtual one (a simulated
    year must not log everyone out); ``HUHUA_PERSON_CLOCK`` in the app's config replaces it (tests)."""
    clock: Clock = current_app.config.get("HUHUA_PERSON_CLOCK") or _WALL_CLOCK
    return clock


def session_minutes() -> int:
    """How long a log-in lasts (HUHUA_SESSION_HOURS), in whole minutes."""
    return max(1, int(current_app.permanent_session_lifetime.total_seconds() // 60))


@auth.route("/login", methods=["GET", "POST"])
def login() -> Any:
    next_page = _safe_next(request.args.get("next"))
    if request.method == "GET":
        return render_template("login.html", next=next_page, error=None, username="")
    username = (request.form.get("username") or "").strip()[:100]
    password = request.form.get("password") or ""
    huhua = _huhua()
    if not username:
        return render_template("login.html", next=next_page, error=gettext("用户名或密码错误"), username=username), 401
    result = huhua.execute(LogIn(username, password, request.remote_addr, session_minutes(), person_clock().now()))
    if result["outcome"] == "locked":
        message, retry_after = lock_message(result)
        page = render_template("login.html", next=next_page, error=message, username=username)
        return page, 429, {"Retry-After": retry_after}
    if result["outcome"] != "ok":
        return render_template("login.html", next=next_page, error=gettext("用户名或密码错误"), username=username), 401
    session.clear()
    session.permanent = True
    login_user(Account(result["username"], result["session_key"]))
    return redirect(next_page or url_for("index"))


@auth.post("/logout")
@login_required
def logout() -> Any:
    """End this session on the server too: the cookie, or any copy of it, no longer opens anything."""
    session_key = current_user.session_key
    logout_user()
    session.clear()
    _huhua().execute(LogOut(session_key))
    return redirect(url_for("auth.login"))


def lock_message(refusal: dict[str, Any]) -> tuple[str, str]:
    """A ``locked`` refusal told to the person (when to try again, in Beijing time and in minutes from now),
    and the seconds for the Retry-After header."""
    until: datetime = refusal["until"]
    seconds = max(1, math.ceil((until - _huhua().clock.now()).total_seconds()))
    when, minutes = until.astimezone(BUSINESS_TZ).strftime("%H:%M"), math.ceil(seconds / 60)
    if refusal["locked"] == ACCOUNT:
        text = gettext("该账号登录失败次数过多，已暂时锁定。请于 %(time)s（北京时间）后再试，约 %(minutes)s 分钟。",
                       time=when, minutes=minutes)
    else:
        text = gettext("此网络地址登录失败次数过多，已暂时锁定。请于 %(time)s（北京时间）后再试，约 %(minutes)s 分钟。",
                       time=when, minutes=minutes)
    return text, str(seconds)


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site: a log-in page must not send people elsewhere."""
    if not target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc and target.startswith("/") else None


def _secret_key(data_dir: Path) -> str:
    """HUHUA_SECRET_KEY, or a key made once and kept beside the data (so sessions survive restarts)."""
    if os.environ.get("HUHUA_SECRET_KEY"):
        return os.environ["HUHUA_SECRET_KEY"]
    path = data_dir / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_hex(32))
    return path.read_text().strip()


def _huhua() -> Huhua:
    return current_app.extensions["huhua"]
