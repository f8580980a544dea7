"""The dashboard API under /api/v1/dashboard: rollout coverage by level, monthly checks and overdue work, each
as JSON and as an .xlsx workbook, within the caller's scope."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Blueprint, current_app, jsonify, request

from engine.counselling_figures import counselling_sheets
from engine.dashboard import monthly_sheets, overdue_sheets, rollout_sheets
from engine.documents.layout import workbook
from engine.documents.rendered import XLSX
from engine.errors import InvalidInput, Problem
from engine.monthly_oversight import parse_month
from engine.phrases import Phrase
from engine.web import calls

dashboard_api = Blueprint("dashboard_api", __name__, url_prefix="/api/v1")


@dashboard_api.get("/dashboard/rollouts")
def dashboard_rollouts() -> Any:
    """The tiered rollouts the caller oversees, with their completion."""
    return jsonify(calls.engine().queries.dashboard_rollouts(calls.actor()))


@dashboard_api.get("/dashboard/rollouts/<int:instance_id>")
def dashboard_rollout(instance_id: int) -> Any:
    """One level of a rollout's coverage: the counties, ``?unit=`` a county's schools or a school's people."""
    return jsonify(_rollout_level(instance_id))


@dashboard_api.get("/dashboard/rollouts/<int:instance_id>/export")
def dashboard_rollout_export(instance_id: int) -> Any:
    level = _rollout_level(instance_id)
    where = "-".join(c["name"] for c in level["breadcrumbs"]) or "全市"
    return _xlsx(workbook(rollout_sheets(level)), f"推进覆盖-{instance_id}-{where}.xlsx")


def _rollout_level(instance_id: int) -> dict[str, Any]:
    instance = calls.path_id(instance_id, "instance")
    return calls.engine().queries.dashboard_rollout(calls.actor(), instance, _unit_arg("unit"))


@dashboard_api.get("/dashboard/counselling")
def dashboard_counselling() -> Any:
    """Counselling cases by risk level per county (``?county=``: per school of it) and the crisis escalations,
    naming a student only where the escalation lets the caller read the case."""
    return jsonify(calls.engine().queries.dashboard_counselling(calls.actor(), _unit_arg("county")))


@dashboard_api.get("/dashboard/counselling/export")
def dashboard_counselling_export() -> Any:
    """The same figures as an .xlsx workbook (counts by risk level, and the crisis escalations)."""
    county = _unit_arg("county")
    figures = calls.engine().queries.dashboard_counselling(calls.actor(), county)
    return _xlsx(workbook(counselling_sheets(figures)), f"心理辅导个案-{county or '全市'}.xlsx")


@dashboard_api.get("/dashboard/monthly-checks")
def dashboard_monthly_checks() -> Any:
    """一月一查 per month: submission on time, late and missing, bands and scores; ``?county=`` one county; and
    ``?month=`` (YYYY-MM; the newest scored month unless given) compared per county, or per school of a county."""
    return jsonify(_monthly_checks())


@dashboard_api.get("/dashboard/monthly-checks/export")
def dashboard_monthly_checks_export() -> Any:
    figures = _monthly_checks()
    return _xlsx(workbook(monthly_sheets(figures)), f"一月一查-{figures['county'] or '全市'}.xlsx")


def _monthly_checks() -> dict[str, Any]:
    huhua = calls.engine()
    now = huhua.clock.now()
    month = parse_month(_unit_arg("month"), now) if _unit_arg("month") else None
    return huhua.queries.dashboard_monthly_checks(calls.actor(), now, _unit_arg("county"), month)


@dashboard_api.get("/dashboard/overdue")
def dashboard_overdue() -> Any:
    """Overdue open tasks per county (``?county=``: per school of it), by process (``?process=``: one)."""
    huhua = calls.engine()
    return jsonify(huhua.queries.dashboard_overdue(calls.actor(), huhua.clock.now(), _unit_arg("county"),
                                                   _unit_arg("process")))


@dashboard_api.get("/dashboard/overdue/export")
def dashboard_overdue_export() -> Any:
    huhua = calls.engine()
    county = _unit_arg("county")
    figures = huhua.queries.dashboard_overdue(calls.actor(), huhua.clock.now(), county, _unit_arg("process"))
    return _xlsx(workbook(overdue_sheets(figures)), f"逾期待办-{county or '全市'}.xlsx")


def _unit_arg(name: str) -> str | None:
    """An optional id-like query parameter (a unit, a process key): empty means not given."""
    value = (request.args.get(name) or "").strip()
    if len(value) > 200:
        raise InvalidInput(Phrase("query parameter %(name)s is too long", name=name),
                           [Problem(Phrase("at most %(n)s characters", n=200), field=name)])
    if any(ord(c) < 32 for c in value):  # PostgreSQL cannot even compare text holding NUL
        raise InvalidInput(Phrase("query parameter %(name)s holds control characters", name=name),
                           [Problem(Phrase("not printable"), field=name)])
    return value or None


def _xlsx(content: bytes, name: str) -> Any:
    response = current_app.response_class(content, mimetype=XLSX)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return response

