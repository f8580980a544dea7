"""The inbox: a person's tasks, in Chinese, on an office PC or a phone; each task's form rendered by form-js.

The pages are thin: they list what ``queries.tasks`` answers and call the JSON API (with the page's CSRF
token) to claim and complete, so the server checks a form's data exactly as it checks any API call.
Front-end packages are served from ``node_modules`` (installed from the npm registry), never copied.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, abort, current_app, redirect, render_template, request, send_from_directory, url_for
from flask_login import current_user, login_required

from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ
from engine.config import PROJECT_ROOT

inbox = Blueprint("inbox", __name__)
PAGE = 20

#: The npm packages the pages load, and the folder of each that may be served.
_MODULES = PROJECT_ROOT / "node_modules"
VENDOR = {"form-js": _MODULES / "@bpmn-io" / "form-js" / "dist", "bpmn-js": _MODULES / "bpmn-js" / "dist",
          "echarts": _MODULES / "echarts" / "dist", "dmn-js": _MODULES / "dmn-js" / "dist",
          # bpmn-auto-layout draws a diagram for a model written without one, with what it imports
          **{name: _MODULES / name / "dist" for name in ("bpmn-auto-layout", "bpmn-moddle", "moddle", "moddle-xml",
                                                         "saxen", "min-dash")}}


@inbox.get("/")
def home() -> Any:
    return redirect(url_for("inbox.tasks") if current_user.is_authenticated else url_for("auth.login"))


@inbox.get("/inbox")
@login_required
def tasks() -> Any:
    """The person's open tasks; filters: process, unit, only overdue, words in the name; 20 to a page."""
    huhua = _huhua()
    rows = huhua.queries.tasks(user=str(current_user.id), limit=500)
    now = huhua.clock.now()
    calendar = huhua.queries.calendar.working_calendar()
    for task in rows:
        task["due"] = _due(task["due_at"], now, calendar)
        task["mine"] = task["assignee"] == current_user.id
    filters = {name: (request.args.get(name) or "").strip()[:100] for name in ("process", "unit", "q", "overdue")}
    processes = sorted({t["process_key"] for t in rows})
    rows = [t for t in rows if (not filters["process"] or t["process_key"] == filters["process"])
            and (not filters["unit"] or t["org_scope"] == filters["unit"])
            and (not filters["q"] or filters["q"] in t["name"])
            and (not filters["overdue"] or (t["due"] and t["due"]["overdue"]))]
    page = max(1, min(int(request.args.get("page", "1")) if request.args.get("page", "1").isdigit() else 1, 1000))
    shown = rows[(page - 1) * PAGE:page * PAGE]
    person = huhua.queries.users(ids=[str(current_user.id)])
    return render_template("inbox.html", tasks=shown, person=person[0] if person else None, filters=filters,
                           processes=processes, page=page, pages=max(1, -(-len(rows) // PAGE)), total=len(rows))


@inbox.get("/inbox/tasks/<int:task_id>")
@login_required
def task(task_id: int) -> Any:
    huhua = _huhua()
    if not huhua.queries.may_see_task(str(current_user.id), task_id):
        abort(403)
    found = huhua.queries.task(task_id)
    found["due"] = _due(found["due_at"], huhua.clock.now(), huhua.queries.calendar.working_calendar())
    return render_template("task.html", task=found, mine=found["assignee"] == current_user.id)


@inbox.get("/vendor/<package>/<path:filename>")
def vendor(package: str, filename: str) -> Any:
    folder = VENDOR.get(package)
    if folder is None or not folder.is_dir():
        abort(404)
    return send_from_directory(folder, filename, max_age=86400)


def _due(due_at: str | None, now: datetime, calendar: Any) -> dict[str, Any] | None:
    """Due date in Beijing time and the working days left (negative: how many working days overdue)."""
    if not due_at:
        return None
    due = datetime.fromisoformat(due_at).astimezone(BUSINESS_TZ)
    today = now.astimezone(BUSINESS_TZ).date()
    try:
        left = calendar.working_days_between(today, due.date()) if due.date() >= today \
            else -calendar.working_days_between(due.date(), today)
    except ValueError:  # decades away: the count says nothing a person needs
        left = None
    return {"at": due.strftime("%Y-%m-%d %H:%M"), "working_days_left": left, "overdue": due < now}


def _huhua() -> Huhua:
    return current_app.extensions["huhua"]

