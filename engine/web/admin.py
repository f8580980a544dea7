"""Administrators' pages: the processes with their versions, the bpmn-js modeler, an instance on its diagram.

The modeler saves through ``/api/v1/process-definitions/{id}/deploy`` (a new version; lint findings come
back with element ids and are marked on the diagram). A version's DMN tables open in dmn-js and its
forms in the form-js editor; they save through the API's ``decisions/…/deploy`` and ``forms/…/deploy``.
The instance view marks the elements an instance completed, those it waits at, and those that failed.
Who may open each page is its rule in :data:`engine.access.policy.ROUTES`, applied by :mod:`engine.web.guard`
before the view runs (the administrator, or for the dashboard whoever has one).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from engine import bench_results
from engine.access.confidential import RECORD
from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ
from engine.commands import RecordCaseRead, ReplayDelivery, SendNotice
from engine.dashboard import monthly_sheets, overdue_sheets
from engine.documents.layout import workbook
from engine.documents.rendered import XLSX
from engine.errors import Conflict, InvalidInput
from engine.notifications.kinds import CHANNELS, KINDS
from engine.queries.notification_deliveries import DELIVERY_CHANNELS
from engine.web import account as account_pages
from engine.web.calls import LARGEST_ID
from engine.web.error_language import say
from engine.web.modeler_settings import modeler_settings

admin = Blueprint("admin", __name__, url_prefix="/admin")


@admin.url_value_preprocessor
def _ids_the_database_can_hold(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    """An id in the path beyond 64 bits names nothing (the database cannot even be asked): 404, as for any
    id that does not exist."""
    if any(isinstance(value, int) and value > LARGEST_ID for value in (values or {}).values()):
        abort(404)
#: Lines on one page of the audit log.
AUDIT_PAGE = 50
#: Deliveries on one page of the notifications page.
DELIVERY_PAGE = 50


@admin.get("/")
def index() -> Any:
    huhua = _huhua()
    versions = huhua.queries.definitions()
    newest: dict[str, dict[str, Any]] = {}
    older: dict[str, list[dict[str, Any]]] = {}
    for version in versions:
        if version["key"] not in newest or version["version"] > newest[version["key"]]["version"]:
            newest[version["key"]] = version
    for version in versions:
        if version is not newest[version["key"]]:
            older.setdefault(version["key"], []).insert(0, version)
    processes = sorted(newest.values(), key=lambda d: d["key"])
    artifacts = {p["id"]: huhua.queries.definition_artifacts(p["id"]) for p in processes}
    return render_template("admin_index.html", processes=processes, older=older, artifacts=artifacts,
                           instances=huhua.queries.instances(limit=50))


@admin.app_context_processor
def _admin_words() -> dict[str, Any]:
    """Instance and job states and job kinds in the reader's language, for every admin list (never raw codes)."""
    def admin_words() -> dict[str, dict[str, str]]:
        return {"states": {"running": gettext("运行中"), "suspended": gettext("已挂起"), "incident": gettext("有故障"),
                           "completed": gettext("已完成"), "terminated": gettext("已终止"),
                           "pending": gettext("待执行"), "done": gettext("已完成"), "failed": gettext("已失败"),
                           "cancelled": gettext("已取消")},
                "job_kinds": {"timer": gettext("定时器"), "service": gettext("服务调用"),
                              "continuation": gettext("异步继续"), "child_start": gettext("启动下级实例"),
                              "fanout_done": gettext("下级均已办结"), "scheduled_start": gettext("按计划启动"),
                              "webhook": gettext("推送通知"), "fanout": gettext("下发到各单位"),
                              "notify_event": gettext("生成提醒"), "notify_send": gettext("发送提醒"),
                              "notify_sweep": gettext("巡查到期提醒")}}

    return {"admin_words": admin_words}


@admin.app_context_processor
def _dashboard_link() -> dict[str, Any]:
    """The header offers the dashboard to whoever has one (asked only when a page draws its header)."""
    def may_see_dashboard() -> bool:
        return bool(current_user.is_authenticated and _huhua().queries.has_dashboard(str(current_user.id)))

    return {"may_see_dashboard": may_see_dashboard}


@admin.get("/dashboard")
def dashboard_page() -> Any:
    """Thin: the page draws what /api/v1/dashboard/… answers for the caller's scope."""
    huhua = _huhua()
    scope = huhua.queries.dashboard_scope(str(current_user.id))
    counties = [u for u in huhua.queries.units(kind="county")
                if scope.counties is None or u["id"] in scope.counties]
    processes = sorted({(d["key"], d["name"]) for d in huhua.queries.definitions()})
    return render_template("dashboard.html", counties=counties, processes=processes,
                           whole_city=scope.counties is None)


@admin.get("/dashboard.xlsx")
def dashboard_export() -> Any:
    """The monthly checks and overdue work of the caller's scope in one workbook."""
    huhua = _huhua()
    user, now = str(current_user.id), huhua.clock.now()
    content = workbook([*monthly_sheets(huhua.queries.dashboard_monthly_checks(user, now)),
                        *overdue_sheets(huhua.queries.dashboard_overdue(user, now))])
    response = Response(content, mimetype=XLSX)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote('心育护花看板.xlsx')}"
    return response


@admin.get("/benchmarks")
def benchmarks() -> Any:
    """The last bench run's figures beside their references, as a chart and a table."""
    return render_template("benchmarks.html", results=bench_results.load(_huhua().settings.data_dir))


@admin.get("/processes/<int:definition_id>/edit")
def modeler(definition_id: int) -> Any:
    """bpmn-js with its properties panel on a version; it deploys through the API (the engine's checks apply)."""
    return render_template("modeler.html", definition_id=definition_id, settings=modeler_settings(_huhua()))


@admin.get("/processes/<int:definition_id>/decisions/<decision_id>")
def decision_editor(definition_id: int, decision_id: str) -> Any:
    """dmn-js on a decision table of a version; it saves through the API (a new version of its processes)."""
    return render_template("dmn_editor.html", definition=_huhua().queries.definition(definition_id),
                           decision_id=decision_id)


@admin.get("/processes/<int:definition_id>/forms/<form_key>")
def form_editor(definition_id: int, form_key: str) -> Any:
    """The form-js editor on a form of a version; it saves through the API (a new form and process version)."""
    return render_template("form_editor.html", definition_id=definition_id, form_key=form_key)


@admin.get("/instances/<int:instance_id>")
def instance(instance_id: int) -> Any:
    huhua, me = _huhua(), str(current_user.id)
    level = huhua.queries.case_access(me, instance_id)
    if level is not None:
        huhua.execute(RecordCaseRead(instance_id, me, "page", "instance", level))
    found = huhua.queries.instance(instance_id, viewer=me)
    documents = huhua.queries.documents(instance_id) if level in (None, RECORD) else []
    return render_template("instance.html", instance=found, documents=documents)


@admin.get("/instances")
def instances() -> Any:
    """Every instance, filtered and paged through the API (the page is a shell for its script)."""
    return render_template("admin_instances.html")


@admin.get("/jobs")
def jobs() -> Any:
    return render_template("admin_jobs.html")


@admin.get("/schedules")
def schedules() -> Any:
    return render_template("admin_schedules.html", process_names=dict(_huhua().queries.process_names()))


@admin.get("/calendar")
def calendar() -> Any:
    return render_template("admin_calendar.html", year=_huhua().clock.now().astimezone(BUSINESS_TZ).year)


@admin.get("/org")
def org() -> Any:
    return render_template("admin_org.html")


@admin.get("/tokens")
def tokens() -> Any:
    """Everyone's API tokens (or ``?user=``'s), with their state, expiry and last use, to revoke."""
    return account_pages.tokens_page(admin_view=True, user=(request.args.get("user") or "").strip()[:100])


@admin.post("/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int) -> Any:
    account_pages.revoke(token_id)
    return redirect(url_for("admin.tokens", revoked=token_id))


@admin.get("/audit")
def audit() -> Any:
    """The whole audit log, filtered by actor, action, resource, kind and dates, 50 to a page."""
    args = request.args
    return audit_page(gettext("审计日志"), True, lambda huhua, offset: huhua.queries.audit.entries(
        actor=args.get("actor") or None, action=args.get("action") or None, resource=args.get("resource") or None,
        kind=args.get("kind") or None, date_from=args.get("from") or None, date_to=args.get("to") or None,
        limit=AUDIT_PAGE, offset=offset))


@admin.get("/notifications")
def notifications() -> Any:
    """How each notification went out (e-mail, robots, SMS): filter, replay, and the notice form."""
    return _notifications_page()


def _notifications_page(error: str | None = None, status: int = 200) -> Any:
    args = request.args
    state, channel = args.get("state") or None, args.get("channel") or None
    offset = int(args["offset"]) if args.get("offset", "").isdigit() else 0
    problem = None
    try:
        deliveries = _huhua().queries.notification_deliveries(state=state, channel=channel, limit=DELIVERY_PAGE,
                                                              offset=offset)
    except InvalidInput as err:
        deliveries, problem = [], say(err.message)
    for delivery in deliveries:
        for at in ("created_at", "sent_at", "due_at"):
            delivery[f"{at}_beijing"] = _beijing(delivery[at])
    kept = {k: v for k, v in args.items() if k in ("state", "channel") and v}
    return render_template(
        "admin_notifications.html", deliveries=deliveries, state=state or "", channel=channel or "", problem=problem,
        channels=DELIVERY_CHANNELS, all_channels=CHANNELS, kinds=KINDS, offset=offset, page=DELIVERY_PAGE,
        prev_query=urlencode({**kept, "offset": max(0, offset - DELIVERY_PAGE)}),
        next_query=urlencode({**kept, "offset": offset + DELIVERY_PAGE}),
        replayed=args.get("replayed"), told=args.get("told"), error=error, form=request.form), status


@admin.post("/notifications/<int:delivery_id>/replay")
def replay_notification_delivery(delivery_id: int) -> Any:
    try:
        _huhua().execute(ReplayDelivery(delivery_id, str(current_user.id)))
    except (InvalidInput, Conflict) as err:
        return _notifications_page(say(err.message), 409 if isinstance(err, Conflict) else 400)
    return redirect(url_for("admin.notifications", replayed=delivery_id))


@admin.post("/notifications/notice")
def send_notice() -> Any:
    """The notice form: recipients one per line or separated by commas (person ids or role@unit)."""
    form = request.form
    recipients = tuple(part for part in re.split(r"[\s,，、]+", form.get("recipients", "")) if part)
    try:
        told = _huhua().execute(SendNotice(
            str(current_user.id), recipients, form.get("subject", ""), form.get("body", ""),
            form.get("link") or None, tuple(form.getlist("channels"))))
    except InvalidInput as err:
        return _notifications_page(say(err.message), 400)
    return redirect(url_for("admin.notifications", told=told["notifications"]))


def _beijing(iso: str | None) -> str:
    return datetime.fromisoformat(iso).astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M:%S") if iso else ""


def audit_page(title: str, admin_view: bool, read: Callable[[Huhua, int], dict[str, Any]]) -> Any:
    """An audit log page: a bad filter is shown as a message over an empty table, never an error page."""
    huhua, args = _huhua(), request.args
    offset = int(args["offset"]) if args.get("offset", "").isdigit() else 0
    problem = None
    try:
        page = read(huhua, offset)
    except InvalidInput as err:
        page, problem = {"entries": [], "total": 0, "limit": AUDIT_PAGE, "offset": 0}, err.message
    for entry in page["entries"]:
        entry["at_beijing"] = datetime.fromisoformat(entry["at"]).astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M:%S")
    kept = {k: v for k, v in args.items() if k != "offset" and v}
    return render_template("audit.html", title=title, admin_view=admin_view, page=page, args=args, problem=problem,
                           schools=page.get("school_names", page.get("schools", [])),
                           prev_query=urlencode({**kept, "offset": max(0, offset - AUDIT_PAGE)}),
                           next_query=urlencode({**kept, "offset": offset + AUDIT_PAGE}))


def _huhua() -> Huhua:
    return current_app.extensions["huhua"]
