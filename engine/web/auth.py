"""Who is calling: a logged-in person (session cookie, CSRF-protected forms) or a program (API token).

Browsers log in with a username and password (hashed with werkzeug's scrypt/pbkdf2); the session
expires after ``HUHUA_SESSION_HOURS`` (8 by default). Programs send ``Authorization: Bearer <token>``.
The ``X-Huhua-User`` header, which earlier versions trusted, is accepted only when the app is told
to (tests, or ``HUHUA_TRUST_USER_HEADER=1`` on a machine nobody else reaches).
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, g, redirect, render_template, request, session, url_for
from flask_babel import gettext, lazy_gettext
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user
from flask_wtf.csrf import CSRFProtect, validate_csrf
from wtforms import ValidationError

from engine.bootstrap import Huhua
from engine.commands import RecordLogin

auth = Blueprint("auth", __name__)
csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = lazy_gettext("请先登录")


class Account(UserMixin):
    """The logged-in person; whether they administer is asked per request (see :func:`is_administrator`)."""

    def __init__(self, username: str) -> None:
        self.id = username

    @property
    def is_admin(self) -> bool:
        return is_administrator(self.id)


def is_administrator(user: str) -> bool:
    """Whether ``user`` is an administrator, asked of the database once per request (so a revoked flag
    counts from the next request) and kept for the rest of it."""
    known: dict[str, bool] = g.setdefault("huhua_administrators", {})
    if user not in known:
        known[user] = _huhua().queries.is_administrator(user)
    return known[user]


def install(app: Flask, huhua: Huhua) -> None:
    """Sessions, CSRF and the log-in pages for ``app``."""
    if not app.config.get("SECRET_KEY"):  # Flask's default is None, not absent
        app.config["SECRET_KEY"] = _secret_key(huhua.settings.data_dir)
    hours = float(os.environ.get("HUHUA_SESSION_HOURS", "8"))
    app.config.update(PERMANENT_SESSION_LIFETIME=timedelta(hours=hours), SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Lax")
    app.config.setdefault("TRUST_USER_HEADER", os.environ.get("HUHUA_TRUST_USER_HEADER") == "1")
    csrf.init_app(app)
    login_manager.init_app(app)
    app.register_blueprint(auth)


@login_manager.user_loader
def _load(username: str) -> Account | None:
    found = _huhua().queries.account(username)
    return Account(found["username"]) if found else None


def acting_user() -> str | None:
    """The caller: a token's owner, the logged-in person, or (when trusted) the X-Huhua-User header."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return _huhua().queries.token_user(header.removeprefix("Bearer ").strip())
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


@auth.route("/login", methods=["GET", "POST"])
def login() -> Any:
    next_page = _safe_next(request.args.get("next"))
    if request.method == "GET":
        return render_template("login.html", next=next_page, error=None, username="")
    username = (request.form.get("username") or "").strip()[:100]
    password = request.form.get("password") or ""
    huhua = _huhua()
    if not username or not huhua.queries.check_password(username, password):
        return render_template("login.html", next=next_page, error=gettext("用户名或密码错误"), username=username), 401
    session.clear()
    session.permanent = True
    login_user(Account(username))
    huhua.execute(RecordLogin(username, request.remote_addr))
    return redirect(next_page or url_for("index"))


@auth.post("/logout")
@login_required
def logout() -> Any:
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


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
