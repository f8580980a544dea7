"""一月一查 above the school, on the web: the oversight pages and API of the counties and the city (completion,
score distribution, late schools to chase, the spot-check sample), and the teacher appraisal ledger a school's
leaders download (.xlsx).

Who may call what is each endpoint's rule in :data:`engine.access.policy.ROUTES`: the oversight is the
dashboard's (a county's officers and heads their county, the city all; another county answers 404), the ledger
its school's leaders' and the bureaus' above it (:mod:`engine.appraisal_ledger`). Chasing a late school starts
``monthly_check_chase`` through the ordinary start API, under that process's own start rule.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Blueprint, current_app, jsonify, render_template, request
from flask_login import current_user

from engine.appraisal_ledger import ledger_sheets
from engine.documents.layout import workbook
from engine.documents.rendered import XLSX
from engine.errors import InvalidInput, Problem
from engine.phrases import Phrase
from engine.web import calls

monthly = Blueprint("monthly", __name__)
monthly_api = Blueprint("monthly_api", __name__, url_prefix="/api/v1")


@monthly.get("/oversight/monthly")
def oversight_page() -> Any:
    """The counties the caller oversees; a county's officer sees their county's schools at once."""
    huhua = calls.engine()
    figures = huhua.queries.monthly_oversight(str(current_user.id), huhua.clock.now(), request.args.get("month"))
    if len(figures["counties"]) == 1:
        return oversight_county_page(figures["counties"][0]["county"])
    return render_template("monthly_oversight.html", figures=figures, county=None)


@monthly.get("/oversight/monthly/<county>")
def oversight_county_page(county: str) -> Any:
    """One county's schools: completion, score distribution, late schools with a chase, the spot-check."""
    huhua = calls.engine()
    figures = huhua.queries.monthly_oversight_county(str(current_user.id), huhua.clock.now(), county,
                                                     request.args.get("month"))
    return render_template("monthly_oversight.html", figures=figures, county=figures["county"])


@monthly.get("/appraisal")
def ledger_page() -> Any:
    """The schools whose ledger the caller may download (a teacher has none), with a year and month to choose."""
    huhua = calls.engine()
    today = huhua.clock.now()
    return render_template("appraisal_ledger.html", schools=huhua.queries.ledger_schools(str(current_user.id)),
                           year=today.year)


@monthly_api.get("/oversight/monthly")
def oversight() -> Any:
    """Per county the caller oversees: the month's (``?month=2026-10``) completion and score distribution."""
    huhua = calls.engine()
    return jsonify(huhua.queries.monthly_oversight(calls.actor(), huhua.clock.now(), request.args.get("month")))


@monthly_api.get("/oversight/monthly/<county>")
def oversight_county(county: str) -> Any:
    """One county's schools for the month: completion, bands and mean, late steps, chases, the spot-check."""
    huhua = calls.engine()
    return jsonify(huhua.queries.monthly_oversight_county(calls.actor(), huhua.clock.now(), county,
                                                          request.args.get("month")))


@monthly_api.get("/appraisal/<school>")
def ledger(school: str) -> Any:
    """The school's teacher appraisal ledger for ``?year=`` (and ``?month=``): per teacher and month, and per
    teacher for the year."""
    return jsonify(_ledger(school))


@monthly_api.get("/appraisal/<school>/export")
def ledger_export(school: str) -> Any:
    """The same ledger as an .xlsx workbook: 月度台账 (a row per teacher and month) and 年度汇总."""
    found = _ledger(school)
    name = f"教师考评台账-{found['school']['name']}-{found['year']}" + (f"-{found['month']:02d}" if found["month"]
                                                                      else "") + ".xlsx"
    response = current_app.response_class(workbook(ledger_sheets(found)), content_type=XLSX)
    response.headers["Content-Disposition"] = f"attachment; filename=\"ledger.xlsx\"; filename*=UTF-8''{quote(name)}"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _ledger(school: str) -> dict[str, Any]:
    huhua = calls.engine()
    year = _whole(request.args.get("year"), "year") or huhua.clock.now().year
    return huhua.queries.appraisal_ledger(calls.actor(), school, year, _whole(request.args.get("month"), "month"))


def _whole(value: str | None, field: str) -> int | None:
    if value is None or value == "":
        return None
    if not value.isdigit() or len(value) > 4:
        raise InvalidInput(Phrase("%(field)s must be a whole number, not '%(value)s'", field=field, value=value[:20]),
                           [Problem(Phrase("not a number"), field=field)])
    return int(value)
