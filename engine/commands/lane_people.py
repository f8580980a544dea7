"""Whom a task drawn in a lane is offered to, when the task itself names nobody.

A lane names one of three things (a task's own ``candidateUsers``, ``candidateGroups``, ``candidateRoles`` or
``assignee`` always come first):

- **a role** (:mod:`engine.bpmn.lane_roles`: its ``role`` property, or a name that spells a role): the role's
  holders at the instance's unit, or at the tier it names, as before;
- **the person who started the instance**: a lane named ``Process Initiator`` as spiff-arena names it
  (:data:`engine.bpmn.lane_roles.INITIATOR_LANE`: any case, ``process_initiator``, ``ProcessInitiator``) or
  ``流程发起人`` / ``发起人``; and, in a model deployed from a spiff-arena process-model folder, a task drawn in no
  lane (spiff-arena's default);
- **a group**: any other lane. The org directory has roles, not groups, so a group's people are whoever the
  task's data names for it in ``lane_owners`` when the task opens (spiff-arena's convention)::

      lane_owners = {"Finance": ["alice", "bob@school.cn", "group:校长"]}

  Each entry is a person id (the log-in name) or an e-mail address of an active person of the directory, or
  ``group:ROLE`` (``group:principal``, ``group:专项负责人@county``): that role, reached as a lane naming it would
  be. A group lane the data names nobody for is offered to nobody, as before (the administrator assigns it);
  this is the documented rule, not a deployment warning, since the people arrive with the data (a deployment
  lists such lanes as the process's ``group_lanes``).

``lane_owners`` may set the people of a role lane too (for that one task); it never changes the initiator's
lane. An entry that names nobody, an empty list, or a value that is not a list of names is an incident naming
the lane and the entries: the task waits, held back, until the incident is retried with corrected data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select

from engine.bpmn.lane_roles import PERFORMERS, is_initiator_lane
from engine.commands.assignment import candidates_of, split
from engine.commands.unit_of_work import UnitOfWork
from engine.org.directory import role_code
from engine.phrases import Phrase
from engine.store import tables

_p = tables.person
#: The lane spiff-arena gives a task drawn in no lane: a process-model folder's task in no lane is the initiator's.
SPIFF_ARENA_INITIATOR = "process_initiator"
#: An entry of ``lane_owners`` naming a role rather than a person.
GROUP_PREFIX = "group:"


@dataclass
class LaneOffer:
    """The candidates of a task, and what its lane's ``lane_owners`` got wrong (None: nothing)."""

    candidates: list[tuple[str, str]] = field(default_factory=list)
    problem: Phrase | None = None


def names_own_performer(properties: dict[str, str]) -> bool:
    """Whether the task says itself whom it is offered to (then its lane offers nothing)."""
    return any(split(properties.get(key)) for key in PERFORMERS)


def offer_of(uow: UnitOfWork, org_scope: str | None, started_by: str, properties: dict[str, str],
             lane: str | None, owners: Any) -> LaneOffer:
    """Whom a new task is offered to: its own performers, else its lane's people (see the module)."""
    if not lane or names_own_performer(properties):
        return LaneOffer(candidates_of(uow, org_scope, properties, lane))
    if is_initiator_lane(lane):
        return LaneOffer([("user", started_by)] if _active_people(uow, [started_by]) else [])
    if owners is None:
        return LaneOffer(candidates_of(uow, org_scope, properties, lane))  # a role; a group nobody was given for
    return _owners_offer(uow, org_scope, lane, owners)


def _owners_offer(uow: UnitOfWork, org_scope: str | None, lane: str, owners: Any) -> LaneOffer:
    if not isinstance(owners, list | tuple) or not all(isinstance(entry, str) for entry in owners):
        return LaneOffer(problem=Phrase(
            "lane '%(lane)s': lane_owners must map the lane's name to a list of person ids or e-mail addresses, "
            "not %(value)s", lane=lane, value=_shown(owners)))
    entries = list(dict.fromkeys(entry.strip() for entry in owners if entry.strip()))
    if not entries:
        return LaneOffer(problem=Phrase("lane '%(lane)s': lane_owners names nobody for it; give the people of the "
                                        "directory who do its tasks", lane=lane))
    people = [entry for entry in entries if not entry.lower().startswith(GROUP_PREFIX)]
    found = _active_people(uow, people)
    candidates = [("user", found[entry]) for entry in people if entry in found]
    unknown = [entry for entry in people if entry not in found]
    for entry in entries:
        if entry.lower().startswith(GROUP_PREFIX):
            role = entry[len(GROUP_PREFIX):].strip()
            offered = candidates_of(uow, org_scope, {"candidateRoles": role}, None) if role_code(
                role.split("@", 1)[0]) else []
            if not offered:
                unknown.append(entry)
            candidates += offered
    if unknown:
        return LaneOffer(list(dict.fromkeys(candidates)), Phrase(
            "lane '%(lane)s': lane_owners names %(names)s, who are not people (nor roles) of the org directory",
            lane=lane, names=", ".join(unknown)))
    return LaneOffer(list(dict.fromkeys(candidates)))


def _active_people(uow: UnitOfWork, entries: list[str]) -> dict[str, str]:
    """Entry → person id, for the entries that are the id or the e-mail address of an active person."""
    if not entries:
        return {}
    lowered = [entry.lower() for entry in entries]
    rows = uow.read(select(_p.c.id, _p.c.email).where(
        _p.c.active.is_(True), or_(_p.c.id.in_(entries), func.lower(_p.c.email).in_(lowered)))).all()
    by_id = {row.id: row.id for row in rows}
    by_email = {(row.email or "").lower(): row.id for row in rows if row.email}
    return {entry: by_id.get(entry) or by_email[entry.lower()] for entry in entries
            if entry in by_id or entry.lower() in by_email}


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
