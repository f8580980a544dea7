"""The org directory as data: units in three tiers, people, and the roles people hold at units.

Tasks are offered to a role at a unit ("the principal of this school", "the programme officer of
the county above it"), never to names written into a model, so the same BPMN runs in every school
and survives staff changes. This module defines the vocabulary (unit kinds, roles, tiers) and checks a
whole directory before anything is stored; it does no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.errors import Problem
from engine.org.contacts import BadContact, email, phone_number
from engine.phrases import Phrase

#: Unit kinds, with the kind their parent must have (None: a root).
UNIT_KINDS: dict[str, tuple[str, tuple[str | None, ...]]] = {
    "city": ("市教育局", (None,)),
    "department": ("科室", ("city",)),
    "county": ("县市区教育局", ("city",)),
    "school": ("学校", ("county",)),
    "teaching_point": ("教学点", ("school",)),
    "outside": ("外部", (None, "city")),
}

#: The tier a unit of each kind belongs to: escalation goes from a tier to the one above it.
TIER_OF_KIND = {"city": "city", "department": "city", "county": "county", "school": "school",
                "teaching_point": "school", "outside": "outside"}
TIERS = ("school", "county", "city")
TIER_NAMES = {"school": "学校", "county": "县市区", "city": "市"}

#: Roles a person can hold at a unit, with their Chinese names (lanes may use either).
ROLES: dict[str, str] = {
    "bureau_head": "局长",
    "deputy_head": "分管副局长",
    "department_head": "科室负责人",
    "programme_officer": "专项负责人",
    "principal": "校长",
    "moral_education_head": "德育处主任",
    "class_teacher": "班主任",
    "mh_teacher_full": "专职心理健康教育教师",
    "mh_teacher_part": "兼职心理健康教育教师",
    "subject_teacher": "任课教师",
    "duty_counsellor": "值班辅导教师",
    "expert": "专家",
    "inspector": "纪检监察",
    # registers teachers' continuing-education credits: the city's 教师工作科, a county's 教师发展中心
    "credit_registrar": "学分登记员",
    "researcher": "教研员",  # 教研部门: the city's 教科院, a county's 教研室 (supervision assesses teaching with them)
}
ROLE_BY_NAME = {name: code for code, name in ROLES.items()}

MAX_ID = 100
MAX_NAME = 200


@dataclass(frozen=True)
class Unit:
    id: str
    name: str
    kind: str
    parent_id: str | None = None
    sort_order: int = 0


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    unit_id: str
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Role:
    person_id: str
    unit_id: str
    role: str


@dataclass
class Directory:
    """A whole directory, as a profile generates it or a file describes it."""

    units: list[Unit] = field(default_factory=list)
    people: list[Person] = field(default_factory=list)
    roles: list[Role] = field(default_factory=list)

    def paths(self) -> dict[str, str]:
        """Each unit's materialised path of ``kind:id`` steps; call after :func:`check` found nothing."""
        parents = {u.id: u.parent_id for u in self.units}
        kinds = {u.id: u.kind for u in self.units}
        paths: dict[str, str] = {}
        for unit in self.units:
            chain, cursor = [], unit.id
            while cursor is not None and cursor not in paths:
                chain.append(cursor)
                cursor = parents[cursor]
            prefix = paths[cursor] if cursor is not None else "/"
            for unit_id in reversed(chain):
                prefix = paths[unit_id] = f"{prefix}{kinds[unit_id]}:{unit_id}/"
        return paths


def role_code(value: str) -> str | None:
    """A role's code from its code or its Chinese name; None when it is neither."""
    value = value.strip()
    return value if value in ROLES else ROLE_BY_NAME.get(value)


def check(directory: Directory) -> list[Problem]:
    """Every problem of the directory, each naming the row and field; empty when it can be stored."""
    problems: list[Problem] = []
    units = {}
    for index, unit in enumerate(directory.units, start=1):
        where = f"units row {index}"
        problems += _label(unit.id, f"{where}: id", MAX_ID) + _label(unit.name, f"{where}: name", MAX_NAME)
        if unit.id in units:
            problems.append(Problem(Phrase("unit id '%(id)s' appears twice", id=unit.id), field=f"{where}: id"))
        units[unit.id] = unit
        if unit.kind not in UNIT_KINDS:
            problems.append(Problem(Phrase("unknown unit kind '%(kind)s' (one of %(kinds)s)", kind=unit.kind,
                                           kinds=", ".join(UNIT_KINDS)), field=f"{where}: kind"))
    for index, unit in enumerate(directory.units, start=1):
        if unit.kind not in UNIT_KINDS:
            continue
        allowed = UNIT_KINDS[unit.kind][1]  # kinds only descend, so a parent chain cannot loop
        parent = units.get(unit.parent_id) if unit.parent_id else None
        if unit.parent_id and parent is None:
            problems.append(Problem(Phrase("parent '%(id)s' is not a unit", id=unit.parent_id),
                                    field=f"units row {index}: parent"))
        elif (parent.kind if parent else None) not in allowed:
            wanted = " or ".join(k or "no parent" for k in allowed)
            problems.append(Problem(f"a {unit.kind} needs {wanted} as its parent, not "
                                    f"{parent.kind if parent else 'none'}", field=f"units row {index}: parent"))
    people = set()
    for index, person in enumerate(directory.people, start=1):
        where = f"people row {index}"
        problems += _label(person.id, f"{where}: id", MAX_ID) + _label(person.name, f"{where}: name", 100)
        if person.id in people:
            problems.append(Problem(Phrase("person id '%(id)s' appears twice", id=person.id), field=f"{where}: id"))
        people.add(person.id)
        if person.unit_id not in units:
            problems.append(Problem(Phrase("unit '%(id)s' is not a unit", id=person.unit_id), field=f"{where}: unit"))
        for name, normal, value in (("phone", phone_number, person.phone), ("email", email, person.email)):
            try:
                normal(value)
            except BadContact as bad:
                problems.append(Problem(bad.phrase, field=f"{where}: {name}"))
    held = set()
    for index, role in enumerate(directory.roles, start=1):
        where = f"roles row {index}"
        if role.person_id not in people:
            problems.append(Problem(Phrase("person '%(id)s' is not a person", id=role.person_id),
                                    field=f"{where}: person"))
        if role.unit_id not in units:
            problems.append(Problem(Phrase("unit '%(id)s' is not a unit", id=role.unit_id), field=f"{where}: unit"))
        if role.role not in ROLES:
            problems.append(Problem(Phrase("unknown role '%(role)s' (one of %(roles)s)", role=role.role,
                                           roles=", ".join(ROLES)), field=f"{where}: role"))
        if (role.person_id, role.unit_id, role.role) in held:
            problems.append(Problem(Phrase("the same role is given twice"), field=where))
        held.add((role.person_id, role.unit_id, role.role))
    return problems


def _label(value: object, where: str, limit: int) -> list[Problem]:
    if not isinstance(value, str) or not value.strip():
        return [Problem(Phrase("missing"), field=where)]
    if len(value) > limit:
        return [Problem(Phrase("longer than %(n)s characters", n=limit), field=where)]
    if value != value.strip() or any(c in value for c in "/\n\r\t"):
        return [Problem(Phrase("must not contain '/', line breaks, or leading/trailing spaces"), field=where)]
    return []

