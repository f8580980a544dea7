"""The in-app notification centre: the bell on every page's header with the unread count, and ``/notifications``,
the person's own notifications, newest first, paged, unread ones marked.

Opening a notification is a form (POST, with the CSRF token) that marks it read and goes where it leads (a task);
the link is followed only when it is a path of this site. Another person's notification answers 404, as a missing
one does (the command looks only among the caller's own).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from flask_login import current_user

from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ
from engine.commands import MarkNotificationsRead
from engine.commands.notifications import is_local_path
from engine.errors import NotFound
from engine.queries.notifications import COUNT_CAP
from engine.safe_markdown import render
from engine.web.calls import LARGEST_ID
from engine.web.notification_words import kind_label

notification_centre = Blueprint("notification_centre", __name__)
PAGE = 20
#: Filters of the list: unread only, or all.
SHOWS = ("unread", "all")


@notification_centre.app_context_processor
def _bell() -> dict[str, Any]:
    """The header's bell: the unread count, asked once per page (one indexed query), shown as "99+" beyond 99."""
    def notification_bell() -> dict[str, Any] | None:
        if not current_user.is_authenticated:
            return None
        if "huhua_bell" not in g:
            count = _huhua().queries.notifications.unread_count(str(current_user.id))
            g.huhua_bell = {"count": count, "text": "99+" if count >= COUNT_CAP else str(count)}
        return g.huhua_bell

    return {"notification_bell": notification_bell}


@notification_centre.get("/notifications")
def centre() -> Any:
    huhua, me = _huhua(), str(current_user.id)
    show = request.args.get("show", "all")
    show = show if show in SHOWS else "all"
    page = request.args.get("page", "1")
    page = max(1, min(int(page) if page.isdigit() else 1, 10_000))
    found = huhua.queries.notifications.page(me, unread_only=show == "unread", limit=PAGE, offset=(page - 1) * PAGE)
    for notification in found["notifications"]:
        notification["label"] = kind_label(notification["kind"])
        notification["when"] = _beijing(notification["created_at"])
        notification["body_html"] = render(notification["body"])
    return render_template("notifications.html", notifications=found["notifications"], total=found["total"],
                           show=show, page=page, pages=max(1, -(-found["total"] // PAGE)),
                           read=request.args.get("read", type=int))


@notification_centre.post("/notifications/<int:notification_id>/open")
def open_notification(notification_id: int) -> Any:
    """Mark it read, then go where it leads (its task), or back to the centre when it leads nowhere of this site."""
    if notification_id > LARGEST_ID:
        abort(404)
    try:
        opened = _huhua().execute(MarkNotificationsRead(str(current_user.id), notification_id))
    except NotFound:
        abort(404)
    link = opened.get("link")
    return redirect(link if link and is_local_path(link) else url_for("notification_centre.centre"))


@notification_centre.post("/notifications/read-all")
def read_all() -> Any:
    done = _huhua().execute(MarkNotificationsRead(str(current_user.id)))
    return redirect(url_for("notification_centre.centre", read=done["read"]))


def _beijing(iso: str | None) -> str:
    return datetime.fromisoformat(iso).astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M") if iso else ""


def _huhua() -> Huhua:
    return current_app.extensions["huhua"]
