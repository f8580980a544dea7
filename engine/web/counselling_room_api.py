"""Schools' counselling room registers under /api/v1/counselling-rooms (§四.5): one school's for its leaders,
mental-health teachers and the bureaus above it; a county's list (or the counts per county) for the dashboard's
holders. Supervision reads the same (``huhua.queries.counselling_room``)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from engine.web import calls

counselling_room_api = Blueprint("counselling_room_api", __name__, url_prefix="/api/v1")


@counselling_room_api.get("/counselling-rooms/<unit_id>")
def school_counselling_rooms(unit_id: str) -> Any:
    """The school's registers, newest school year first (404 for whoever may not read them)."""
    return jsonify(calls.engine().queries.counselling_room(calls.actor(), unit_id))


@counselling_room_api.get("/counselling-rooms")
def county_counselling_rooms() -> Any:
    """``?county=``: its schools, recorded, accepted, standard met and new students' visit; without it, the counts
    per county in the caller's scope. ``?school_year=`` (e.g. 2026-2027): that year, else the newest."""
    return jsonify(calls.engine().queries.counselling_rooms_of_county(
        calls.actor(), request.args.get("county") or None, request.args.get("school_year") or None))
