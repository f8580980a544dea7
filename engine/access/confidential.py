"""Counselling confidentiality: who reads how much of a case, on need to know, as a school counselling service works.

A process whose model says ``confidentiality = counselling`` (see :mod:`engine.access.sensitivity`) is read
by these rules alone; starting it, holding a role above its school or having finished a colleague's task
grants nothing. For a case at school S (the instance's ``org_scope``):

``record`` (everything, the session record included)
    the school's **mental-health lead** — whoever holds 专职心理健康教育教师 (``mh_teacher_full``) at S, or,
    at a school without one, its 值班辅导教师 (``duty_counsellor``) — and **the case's counsellor**: a duty
    counsellor of S who holds, held or is offered one of the case's tasks. A colleague a counselling task was
    delegated to reads the record while that task is theirs and open, and not after.
``case_and_risk`` (the case's data without the variables its model marks sensitive: its alias, risk level
    and priority, crisis and channel; no session record, no history detail)
    the **principal** of S; and whoever holds, held or is offered a **crisis escalation** of the case — a task
    offered to a role at a unit above S (the county officer's crisis report, the bureau head's urging).
``status`` (that the case exists, its state, open steps and incidents' places and times; no data, no history)
    the **referring teacher** (``referred_by``, the class teacher whose screening sent the referral), and
    administrators, who run the engine but do not read counselling records.
``None``
    everybody else: other teachers of the school, its programme officer, the county and city officers and
    heads (who see counts by risk level and crisis escalations on the dashboard instead). Such a reader gets
    404, the same as for a missing id.

An incident's message can quote the case's data (a failed expression names its values), so below ``record``
an incident shows its element, kind and time, and :data:`WITHHELD_INCIDENT_MESSAGE` in place of its message.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import and_, or_, select

from engine.access.identity import holdings, is_administrator
from engine.access.sensitivity import Sensitivity, redact, sensitivity_of
from engine.store import tables

RECORD, CASE_AND_RISK, STATUS = "record", "case_and_risk", "status"
#: Access levels, weakest first.
LEVELS = (STATUS, CASE_AND_RISK, RECORD)
COUNSELLOR = "duty_counsellor"
MH_LEAD = "mh_teacher_full"
PRINCIPAL = "principal"

#: What a reader below ``record`` sees as an incident's message (Chinese and English: it is data, not a page text).
WITHHELD_INCIDENT_MESSAGE = ("保密个案的故障详情不予显示 "
                             "(the details of an incident of a confidential case are withheld)")

_i, _t, _c, _r = tables.process_instance, tables.human_task, tables.task_candidate, tables.role_assignment


def case_access(session: Any, user: str | None, instance_id: int) -> str | None:
    """How much of counselling case ``instance_id`` ``user`` may read: "record", "case_and_risk", "status" or None.

    ``session`` is a SQLAlchemy Session or Connection. Only meaningful for an instance of a process marked
    confidential (:func:`is_confidential`); a missing instance answers None.
    """
    if not user:
        return None
    row = session.execute(select(_i.c.org_scope, _i.c.data).where(_i.c.id == instance_id)).first()
    if row is None:
        return None
    school = row.org_scope
    roles_here = set(session.execute(select(_r.c.role).where(_r.c.person_id == user, _r.c.unit_id == school))
                     .scalars()) if school else set()
    if MH_LEAD in roles_here or (COUNSELLOR in roles_here and not _school_has(session, school, MH_LEAD)):
        return RECORD
    held = [f"{role}@{unit}" for role, unit in session.execute(
        select(_r.c.role, _r.c.unit_id).where(_r.c.person_id == user))]
    counsellor_role = f"{COUNSELLOR}@{school}"
    best: str | None = None
    for task in _tasks_touching(session, instance_id, user, held):
        offered_roles = task["roles"]
        if counsellor_role in offered_roles:
            if COUNSELLOR in roles_here:
                return RECORD  # the case's counsellor
            if task["open"] and task["assignee"] == user:
                return RECORD  # a delegatee, while the task is theirs
        elif any(role.split("@", 1)[1] != school for role in offered_roles):
            best = _stronger(best, CASE_AND_RISK)  # a crisis escalation above the school
    if PRINCIPAL in roles_here:
        best = _stronger(best, CASE_AND_RISK)
    if best is None and _referred_by(row.data) == user:
        best = STATUS
    if best is None and is_administrator(session, user):
        best = STATUS
    return best


def is_confidential(session: Any, instance_id: int) -> bool:
    """Whether the instance's process is read by the counselling rules (False for a missing instance)."""
    definition_id = session.execute(select(_i.c.definition_id).where(_i.c.id == instance_id)).scalar()
    return is_confidential_version(session, definition_id)


def is_confidential_version(session: Any, definition_id: int | None) -> bool:
    """Whether instances of process version ``definition_id`` are read by the counselling rules (False for None)."""
    return definition_id is not None and sensitivity_of(session, definition_id).confidentiality == "counselling"


def at_least(level: str | None, wanted: str) -> bool:
    """Whether ``level`` grants what ``wanted`` grants."""
    return level is not None and LEVELS.index(level) >= LEVELS.index(wanted)


def led_schools(session: Any, user: str) -> list[str]:
    """The schools whose mental-health lead ``user`` is (whose counselling-read log they may see)."""
    held = holdings(session, user)
    schools = {h.unit_id for h in held if h.role == MH_LEAD}
    for school in sorted({h.unit_id for h in held if h.role == COUNSELLOR}):
        if not _school_has(session, school, MH_LEAD):
            schools.add(school)
    return sorted(schools)


def _tasks_touching(session: Any, instance_id: int, user: str, held: list[str]) -> list[dict[str, Any]]:
    """The case's tasks ``user`` holds, held or is offered (by name or a role they hold), with their role offers.

    A task the engine closed (a crisis urge cancelled once the school acted) was never the person's work: having
    been its assignee then — as a role's sole holder is made at once — leaves no lasting access to the case."""
    offered = select(_c.c.task_id).where(or_(and_(_c.c.kind == "user", _c.c.value == user),
                                             and_(_c.c.kind == "role", _c.c.value.in_(held or [""]))))
    rows = session.execute(select(_t.c.id, _t.c.state, _t.c.assignee).where(
        _t.c.instance_id == instance_id,
        or_(and_(_t.c.assignee == user, _t.c.state != "cancelled"), _t.c.completed_by == user,
            and_(_t.c.state == "open", _t.c.id.in_(offered))),
    )).all()
    if not rows:
        return []
    roles: dict[int, list[str]] = {}
    for task_id, value in session.execute(select(_c.c.task_id, _c.c.value).where(
            _c.c.task_id.in_([r.id for r in rows]), _c.c.kind == "role")):
        roles.setdefault(task_id, []).append(value)
    return [{"id": r.id, "open": r.state == "open", "assignee": r.assignee, "roles": roles.get(r.id, [])}
            for r in rows]


def _school_has(session: Any, school: str | None, role: str) -> bool:
    return school is not None and session.execute(
        select(_r.c.id).where(_r.c.role == role, _r.c.unit_id == school).limit(1)).first() is not None


def _referred_by(data: str | None) -> str | None:
    try:
        found = json.loads(data or "{}").get("referred_by")
    except (ValueError, AttributeError):
        return None
    return found if isinstance(found, str) else None


def _stronger(level: str | None, other: str) -> str:
    return other if level is None or LEVELS.index(other) > LEVELS.index(level) else level


def withheld_incident(incident: dict[str, Any]) -> dict[str, Any]:
    """An incident of a confidential case for a reader below ``record``: where, what kind and when, not why."""
    return {**incident, "message": WITHHELD_INCIDENT_MESSAGE, "message_withheld": True}


def case_view(found: dict[str, Any], level: str, sensitivity: Sensitivity) -> dict[str, Any]:
    """An instance as read by :meth:`engine.queries.Queries.instance`, cut down to what ``level`` may see."""
    view = {**found, "access": level}
    if level == RECORD:
        return view
    view["data"] = redact(found["data"], sensitivity) if level == CASE_AND_RISK else {}
    view["open_tasks"] = [{**task, "item": None} for task in found["open_tasks"]]
    view["incidents"] = [withheld_incident(incident) for incident in found["incidents"]]
    if level == CASE_AND_RISK:
        view["history"] = [{**event, "detail": {}} for event in found["history"]]
    else:
        view.update(history=[], started_by=None)
    return view
