"""The inbox: a person's tasks, in Chinese, on an office PC or a phone; each task's form rendered by form-js.

The pages are thin: they list what ``queries.task_page`` answers (filtered and paged in SQL) and call the
JSON API (with the page's CSRF token) to claim and complete, so the server checks a form's data exactly as it
checks any API call.
Front-end packages come from the npm registry, bundled per page (engine/web/assets.py), never copied.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required

from engine.access.confidential import RECORD
from engine.access.policy import file_references
from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ
from engine.commands import RecordCaseRead
from engine.errors import InvalidInput
from engine.task_filters import TaskFilter, parse_filter
from engine.web.admin import AUDIT_PAGE, audit_page
from engine.web.error_language import say

inbox = Blueprint("inbox", __name__)
PAGE = 20



#: Roles whose work is oversight: a head of the city or a county with nothing open lands on the dashboard.
OVERSIGHT_ROLES = frozenset({"bureau_head", "deputy_head"})


@inbox.get("/")
def home() -> Any:
    """Where a person lands (after logging in too): the inbox, except for the heads of the city and the counties
    (局长, 分管副局长) with no open task, who land on the dashboard — their work is oversight, and an empty inbox
    answers nothing. Whoever also holds a working role (专项负责人 …) or administers lands on the inbox."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    huhua, me = _huhua(), str(current_user.id)
    person = signed_in_person()
    roles = {held["role"] for held in person["roles"]} if person else set()
    if (roles and roles <= OVERSIGHT_ROLES and not current_user.is_admin and huhua.queries.has_dashboard(me)
            and not huhua.queries.task_page(user=me, filters=TaskFilter(), now=huhua.clock.now(), limit=1)["total"]):
        return redirect(url_for("admin.dashboard_page"))
    return redirect(url_for("inbox.tasks"))


@inbox.get("/inbox")
@login_required
def tasks() -> Any:
    """The person's tasks, filtered, sorted and paged by the database; saved filters as chips above."""
    huhua = _huhua()
    me = str(current_user.id)
    try:
        filters, problem = parse_filter(request.args), None
    except InvalidInput as err:
        filters, problem = TaskFilter(), say(err.message)
    page = request.args.get("page", "1")
    page = max(1, min(int(page) if page.isdigit() else 1, 10_000))
    now = huhua.clock.now()
    found = huhua.queries.task_page(user=me, filters=filters, now=now, limit=PAGE, offset=(page - 1) * PAGE)
    calendar = huhua.queries.calendar.working_calendar()
    for task in found["tasks"]:
        task["due"] = _due(task["due_at"], now, calendar)
        task["mine"] = task["assignee"] == current_user.id
    person = signed_in_person()
    processes = huhua.queries.process_names()
    saved = huhua.queries.saved_filters(me)
    for entry in saved:
        entry["href"] = url_for("inbox.tasks", **entry["filters"])
        entry["current"] = entry["filters"] == filters.to_dict()
    return render_template("inbox.html", tasks=found["tasks"], person=person,
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
    # the documents its instance and the instances around it made (a sign-off task shows its draft, a step of a
    # campaign the campaign's notice); a confidential case's are its record
    documents = huhua.queries.related_documents(instance_id, me) if level in (None, RECORD) else []
    for document in documents:
        document["when"] = _beijing(document.get("issued_at") or document["created_at"])
    # a personal task is nobody else's to take over; a task without a pool has none to go back to
    offered = bool(found["candidate_roles"] or found["candidate_users"] or found["candidate_groups"])
    pooled = offered and found["state"] == "open" and huhua.queries.offered_to_several(task_id)
    earlier = _earlier_files(huhua, task_id, me) if level in (None, RECORD) else []
    return render_template("task.html", task=found, mine=found["assignee"] == current_user.id, names=names,
                           may_delegate=offered, may_unclaim=pooled,
                           completed_at=_beijing(found["completed_at"]), documents=documents, earlier=earlier,
                           max_attachment_mb=huhua.settings.max_attachment_bytes // (1024 * 1024))


def _earlier_files(huhua: Huhua, task_id: int, me: str) -> list[dict[str, Any]]:
    """The files of earlier steps: of the instance's other tasks, and those the task's form shows (if ``me`` may
    read them), with Beijing times."""
    shown = huhua.queries.task_form_data(task_id, huhua.queries.task_form(task_id), me)
    referenced = [i for i in file_references(shown) if huhua.queries.may_read_attachment(me, i)]
    files = huhua.queries.earlier_attachments(task_id, referenced)
    for entry in files:
        entry["when"] = _beijing(entry["uploaded_at"])
    return files


def signed_in_person() -> dict[str, Any] | None:
    """The logged-in person with their roles (None for nobody), asked once per request: the page and its header
    both name them."""
    if not current_user.is_authenticated:
        return None
    if "huhua_person" not in g:
        found = _huhua().queries.users(ids=[str(current_user.id)])
        g.huhua_person = found[0] if found else None
    person: dict[str, Any] | None = g.huhua_person
    return person


@inbox.app_context_processor
def _signed_in_person() -> dict[str, Any]:
    """The header names the person and what they are ("班主任 · 珠晖区第一小学"), not their log-in id."""
    return {"signed_in": signed_in_person}


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

