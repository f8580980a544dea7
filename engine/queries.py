"""Read-only questions, answered from the narrow indexed tables; no workflow is deserialised here."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, true, union
from sqlalchemy.orm import Session, aliased
from werkzeug.security import check_password_hash, generate_password_hash

from engine import dashboard
from engine.access import policy
from engine.access.confidential import RECORD, STATUS, at_least, case_access, case_view, is_confidential
from engine.access.sensitivity import redact, sensitivity_of
from engine.account_queries import AccountQueries
from engine.audit_log import AuditQueries
from engine.bpmn.parser import ModelFile, inspect_models
from engine.clock import BUSINESS_TZ
from engine.commands.model import ADMIN
from engine.counselling_figures import counselling_counts
from engine.coverage import coverage, fan_out_status
from engine.errors import Forbidden, InvalidInput, NotFound, Problem
from engine.operations import OperationsQueries
from engine.org.calendar import (
    MAX_WORKING_DAYS,
    OFFICIAL_SOURCE,
    Override,
    SpecialDay,
    WorkingCalendar,
    parse_date,
    parse_whole_number,
    parse_year,
)
from engine.org.directory import ROLES, role_code
from engine.org.directory import Directory as OrgDirectory
from engine.org.directory import Person as PersonRow
from engine.org.directory import Role as RoleRow
from engine.org.directory import Unit as OrgUnitRow
from engine.runtime.script_audit import refuse_unsafe_scripts
from engine.schedules import Schedule, timer_schedule
from engine.store.database import Database
from engine.store.models import (
    Account,
    DefinitionArtifact,
    DeploymentResource,
    Document,
    Event,
    FormDefinition,
    HumanTask,
    Incident,
    Job,
    OrgUnit,
    Person,
    ProcessDefinition,
    ProcessInstance,
    RoleAssignment,
    SavedFilter,
    ScheduleFire,
    ScheduleWatermark,
    StartTrigger,
    TaskAttachment,
    TaskCandidate,
    TaskComment,
    WebhookSubscription,
    WorkdayOverride,
)
from engine.task_filters import TaskFilter

MAX_PAGE = 500
INSTANCE_STATES = ("running", "suspended", "incident", "completed", "terminated")
JOB_STATES = ("pending", "done", "failed", "cancelled")
#: Checked against when there is no such account, so that a wrong name costs the same as a wrong password.
_NO_ACCOUNT = generate_password_hash("no such account")


class Queries:
    def __init__(self, database: Database, max_model_bytes: int) -> None:
        self.database = database
        self.max_model_bytes = max_model_bytes
        self.calendar = CalendarQueries(database)
        self.operations = OperationsQueries(database, self.calendar)
        #: Sessions and tokens (engine.account_queries); token_user moved there as token_caller.
        self.accounts = AccountQueries(database)
        self.audit = AuditQueries(database)

    def working_days_after(self, day: date | str, n: int | str) -> dict[str, Any]:
        """The date ``n`` working days after ``day``, on the official calendar with administrators' overrides."""
        return self.calendar.working_days_after(day, n)

    def is_working_day(self, day: date | str) -> dict[str, Any]:
        return self.calendar.is_working_day(day)

    def calendar_overrides(self, year: int | str) -> list[dict[str, Any]]:
        return self.calendar.overrides(year)

    def calendar_year(self, year: int | str) -> dict[str, Any]:
        return self.calendar.year(year)

    def validate_models(self, files: tuple[tuple[str, bytes], ...]) -> list[dict[str, Any]]:
        """Check model files as a deployment would, storing nothing; raises InvalidModel with every problem."""
        models = [ModelFile(name, content) for name, content in files]
        summaries = inspect_models(models, self.max_model_bytes)
        refuse_unsafe_scripts(models, summaries, self.max_model_bytes)
        return [{"key": s.key, "name": s.name, "file": s.filename} for s in summaries]

    def tasks(self, *, user: str | None = None, instance_id: int | None = None, state: str = "open",
              filters: TaskFilter | None = None, now: datetime | None = None,
              limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        """Tasks in ``state``; for a user, those assigned to them or offering them as a candidate.

        ``filters`` narrows by view, process, unit, due date and words in the name and sets the order; a
        due filter counts from ``now`` (the engine clock). Everything is done in SQL, one page at a time.
        """
        limit = _page(limit)
        with self.database.read() as session:
            held = policy.held_roles(session, user)
            query = self._task_query(select(HumanTask), user, _sees_all(session, user), held, instance_id, state,
                                     filters, now)
            query = query.order_by(*_task_order(filters or TaskFilter())).limit(limit).offset(offset)
            return _without_case_items(session, user or ADMIN, _with_candidates(session, session.scalars(query).all()))

    def task_total(self, *, user: str | None = None, instance_id: int | None = None, state: str = "open",
                   filters: TaskFilter | None = None, now: datetime | None = None) -> int:
        """How many tasks :meth:`tasks` would list over all its pages."""
        with self.database.read() as session:
            query = self._task_query(select(func.count()).select_from(HumanTask), user, _sees_all(session, user),
                                     policy.held_roles(session, user), instance_id, state, filters, now)
            return int(session.scalar(query) or 0)

    def task_page(self, *, user: str, filters: TaskFilter, now: datetime, limit: int = 20,
                  offset: int = 0) -> dict[str, Any]:
        """One page of a person's inbox with the total over all pages (the inbox page), in one read."""
        limit = _page(limit)
        with self.database.read() as session:
            held, sees_all = policy.held_roles(session, user), _sees_all(session, user)
            # the total comes with the page (a window over the same matches), so the matches are found once
            query = self._task_query(select(HumanTask, func.count().over().label("total")), user, sees_all, held,
                                     None, "open", filters, now)
            found = session.execute(query.order_by(*_task_order(filters)).limit(limit).offset(offset)).all()
            rows = [row[0] for row in found]
            if found:
                total = found[0].total
            else:  # past the last page, or nothing at all: counted on its own
                total = offset and session.scalar(self._task_query(
                    select(func.count()).select_from(HumanTask), user, sees_all, held, None, "open", filters, now))
            return {"tasks": _without_case_items(session, user, _with_candidates(session, rows)),
                    "total": int(total or 0), "limit": limit,
                    "offset": offset}

    def _task_query(self, query: Any, user: str | None, sees_all: bool, held: list[str], instance_id: int | None,
                    state: str, filters: TaskFilter | None, now: datetime | None) -> Any:
        """The WHERE of the inbox. A person's tasks are found through the two inbox indexes and united by id.

        An administrator's 'open' view is every open task (``sees_all``); their other views are their own.
        ``assignee = me`` reads ix_human_task_assignee; 'offered to me' reads ix_task_candidate_open_lookup; the
        task rows for the union of their ids are then read by key or index, never by scanning the table.
        """
        if state not in ("open", "completed", "cancelled", "all"):
            raise InvalidInput("state must be open, completed, cancelled or all", [Problem("unknown", field="state")])
        f = filters or TaskFilter()
        t = HumanTask
        if f.view == "done":
            state = "completed"
        if state != "all":
            query = query.where(t.state == state)
        if instance_id is not None:
            query = query.where(t.instance_id == instance_id)
        if user is not None and (not sees_all or f.view != "open"):
            if f.view == "done":
                query = query.where(t.completed_by == user)
            else:
                inner = _INNER_TASK
                in_state = [inner.state == state] if state != "all" else []
                open_offers = [TaskCandidate.task_open == true()] if state == "open" else []
                offered = (select(TaskCandidate.task_id).join(inner, inner.id == TaskCandidate.task_id)
                           .where(or_(and_(TaskCandidate.kind == "user", TaskCandidate.value == user),
                                      and_(TaskCandidate.kind == "role", TaskCandidate.value.in_(held))),
                                  *open_offers, inner.assignee.is_(None), *in_state))
                mine = select(inner.id).where(inner.assignee == user, *in_state)
                if f.view == "mine":
                    query = query.where(t.assignee == user)
                elif f.view == "offered":
                    query = query.where(t.id.in_(offered))
                else:
                    query = query.where(t.id.in_(union(mine, offered)))
        if f.process:
            query = query.where(t.process_key == f.process)
        if f.unit:
            query = query.where(t.org_scope == f.unit)
        for word in f.words():
            query = query.where(t.name.contains(word, autoescape=True))
        if f.due:
            query = query.where(*self._due_condition(f, now))
        return query

    def _due_condition(self, f: TaskFilter, now: datetime | None) -> list[Any]:
        if now is None:
            raise InvalidInput("a due-date filter needs the current time")
        t = HumanTask
        today = now.astimezone(BUSINESS_TZ).date()
        if f.due == "none":
            return [t.due_at.is_(None)]
        if f.due == "overdue":
            return [t.due_at < now]
        calendar = self.calendar.working_calendar()
        last_day = today if f.due == "today" else calendar.add_working_days(today, f.within_days)
        end = datetime.combine(last_day + timedelta(days=1), time(), BUSINESS_TZ)
        start = datetime.combine(today, time(), BUSINESS_TZ) if f.due == "today" else now
        return [t.due_at >= start, t.due_at < end]

    def task(self, task_id: int, *, viewer: str | None = None) -> dict[str, Any]:
        with self.database.read() as session:
            task = session.get(HumanTask, task_id)
            if task is None:
                raise NotFound(f"task {task_id} does not exist")
            return _without_case_items(session, viewer, _with_candidates(session, [task]))[0]

    def instance(self, instance_id: int, *, history_limit: int = 200, viewer: str | None = None) -> dict[str, Any]:
        """State, data, open tasks, incidents and history of one instance; for a ``viewer``, a confidential
        case is cut down to what they may read (engine.access.confidential) and refused (404) when nothing."""
        with self.database.read() as session:
            row = session.get(ProcessInstance, instance_id)
            if row is None:
                raise NotFound(f"process instance {instance_id} does not exist")
            level = _case_level(session, viewer, instance_id)
            definition = session.get(ProcessDefinition, row.definition_id)
            open_tasks = session.scalars(select(HumanTask).where(
                HumanTask.instance_id == instance_id, HumanTask.state == "open").order_by(HumanTask.id)).all()
            incidents = session.scalars(select(Incident).where(Incident.instance_id == instance_id)
                                        .order_by(Incident.id)).all()
            history = session.scalars(select(Event).where(Event.instance_id == instance_id)
                                      .order_by(Event.id).limit(history_limit)).all()
            found = {
                **_instance(row),
                "definition": {"id": definition.id, "key": definition.key, "version": definition.version,
                               "name": definition.name} if definition else None,
                "data": json.loads(row.data),
                "open_tasks": _with_candidates(session, open_tasks),
                "incidents": [{"id": i.id, "element_id": i.element_id, "kind": i.kind, "message": i.message,
                               "created_at": _iso(i.created_at), "resolved_at": _iso(i.resolved_at)}
                              for i in incidents],
                "history": [_event(e) for e in history],
            }
            sensitivity = sensitivity_of(session, row.definition_id)
            if level is not None:
                return case_view(found, level, sensitivity)
            if viewer is not None and sensitivity.variables:  # marked sensitive in a process read by the general rules
                found["data"] = redact(found["data"], sensitivity)
                found["open_tasks"] = _without_case_items(session, viewer, found["open_tasks"])
            return found

    def history(self, instance_id: int, *, limit: int = 50, offset: int = 0,
                viewer: str | None = None) -> dict[str, Any]:
        """One page of an instance's audit events, oldest first, with the total for a "more" link; a confidential
        case's events are for ``viewer`` only as far as they may read it (none on status access)."""
        with self.database.read() as session:
            if session.get(ProcessInstance, instance_id) is None:
                raise NotFound(f"process instance {instance_id} does not exist")
            level = _case_level(session, viewer, instance_id)
            if level == STATUS:
                return {"total": 0, "offset": offset, "events": []}
            total = session.scalar(select(func.count()).select_from(Event).where(Event.instance_id == instance_id))
            events = session.scalars(select(Event).where(Event.instance_id == instance_id).order_by(Event.id)
                                     .limit(_page(limit)).offset(offset)).all()
            listed = [_event(e) for e in events]
            if level is not None and level != RECORD:
                listed = [{**event, "detail": {}} for event in listed]
            return {"total": total or 0, "offset": offset, "events": listed}

    def instances(self, *, process_key: str | None = None, state: str | None = None,
                  business_key: str | None = None, org_unit: str | None = None, under: str | None = None,
                  started_from: date | str | None = None, started_to: date | str | None = None,
                  limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        """Instances matching every filter given, newest first; ``under``: scoped to that unit or below it,
        ``started_from``/``started_to``: Beijing dates, both included. Filtered and paged in SQL."""
        conditions = self._instance_conditions(process_key, state, business_key, org_unit, under,
                                               started_from, started_to)
        query = (select(ProcessInstance).where(*conditions).order_by(ProcessInstance.id.desc())
                 .limit(_page(limit)).offset(offset))
        with self.database.read() as session:
            return [_instance(row) for row in session.scalars(query)]

    def instance_counts(self, *, process_key: str | None = None, state: str | None = None,
                        business_key: str | None = None, org_unit: str | None = None, under: str | None = None,
                        started_from: date | str | None = None,
                        started_to: date | str | None = None) -> dict[str, Any]:
        """How many instances match the filters, and per state how many match the other filters."""
        others = self._instance_conditions(process_key, None, business_key, org_unit, under, started_from, started_to)
        chosen = self._instance_conditions(None, state, None, None, None, None, None)
        with self.database.read() as session:
            by_state = dict(session.execute(select(ProcessInstance.state, func.count()).where(*others)
                                            .group_by(ProcessInstance.state)).all())
        return {"total": by_state.get(state, 0) if chosen else sum(by_state.values()),
                "by_state": {s: by_state.get(s, 0) for s in INSTANCE_STATES}}

    def _instance_conditions(self, process_key: str | None, state: str | None, business_key: str | None,
                             org_unit: str | None, under: str | None, started_from: date | str | None,
                             started_to: date | str | None) -> list[Any]:
        conditions: list[Any] = []
        if process_key:
            conditions.append(ProcessInstance.process_key == process_key)
        if state:
            if state not in INSTANCE_STATES:
                raise InvalidInput(f"state must be one of {', '.join(INSTANCE_STATES)}, not {state!r}",
                                   [Problem("unknown state", field="state")])
            conditions.append(ProcessInstance.state == state)
        if business_key:
            conditions.append(ProcessInstance.business_key == business_key)
        if org_unit:
            conditions.append(ProcessInstance.org_scope == org_unit)
        if under:
            path = self._unit_path(under)
            conditions.append(ProcessInstance.org_scope.in_(
                select(OrgUnit.id).where(OrgUnit.path.startswith(path, autoescape=True))))
        first = parse_date(started_from, "started_from") if started_from else None
        last = parse_date(started_to, "started_to") if started_to else None
        if first and last and first > last:
            raise InvalidInput("started_from must not be after started_to",
                               [Problem("after started_to", field="started_from")])
        if first:
            conditions.append(ProcessInstance.started_at >= datetime.combine(first, time(0), tzinfo=BUSINESS_TZ))
        if last:
            conditions.append(ProcessInstance.started_at < datetime.combine(
                last + timedelta(days=1), time(0), tzinfo=BUSINESS_TZ))
        return conditions

    def definitions(self, *, key: str | None = None) -> list[dict[str, Any]]:
        query = select(ProcessDefinition)
        if key:
            query = query.where(ProcessDefinition.key == key)
        with self.database.read() as session:
            counts = dict(session.execute(
                select(ProcessInstance.definition_id, func.count()).group_by(ProcessInstance.definition_id)).all())
            return [{"id": d.id, "key": d.key, "version": d.version, "name": d.name, "resource": d.resource_name,
                     "deployment_id": d.deployment_id, "deployed_at": _iso(d.deployed_at),
                     "instances": counts.get(d.id, 0)}
                    for d in session.scalars(query.order_by(ProcessDefinition.key, ProcessDefinition.version))]

    def process_names(self) -> list[tuple[str, str]]:
        """Each deployed process's key and the name of its newest version (the inbox's process filter)."""
        d = ProcessDefinition
        newest = select(d.key, func.max(d.version).label("version")).group_by(d.key).subquery()
        with self.database.read() as session:
            return [(row.key, row.name or row.key) for row in session.execute(
                select(d.key, d.name).join(newest, (newest.c.key == d.key) & (newest.c.version == d.version))
                .order_by(d.key))]

    def users(self, *, unit: str | None = None, role: str | None = None, under: str | None = None,
              ids: list[str] | None = None, search: str | None = None, limit: int = 100,
              offset: int = 0) -> list[dict[str, Any]]:
        """People with their roles; ``unit``: holding a role there; ``under``: at that unit or below it;
        ``search``: part of their name or id (either case)."""
        query = select(Person) if ids is None else select(Person).where(Person.id.in_(ids))
        if search and search.strip():
            needle = search.strip().lower()
            query = query.where(or_(func.lower(Person.id).contains(needle, autoescape=True),
                                    func.lower(Person.name).contains(needle, autoescape=True)))
        if role is not None or unit is not None or under is not None:
            holding = select(RoleAssignment.person_id).join(OrgUnit, OrgUnit.id == RoleAssignment.unit_id)
            if role is not None:
                holding = holding.where(RoleAssignment.role == (role_code(role) or role))
            if unit is not None:
                holding = holding.where(RoleAssignment.unit_id == unit)
            if under is not None:
                path = self._unit_path(under)
                holding = holding.where(OrgUnit.path.startswith(path, autoescape=True))
            query = query.where(Person.id.in_(holding))
        with self.database.read() as session:
            people = session.scalars(query.order_by(Person.unit_id, Person.id).limit(_page(limit)).offset(offset)).all()
            roles: dict[str, list[dict[str, str]]] = {}
            if people:
                for row in session.execute(select(RoleAssignment.person_id, RoleAssignment.role, RoleAssignment.unit_id)
                                           .where(RoleAssignment.person_id.in_([p.id for p in people]))
                                           .order_by(RoleAssignment.id)):
                    roles.setdefault(row.person_id, []).append(
                        {"role": row.role, "role_name": ROLES[row.role], "unit": row.unit_id})
            return [{"id": p.id, "name": p.name, "unit": p.unit_id, "phone": p.phone, "roles": roles.get(p.id, [])}
                    for p in people]

    def units(self, *, kind: str | None = None, under: str | None = None,
              limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        """Org units in directory order; ``under``: that unit and everything below it."""
        query = select(OrgUnit)
        if kind is not None:
            query = query.where(OrgUnit.kind == kind)
        if under is not None:
            query = query.where(OrgUnit.path.startswith(self._unit_path(under), autoescape=True))
        with self.database.read() as session:
            return [{"id": u.id, "name": u.name, "kind": u.kind, "parent": u.parent_id, "path": u.path}
                    for u in session.scalars(query.order_by(OrgUnit.path).limit(_page(limit, 5000)).offset(offset))]

    def directory(self) -> OrgDirectory:
        """The whole org directory as loaded (for export, or to keep one part while a file replaces the other)."""
        with self.database.read() as session:
            units = [OrgUnitRow(u.id, u.name, u.kind, u.parent_id, u.sort_order)
                     for u in session.scalars(select(OrgUnit).order_by(OrgUnit.path))]
            people = [PersonRow(p.id, p.name, p.unit_id, p.phone)
                      for p in session.scalars(select(Person).order_by(Person.unit_id, Person.id))]
            roles = [RoleRow(r.person_id, r.unit_id, r.role)
                     for r in session.scalars(select(RoleAssignment).order_by(RoleAssignment.id))]
        return OrgDirectory(units, people, roles)

    def unit_ids(self, kind: str) -> list[str]:
        """Every unit of ``kind``, in directory order: what a fan-out over the directory iterates."""
        with self.database.read() as session:
            return list(session.scalars(select(OrgUnit.id).where(OrgUnit.kind == kind).order_by(OrgUnit.path)))

    def _unit_path(self, unit_id: str) -> str:
        with self.database.read() as session:
            path = session.scalar(select(OrgUnit.path).where(OrgUnit.id == unit_id))
        if path is None:
            raise NotFound(f"org unit '{unit_id}' does not exist")
        return path

    def schedule_fired(self, schedule_key: str, fire_time: datetime) -> bool:
        """Whether the occurrence is in the fire log (for one instance, or as a fan-out's own entry)."""
        with self.database.read() as session:
            return session.scalar(select(ScheduleFire.id).where(
                ScheduleFire.schedule_key == schedule_key, ScheduleFire.fire_time == fire_time,
                ScheduleFire.org_unit == "").limit(1)) is not None

    def schedule_checked_until(self, schedule_key: str) -> datetime | None:
        """How far the scheduler has looked at a schedule: its watermark, or its newest fire (None: never)."""
        with self.database.read() as session:
            fired = session.scalar(select(func.max(ScheduleFire.fire_time))
                                   .where(ScheduleFire.schedule_key == schedule_key))
            checked = session.scalar(select(ScheduleWatermark.checked_until)
                                     .where(ScheduleWatermark.schedule_key == schedule_key))
        return max((t for t in (fired, checked) if t is not None), default=None)

    def timer_schedules(self) -> list[Schedule]:
        """A schedule for each timer start event of the newest version of every process."""
        d = ProcessDefinition
        newest = select(d.key, func.max(d.version).label("version")).group_by(d.key).subquery()
        query = (select(StartTrigger.process_key, StartTrigger.element_id, StartTrigger.name, d.deployed_at)
                 .join(d, d.id == StartTrigger.definition_id)
                 .join(newest, (newest.c.key == d.key) & (newest.c.version == d.version))
                 .where(StartTrigger.kind == "timer").order_by(StartTrigger.process_key, StartTrigger.element_id))
        with self.database.read() as session:
            return [timer_schedule(row.process_key, row.element_id, row.name, row.deployed_at)
                    for row in session.execute(query)]

    def next_job_due(self) -> datetime | None:
        """When the next pending job falls due."""
        with self.database.read() as session:
            return session.scalar(select(func.min(Job.due_at)).where(Job.state == "pending"))

    def due_jobs(self, now: datetime, limit: int = 100) -> list[int]:
        """Ids of pending jobs due at ``now``, oldest first (read from the due-time index)."""
        with self.database.read() as session:
            return list(session.scalars(select(Job.id).where(Job.state == "pending", Job.due_at <= now)
                                        .order_by(Job.due_at, Job.id).limit(limit)))

    def job_payload(self, job_id: int) -> dict[str, Any]:
        """What a job carries for its worker (a service call's connector and parameters, say)."""
        with self.database.read() as session:
            payload = session.scalar(select(Job.payload).where(Job.id == job_id))
        return json.loads(payload) if payload else {}

    def coverage(self, instance_id: int, now: datetime, *, missing_only: bool = False) -> dict[str, Any]:
        """不漏一校、不漏一人: per unit and per person of a rollout, who has completed and who not (engine.coverage)."""
        return coverage(self.database, instance_id, now, missing_only=missing_only)

    def dashboard_scope(self, user: str) -> policy.DashboardScope:
        """The counties ``user`` may see on the dashboard (None: all); Forbidden for anyone without a dashboard."""
        with self.database.read() as session:
            try:
                return policy.dashboard_scope(session, user)
            except policy.NoDashboard as err:
                raise Forbidden(str(err)) from None

    def has_dashboard(self, user: str) -> bool:
        """Whether ``user`` has a dashboard (the header's link)."""
        with self.database.read() as session:
            return policy.has_dashboard(session, user)

    def dashboard_rollouts(self, user: str) -> list[dict[str, Any]]:
        """The tiered rollouts ``user`` may follow, with their completion (engine.dashboard)."""
        return dashboard.rollouts(self.database, self.dashboard_scope(user))

    def dashboard_rollout(self, user: str, instance_id: int, unit: str | None = None) -> dict[str, Any]:
        """One drill-down level of a rollout's coverage: counties, a county's schools, or a school's people."""
        return dashboard.rollout_level(self.database, self.dashboard_scope(user), instance_id, unit)

    def dashboard_monthly_checks(self, user: str, now: datetime, county: str | None = None) -> dict[str, Any]:
        """一月一查 per month: submission on time, late and missing, and the scores' distribution."""
        return dashboard.monthly_checks(self.database, self.dashboard_scope(user), now, county)

    def dashboard_overdue(self, user: str, now: datetime, county: str | None = None,
                          process: str | None = None) -> dict[str, Any]:
        """Overdue open tasks per county, or per school within a county, by process."""
        return dashboard.overdue(self.database, self.dashboard_scope(user), now, county, process)

    def dashboard_counselling(self, user: str, county: str | None = None) -> dict[str, Any]:
        """Counselling cases by risk level per county (or school of ``county``) and the crisis escalations
        (engine.counselling_figures): what the bureaus see of a service whose records they do not read."""
        return counselling_counts(self.database, self.dashboard_scope(user), user, county)

    def documents(self, instance_id: int) -> list[dict[str, Any]]:
        """The documents an instance made, newest first (without their content)."""
        with self.database.read() as session:
            rows = session.execute(select(Document.id, Document.name, Document.kind, Document.content_type,
                                          Document.size, Document.created_at)
                                   .where(Document.instance_id == instance_id).order_by(Document.id.desc())).all()
        return [{"id": r.id, "name": r.name, "kind": r.kind, "content_type": r.content_type, "size": r.size,
                 "created_at": _iso(r.created_at)} for r in rows]

    def document_instance(self, document_id: int) -> int | None:
        with self.database.read() as session:
            found = session.execute(select(Document.instance_id).where(Document.id == document_id)).first()
        if found is None:
            raise NotFound(f"document {document_id} does not exist")
        return found.instance_id

    def document(self, document_id: int) -> tuple[str, str, bytes]:
        """A document's name, content type and content."""
        with self.database.read() as session:
            row = session.execute(select(Document.name, Document.content_type, Document.content)
                                  .where(Document.id == document_id)).first()
        if row is None:
            raise NotFound(f"document {document_id} does not exist")
        return row.name, row.content_type, bytes(row.content)

    def fan_out_status(self, job_id: int, element_id: str) -> dict[str, Any]:
        """The fan-out of task ``element_id`` in the instance a job belongs to (see engine.coverage)."""
        with self.database.read() as session:
            instance_id = session.scalar(select(Job.instance_id).where(Job.id == job_id))
        if instance_id is None:
            raise NotFound(f"job {job_id} belongs to no instance")
        return fan_out_status(self.database, instance_id, element_id)

    def may_read_instance(self, user: str | None, instance_id: int) -> bool:
        """Whether ``user`` may read the instance (engine.access.policy; False also when it does not exist)."""
        with self.database.read() as session:
            return policy.may_read_instance(session, user, instance_id)

    def may_read_task(self, user: str | None, task_id: int) -> bool:
        """Whether ``user`` may read the task (engine.access.policy; False also when it does not exist)."""
        with self.database.read() as session:
            return policy.may_read_task(session, user, task_id)

    def case_access(self, user: str, instance_id: int) -> str | None:
        """How much of an instance ``user`` may read if it is a confidential case ("record", "case_and_risk",
        "status" or None for nothing); None as well for an instance that is not confidential."""
        with self.database.read() as session:
            return case_access(session, user, instance_id) if is_confidential(session, instance_id) else None

    def task_instance(self, task_id: int) -> int:
        """The instance a task belongs to."""
        with self.database.read() as session:
            instance_id = session.scalar(select(HumanTask.instance_id).where(HumanTask.id == task_id))
        if instance_id is None:
            raise NotFound(f"task {task_id} does not exist")
        return instance_id

    def holds_task(self, user: str, task_id: int) -> bool:
        """Whether ``user`` has, did or is offered the task (by name or through a role they hold)."""
        with self.database.read() as session:
            held = policy.held_roles(session, user)
            offered = exists().where(TaskCandidate.task_id == HumanTask.id, or_(
                and_(TaskCandidate.kind == "user", TaskCandidate.value == user),
                and_(TaskCandidate.kind == "role", TaskCandidate.value.in_(held or [""]))))
            return session.scalar(select(HumanTask.id).where(
                HumanTask.id == task_id, or_(HumanTask.assignee == user, HumanTask.completed_by == user,
                                             and_(HumanTask.state == "open", offered)))) is not None

    def definition_model(self, definition_id: int) -> tuple[str, str]:
        """The file name and BPMN XML of a deployed process version (for the modeler and the instance view)."""
        with self.database.read() as session:
            found = session.execute(
                select(DeploymentResource.name, DeploymentResource.content)
                .join(ProcessDefinition, (ProcessDefinition.deployment_id == DeploymentResource.deployment_id)
                      & (ProcessDefinition.resource_name == DeploymentResource.name))
                .where(ProcessDefinition.id == definition_id)).first()
        if found is None:
            raise NotFound(f"process definition {definition_id} does not exist")
        return found.name, bytes(found.content).decode("utf-8")

    def definition_artifacts(self, definition_id: int) -> dict[str, Any]:
        """The DMN decisions (with their file) and the forms (with the pinned version) a process version uses."""
        with self.database.read() as session:
            if session.get(ProcessDefinition, definition_id) is None:
                raise NotFound(f"process definition {definition_id} does not exist")
            rows = session.execute(select(DefinitionArtifact.kind, DefinitionArtifact.artifact_key,
                                          DefinitionArtifact.form_version, DefinitionArtifact.resource_name)
                                   .where(DefinitionArtifact.definition_id == definition_id)
                                   .order_by(DefinitionArtifact.kind, DefinitionArtifact.artifact_key)).all()
            pinned = [and_(FormDefinition.form_key == r.artifact_key, FormDefinition.version == r.form_version)
                      for r in rows if r.kind == "form"]
            names = dict(session.execute(select(FormDefinition.form_key, FormDefinition.name)
                                         .where(or_(*pinned))).all()) if pinned else {}
        return {"decisions": [{"decision_id": r.artifact_key, "resource": r.resource_name}
                              for r in rows if r.kind == "decision"],
                "forms": [{"form_key": r.artifact_key, "version": r.form_version, "name": names.get(r.artifact_key)}
                          for r in rows if r.kind == "form"]}

    def definition_decision(self, definition_id: int, decision_id: str) -> tuple[str, str]:
        """The file name and DMN XML of a decision a process version uses (as deployed with that version)."""
        with self.database.read() as session:
            found = session.execute(
                select(DeploymentResource.name, DeploymentResource.content)
                .join(ProcessDefinition, ProcessDefinition.deployment_id == DeploymentResource.deployment_id)
                .join(DefinitionArtifact, (DefinitionArtifact.definition_id == ProcessDefinition.id)
                      & (DefinitionArtifact.resource_name == DeploymentResource.name))
                .where(ProcessDefinition.id == definition_id, DefinitionArtifact.kind == "decision",
                       DefinitionArtifact.artifact_key == decision_id)).first()
        if found is None:
            raise NotFound(f"process definition {definition_id} uses no decision '{decision_id[:200]}'")
        return found.name, bytes(found.content).decode("utf-8")

    def definition_form(self, definition_id: int, form_key: str) -> dict[str, Any]:
        """A form a process version uses, in the version pinned to it: key, version, name and form-js schema."""
        with self.database.read() as session:
            pinned = session.scalar(select(DefinitionArtifact.form_version).where(
                DefinitionArtifact.definition_id == definition_id, DefinitionArtifact.kind == "form",
                DefinitionArtifact.artifact_key == form_key))
            row = session.execute(select(FormDefinition.version, FormDefinition.name, FormDefinition.content)
                                  .where(FormDefinition.form_key == form_key, FormDefinition.version == pinned)
                                  ).first() if pinned is not None else None
        if row is None:
            raise NotFound(f"process definition {definition_id} uses no form '{form_key[:200]}'")
        return {"form_key": form_key, "version": row.version, "name": row.name, "schema": json.loads(row.content)}

    def comments(self, task_id: int) -> list[dict[str, Any]]:
        """A task's comments, oldest first."""
        with self.database.read() as session:
            rows = session.scalars(select(TaskComment).where(TaskComment.task_id == task_id)
                                   .order_by(TaskComment.id)).all()
            return [{"id": c.id, "author": c.author, "body": c.body, "created_at": _iso(c.created_at)} for c in rows]

    def saved_filters(self, owner: str) -> list[dict[str, Any]]:
        """A person's saved inbox filters, by name."""
        with self.database.read() as session:
            rows = session.scalars(select(SavedFilter).where(SavedFilter.owner == owner)
                                   .order_by(SavedFilter.name, SavedFilter.id)).all()
            return [{"id": r.id, "name": r.name, "filters": json.loads(r.filters), "created_at": _iso(r.created_at)}
                    for r in rows]

    def attachments(self, task_id: int) -> list[dict[str, Any]]:
        """A task's attachments (without their bytes), oldest first."""
        a = TaskAttachment
        with self.database.read() as session:
            rows = session.execute(select(a.id, a.task_id, a.name, a.content_type, a.size, a.sha256, a.uploaded_by,
                                          a.uploaded_at).where(a.task_id == task_id).order_by(a.id)).all()
            return [{"id": r.id, "task_id": r.task_id, "name": r.name, "content_type": r.content_type,
                     "size": r.size, "sha256": r.sha256, "uploaded_by": r.uploaded_by,
                     "uploaded_at": _iso(r.uploaded_at)} for r in rows]

    def attachment_task(self, attachment_id: int) -> int:
        """The task an attachment belongs to (whoever may see that task may download it)."""
        with self.database.read() as session:
            task_id = session.scalar(select(TaskAttachment.task_id).where(TaskAttachment.id == attachment_id))
        if task_id is None:
            raise NotFound(f"attachment {attachment_id} does not exist")
        return task_id

    def attachment(self, attachment_id: int) -> tuple[str, str, bytes]:
        """An attachment's name, content type and bytes."""
        a = TaskAttachment
        with self.database.read() as session:
            row = session.execute(select(a.name, a.content_type, a.content).where(a.id == attachment_id)).first()
        if row is None:
            raise NotFound(f"attachment {attachment_id} does not exist")
        return row.name, row.content_type, bytes(row.content)

    def task_history(self, task_id: int, *, limit: int = 50, viewer: str | None = None) -> dict[str, Any]:
        """The newest events of a task's instance (shown beside the task), with the actors' names; of a
        confidential case, only as far as ``viewer`` may read it."""
        limit = _page(limit, 200)
        with self.database.read() as session:
            instance_id = session.scalar(select(HumanTask.instance_id).where(HumanTask.id == task_id))
            if instance_id is None:
                raise NotFound(f"task {task_id} does not exist")
            level = _case_level(session, viewer, instance_id)
            if level == STATUS:
                return {"instance_id": instance_id, "total": 0, "shown": 0, "events": []}
            total = session.scalar(select(func.count()).select_from(Event).where(Event.instance_id == instance_id))
            events = session.scalars(select(Event).where(Event.instance_id == instance_id)
                                     .order_by(Event.id.desc()).limit(limit)).all()
            actors = {e.actor for e in events if e.actor}
            names = dict(session.execute(select(Person.id, Person.name).where(Person.id.in_(actors))).all()) \
                if actors else {}
            listed = [{**_event(e), "actor_name": names.get(e.actor or "")} for e in events]
            if level is not None and level != RECORD:
                listed = [{**event, "detail": {}} for event in listed]
            return {"instance_id": instance_id, "total": int(total or 0), "shown": len(events), "events": listed}

    def person_names(self, ids: list[str]) -> dict[str, str]:
        """Names of the people among ``ids`` (ids not in the directory are left out)."""
        if not ids:
            return {}
        with self.database.read() as session:
            return dict(session.execute(select(Person.id, Person.name).where(Person.id.in_(ids))).all())

    def task_form(self, task_id: int) -> dict[str, Any] | None:
        """The form-js schema of a task's form, or None when the task has no form.

        The version is the one the instance's process version was deployed with (the newest, for a
        version deployed before its form was): a running instance keeps its forms.
        """
        with self.database.read() as session:
            task = session.execute(select(HumanTask.form_key, ProcessInstance.definition_id)
                                   .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
                                   .where(HumanTask.id == task_id)).first()
            if task is None or task.form_key is None:
                return None
            content = session.scalar(self._form_query(session, task.definition_id, task.form_key))
        return json.loads(content) if content else None

    @staticmethod
    def _form_query(session: Session, definition_id: int, form_key: str) -> Any:
        pinned = session.scalar(select(DefinitionArtifact.form_version).where(
            DefinitionArtifact.definition_id == definition_id, DefinitionArtifact.kind == "form",
            DefinitionArtifact.artifact_key == form_key))
        query = select(FormDefinition.content).where(FormDefinition.form_key == form_key)
        if pinned is not None:
            return query.where(FormDefinition.version == pinned)
        return query.order_by(FormDefinition.version.desc()).limit(1)

    def check_password(self, username: str, password: str) -> bool:
        """Whether ``password`` opens ``username``'s active account (the same work either way, to leak nothing)."""
        with self.database.read() as session:
            row = session.execute(select(Account.password_hash).where(
                Account.username == username, Account.active.is_(True), Account.kind != "service")).first()
        return check_password_hash(row.password_hash if row else _NO_ACCOUNT, password) and row is not None

    def is_administrator(self, user: str) -> bool:
        """Whether ``user`` is an administrator now (engine.access.policy): asked afresh each time."""
        with self.database.read() as session:
            return policy.is_administrator(session, user)

    def is_service_account(self, user: str) -> bool:
        """Whether ``user`` is a service account (a system that sends messages; engine.access.messages)."""
        with self.database.read() as session:
            return session.scalar(select(Account.kind).where(Account.username == user)) == "service"

    def account(self, username: str) -> dict[str, Any] | None:
        """An active account that may use the pages (a service account may not: it calls with tokens only)."""
        with self.database.read() as session:
            row = session.execute(select(Account.username, Account.is_admin).where(
                Account.username == username, Account.active.is_(True), Account.kind != "service")).first()
        return {"username": row.username, "is_admin": row.is_admin} if row else None

    def webhook_target(self, subscription_id: int) -> tuple[str, str] | None:
        """URL and secret of an active subscription (for the worker delivering to it), or None."""
        with self.database.read() as session:
            row = session.execute(select(WebhookSubscription.url, WebhookSubscription.secret).where(
                WebhookSubscription.id == subscription_id, WebhookSubscription.active.is_(True))).first()
        return (row.url, row.secret) if row else None

    def webhooks(self) -> list[dict[str, Any]]:
        """Active subscriptions (without their secrets)."""
        with self.database.read() as session:
            rows = session.scalars(select(WebhookSubscription).where(WebhookSubscription.active.is_(True))
                                   .order_by(WebhookSubscription.id))
            return [{"id": w.id, "url": w.url, "events": w.events, "created_by": w.created_by,
                     "created_at": _iso(w.created_at)} for w in rows]

    def jobs(self, *, state: str | None = None, kind: str | None = None, due_before: datetime | None = None,
             instance_id: int | None = None, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        """Background jobs, soonest due first, with their attempts and last error."""
        query = select(Job)
        if state:
            query = query.where(Job.state == _one_of(state, JOB_STATES, "state"))
        if kind:
            query = query.where(Job.kind == kind)
        if due_before is not None:
            query = query.where(Job.due_at <= due_before)
        if instance_id is not None:
            query = query.where(Job.instance_id == instance_id)
        with self.database.read() as session:
            if instance_id is not None and session.get(ProcessInstance, instance_id) is None:
                raise NotFound(f"process instance {instance_id} does not exist")
            return [{"id": j.id, "kind": j.kind, "instance_id": j.instance_id, "element_id": j.element_id,
                     "due_at": _iso(j.due_at), "state": j.state, "attempts": j.attempts, "last_error": j.last_error,
                     "lease_owner": j.lease_owner, "lease_until": _iso(j.lease_until),
                     "created_at": _iso(j.created_at)}
                    for j in session.scalars(query.order_by(Job.due_at, Job.id).limit(_page(limit)).offset(offset))]

    def job_counts(self, now: datetime) -> dict[str, Any]:
        """Jobs per state and kind, and how many pending ones are due (overdue for a worker) at ``now``."""
        with self.database.read() as session:
            rows = session.execute(select(Job.state, Job.kind, func.count()).group_by(Job.state, Job.kind)).all()
            due = session.scalar(select(func.count()).select_from(Job).where(Job.state == "pending",
                                                                              Job.due_at <= now))
            incidents = session.scalar(select(func.count()).select_from(Incident).where(Incident.resolved_at.is_(None)))
        by_state = {s: 0 for s in JOB_STATES}
        by_kind: dict[str, int] = {}
        for state, kind, count in rows:
            by_state[state] = by_state.get(state, 0) + count
            by_kind[kind] = by_kind.get(kind, 0) + count
        return {"by_state": by_state, "by_kind": by_kind, "due_now": due or 0, "open_incidents": incidents or 0}

    def incidents(self, *, state: str = "open", process_key: str | None = None, limit: int = 100,
                  offset: int = 0) -> list[dict[str, Any]]:
        """Incidents (open, resolved or all), newest first, with their instance's process and scope."""
        query = (select(Incident, ProcessInstance.process_key, ProcessInstance.org_scope,
                        ProcessInstance.state.label("instance_state"))
                 .join(ProcessInstance, ProcessInstance.id == Incident.instance_id))
        if _one_of(state, ("open", "resolved", "all"), "state") == "open":
            query = query.where(Incident.resolved_at.is_(None))
        elif state == "resolved":
            query = query.where(Incident.resolved_at.is_not(None))
        if process_key:
            query = query.where(ProcessInstance.process_key == process_key)
        query = query.order_by(Incident.id.desc()).limit(_page(limit)).offset(offset)
        with self.database.read() as session:
            return [{"id": row.Incident.id, "instance_id": row.Incident.instance_id, "process_key": row.process_key,
                     "org_scope": row.org_scope, "instance_state": row.instance_state,
                     "element_id": row.Incident.element_id, "kind": row.Incident.kind,
                     "message": row.Incident.message, "created_at": _iso(row.Incident.created_at),
                     "resolved_at": _iso(row.Incident.resolved_at)} for row in session.execute(query)]


def _one_of(value: str, allowed: tuple[str, ...], field: str) -> str:
    if value not in allowed:
        raise InvalidInput(f"{field} must be one of {', '.join(allowed)}, not {value!r}",
                           [Problem("not one of the allowed values", field=field)])
    return value


def _page(limit: int, most: int = MAX_PAGE) -> int:
    if limit < 1 or limit > most:
        raise InvalidInput(f"limit must be between 1 and {most}")
    return limit


#: The task table again, for the inbox's id lookups; made once, as building an alias costs more than the query.
_INNER_TASK = aliased(HumanTask, name="inner_task")


def _sees_all(session: Session, user: str | None) -> bool:
    """Whether ``user``'s 'open' inbox view is everyone's open tasks: it is, for an administrator."""
    return user is not None and policy.is_administrator(session, user)


def _case_level(session: Session, viewer: str | None, instance_id: int) -> str | None:
    """What ``viewer`` may read of a confidential case (None: not one, or no viewer given: everything);
    NotFound when nothing, as for a missing id."""
    if viewer is None or not is_confidential(session, instance_id):
        return None
    level = case_access(session, viewer, instance_id)
    if level is None:
        raise NotFound(f"process instance {instance_id} does not exist")
    return level


def _without_case_items(session: Session, viewer: str | None, tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A multi-instance item of a process with sensitive data is kept for the task's own assignee, and in a
    confidential case for a reader of the record; anyone else (an administrator's list, say) sees none."""
    if viewer is None:
        return tasks
    allowed: dict[int, bool] = {}
    for task in tasks:
        if task["item"] is None or task["assignee"] == viewer:
            continue
        instance_id = task["instance_id"]
        if instance_id not in allowed:
            definition_id = session.scalar(select(ProcessInstance.definition_id)
                                           .where(ProcessInstance.id == instance_id))
            sensitivity = sensitivity_of(session, definition_id) if definition_id is not None else None
            allowed[instance_id] = sensitivity is None or (
                at_least(case_access(session, viewer, instance_id), RECORD) if sensitivity.confidential
                else not sensitivity.variables)
        if not allowed[instance_id]:
            task["item"] = None
    return tasks


def _task_order(f: TaskFilter) -> list[Any]:
    """Due first (no due date last), or latest due first, or newest first; a done list shows the latest done first."""
    t = HumanTask
    if f.view == "done":
        return [t.completed_at.desc(), t.id.desc()]
    if f.sort == "newest":
        return [t.id.desc()]
    if f.sort == "due_desc":
        return [t.due_at.is_(None), t.due_at.desc(), t.id.desc()]
    return [t.due_at.is_(None), t.due_at, t.id]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _instance(row: ProcessInstance) -> dict[str, Any]:
    return {"id": row.id, "process_key": row.process_key, "definition_id": row.definition_id, "state": row.state,
            "version": row.version, "business_key": row.business_key, "org_scope": row.org_scope,
            "started_by": row.started_by, "started_at": _iso(row.started_at), "ended_at": _iso(row.ended_at)}


def _event(event: Event) -> dict[str, Any]:
    return {"id": event.id, "at": _iso(event.at), "kind": event.kind, "element_id": event.element_id,
            "task_id": event.task_id, "actor": event.actor,
            "detail": json.loads(event.detail) if event.detail else {}}


def _with_candidates(session: Session, tasks: list[HumanTask] | Any) -> list[dict[str, Any]]:
    tasks = list(tasks)
    candidates: dict[int, dict[str, list[str]]] = {}
    if tasks:
        rows = session.execute(select(TaskCandidate.task_id, TaskCandidate.kind, TaskCandidate.value)
                               .where(TaskCandidate.task_id.in_([t.id for t in tasks])))  # plain rows: a page's worth
        for task_id, kind, value in rows:
            candidates.setdefault(task_id, {"user": [], "group": [], "role": []})[kind].append(value)
    return [{
        "id": t.id, "instance_id": t.instance_id, "process_key": t.process_key, "element_id": t.element_id,
        "name": t.name, "state": t.state, "assignee": t.assignee, "org_scope": t.org_scope,
        "candidate_users": candidates.get(t.id, {}).get("user", []),
        "candidate_groups": candidates.get(t.id, {}).get("group", []),
        "candidate_roles": candidates.get(t.id, {}).get("role", []),
        "form_key": t.form_key, "due_at": _iso(t.due_at), "created_at": _iso(t.created_at),
        "completed_at": _iso(t.completed_at), "completed_by": t.completed_by,
        "item": json.loads(t.item_input) if t.item_input else None,
    } for t in tasks]


class CalendarQueries:
    """Working-day answers: the official calendar with the administrators' overrides stored now.

    Each answer builds its own :class:`WorkingCalendar`, which reads each year it touches once (one
    indexed range read however many days are counted). Several processes share the database and a
    ruling set in one must count in all of them at once, which a long-lived cache could not promise.
    """

    def __init__(self, database: Database) -> None:
        self.database = database

    def working_calendar(self) -> WorkingCalendar:
        """A calendar snapshot reading overrides from the database, once per year it is asked about."""
        return WorkingCalendar(self._overrides_of)

    def _overrides_of(self, year: int) -> list[Override]:
        query = select(WorkdayOverride).where(WorkdayOverride.day >= date(year, 1, 1),
                                              WorkdayOverride.day <= date(year, 12, 31))
        with self.database.read() as session:
            return [Override(r.day, r.working, r.note, r.set_by, r.set_at)
                    for r in session.scalars(query.order_by(WorkdayOverride.day))]

    def working_days_after(self, day: date | str, n: int | str) -> dict[str, Any]:
        """The date ``n`` working days after ``day`` (see :meth:`WorkingCalendar.add_working_days`)."""
        start = parse_date(day, "date")
        count = parse_whole_number(n, "n", 0, MAX_WORKING_DAYS)
        calendar = self.working_calendar()
        result = calendar.add_working_days(start, count)
        return {"from": start.isoformat(), "n": count, "date": result.isoformat(),
                "weekday": _WEEKDAYS[result.weekday()], "warnings": _guess_warnings(calendar)}

    def is_working_day(self, day: date | str) -> dict[str, Any]:
        """Whether ``day`` is a working day, and why."""
        when = parse_date(day, "date")
        calendar = self.working_calendar()
        special = calendar.special_day(when)
        return {"date": when.isoformat(), "weekday": _WEEKDAYS[when.weekday()],
                "working": calendar.is_working_day(when), "basis": str(calendar.basis(when.year)),
                "reason": _reason(special) if special else "weekday" if when.weekday() < 5 else "weekend",
                "warnings": _guess_warnings(calendar)}

    def overrides(self, year: int | str) -> list[dict[str, Any]]:
        """The administrators' rulings stored for ``year``, in date order."""
        return [_override(o) for o in self._overrides_of(parse_year(year))]

    def year(self, year: int | str) -> dict[str, Any]:
        """Every day of ``year`` that is not plain Monday to Friday or that an administrator ruled on."""
        number = parse_year(year)
        calendar = self.working_calendar()
        days = calendar.special_days(number)
        return {"year": number, "basis": str(calendar.basis(number)), "official_source": OFFICIAL_SOURCE,
                "official_years": [calendar.known_years().start, calendar.known_years().stop - 1],
                "overrides": sum(1 for d in days if d.override is not None),
                "warnings": _guess_warnings(calendar),
                "days": [{"date": d.day.isoformat(), "weekday": _WEEKDAYS[d.day.weekday()], "working": d.working,
                          "official_working": d.official_working, "name": d.official_name,
                          "override": _override(d.override) if d.override else None} for d in days]}


_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _guess_warnings(calendar: WorkingCalendar) -> list[str]:
    return [f"{year} is not in {OFFICIAL_SOURCE} and no day of it has been entered: its working days are guessed "
            "as Monday to Friday, missing its holidays; an administrator can enter them day by day"
            for year in calendar.guessed_years()]


def _reason(day: SpecialDay) -> str:
    if day.override is None:
        return day.official_name or ""
    note = f": {day.override.note}" if day.override.note else ""
    return f"set by {day.override.set_by}{note}"


def _override(override: Override) -> dict[str, Any]:
    return {"date": override.day.isoformat(), "working": override.working, "note": override.note,
            "set_by": override.set_by, "set_at": _iso(override.set_at)}
