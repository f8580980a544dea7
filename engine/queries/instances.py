"""Process instances: one instance with its history, the filtered instance list and its counts, the documents an
instance made, a rollout's coverage and a fan-out's status, and whether a person may read an instance or task."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select

from engine.access import policy
from engine.access.confidential import RECORD, STATUS, case_access, case_view, is_confidential
from engine.access.sensitivity import redact, sensitivity_of
from engine.clock import BUSINESS_TZ
from engine.coverage import coverage, fan_out_status
from engine.errors import InvalidInput, NotFound, Problem
from engine.org.calendar import parse_date
from engine.phrases import Phrase
from engine.queries.case_reading import case_level, without_case_items
from engine.queries.directory import unit_path
from engine.queries.official_documents import drawn_draft, official_of_documents
from engine.queries.rows import event_row, instance_row, iso, page_limit, tasks_with_candidates, with_names
from engine.store.database import Database
from engine.store.models import (
    Document,
    Event,
    HumanTask,
    Incident,
    Job,
    OrgUnit,
    Person,
    ProcessDefinition,
    ProcessInstance,
)

INSTANCE_STATES = ("running", "suspended", "incident", "completed", "terminated")


class InstanceFamily:
    """The instance questions of :class:`engine.queries.Queries`."""

    database: Database

    def instance(self, instance_id: int, *, history_limit: int = 200, viewer: str | None = None) -> dict[str, Any]:
        """State, data, open tasks, incidents and history of one instance; for a ``viewer``, a confidential
        case is cut down to what they may read (engine.access.confidential) and refused (404) when nothing."""
        with self.database.read() as session:
            row = session.get(ProcessInstance, instance_id)
            if row is None:
                raise NotFound(Phrase("process instance %(id)s does not exist", id=instance_id))
            level = case_level(session, viewer, instance_id)
            definition = session.get(ProcessDefinition, row.definition_id)
            open_tasks = session.scalars(select(HumanTask).where(
                HumanTask.instance_id == instance_id, HumanTask.state == "open").order_by(HumanTask.id)).all()
            incidents = session.scalars(select(Incident).where(Incident.instance_id == instance_id)
                                        .order_by(Incident.id)).all()
            history = session.scalars(select(Event).where(Event.instance_id == instance_id)
                                      .order_by(Event.id).limit(history_limit)).all()
            found = {
                **with_names(session, [instance_row(row)])[0],
                "definition": {"id": definition.id, "key": definition.key, "version": definition.version,
                               "name": definition.name} if definition else None,
                "data": json.loads(row.data),
                "open_tasks": tasks_with_candidates(session, open_tasks),
                "incidents": [{"id": i.id, "element_id": i.element_id, "kind": i.kind, "message": i.message,
                               "created_at": iso(i.created_at), "resolved_at": iso(i.resolved_at)}
                              for i in incidents],
                "history": [event_row(e) for e in history],
            }
            sensitivity = sensitivity_of(session, row.definition_id)
            if level is not None:
                return case_view(found, level, sensitivity)
            if viewer is not None and sensitivity.variables:  # marked sensitive in a process read by the general rules
                found["data"] = redact(found["data"], sensitivity)
                found["open_tasks"] = without_case_items(session, viewer, found["open_tasks"])
            return found

    def history(self, instance_id: int, *, limit: int = 50, offset: int = 0,
                viewer: str | None = None) -> dict[str, Any]:
        """One page of an instance's audit events, oldest first, with the total for a "more" link; a confidential
        case's events are for ``viewer`` only as far as they may read it (none on status access)."""
        with self.database.read() as session:
            if session.get(ProcessInstance, instance_id) is None:
                raise NotFound(Phrase("process instance %(id)s does not exist", id=instance_id))
            level = case_level(session, viewer, instance_id)
            if level == STATUS:
                return {"total": 0, "offset": offset, "events": []}
            total = session.scalar(select(func.count()).select_from(Event).where(Event.instance_id == instance_id))
            events = session.scalars(select(Event).where(Event.instance_id == instance_id).order_by(Event.id)
                                     .limit(page_limit(limit)).offset(offset)).all()
            actors = {e.actor for e in events if e.actor}
            names = dict(session.execute(select(Person.id, Person.name).where(Person.id.in_(actors))).all()) \
                if actors else {}
            listed = [{**event_row(e), "actor_name": names.get(e.actor or "")} for e in events]
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
                 .limit(page_limit(limit)).offset(offset))
        with self.database.read() as session:
            return with_names(session, [instance_row(row) for row in session.scalars(query)])

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
            path = unit_path(self.database, under)
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

    def documents(self, instance_id: int) -> list[dict[str, Any]]:
        """The documents an instance made, newest first (without their content); an official document's 文号, when
        and by whom it was issued, or that it is a draft (engine.queries.official_documents)."""
        with self.database.read() as session:
            rows = session.execute(select(Document.id, Document.name, Document.kind, Document.content_type,
                                          Document.size, Document.created_at)
                                   .where(Document.instance_id == instance_id).order_by(Document.id.desc())).all()
            official = official_of_documents(session, instance_id) if rows else {}
        return [{"id": r.id, "name": r.name, "kind": r.kind, "content_type": r.content_type, "size": r.size,
                 "created_at": iso(r.created_at), **official.get(r.id, {})} for r in rows]

    def related_documents(self, instance_id: int, viewer: str) -> list[dict[str, Any]]:
        """The documents of an instance and of the instances around it that ``viewer`` may read: those above it
        (the circular a sign-off is for, the campaign a school's step belongs to) and those it called (the draft
        it sent for signing); a confidential case's documents only for a reader of its record. Each names the
        instance that made it."""
        with self.database.read() as session:
            related, current = [instance_id], instance_id
            for _ in range(policy.FILE_REFERENCE_DEPTH):
                current = session.scalar(select(ProcessInstance.parent_instance_id)
                                         .where(ProcessInstance.id == current))
                if current is None:
                    break
                related.append(current)
            related += session.scalars(select(ProcessInstance.id).where(
                ProcessInstance.parent_instance_id == instance_id).order_by(ProcessInstance.id).limit(50)).all()
            readable = [i for i in related if i == instance_id or (
                policy.may_read_instance(session, viewer, i) and case_level(session, viewer, i) in (None, RECORD))]
        return [{**document, "instance_id": i} for i in readable for document in self.documents(i)]

    def document_instance(self, document_id: int) -> int | None:
        with self.database.read() as session:
            found = session.execute(select(Document.instance_id).where(Document.id == document_id)).first()
        if found is None:
            raise NotFound(f"document {document_id} does not exist")
        return found.instance_id

    def document(self, document_id: int) -> tuple[str, str, bytes]:
        """A document's name, content type and content (a draft's drawn as it is read)."""
        with self.database.read() as session:
            row = session.execute(select(Document.name, Document.content_type, Document.content, Document.draft_of)
                                  .where(Document.id == document_id)).first()
            if row is None:
                raise NotFound(f"document {document_id} does not exist")
            if row.content is None and row.draft_of is not None:
                return row.name, row.content_type, drawn_draft(session, row.draft_of, row.content_type)
        return row.name, row.content_type, bytes(row.content)

    def coverage(self, instance_id: int, now: datetime, *, missing_only: bool = False) -> dict[str, Any]:
        """不漏一校、不漏一人: per unit and per person of a rollout, who has completed and who not (engine.coverage)."""
        return coverage(self.database, instance_id, now, missing_only=missing_only)

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

    def may_read_attachment(self, user: str | None, attachment_id: int) -> bool:
        """Whether ``user`` may download the attachment (engine.access.policy; False also when it does not exist)."""
        with self.database.read() as session:
            return policy.may_read_attachment(session, user, attachment_id)

    def may_read_task(self, user: str | None, task_id: int) -> bool:
        """Whether ``user`` may read the task (engine.access.policy; False also when it does not exist)."""
        with self.database.read() as session:
            return policy.may_read_task(session, user, task_id)

    def case_access(self, user: str, instance_id: int) -> str | None:
        """How much of an instance ``user`` may read if it is a confidential case ("record", "case_and_risk",
        "status" or None for nothing); None as well for an instance that is not confidential."""
        with self.database.read() as session:
            return case_access(session, user, instance_id) if is_confidential(session, instance_id) else None
