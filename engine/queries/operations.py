"""What the administrators' operations pages read: the org tree with its counts, the schedules with their fires,
and the lists of background jobs (with their counts), incidents and webhook subscriptions.

Read-only and answered in SQL from the narrow tables (org units by path, the fire log), so a directory
of thousands of schools or a schedule that has fired for years costs one grouped query per page.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import islice
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import aliased

from engine.access.confidential import RECORD, case_access, withheld_incident
from engine.access.sensitivity import sensitivity_of
from engine.clock import BUSINESS_TZ
from engine.errors import InvalidInput, NotFound, Problem
from engine.metrics import DatabaseFigures, DueJobs
from engine.org.calendar import ESTIMATED, estimate_warning
from engine.org.directory import UNIT_KINDS
from engine.org.term_calendar import TermCalendar
from engine.phrases import Phrase
from engine.queries.calendar import CalendarQueries
from engine.queries.rows import iso, one_of, page_limit, with_names
from engine.schedules import MAX_YEAR_OCCURRENCES, Schedule
from engine.store.database import Database
from engine.store.models import (
    Incident,
    Job,
    OrgUnit,
    Person,
    ProcessInstance,
    RoleAssignment,
    ScheduleFire,
    ScheduleWatermark,
    WebhookSubscription,
)
from engine.store.notification_models import NotificationDelivery

#: How far ahead the next fire time of a schedule is looked for.
HORIZON = timedelta(days=400)
JOB_STATES = ("pending", "done", "failed", "cancelled")
_TIMER_KINDS = {"date": "定时", "duration": "部署后", "cycle": "循环"}


class OperationsQueries:
    def __init__(self, database: Database, calendar: CalendarQueries) -> None:
        self.database = database
        self.calendar = calendar

    # -- the org directory -------------------------------------------------------------------------

    def unit_children(self, parent: str | None = None) -> list[dict[str, Any]]:
        """The units directly below ``parent`` (None: the roots), each with what lies below it, counted."""
        with self.database.read() as session:
            if parent is not None and session.get(OrgUnit, parent) is None:
                raise NotFound(f"org unit '{parent}' does not exist", [Problem("no such unit", field="parent")])
            where = OrgUnit.parent_id == parent if parent is not None else OrgUnit.parent_id.is_(None)
            children = [_unit(u) for u in session.scalars(
                select(OrgUnit).where(where).order_by(OrgUnit.sort_order, OrgUnit.id))]
            child, below = aliased(OrgUnit), aliased(OrgUnit)
            # A prefix compared as a substring: ids may hold LIKE's wildcards (an underscore, say).
            inside = func.substr(below.path, 1, func.length(child.path)) == child.path
            child_where = child.parent_id == parent if parent is not None else child.parent_id.is_(None)
            kinds: dict[str, dict[str, int]] = {}
            for unit_id, kind, count in session.execute(
                    select(child.id, below.kind, func.count()).join(below, inside & (below.id != child.id))
                    .where(child_where).group_by(child.id, below.kind)):
                kinds.setdefault(unit_id, {})[kind] = count
            people = dict(session.execute(
                select(child.id, func.count(func.distinct(Person.id))).join(below, inside)
                .join(Person, Person.unit_id == below.id).where(child_where).group_by(child.id)).all())
        return [{**u, "units_below": kinds.get(u["id"], {}), "people": people.get(u["id"], 0),
                 "has_children": bool(kinds.get(u["id"]))} for u in children]

    def unit(self, unit_id: str) -> dict[str, Any]:
        """One unit with the units above it (root first) and the number of people at it."""
        with self.database.read() as session:
            row = session.get(OrgUnit, unit_id)
            if row is None:
                raise NotFound(f"org unit '{unit_id}' does not exist")
            ids = [step.split(":", 1)[1] for step in row.path.strip("/").split("/") if ":" in step][:-1]
            names = dict(session.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(ids))).all())
            holders = session.scalar(select(func.count(func.distinct(RoleAssignment.person_id)))
                                     .where(RoleAssignment.unit_id == unit_id))
            found = _unit(row)
        return {**found, "ancestors": [{"id": i, "name": names.get(i, i)} for i in ids],
                "role_holders": holders or 0}

    def directory_counts(self) -> dict[str, Any]:
        """Units per kind and people in the whole directory."""
        with self.database.read() as session:
            units = dict(session.execute(select(OrgUnit.kind, func.count()).group_by(OrgUnit.kind)).all())
            people = session.scalar(select(func.count()).select_from(Person))
        return {"units": {kind: units.get(kind, 0) for kind in UNIT_KINDS}, "people": people or 0}

    # -- schedules ---------------------------------------------------------------------------------

    def schedules(self, schedules: list[Schedule], now: datetime, term: TermCalendar | None = None,
                  records: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """Every schedule with its rule, next fire time (Beijing time), its last fire and whether that was late,
        whether it is paused, and where it comes from (``records``: the stored schedules' origins)."""
        calendar = self.calendar.working_calendar()
        records = records or {}
        keys = [s.key for s in schedules]
        f = ScheduleFire
        newest = (select(f.schedule_key, func.max(f.fire_time).label("fire_time"))
                  .where(f.schedule_key.in_(keys)).group_by(f.schedule_key).subquery())
        with self.database.read() as session:
            last = {row.schedule_key: row for row in session.execute(
                _fires_grouped().join(newest, (newest.c.schedule_key == f.schedule_key)
                                      & (newest.c.fire_time == f.fire_time)))}
            fires = dict(session.execute(select(f.schedule_key, func.count(func.distinct(f.fire_time)))
                                         .where(f.schedule_key.in_(keys)).group_by(f.schedule_key)).all())
            checked = dict(session.execute(select(ScheduleWatermark.schedule_key, ScheduleWatermark.checked_until)
                                           .where(ScheduleWatermark.schedule_key.in_(keys))).all())
        rows = []
        for schedule in schedules:
            upcoming, error = None, None
            try:
                if schedule.enabled:
                    upcoming = next(schedule.occurrences(now, now + HORIZON, calendar, term), None)
            except Exception as err:  # a schedule whose times cannot be computed is shown with why
                error = str(err)
            record = records.get(schedule.key, {})
            rows.append({"key": schedule.key, "process_key": schedule.process_key,
                         "source": "timer_start_event" if schedule.timer else "schedules.toml",
                         "origin": "timer_start_event" if schedule.timer else record.get("origin", "shipped"),
                         "changed_by": record.get("changed_by"), "changed_at": _beijing(record.get("changed_at")),
                         "start_event": schedule.start_event, "cron": schedule.cron, "rule": schedule.rule,
                         "at": schedule.at.strftime("%H:%M") if schedule.rule else None,
                         "timer": ":".join(schedule.timer) if schedule.timer else None,
                         "entry": None if schedule.timer else schedule.entry(), "enabled": schedule.enabled,
                         "months": list(schedule.months), "term_only": schedule.term_only,
                         "variables": dict(schedule.variables), "note": schedule.note,
                         "description": describe(schedule), "for_each": schedule.for_each,
                         "next_fire": _beijing(upcoming), "error": error,
                         "last_fire": _fire(last[schedule.key]) if schedule.key in last else None,
                         "fires": fires.get(schedule.key, 0),
                         "checked_until": _beijing(checked.get(schedule.key))})
        return rows

    def schedule_year(self, schedules: list[Schedule], year: int, term: TermCalendar | None = None
                      ) -> dict[str, Any]:
        """Every occurrence of ``year`` (Beijing time) of the schedules that are not paused, oldest first: schedule,
        process, fire time, for_each and how many units that is; plus what the year's working days rest on."""
        calendar = self.calendar.working_calendar()
        units = self.directory_counts()["units"]
        start = datetime(year, 1, 1, tzinfo=BUSINESS_TZ) - timedelta(microseconds=1)
        end = datetime(year, 12, 31, 23, 59, 59, 999999, tzinfo=BUSINESS_TZ)
        occurrences, truncated, errors = [], [], []
        for schedule in schedules:
            if not schedule.enabled:
                continue
            try:
                found = list(islice(schedule.occurrences(start, end, calendar, term), MAX_YEAR_OCCURRENCES + 1))
            except Exception as err:  # shown with why, as on the list
                errors.append({"schedule": schedule.key, "error": str(err)})
                continue
            if len(found) > MAX_YEAR_OCCURRENCES:
                truncated.append(schedule.key)
                found = found[:MAX_YEAR_OCCURRENCES]
            occurrences += [{"schedule": schedule.key, "process": schedule.process_key, "fire_time": _beijing(fire),
                             "month": fire.astimezone(BUSINESS_TZ).month, "for_each": schedule.for_each,
                             "units": units.get(schedule.for_each) if schedule.for_each else None}
                            for fire in found]
        occurrences.sort(key=lambda o: (o["fire_time"], o["schedule"]))
        basis = calendar.basis(year)
        return {"year": year, "calendar_basis": basis.value,
                "calendar_warnings": [estimate_warning(year, basis)] if basis in ESTIMATED else [],
                "holiday_months": sorted((term or TermCalendar()).holiday_months),
                "paused": sorted(s.key for s in schedules if not s.enabled),
                "occurrences": occurrences, "truncated": truncated, "errors": errors}

    def schedule_fires(self, schedule_key: str, *, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        """The fire log of one schedule, newest occurrence first (a per-unit schedule's units counted)."""
        if not 1 <= limit <= 500:
            raise InvalidInput("limit must be between 1 and 500", [Problem("out of range", field="limit")])
        query = (_fires_grouped().where(ScheduleFire.schedule_key == schedule_key)
                 .order_by(ScheduleFire.fire_time.desc()).limit(limit).offset(offset))
        with self.database.read() as session:
            return [_fire(row) for row in session.execute(query)]

class OperationsFamily:
    """The operations lists of :class:`engine.queries.Queries`: jobs and their counts, incidents, webhooks."""

    database: Database

    def webhooks(self) -> list[dict[str, Any]]:
        """Active subscriptions (without their secrets)."""
        with self.database.read() as session:
            rows = session.scalars(select(WebhookSubscription).where(WebhookSubscription.active.is_(True))
                                   .order_by(WebhookSubscription.id))
            return [{"id": w.id, "url": w.url, "events": w.events, "created_by": w.created_by,
                     "created_at": iso(w.created_at), "previous_secret_valid_until": iso(w.previous_secret_until)}
                    for w in rows]

    def jobs(self, *, state: str | None = None, kind: str | None = None, due_before: datetime | None = None,
             instance_id: int | None = None, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        """Background jobs, soonest due first, with their attempts and last error."""
        query = select(Job)
        if state:
            query = query.where(Job.state == one_of(state, JOB_STATES, "state"))
        if kind:
            query = query.where(Job.kind == kind)
        if due_before is not None:
            query = query.where(Job.due_at <= due_before)
        if instance_id is not None:
            query = query.where(Job.instance_id == instance_id)
        with self.database.read() as session:
            if instance_id is not None and session.get(ProcessInstance, instance_id) is None:
                raise NotFound(Phrase("process instance %(id)s does not exist", id=instance_id))
            return [{"id": j.id, "kind": j.kind, "instance_id": j.instance_id, "element_id": j.element_id,
                     "due_at": iso(j.due_at), "state": j.state, "attempts": j.attempts, "last_error": j.last_error,
                     "lease_owner": j.lease_owner, "lease_until": iso(j.lease_until),
                     "created_at": iso(j.created_at)}
                    for j in session.scalars(query.order_by(Job.due_at, Job.id)
                                             .limit(page_limit(limit)).offset(offset))]

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

    def scrape_figures(self, now: datetime) -> DatabaseFigures:
        """The figures /metrics asks of the database at each scrape: due jobs per kind (how many, the oldest's due
        time), open incidents, pending notification deliveries per channel. Three grouped queries on indexed
        columns (ix_job_due, ix_notification_delivery_state), whatever the size of the tables."""
        with self.database.read() as session:
            due = session.execute(select(Job.kind, func.count(), func.min(Job.due_at))
                                  .where(Job.state == "pending", Job.due_at <= now).group_by(Job.kind)).all()
            incidents = session.scalar(select(func.count()).select_from(Incident).where(Incident.resolved_at.is_(None)))
            pending = session.execute(select(NotificationDelivery.channel, func.count())
                                      .where(NotificationDelivery.state == "pending")
                                      .group_by(NotificationDelivery.channel)).all()
        return DatabaseFigures(now=now, due_jobs={kind: DueJobs(count, oldest) for kind, count, oldest in due},
                               open_incidents=incidents or 0,
                               pending_notifications={channel: count for channel, count in pending})

    def incidents(self, *, state: str = "open", process_key: str | None = None, limit: int = 100,
                  offset: int = 0, viewer: str | None = None) -> list[dict[str, Any]]:
        """Incidents (open, resolved or all), newest first, with their instance's process and scope. An incident
        of a confidential case keeps its message only for a ``viewer`` who reads the case's record (an
        administrator has status access: element, kind and time, engine.access.confidential)."""
        query = (select(Incident, ProcessInstance.process_key, ProcessInstance.org_scope,
                        ProcessInstance.definition_id, ProcessInstance.state.label("instance_state"))
                 .join(ProcessInstance, ProcessInstance.id == Incident.instance_id))
        if one_of(state, ("open", "resolved", "all"), "state") == "open":
            query = query.where(Incident.resolved_at.is_(None))
        elif state == "resolved":
            query = query.where(Incident.resolved_at.is_not(None))
        if process_key:
            query = query.where(ProcessInstance.process_key == process_key)
        query = query.order_by(Incident.id.desc()).limit(page_limit(limit)).offset(offset)
        with self.database.read() as session:
            confidential: dict[int, bool] = {}
            found = []
            for row in session.execute(query):
                incident = {"id": row.Incident.id, "instance_id": row.Incident.instance_id,
                            "process_key": row.process_key, "org_scope": row.org_scope,
                            "instance_state": row.instance_state, "element_id": row.Incident.element_id,
                            "kind": row.Incident.kind, "message": row.Incident.message,
                            "created_at": iso(row.Incident.created_at), "resolved_at": iso(row.Incident.resolved_at)}
                if row.definition_id not in confidential:
                    confidential[row.definition_id] = \
                        sensitivity_of(session, row.definition_id).confidentiality == "counselling"
                if confidential[row.definition_id] and \
                        case_access(session, viewer, row.Incident.instance_id) != RECORD:
                    incident = withheld_incident(incident)
                found.append(incident)
            return with_names(session, found)



def describe(schedule: Schedule) -> str:
    """The schedule's rule as an administrator reads it, in Chinese."""
    each = f"，每个{UNIT_KINDS[schedule.for_each][0]}各启动一个" if schedule.for_each in UNIT_KINDS else ""
    if schedule.timer is not None:
        kind, value = schedule.timer
        return f"BPMN 定时启动事件（{_TIMER_KINDS.get(kind, kind)} {value}）{each}"
    if schedule.cron is not None:
        season = "（" + "、".join(f"{m}月" for m in schedule.months) + "）" if schedule.months else ""
        return f"cron {schedule.cron}（北京时间）{season}{'，学校假期月份不启动' if schedule.term_only else ''}{each}"
    months = "、".join(f"{m}月" for m in schedule.months)
    season = (f"（{months}）" if months else "") + ("，学校假期月份不启动" if schedule.term_only else "")
    at = schedule.at.strftime("%H:%M")
    if schedule.rule == "first_working_day":
        return f"每月第一个工作日 {at}（北京时间）{season}{each}"
    if schedule.rule == "nth_working_day":
        return f"每月第{schedule.n}个工作日 {at}（北京时间）{season}{each}"
    if schedule.rule == "day_of_month":
        return f"每月{schedule.n}日 {at}（北京时间；非工作日顺延至下一个工作日）{season}{each}"
    return f"{schedule.rule}{season}{each}"


def _fires_grouped() -> Any:
    f = ScheduleFire
    return (select(f.schedule_key, f.fire_time, func.min(f.fired_at).label("fired_at"),
                   func.sum(case((f.late.is_(True), 1), else_=0)).label("late"),
                   func.sum(case((f.org_unit != "", 1), else_=0)).label("units"),
                   func.max(case((f.org_unit == "", f.instance_id), else_=None)).label("instance_id"))
            .group_by(f.schedule_key, f.fire_time))


def _fire(row: Any) -> dict[str, Any]:
    return {"fire_time": _beijing(row.fire_time), "fired_at": _beijing(row.fired_at), "late": bool(row.late),
            "units": int(row.units or 0), "instance_id": row.instance_id}


def _unit(row: OrgUnit) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "kind": row.kind, "kind_name": UNIT_KINDS.get(row.kind, (row.kind,))[0],
            "parent": row.parent_id, "path": row.path}


def _beijing(moment: datetime | None) -> str | None:
    return moment.astimezone(BUSINESS_TZ).isoformat() if moment is not None else None
