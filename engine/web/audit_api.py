"""The audit log under /api/v1: the whole log for administrators, a school's counselling reads for its
mental-health lead."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from engine.web import calls

audit_api = Blueprint("audit_api", __name__, url_prefix="/api/v1")


@audit_api.get("/audit")
def list_audit() -> Any:
    """Log lines newest first, with the total: filters actor, action, resource, kind (command | read), school,
    from and to (Beijing dates, both included); paged by limit and offset. The administrator's."""
    calls.administrator()
    args = request.args
    return jsonify(calls.engine().queries.audit.entries(
        actor=args.get("actor") or None, action=args.get("action") or None, resource=args.get("resource") or None,
        kind=args.get("kind") or None, school=args.get("school") or None, date_from=args.get("from") or None,
        date_to=args.get("to") or None, limit=calls.int_arg("limit", 50), offset=calls.int_arg("offset", 0)))


@audit_api.get("/audit/case-reads")
def list_case_reads() -> Any:
    """Who read which counselling case of the caller's school, when and through which surface: for the school's
    mental-health lead (403 for anyone else). Filters from and to; paged."""
    args = request.args
    return jsonify(calls.engine().queries.audit.case_reads(
        calls.actor(), date_from=args.get("from") or None, date_to=args.get("to") or None,
        limit=calls.int_arg("limit", 50), offset=calls.int_arg("offset", 0)))
