"""The administrators' operations API under /api/v1: instance counts, jobs and incidents, schedules, the
working-day calendar and the org directory with its imports and exports. Every call is the administrator's.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any
from urllib.parse import quote

from flask import Blueprint, current_app, jsonify, request

from engine.clock import BUSINESS_TZ
from engine.commands.requests import (
    ChangeSchedule,
    ClearWorkday,
    LoadDirectory,
    SetPersonContact,
    SetTermCalendar,
    SetWorkday,
)
from engine.documents.rendered import XLSX
from engine.errors import InvalidInput, NotFound, Problem
from engine.org import spreadsheets
from engine.org.calendar import parse_year
from engine.phrases import Phrase
from engine.web import calls

operations_api = Blueprint("operations_api", __name__, url_prefix="/api/v1")

#: Files one directory import may take: a workbook, or a units CSV and a people CSV.
MAX_IMPORT_FILES = 2


@operations_api.get("/process-instances/summary")
def instance_summary() -> Any:
    """How many instances match the list's filters, and how many per state."""
    calls.administrator()
    return jsonify(calls.engine().queries.instance_counts(**calls.instance_filters()))


@operations_api.get("/jobs/summary")
def job_summary() -> Any:
    """Jobs per state and kind, how many are due now, and the open incidents."""
    calls.administrator()
    huhua = calls.engine()
    return jsonify(huhua.queries.job_counts(huhua.clock.now()))


@operations_api.get("/incidents")
def list_incidents() -> Any:
    """Incidents with their instance, element, message and time (open ones unless asked otherwise)."""
    calls.administrator()
    return jsonify(calls.engine().queries.incidents(
        state=request.args.get("state") or "open", process_key=request.args.get("process_key") or None,
        limit=calls.int_arg("limit", 100), offset=calls.int_arg("offset", 0), viewer=calls.actor()))


def _all_schedules() -> list[Any]:
    huhua = calls.engine()
    return huhua.queries.configured_schedules() + huhua.queries.timer_schedules()


@operations_api.get("/schedules")
def list_schedules() -> Any:
    """Every schedule (those in force, shipped or changed, and BPMN timer start events): rule, next fire, last
    fire, paused or not."""
    calls.administrator()
    huhua = calls.engine()
    return jsonify(huhua.queries.operations.schedules(_all_schedules(), huhua.clock.now(),
                                                      huhua.queries.term_calendar(),
                                                      huhua.queries.schedule_records()))


@operations_api.put("/schedules/<key>")
def change_schedule(key: str) -> Any:
    """Pause or enable a schedule, or change its rule, months, time or start variables (the fields to change)."""
    actor = calls.administrator()
    if key not in {s.key for s in calls.engine().queries.configured_schedules()}:
        raise NotFound(Phrase("there is no schedule '%(key)s'", key=key),
                       [Problem(Phrase("no such schedule"), field="key")])
    return jsonify(calls.engine().execute(ChangeSchedule(schedule_key=key, actor=actor, changes=calls.json_body())))


@operations_api.get("/schedule-occurrences/<year>")
def schedule_year(year: str) -> Any:
    """Every occurrence of a year, Beijing time: schedule, process, fire time, for_each and its units."""
    calls.administrator()
    huhua = calls.engine()
    return jsonify(huhua.queries.operations.schedule_year(_all_schedules(), parse_year(year),
                                                          huhua.queries.term_calendar()))


@operations_api.get("/term-calendar")
def term_calendar() -> Any:
    """The school term calendar: holiday months and semester dates (defaults until set)."""
    calls.administrator()
    return jsonify(calls.engine().queries.term_calendar().as_dict())


@operations_api.put("/term-calendar")
def set_term_calendar() -> Any:
    """Set holiday months and semester dates (fields left out keep their value)."""
    actor = calls.administrator()
    return jsonify(calls.engine().execute(SetTermCalendar(actor=actor, values=calls.json_body())))


@operations_api.get("/schedules/<key>/fires")
def schedule_fires(key: str) -> Any:
    """The fire log of one schedule, newest first."""
    calls.administrator()
    if key not in {s.key for s in _all_schedules()}:
        raise NotFound(Phrase("there is no schedule '%(key)s'", key=key),
                       [Problem(Phrase("no such schedule"), field="key")])
    return jsonify(calls.engine().queries.operations.schedule_fires(key, limit=calls.int_arg("limit", 50),
                                                              offset=calls.int_arg("offset", 0)))


@operations_api.get("/calendar/<year>")
def calendar_year(year: str) -> Any:
    """A year's holidays (with names), adjusted working days and local overrides, and what the year rests on."""
    calls.administrator()
    return jsonify(calls.engine().queries.calendar_year(year))


@operations_api.put("/calendar/overrides/<day>")
def set_override(day: str) -> Any:
    """Make one date a working day or a holiday locally, with the reason why."""
    actor = calls.administrator()
    body = calls.json_body()
    working = body.get("working")
    if not isinstance(working, bool):
        raise InvalidInput(Phrase("working must be true (a working day) or false (a holiday)"),
                           [Problem(Phrase("expected true or false"), field="working")])
    note = (calls.str_field(body, "note", required=True) or "").strip()
    if not note:
        raise InvalidInput(Phrase("give the reason for the override (note)"), [Problem(Phrase("empty"), field="note")])
    return jsonify(calls.engine().execute(SetWorkday(day=day, working=working, actor=actor, note=note)))


@operations_api.delete("/calendar/overrides/<day>")
def clear_override(day: str) -> Any:
    """Remove a local override, so the official calendar decides again."""
    return jsonify(calls.engine().execute(ClearWorkday(day=day, actor=calls.administrator())))


@operations_api.get("/org/units")
def unit_children() -> Any:
    """The units directly below ``parent`` (without it: the top of the directory), with counts below each."""
    calls.administrator()
    parent = request.args.get("parent") or None
    operations = calls.engine().queries.operations
    return jsonify({"parent": operations.unit(parent) if parent else None,
                    "units": operations.unit_children(parent), "totals": operations.directory_counts()})


@operations_api.get("/org/units/<unit_id>")
def unit_detail(unit_id: str) -> Any:
    """One unit, the units above it, and the people holding roles at it."""
    calls.administrator()
    huhua = calls.engine()
    return jsonify({**huhua.queries.operations.unit(unit_id),
                    "people": huhua.queries.users(unit=unit_id, limit=calls.int_arg("limit", 500))})


@operations_api.get("/org/people")
def search_people() -> Any:
    """People by part of their name or id, optionally at or under a unit or holding a role."""
    calls.administrator()
    return jsonify(calls.engine().queries.users(
        search=request.args.get("q"), unit=request.args.get("unit") or None,
        under=request.args.get("under") or None, role=request.args.get("role") or None,
        limit=calls.int_arg("limit", 100), offset=calls.int_arg("offset", 0)))


@operations_api.patch("/org/people/<person_id>")
def correct_contact(person_id: str) -> Any:
    """Correct one person's e-mail and mobile (a field left out stays as it is; an empty one is removed)."""
    actor = calls.administrator()
    body = calls.json_body()
    return jsonify(calls.engine().execute(SetPersonContact(
        person_id, actor, email=calls.str_field(body, "email"), phone=calls.str_field(body, "phone"))))


@operations_api.post("/org/imports")
def import_directory() -> Any:
    """Load the directory from an uploaded workbook (.xlsx) or CSV files: all rows good, or nothing loaded."""
    actor = calls.administrator()
    uploads = request.files.getlist("file")
    if not uploads:
        raise InvalidInput(Phrase("send the workbook (.xlsx) or the CSV files as multipart field 'file'"),
                           [Problem(Phrase("missing"), field="file")])
    if len(uploads) > MAX_IMPORT_FILES:
        raise InvalidInput(Phrase("send at most %(n)s files: a workbook, or a units CSV and a people CSV",
                                  n=MAX_IMPORT_FILES), [Problem(Phrase("too many files"), field="file")])
    huhua = calls.engine()
    units = people = None
    names = []
    for upload in uploads:
        name = PurePath(upload.filename or "").name or "upload"
        suffix = PurePath(name).suffix.lower()
        if suffix not in (".xlsx", ".csv"):
            raise InvalidInput(Phrase("%(file)s is neither an .xlsx workbook nor a .csv file", file=name),
                               [Problem(Phrase("expected .xlsx or .csv"), file=name, field="file")])
        read = spreadsheets.read_workbook if suffix == ".xlsx" else spreadsheets.read_csv
        found_units, found_people = read(name, upload.read())
        units, people = found_units or units, found_people or people
        names.append(name)
    directory = spreadsheets.build(units, people, huhua.queries.directory())
    return jsonify(huhua.execute(LoadDirectory(directory, actor, source="上传 " + "、".join(names)))), 201


@operations_api.get("/org/export.xlsx")
def export_directory() -> Any:
    """The directory as a workbook (单位 and 人员 sheets) that an import reads back."""
    calls.administrator()
    huhua = calls.engine()
    content = spreadsheets.export_workbook(huhua.queries.directory())
    name = f"心育护花通讯录-{huhua.clock.now().astimezone(BUSINESS_TZ):%Y%m%d}.xlsx"
    response = current_app.response_class(content, mimetype=XLSX)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return response

