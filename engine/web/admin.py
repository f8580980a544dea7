"""Administrators' pages: the processes with their versions, the bpmn-js modeler, an instance on its diagram.

The modeler saves through ``/api/v1/process-definitions/{id}/deploy`` (a new version; lint findings come
back with element ids and are marked on the diagram). A version's DMN tables open in dmn-js and its
forms in the form-js editor; they save through the API's ``decisions/…/deploy`` and ``forms/…/deploy``.
The instance view marks the elements an instance completed, those it waits at, and those that failed.
Who may open each page is its rule in :data:`engine.access.policy.ROUTES`, applied by :mod:`engine.web.guard`
before the view runs (the administrator, or for the dashboard whoever has one).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, current_app, render_template
from flask_login import current_user

from engine import bench_results
from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ
from engine.dashboard import monthly_sheets, overdue_sheets
from engine.documents import XLSX
from engine.documents.layout import workbook

admin = Blueprint("admin", __name__, url_prefix="/admin")


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
    return render_template("modeler.html", definition_id=definition_id)


@admin.get("/processes/<int:definition_id>/decisions/<decision_id>")
def decision_editor(definition_id: int, decision_id: str) -> Any:
    """dmn-js on a decision table of a version; it saves through the API (a new version of its processes)."""
    return render_template("dmn_editor.html", definition_id=definition_id, decision_id=decision_id)


@admin.get("/processes/<int:definition_id>/forms/<form_key>")
def form_editor(definition_id: int, form_key: str) -> Any:
    """The form-js editor on a form of a version; it saves through the API (a new form and process version)."""
    return render_template("form_editor.html", definition_id=definition_id, form_key=form_key)


@admin.get("/instances/<int:instance_id>")
def instance(instance_id: int) -> Any:
    found = _huhua().queries.instance(instance_id)
    return render_template("instance.html", instance=found)


@admin.get("/instances")
def instances() -> Any:
    """Every instance, filtered and paged through the API (the page is a shell for its script)."""
    return render_template("admin_instances.html")


@admin.get("/jobs")
def jobs() -> Any:
    return render_template("admin_jobs.html")


@admin.get("/schedules")
def schedules() -> Any:
    return render_template("admin_schedules.html")


@admin.get("/calendar")
def calendar() -> Any:
    return render_template("admin_calendar.html", year=_huhua().clock.now().astimezone(BUSINESS_TZ).year)


@admin.get("/org")
def org() -> Any:
    return render_template("admin_org.html")


def _huhua() -> Huhua:
    return current_app.extensions["huhua"]
