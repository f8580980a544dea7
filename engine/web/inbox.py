"""The inbox: a person's tasks, in Chinese, on an office PC or a phone; each task's form rendered by form-js.

The pages are thin: they list what ``queries.task_page`` answers (filtered and paged in SQL) and call the
JSON API (with the page's CSRF token) to claim and complete, so the server checks a form's data exactly as it
checks any API call.
Front-end packages are served from ``node_modules`` (installed from the npm registry), never copied.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, send_from_directory, url_for
from flask_babel import gettext
from flask_login import current_user, login_required

from engine.access.confidential import RECORD
from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ
from engine.commands import RecordCaseRead
from engine.config import PROJECT_ROOT
from engine.errors import InvalidInput
from engine.task_filters import TaskFilter, parse_filter
from engine.web.admin import AUDIT_PAGE, audit_page

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
    """The person's tasks, filtered, sorted and paged by the database; saved filters as chips above."""
    huhua = _huhua()
    me = str(current_user.id)
    try:
        filters, problem = parse_filter(request.args), None
    except InvalidInput as err:
        filters, problem = TaskFilter(), err.message
    page = request.args.get("page", "1")
    page = max(1, min(int(page) if page.isdigit() else 1, 10_000))
    now = huhua.clock.now()
    found = huhua.queries.task_page(user=me, filters=filters, now=now, limit=PAGE, offset=(page - 1) * PAGE)
    calendar = huhua.queries.calendar.working_calendar()
    for task in found["tasks"]:
        task["due"] = _due(task["due_at"], now, calendar)
        task["mine"] = task["assignee"] == current_user.id
    person = huhua.queries.users(ids=[me])
    processes = huhua.queries.process_names()
    saved = huhua.queries.saved_filters(me)
    for entry in saved:
        entry["href"] = url_for("inbox.tasks", **entry["filters"])
        entry["current"] = entry["filters"] == filters.to_dict()
    return render_template("inbox.html", tasks=found["tasks"], person=person[0] if person else None,
                           filters=filters, current=filters.to_dict(), problem=problem, processes=processes,
                           saved=saved, page=page, pages=max(1, -(-found["total"] // PAGE)), total=found["total"])


@inbox.get("/inbox/tasks/<int:task_id>")
@login_required
def task(task_id: int) -> Any:
    """One task: its form (if it is the person's), who has it or finished it, attachments, comments, history."""
    huhua, me = _huhua(), str(current_user.id)  # whether the person may see it is the route's rule (guard): 404
    instance_id = huhua.queries.task_instance(task_id)
    level = huhua.queries.case_access(me, instance_id)
    if level is not None:
        huhua.execute(RecordCaseRead(instance_id, me, "page", "task", level))
    found = huhua.queries.task(task_id, viewer=me)
    found["due"] = _due(found["due_at"], huhua.clock.now(), huhua.queries.calendar.working_calendar())
    names = huhua.queries.person_names([p for p in (found["assignee"], found["completed_by"]) if p])
    # the documents its instance made so far (a sign-off task shows its draft); a confidential case's are its record
    documents = huhua.queries.documents(instance_id) if level in (None, RECORD) else []
    for document in documents:
        document["when"] = _beijing(document.get("issued_at") or document["created_at"])
    return render_template("task.html", task=found, mine=found["assignee"] == current_user.id, names=names,
                           completed_at=_beijing(found["completed_at"]), documents=documents,
                           max_attachment_mb=huhua.settings.max_attachment_bytes // (1024 * 1024))


@inbox.app_context_processor
def _signed_in_person() -> dict[str, Any]:
    """The header names the person and what they are ("班主任 · 珠晖区第一小学"), not their log-in id."""
    def signed_in() -> dict[str, Any] | None:
        if not current_user.is_authenticated:
            return None
        if "huhua_person" not in g:
            found = _huhua().queries.users(ids=[str(current_user.id)])
            g.huhua_person = found[0] if found else None
        return g.huhua_person

    return {"signed_in": signed_in}


@inbox.app_context_processor
def _case_reads_link() -> dict[str, Any]:
    """The header offers a school's mental-health lead the log of reads of its counselling cases."""
    def leads_a_school() -> bool:
        return current_user.is_authenticated and _huhua().queries.audit.leads_a_school(str(current_user.id))

    return {"leads_a_school": leads_a_school}


@inbox.get("/counselling/reads")
@login_required
def counselling_reads() -> Any:
    """For a school's mental-health lead: every read of the school's counselling cases (403 for anyone else)."""
    args, me = request.args, str(current_user.id)
    return audit_page(gettext("心理辅导个案查阅记录"), False, lambda huhua, offset: huhua.queries.audit.case_reads(
        me, date_from=args.get("from") or None, date_to=args.get("to") or None, limit=AUDIT_PAGE, offset=offset))


@inbox.get("/documents/<unit_id>")
@login_required
def document_register(unit_id: str) -> Any:
    """发文登记簿: a unit's issued documents of a year (``?year=``), for its officers, heads and principal and those
    above (404 for anyone else, as for a missing unit)."""
    huhua = _huhua()
    year = request.args.get("year") or str(huhua.clock.now().astimezone(BUSINESS_TZ).year)
    try:
        register = huhua.queries.document_register(unit_id, year)
    except InvalidInput as err:
        abort(400, err.message)
    for entry in register["documents"]:
        entry["issued_on"] = _beijing(entry["issued_at"])
    return render_template("document_register.html", register=register)


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


def _beijing(at: str | None) -> str | None:
    return datetime.fromisoformat(at).astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M") if at else None


def _huhua() -> Huhua:
    return current_app.extensions["huhua"]

