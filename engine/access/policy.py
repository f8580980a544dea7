"""Who may do what: the one module that answers "may this person do this action on this resource".

Every answer is read from the roles people hold at units (``role_assignment``), the unit tree (``org_unit.path``)
and the work itself (``human_task``, ``task_candidate``); commands ask it through their unit of work, queries
through their read session, the web layer through :data:`ROUTES` (each Flask endpoint's rule) and the helpers
in :mod:`engine.web.calls`.

Reading an instance (its data may be about minors) needs a relation to the work, never authorship:

- the administrator reads everything;
- a candidate of one of its tasks (by name, or a role held at the task's unit: the people it was offered to,
  who may also learn who finished it) and whoever completed one of its tasks read it; the assignee of an open
  task reads it while the task is open and theirs (a delegatee from outside the pool who never completed the
  task loses it when the task moves on);
- a holder of a role at the instance's unit or a unit above it reads it if the process declares that role at
  that tier as overseeing it: the ``oversight_roles`` property of the ``bpmn:process`` (see
  ``processes/README.md``), read from the process's newest version, so a new declaration reaches running
  instances at once. A process declaring none is overseen by nobody.

Having started an instance grants nothing. What one may not read answers exactly as what does not exist
(:class:`NotFound` with the same message), so ids cannot be probed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, bindparam, exists, or_, select

from engine.access import confidential
from engine.access.identity import Reader, as_session, holdings, is_administrator, read_with
from engine.access.sensitivity import redact, sensitivity_of
from engine.bpmn.process_properties import process_properties
from engine.errors import NotFound, Problem
from engine.org.directory import TIER_OF_KIND, TIERS, role_code
from engine.store import tables

#: The process property that declares who oversees a process's instances: ``role@tier`` entries.
OVERSIGHT_PROPERTY = "oversight_roles"
#: Roles whose holders at the city or a county see that unit's dashboard.
DASHBOARD_ROLES = ("programme_officer", "bureau_head", "deputy_head")
#: Roles whose holders read the register of issued documents (发文登记簿) of their unit and of the units below it.
REGISTER_ROLES = ("programme_officer", "bureau_head", "deputy_head", "principal")

_a, _i, _t, _c = tables.account, tables.process_instance, tables.human_task, tables.task_candidate
_u, _r, _p, _d, _dr = (tables.org_unit, tables.role_assignment, tables.person, tables.process_definition,
                       tables.deployment_resource)
_at = tables.task_attachment

# The checks every call on an instance or a task makes, built once with bound values (building a statement costs
# more than SQLite running it): the instance (by its id, or a task's), the roles one holds, one's relation to its
# work.
_INSTANCE_COLUMNS = (_i.c.id, _i.c.process_key, _i.c.org_scope, _i.c.definition_id)
_INSTANCE = select(*_INSTANCE_COLUMNS).where(_i.c.id == bindparam("instance_id"))
_TASK_INSTANCE = select(*_INSTANCE_COLUMNS).join_from(_t, _i, _i.c.id == _t.c.instance_id).where(
    _t.c.id == bindparam("task_id"))
_WORKS_ON = select(_t.c.id).where(
    _t.c.instance_id == bindparam("instance_id"),
    or_(_t.c.completed_by == bindparam("user"),
        exists().where(_c.c.task_id == _t.c.id,
                       or_(and_(_c.c.kind == "user", _c.c.value == bindparam("user")),
                           and_(_c.c.kind == "role", _c.c.value.in_(bindparam("held", expanding=True))))),
        and_(_t.c.state == "open", _t.c.assignee == bindparam("user")))).limit(1)


def held_roles(reader: Reader, user: str | None) -> list[str]:
    """The ``role@unit`` keys a person holds (how role candidates are written); ``admin`` is no person and holds
    none."""
    return [f"{held.role}@{held.unit_id}" for held in holdings(reader, user)]


def _chain(reader: Reader, unit_id: str | None) -> list[tuple[str, str]]:
    """(unit, tier) from ``unit_id`` up to the city, read off its path; no unit means the city."""
    if unit_id is None:
        path = read_with(reader, select(_u.c.path).where(_u.c.kind == "city").order_by(_u.c.id).limit(1)).scalar()
    else:
        path = read_with(reader, select(_u.c.path).where(_u.c.id == unit_id)).scalar()
    steps = [step.split(":", 1) for step in (path or "").split("/") if ":" in step]
    return [(unit, TIER_OF_KIND.get(kind, "outside")) for kind, unit in reversed(steps)]


# --- reading instances and tasks --------------------------------------------------------------------------------

def may_read_instance(reader: Reader, user: str | None, instance_id: int) -> bool:
    """Whether ``user`` may read instance ``instance_id`` (False also when it does not exist); see the module."""
    if not user:
        return False
    return _may_read(reader, user, read_with(reader, _INSTANCE, {"instance_id": instance_id}).first())


def may_read_task(reader: Reader, user: str | None, task_id: int) -> bool:
    """Whoever may read the task's instance may read the task (False also when it does not exist)."""
    if not user:
        return False
    return _may_read(reader, user, read_with(reader, _TASK_INSTANCE, {"task_id": task_id}).first())


def _may_read(reader: Reader, user: str, instance: Any) -> bool:
    """:func:`may_read_instance` for the instance's row (None: it does not exist)."""
    if instance is None:
        return False
    if is_administrator(reader, user):
        return True
    general = _works_on(reader, user, instance.id) or _oversees(reader, user, instance.process_key,
                                                                 instance.org_scope)
    return _sensitive_access(reader, user, instance, general)


#: How many instances up a file reference is looked for (a school's case reaches the city in two steps).
FILE_REFERENCE_DEPTH = 4


def may_read_attachment(reader: Reader, user: str | None, attachment_id: int) -> bool:
    """Whoever may read the attachment's task; or a reader of an instance above it whose data references the file
    (``{"attachment_id": …}``, copied up by the model: the case file an expert scores), unless the file belongs to
    a confidential case. False also when it does not exist."""
    found = read_with(reader, select(_at.c.task_id, _at.c.instance_id).where(_at.c.id == attachment_id)).first()
    if found is None or not user:
        return False
    if may_read_task(reader, user, found.task_id):
        return True
    if confidential.is_confidential(as_session(reader), found.instance_id):
        return False
    instance_id = found.instance_id
    for _ in range(FILE_REFERENCE_DEPTH):
        above = read_with(reader, select(_i.c.parent_instance_id).where(_i.c.id == instance_id)).scalar()
        if above is None:
            return False
        instance_id = above
        if attachment_id in file_references(_data_seen_by(reader, user, instance_id)) \
                and may_read_instance(reader, user, instance_id):
            return True
    return False


def _data_seen_by(reader: Reader, user: str, instance_id: int) -> dict[str, Any]:
    """An instance's data as far as ``user`` sees it when looking for file references: the variables its model
    marks sensitive only for a reader of a confidential case's record or whoever works on the instance (who is
    shown them in a task's form), as a file referenced only there is as sensitive as the rest of it."""
    row = read_with(reader, select(_i.c.data, _i.c.definition_id).where(_i.c.id == instance_id)).first()
    data = json.loads(row.data or "{}") if row is not None else None
    if row is None or not isinstance(data, dict):
        return {}
    sensitivity = sensitivity_of(as_session(reader), row.definition_id)
    if not sensitivity.variables:
        return data
    if sensitivity.confidential:
        sees = confidential.at_least(confidential.case_access(as_session(reader), user, instance_id),
                                     confidential.RECORD)
    else:
        sees = _works_on(reader, user, instance_id)
    return data if sees else redact(data, sensitivity)


def file_references(data: Any) -> list[int]:
    """The attachment ids a piece of process data references (``{"attachment_id": 12, "name": …}``), in order."""
    found: list[int] = []
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            reference = value.get("attachment_id")
            if isinstance(reference, int) and not isinstance(reference, bool) and reference not in found:
                found.append(reference)
            stack.extend(reversed(list(value.values())))
        elif isinstance(value, list):
            stack.extend(reversed(value))
    return found


def _works_on(reader: Reader, user: str, instance_id: int) -> bool:
    """Candidate of one of the instance's tasks, who completed one, or the assignee of an open one."""
    found = read_with(reader, _WORKS_ON, {"instance_id": instance_id, "user": user, "held": held_roles(reader, user)})
    return found.first() is not None


def _oversees(reader: Reader, user: str, process_key: str, org_scope: str | None) -> bool:
    """A role the process declares as overseeing it, held at the instance's unit or the unit of that tier above."""
    declared = oversight_of(reader, process_key)
    if not declared:
        return False
    held = set(held_roles(reader, user))
    if not held:
        return False
    chain = _chain(reader, org_scope)
    wanted = {f"{role}@{unit}" for role, tier in declared for index, (unit, unit_tier) in enumerate(chain)
              if (tier is None and index == 0) or unit_tier == tier}
    return bool(held & wanted)


def _sensitive_access(reader: Reader, user: str, instance: Any, general: bool) -> bool:
    """A process marked confidential (counselling) is read by :func:`engine.access.confidential.case_access` alone:
    "record", "case_and_risk" and "status" are read access (of that depth, cut by the queries), None is none —
    whatever the general rule would say."""
    session = as_session(reader)
    if not confidential.is_confidential_version(session, instance.definition_id):
        return general
    return confidential.case_access(session, user, instance.id) is not None


#: Parsed declarations by (file hash, process key): a deployed file never changes under its hash.
_DECLARATIONS: dict[tuple[str, str], tuple[tuple[str, str | None], ...]] = {}


def oversight_of(reader: Reader, process_key: str) -> tuple[tuple[str, str | None], ...]:
    """(role, tier) pairs the newest version of ``process_key`` declares as overseeing it (tier None: the
    instance's own unit). Read from its deployed BPMN file once per file content."""
    newest = read_with(reader, select(_d.c.deployment_id, _d.c.resource_name).where(_d.c.key == process_key)
                   .order_by(_d.c.version.desc()).limit(1)).first()
    if newest is None:
        return ()
    where = (_dr.c.deployment_id == newest.deployment_id, _dr.c.name == newest.resource_name)
    digest = read_with(reader, select(_dr.c.sha256).where(*where)).scalar()
    if digest is None:
        return ()
    key = (digest, process_key)
    if key not in _DECLARATIONS:  # the file itself is read only the first time its content is met
        content = read_with(reader, select(_dr.c.content).where(*where)).scalar()
        properties = process_properties(bytes(content or b""), process_key, filename=newest.resource_name)
        _DECLARATIONS[key] = parse_oversight(properties.get(OVERSIGHT_PROPERTY, ""))
    return _DECLARATIONS[key]


def parse_oversight(value: str) -> tuple[tuple[str, str | None], ...]:
    """``"programme_officer@county, 局长@city, principal"`` → ((role code, tier), …); unknown roles or tiers are
    left out (they could never match anyone)."""
    found = []
    for entry in (part.strip() for part in value.split(",")):
        name, _, tier = entry.partition("@")
        code = role_code(name) if name else None
        if code is None or (tier and tier not in TIERS):
            continue
        found.append((code, tier or None))
    return tuple(found)


# --- a school's counselling room register ---------------------------------------------------------------------

#: Who reads a school's counselling room register: these roles at the school, and the officers and heads of the
#: county and the city above it (the register names rooms, hours and teachers, nothing about a child).
ROOM_READERS_AT_SCHOOL = ("principal", "programme_officer", "mh_teacher_full", "mh_teacher_part", "duty_counsellor")
ROOM_READERS_ABOVE = DASHBOARD_ROLES


def may_read_counselling_room(reader: Reader, user: str | None, school: str) -> bool:
    """Whether ``user`` may read the counselling room register of ``school`` (False also for no such school)."""
    if not user:
        return False
    chain = _chain(reader, school)
    if not chain or chain[0] != (school, "school"):
        return False
    if is_administrator(reader, user):
        return True
    held = set(held_roles(reader, user))
    return (any(f"{role}@{school}" in held for role in ROOM_READERS_AT_SCHOOL)
            or any(f"{role}@{unit}" in held for unit, tier in chain[1:] if tier in ("county", "city")
                   for role in ROOM_READERS_ABOVE))


# --- acting on tasks --------------------------------------------------------------------------------------------

def is_candidate(reader: Reader, task_id: int, person: str) -> bool:
    """Whether the task is offered to ``person``, by name or through a role they hold."""
    offered = read_with(reader, select(_c.c.kind, _c.c.value).where(_c.c.task_id == task_id)).all()
    if any(kind == "user" and value == person for kind, value in offered):
        return True
    held = set(held_roles(reader, person))
    return any(kind == "role" and value in held for kind, value in offered)


def may_work_on_task(reader: Reader, task: Any, person: str) -> bool:
    """Complete, attach to: the administrator, the assignee, or a candidate of an unassigned task."""
    if task.assignee == person or is_administrator(reader, person):
        return True
    return task.assignee is None and is_candidate(reader, task.id, person)


def may_reassign(reader: Reader, task: Any, person: str) -> bool:
    """The administrator, or the programme officer of a county or city above the task's unit (not of the unit
    itself): a teacher is ill, a post is vacant."""
    if is_administrator(reader, person):
        return True
    if task.org_scope is None:
        return False
    above = [unit for unit, _ in _chain(reader, task.org_scope)][1:]
    held = set(held_roles(reader, person))
    return any(f"programme_officer@{unit}" in held for unit in above)


def may_delegate_to(reader: Reader, task: Any, delegator: str, to: str) -> bool:
    """Delegation stays within the task's candidate pool or the same unit: ``to`` is a candidate, or belongs to
    (or holds a role at) the task's unit — without one, a unit the delegator holds a role at."""
    if is_candidate(reader, task.id, to):
        return True
    units = delegation_units(reader, task, delegator)
    if not units:
        return False
    own_unit = read_with(reader, select(_p.c.unit_id).where(_p.c.id == to)).scalar()
    return own_unit in units or any(key.split("@", 1)[1] in units for key in held_roles(reader, to))


def delegation_units(reader: Reader, task: Any, delegator: str) -> set[str]:
    """The units whose people a task may be delegated to besides its candidates: the task's unit, or without one
    the units the delegator holds a role at (the delegates list offers exactly these)."""
    if task.org_scope:
        return {task.org_scope}
    return {key.split("@", 1)[1] for key in held_roles(reader, delegator)}


# --- the dashboard ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DashboardScope:
    """The counties a caller may read on the dashboard; ``None``: the whole city."""

    counties: frozenset[str] | None

    def allows_path(self, path: str | None) -> bool:
        if self.counties is None:
            return True
        return path is not None and any(f"/county:{county}/" in path for county in self.counties)

    def allows_county(self, county: str) -> bool:
        return self.counties is None or county in self.counties


class NoDashboard(Exception):
    """The caller has no dashboard: not the administrator, nor an officer or head of the city or a county."""


def dashboard_scope(reader: Reader, user: str | None) -> DashboardScope:
    """What ``user`` may see on the dashboard: all for the administrator and the city's officers and heads; a
    county's officer or head their county; anyone else has none (:class:`NoDashboard`): it names schools and
    teachers."""
    if is_administrator(reader, user):
        return DashboardScope(None)
    held = [h for h in holdings(reader, user) if h.role in DASHBOARD_ROLES and h.unit_kind in ("city", "county")]
    if any(h.unit_kind == "city" for h in held):
        return DashboardScope(None)
    if not held:
        raise NoDashboard("the dashboard is for the administrator and the officers of the city and the counties")
    return DashboardScope(frozenset(h.unit_id for h in held))


def has_dashboard(reader: Reader, user: str | None) -> bool:
    try:
        dashboard_scope(reader, user)
    except NoDashboard:
        return False
    return True


def may_read_register(reader: Reader, user: str | None, unit_id: str) -> bool:
    """Whether ``user`` reads the 发文登记簿 of ``unit_id``: the administrator, and the officers, heads and principal
    of that unit or of a unit above it (False also when the unit does not exist)."""
    chain = [unit for unit, _tier in _chain(reader, unit_id)]
    if not user or not chain or chain[0] != unit_id:
        return False
    if is_administrator(reader, user):
        return True
    return read_with(reader, select(_r.c.id).where(_r.c.person_id == user, _r.c.role.in_(REGISTER_ROLES),
                                                   _r.c.unit_id.in_(chain)).limit(1)).first() is not None


def not_on_dashboard(what: str, field: str) -> NotFound:
    """The refusal for a county or rollout outside the caller's dashboard: the same as for one that is missing."""
    return NotFound(f"{what} is not on your dashboard", [Problem("not found", field=field)])


# --- the routes -------------------------------------------------------------------------------------------------

class Rule(StrEnum):
    """What a route asks of its caller before its view runs (see :data:`ROUTES`)."""

    #: anyone, signed in or not
    PUBLIC = "public"
    #: any signed-in person or token; the view then shows only what is theirs
    SIGNED_IN = "signed_in"
    #: the administrator only (403 for others, whatever the id)
    ADMINISTRATOR = "administrator"
    #: whoever may read the instance of ``instance_id`` (404 for others, as for a missing id)
    INSTANCE_READER = "instance_reader"
    #: whoever may read the task of ``task_id`` (404 for others)
    TASK_READER = "task_reader"
    #: a reader of the task of ``task_id`` (404 for others); the command then decides whether they may act
    TASK_ACTOR = "task_actor"
    #: whoever may read the task the attachment ``attachment_id`` belongs to (404 for others)
    ATTACHMENT_READER = "attachment_reader"
    #: whoever may read the instance the document ``document_id`` belongs to (404 for others)
    DOCUMENT_READER = "document_reader"
    #: the administrator and the city's and counties' officers and heads (403 for others); a rollout or county
    #: outside their scope answers 404
    DASHBOARD = "dashboard"
    #: a school's mental-health lead (engine.access.confidential), who reads the log of its cases' reads (403
    #: for others)
    MENTAL_HEALTH_LEAD = "mental_health_lead"
    #: whoever may read the teacher appraisal ledger of ``school`` (engine.appraisal_ledger: its leaders, the
    #: officers and heads of its county and the city; 404 for others, as for a missing school)
    LEDGER_READER = "ledger_reader"
    #: whoever may read the register of issued documents of ``unit_id`` (:func:`may_read_register`; 404 for others)
    REGISTER_READER = "register_reader"
    #: whoever may read the counselling room register of the school ``unit_id``: its leaders and mental-health
    #: teachers, the officers and heads above it (404 for others, as for a missing school)
    COUNSELLING_ROOM_READER = "counselling_room_reader"
    #: a program scraping /metrics with the deployment's metrics token (``HUHUA_METRICS_TOKEN`` as
    #: ``Authorization: Bearer``); 401 for anyone else, people and their API tokens too, and 404 while no token is
    #: set (the figures are off). A scraper is no person: a person's token ends within a year and with its owner's
    #: account, which would blind the monitoring, and would let whoever holds it act in the engine. The figures
    #: name nobody, yet tell an outsider the load and backlog, so they are not public; and "from this machine
    #: only" would open them to everyone behind a reverse proxy on the same machine (every request comes from
    #: 127.0.0.1 there).
    METRICS_SCRAPER = "metrics_scraper"


#: Every Flask endpoint and its rule. An endpoint missing here cannot be reached (the web layer refuses it).
ROUTES: dict[str, Rule] = {
    # log-in, pages anyone may load, static files
    "static": Rule.PUBLIC,
    "index": Rule.PUBLIC,
    "auth.login": Rule.PUBLIC,
    "auth.logout": Rule.SIGNED_IN,
    "inbox.home": Rule.PUBLIC,
    "assets.asset": Rule.PUBLIC,
    "api.health": Rule.PUBLIC,
    # probes for a load balancer or an orchestrator: alive, and ready (the database answers, the schema is current)
    "probes.alive": Rule.PUBLIC,
    "probes.ready": Rule.PUBLIC,
    # the deployment's monitoring: the figures for a scraper with the metrics token
    "observability.scrape": Rule.METRICS_SCRAPER,
    "api.openapi_document": Rule.PUBLIC,
    # a person's own work
    "inbox.tasks": Rule.SIGNED_IN,
    "inbox.task": Rule.TASK_READER,
    "task_api.list_tasks": Rule.SIGNED_IN,
    "task_api.list_saved_filters": Rule.SIGNED_IN,
    "task_api.save_filter": Rule.SIGNED_IN,
    "task_api.delete_saved_filter": Rule.SIGNED_IN,
    "task_api.get_task": Rule.TASK_READER,
    "task_api.get_task_form": Rule.TASK_READER,
    "task_api.task_history": Rule.TASK_READER,
    "task_api.list_comments": Rule.TASK_READER,
    "task_api.list_attachments": Rule.TASK_READER,
    "task_api.download_attachment": Rule.ATTACHMENT_READER,
    "task_api.add_comment": Rule.TASK_ACTOR,
    "task_api.add_attachment": Rule.TASK_ACTOR,
    "task_api.complete_task": Rule.TASK_ACTOR,
    "task_api.claim_task": Rule.TASK_ACTOR,
    "task_api.unclaim_task": Rule.TASK_ACTOR,
    "task_api.delegate_task": Rule.TASK_ACTOR,
    "task_api.delegation_pool": Rule.TASK_ACTOR,
    "task_api.reassign_task": Rule.TASK_ACTOR,
    # instances one reads through a relation to the work
    "api.get_instance": Rule.INSTANCE_READER,
    "api.instance_history": Rule.INSTANCE_READER,
    "api.instance_coverage": Rule.INSTANCE_READER,
    "api.instance_documents": Rule.INSTANCE_READER,
    "api.download_document": Rule.DOCUMENT_READER,
    # starting and sending: the commands decide who may (start rules, message delivery)
    "api.start_instance": Rule.SIGNED_IN,
    "api.correlate_message": Rule.SIGNED_IN,
    # a signal from outside: the instances one may deliver it to, the processes one may start (engine.access.messages)
    "api.throw_signal": Rule.SIGNED_IN,
    # 发起事项: the list and each page show only what the person may start (404 for another process's page);
    # the start itself is the start command's decision (403 when it is not theirs to start there)
    "starting.start_list": Rule.SIGNED_IN,
    "starting.start_form": Rule.SIGNED_IN,
    "starting.start_submit": Rule.SIGNED_IN,
    "starting.started": Rule.SIGNED_IN,
    "api.receive_webhook": Rule.SIGNED_IN,
    # models: names for everyone signed in, the files themselves for the administrator
    "api.list_definitions": Rule.SIGNED_IN,
    "api.definition_xml": Rule.ADMINISTRATOR,
    "api.definition_artifacts": Rule.ADMINISTRATOR,
    "api.definition_decision": Rule.ADMINISTRATOR,
    "api.definition_form": Rule.ADMINISTRATOR,
    "api.deploy_edited": Rule.ADMINISTRATOR,
    "api.deploy_edited_decision": Rule.ADMINISTRATOR,
    "api.deploy_edited_form": Rule.ADMINISTRATOR,
    "api.deploy": Rule.ADMINISTRATOR,
    "api.deploy_process_models": Rule.ADMINISTRATOR,
    "api.validate": Rule.ADMINISTRATOR,
    # running the engine
    "api.list_instances": Rule.ADMINISTRATOR,
    "api.retry_incidents": Rule.ADMINISTRATOR,
    "api.suspend_instance": Rule.ADMINISTRATOR,
    "api.resume_instance": Rule.ADMINISTRATOR,
    "api.terminate_instance": Rule.ADMINISTRATOR,
    "api.migrate_instance": Rule.ADMINISTRATOR,
    "api.instance_jobs": Rule.ADMINISTRATOR,
    "api.list_jobs": Rule.ADMINISTRATOR,
    "api.list_webhooks": Rule.ADMINISTRATOR,
    "api.add_webhook": Rule.ADMINISTRATOR,
    "api.remove_webhook": Rule.ADMINISTRATOR,
    "api.rotate_webhook_secret": Rule.ADMINISTRATOR,
    "operations_api.instance_summary": Rule.ADMINISTRATOR,
    "operations_api.job_summary": Rule.ADMINISTRATOR,
    "operations_api.list_incidents": Rule.ADMINISTRATOR,
    "operations_api.list_schedules": Rule.ADMINISTRATOR,
    "operations_api.schedule_fires": Rule.ADMINISTRATOR,
    "operations_api.change_schedule": Rule.ADMINISTRATOR,
    "operations_api.schedule_year": Rule.ADMINISTRATOR,
    "operations_api.term_calendar": Rule.ADMINISTRATOR,
    "operations_api.set_term_calendar": Rule.ADMINISTRATOR,
    "operations_api.calendar_year": Rule.ADMINISTRATOR,
    "operations_api.set_override": Rule.ADMINISTRATOR,
    "operations_api.clear_override": Rule.ADMINISTRATOR,
    "operations_api.unit_children": Rule.ADMINISTRATOR,
    "operations_api.unit_detail": Rule.ADMINISTRATOR,
    "operations_api.search_people": Rule.ADMINISTRATOR,
    "operations_api.correct_contact": Rule.ADMINISTRATOR,
    "operations_api.import_directory": Rule.ADMINISTRATOR,
    "operations_api.export_directory": Rule.ADMINISTRATOR,
    "admin.index": Rule.ADMINISTRATOR,
    "admin.benchmarks": Rule.ADMINISTRATOR,
    "admin.modeler": Rule.ADMINISTRATOR,
    "admin.decision_editor": Rule.ADMINISTRATOR,
    "admin.form_editor": Rule.ADMINISTRATOR,
    "admin.instance": Rule.ADMINISTRATOR,
    "admin.instances": Rule.ADMINISTRATOR,
    "admin.jobs": Rule.ADMINISTRATOR,
    "admin.schedules": Rule.ADMINISTRATOR,
    "admin.calendar": Rule.ADMINISTRATOR,
    "admin.org": Rule.ADMINISTRATOR,
    # the dashboard
    "admin.dashboard_page": Rule.DASHBOARD,
    "admin.dashboard_export": Rule.DASHBOARD,
    "dashboard_api.dashboard_rollouts": Rule.DASHBOARD,
    "dashboard_api.dashboard_rollout": Rule.DASHBOARD,
    "dashboard_api.dashboard_rollout_export": Rule.DASHBOARD,
    "dashboard_api.dashboard_monthly_checks": Rule.DASHBOARD,
    "dashboard_api.dashboard_monthly_checks_export": Rule.DASHBOARD,
    "dashboard_api.dashboard_overdue": Rule.DASHBOARD,
    "dashboard_api.dashboard_overdue_export": Rule.DASHBOARD,
    "dashboard_api.dashboard_counselling": Rule.DASHBOARD,
    "dashboard_api.dashboard_counselling_export": Rule.DASHBOARD,
    # 一月一查 above the school: oversight (the dashboard's scope) and the teacher appraisal ledger
    "monthly.oversight_page": Rule.DASHBOARD,
    "monthly.oversight_county_page": Rule.DASHBOARD,
    "monthly.ledger_page": Rule.SIGNED_IN,
    "monthly_api.oversight": Rule.DASHBOARD,
    "monthly_api.oversight_county": Rule.DASHBOARD,
    "monthly_api.ledger": Rule.LEDGER_READER,
    "monthly_api.ledger_export": Rule.LEDGER_READER,
    # one's own account: password and API tokens (someone else's token id answers 404 from the command)
    "account.password": Rule.SIGNED_IN,
    "account.change_password": Rule.SIGNED_IN,
    "account.tokens": Rule.SIGNED_IN,
    "account.create_token": Rule.SIGNED_IN,
    "account.revoke_token": Rule.SIGNED_IN,
    "account_api.list_tokens": Rule.SIGNED_IN,
    "account_api.create_token": Rule.SIGNED_IN,
    "account_api.revoke_token": Rule.SIGNED_IN,
    "admin.tokens": Rule.ADMINISTRATOR,
    "admin.revoke_token": Rule.ADMINISTRATOR,
    # the audit log: the administrator's; reads of a school's counselling cases, its mental-health lead's
    "admin.audit": Rule.ADMINISTRATOR,
    "audit_api.list_audit": Rule.ADMINISTRATOR,
    "audit_api.list_case_reads": Rule.MENTAL_HEALTH_LEAD,
    "inbox.counselling_reads": Rule.MENTAL_HEALTH_LEAD,
    # a unit's register of issued documents (发文登记簿): its officers, heads and principal, those above, the admin
    "inbox.document_register": Rule.REGISTER_READER,
    "api.document_register": Rule.REGISTER_READER,
    # schools' counselling room registers (§四.5): a school's own readers; a county's list, its dashboard holders
    "counselling_room_api.school_counselling_rooms": Rule.COUNSELLING_ROOM_READER,
    "counselling_room_api.county_counselling_rooms": Rule.DASHBOARD,
    # the notification centre and one's choices: only one's own (another person's notification answers 404);
    # the defaults per role are the administrator's
    "notification_centre.centre": Rule.SIGNED_IN,
    "notification_centre.open_notification": Rule.SIGNED_IN,
    "notification_centre.read_all": Rule.SIGNED_IN,
    "notification_api.list_notifications": Rule.SIGNED_IN,
    "notification_api.unread_count": Rule.SIGNED_IN,
    "notification_api.mark_read": Rule.SIGNED_IN,
    "notification_api.mark_all_read": Rule.SIGNED_IN,
    "notification_choices.own_choices": Rule.SIGNED_IN,
    "notification_choices.save_own_choices": Rule.SIGNED_IN,
    "notification_choices.role_defaults": Rule.ADMINISTRATOR,
    "notification_choices.save_role_defaults": Rule.ADMINISTRATOR,
    # notifications that leave the app: how each delivery went, replaying one, the administrator's notices
    "delivery_api.list_deliveries": Rule.ADMINISTRATOR,
    "delivery_api.replay_delivery": Rule.ADMINISTRATOR,
    "delivery_api.send_notice": Rule.ADMINISTRATOR,
    "admin.notifications": Rule.ADMINISTRATOR,
    "admin.replay_notification_delivery": Rule.ADMINISTRATOR,
    "admin.send_notice": Rule.ADMINISTRATOR,
}


def route_rule(endpoint: str | None) -> Rule | None:
    """The rule of a Flask endpoint; None: it has none, and must not be reached."""
    return ROUTES.get(endpoint or "")
