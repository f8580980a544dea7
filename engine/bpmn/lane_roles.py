"""Lanes named for people, and the role each lane offers its tasks to.

A lane's ``name`` is what a reader sees on the diagram (``县市区专项负责人``); the role its tasks go to is
the lane's ``role`` property, written like a task's ``candidateRoles`` (``programme_officer@county``)::

    <bpmn:lane id="lane_programme_officer_county" name="县市区专项负责人">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="role" value="programme_officer@county"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      …

A lane without a ``role`` property offers its tasks to the role its name spells, as before
(``专项负责人@county``, ``校长``). :func:`display_name` turns a role into the words a bureau officer reads. A lane
that names no role is the initiator's or a group's (engine.commands.lane_people).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from lxml import etree

from engine.bpmn.schema import BPMN_NS
from engine.org.directory import ROLES, TIER_OF_KIND, role_code

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
ROLE_PROPERTY = "role"

#: Roles held only at a school: their lanes need no tier in their names.
SCHOOL_ROLES = frozenset({"principal", "class_teacher", "mh_teacher_full", "mh_teacher_part", "subject_teacher",
                          "duty_counsellor"})
#: Roles of an education bureau: at the city they are the 市教育局's.
BUREAU_ROLES = frozenset({"programme_officer", "bureau_head", "deputy_head", "department_head"})
#: The initiator's lane, as spiff-arena spells it (its test is ``re.match(r"(process.?)initiator", lane, re.I)``:
#: ``Process Initiator``, ``process_initiator``, ``ProcessInitiator``), or in Chinese: 流程发起人, 发起人.
INITIATOR_LANE = re.compile(r"process.?initiator|(流程)?发起人", re.IGNORECASE)
#: A task's own performers: any of them set, its lane offers it to nobody (engine.commands.assignment).
PERFORMERS = ("candidateUsers", "candidateGroups", "candidateRoles", "assignee")
_HUMAN = frozenset({"userTask", "manualTask"})
_TIER_WORDS = {"school": "学校", "county": "县市区", "city": "市"}
_ABOVE = {"school": "county", "county": "city"}


def lane_role(lane: etree._Element) -> str | None:
    """The role a lane offers its tasks to: its ``role`` property, else its name when that names a role."""
    for prop in lane.iterfind(f"{{{BPMN_NS}}}extensionElements/{{{SPIFF_NS}}}properties/{{{SPIFF_NS}}}property"):
        if prop.get("name") == ROLE_PROPERTY and (prop.get("value") or "").strip():
            return (prop.get("value") or "").strip()
    name = (lane.get("name") or "").strip()
    return name if name and all(parse_role(part) for part in split(name)) else None


def is_initiator_lane(name: str | None) -> bool:
    """Whether a lane is the initiator's: its tasks go to whoever started the instance."""
    return INITIATOR_LANE.match((name or "").strip()) is not None


def group_lanes(process: etree._Element) -> tuple[str, ...]:
    """The lanes of a process that name neither a role nor the initiator and hold a human task naming nobody
    itself: groups, whose people only the task's data can give (``lane_owners``, engine.commands.lane_people)."""
    found: list[str] = []
    nodes = {node.get("id"): node for node in process.iter() if isinstance(node.tag, str) and node.get("id")}
    for lane in process.iter(f"{{{BPMN_NS}}}lane"):
        name = (lane.get("name") or "").strip()
        if not name or lane_role(lane) is not None or is_initiator_lane(name) or name in found:
            continue
        for ref in lane.iterfind(f"{{{BPMN_NS}}}flowNodeRef"):
            node = nodes.get((ref.text or "").strip())
            if node is not None and etree.QName(node).localname in _HUMAN and not _names_performer(node):
                found.append(name)
                break
    return tuple(found)


def _names_performer(node: etree._Element) -> bool:
    path = f"{{{BPMN_NS}}}extensionElements/{{{SPIFF_NS}}}properties/{{{SPIFF_NS}}}property"
    return any(p.get("name") in PERFORMERS and (p.get("value") or "").strip() for p in node.iterfind(path))


def split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def parse_role(entry: str) -> tuple[str, str | None] | None:
    """``(code, tier)`` of one ``role@tier`` entry (tier None: the instance's own unit); None if not a role."""
    name, _, tier = entry.partition("@")
    code = role_code(name)
    return None if code is None else (code, tier.strip() or None)


def canonical(entries: Iterable[str]) -> str:
    """Role entries as codes, in a stable order: ``专项负责人@county`` → ``programme_officer@county``."""
    found: list[str] = []
    for entry in entries:
        parsed = parse_role(entry)
        if parsed is not None:
            text = parsed[0] + (f"@{parsed[1]}" if parsed[1] else "")
            if text not in found:
                found.append(text)
    return ", ".join(found)


def process_tier(unit_kinds: Iterable[str]) -> str | None:
    """The tier a process runs at, from the unit kinds it runs for; None when unknown or several."""
    tiers = {TIER_OF_KIND.get(kind.strip()) for kind in unit_kinds if kind.strip()}
    return next(iter(tiers)) if len(tiers) == 1 else None


def display_name(role: str, own_tier: str | None) -> str:
    """The lane name a reader sees for a role value: ``programme_officer@county`` → 县市区专项负责人.

    ``own_tier`` is the tier the process runs at (None when unknown): it names a role held at the instance's
    own unit (``programme_officer`` in a school's process is the 学校专项负责人) and the tier ``up`` stands for.
    """
    names: list[str] = []
    parsed = [p for p in (parse_role(entry) for entry in split(role)) if p is not None]
    codes = {code for code, _ in parsed}
    for code, tier in parsed:
        if code == "mh_teacher_part" and "mh_teacher_full" in codes:
            continue
        base = "心理健康教育教师" if code == "mh_teacher_full" and "mh_teacher_part" in codes else ROLES[code]
        name = base if code in SCHOOL_ROLES or code == "expert" else _tier_prefix(code, tier, own_tier) + base
        if name not in names:
            names.append(name)
    return "、".join(names) or role


def _tier_prefix(code: str, tier: str | None, own_tier: str | None) -> str:
    if tier == "up":
        tier = _ABOVE.get(own_tier or "")
        if tier is None:
            return "上级"
    elif tier is None:
        tier = own_tier
        if tier is None:
            return "本级"
    if tier not in _TIER_WORDS:  # a unit named outright (expert@hy-zjk)
        return ""
    if tier == "city" and code in BUREAU_ROLES:
        return "市教育局"
    return _TIER_WORDS[tier]
