"""What a refused or failed request answers: JSON for programs (the API, and any caller that does not ask for
HTML), a page in the site's layout for a person's browser, both in the reader's language.

A page says what happened in plain words and offers the way on: the inbox, or logging in (back to the same
address) when nobody is logged in.

A database that cannot be reached (stopped, restarting, failing over, or every pooled connection busy past the
pool's timeout) is no error of the request: it answers 503 with ``Retry-After``, a JSON problem for programs and a
short page for people drawn without the database. Nothing is kept from it: the pool checks each connection
before use (engine.store.database), so the next request after the database is back is served as usual.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app, jsonify, render_template, request
from flask_babel import gettext
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from engine.errors import HuhuaError
from engine.phrases import Phrase
from engine.store.readiness import database_unreachable
from engine.web import problem_texts
from engine.web.error_language import localised, say

log = logging.getLogger("huhua.web")

#: Seconds a caller is asked to wait when the database cannot be reached (a restart takes about this long).
RETRY_AFTER = 10


def install(app: Flask, api_blueprints: frozenset[str]) -> None:
    def answer(body: dict[str, Any], status: int, *, csrf: bool = False) -> Any:
        if _wants_page(api_blueprints):
            try:
                detail = None if csrf or status in (401, 403, 404) or status >= 500 else say(body.get("message"))
                return _page(status, csrf=csrf, detail=detail), status
            except Exception:  # the page itself failed (its header reads the database): the plain answer
                log.exception("the error page could not be drawn")
        return jsonify(localised(body)), status

    @app.errorhandler(HuhuaError)
    def _huhua_error(err: HuhuaError) -> Any:
        return answer(problem_texts.answer(err), err.status)  # a DMN cell's problems worded there, the rest here

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException) -> Any:
        return answer({"error": err.name.lower().replace(" ", "_"), "message": _described(err), "problems": []},
                      err.code or 500, csrf=isinstance(err, CSRFError))

    @app.errorhandler(Exception)
    def _unexpected(err: Exception) -> Any:
        log.exception("unhandled error")
        return answer({"error": "internal", "message": Phrase("an internal error occurred; it has been logged"),
                       "problems": []}, 500)

    @app.errorhandler(DBAPIError)
    @app.errorhandler(DisconnectionError)
    @app.errorhandler(PoolTimeout)
    def _database_away(err: Exception) -> Any:
        if not database_unreachable(err):
            return _unexpected(err)
        log.warning("the database cannot be reached: %s", str(getattr(err, "orig", None) or err).split("\n")[0])
        headers = {"Retry-After": str(RETRY_AFTER)}
        if _wants_page(api_blueprints):
            return _unavailable_page(), 503, headers
        return jsonify(localised({"error": "unavailable", "problems": [], "message": Phrase(
            "the database cannot be reached just now; nothing was changed; try again in a minute")})), 503, headers


def _unavailable_page() -> str:
    """The page for a database away, drawn by the template alone: Flask's context processors are left out, since
    flask-login's would load the signed-in person from the database."""
    template = current_app.jinja_env.get_template("unavailable.html")
    return template.render(again=request.full_path.rstrip("?"))


def _described(err: HTTPException) -> str:
    """Werkzeug's own refusals that a caller meets, said as the engine says its own (so in Chinese too)."""
    if err.code == 404:
        return Phrase("there is no page or call at %(path)s", path=request.path[:200])
    if err.code == 405:
        return Phrase("%(path)s does not take %(method)s", path=request.path[:200], method=request.method)
    return err.description or err.name


def _wants_page(api_blueprints: frozenset[str]) -> bool:
    """A browser navigating to a page (not a call of the API, not a program that did not ask for HTML)."""
    if request.blueprint in api_blueprints or request.path.startswith("/api/"):
        return False
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"


def _page(status: int, *, csrf: bool = False, detail: str | None = None) -> str:
    """The page for a status; ``detail`` says what was wrong with the request (a refused input, a conflict)."""
    titles = {401: gettext("请先登录"), 403: gettext("没有权限"), 404: gettext("页面不存在"),
              413: gettext("提交的内容过大"), 507: gettext("存储空间已满")}
    texts = {401: gettext("登录已过期或尚未登录，请登录后继续。"),
             403: gettext("您没有权限查看或办理此项内容。如需办理，请联系本单位管理员。"),
             404: gettext("您要找的页面不存在，或您无权查看。请从待办事项进入。"),
             413: gettext("提交的内容超过了允许的大小，请减小后重试。"),
             507: gettext("服务器的数据库或磁盘已满，本次操作没有保存。请联系管理员释放空间后重试。")}
    if csrf:  # a form kept open past its session, or sent without its token
        titles[status] = gettext("页面已过期")
        texts[status] = gettext("页面的安全令牌（CSRF）已失效或缺失。请返回并刷新页面后重试。")
    server_error = status >= 500
    title = titles.get(status, gettext("系统出错了") if server_error else gettext("无法完成请求"))
    text = texts.get(status, gettext("系统出现意外错误，已记录，请稍后重试；如仍出错请联系管理员。") if server_error
                     else gettext("请求有误，请返回后重试。"))
    return render_template("error.html", status=status, title=title, text=text, detail=detail,
                           logged_in=bool(current_user and current_user.is_authenticated), back=request.full_path)
