"""Tasks: a person's inbox (lists, pages and counts, filtered in SQL), one task, and what hangs off a task:
its comments, attachments, recent history and form; and a person's saved inbox filters."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, exists, false, func, or_, select, true, union
from sqlalchemy.orm import Session

from engine.access import policy
from engine.access.confidential import RECORD, STATUS, at_least
from engine.access.identity import ADMIN
from engine.access.sensitivity import sensitivity_of
from engine.clock import BUSINESS_TZ
from engine.end_user_instructions import rendered_instructions
from engine.errors import Forbidden, InvalidInput, NotFound, Problem
from engine.form_context import markdown_safe, shown_names
from engine.json_schema_form_js import as_form_js
from engine.json_schema_forms import SCHEMA_KIND, UI_SCHEMA_KIND, choice_variables, ui_schema
from engine.org.directory import ROLES
from engine.phrases import Phrase
from engine.queries.calendar import CalendarQueries
from engine.queries.case_reading import case_level, without_case_items
from engine.queries.instructions import instructions_of
from engine.queries.rows import event_row, iso, page_limit, tasks_with_candidates
from engine.runtime.task_data import waiting_task_data, waiting_task_process
from engine.store import tables
from engine.store.database import Database
from engine.store.models import (
    DefinitionArtifact,
    DeploymentResource,
    Event,
    FormDefinition,
    HumanTask,
    OrgUnit,
    Person,
    ProcessDefinition,
    ProcessInstance,
    RoleAssignment,
    SavedFilter,
    TaskAttachment,
    TaskCandidate,
    TaskComment,
)
from engine.task_filters import TaskFilter

#: A task list's rows: the table's columns as plain rows (a page of ORM objects costs more to build, and to expire
#: when the read ends, than the query takes to run), and the inbox's WHERE in the tables' own columns (the ORM's
#: attributes cost more to compile).
_TASK, _CANDIDATE = tables.human_task.c, tables.task_candidate.c
_TASK_ROW = tuple(_TASK)
_COUNT = select(func.count()).select_from(tables.human_task)


class TaskFamily:
    """The task questions of :class:`engine.queries.Queries`."""

    database: Database
    calendar: CalendarQueries

    def tasks(self, *, user: str | None = None, instance_id: int | None = None, state: str = "open",
              filters: TaskFilter | None = None, now: datetime | None = None,
              limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        """Tasks in ``state``; for a user, those assigned to them or offering them as a candidate.

        ``filters`` narrows by view, process, unit (code or name), due date and words in the name or title and sets
        the order; a due filter counts from ``now`` (the engine clock). Everything is done in SQL, one page at a time.
        """
        limit = page_limit(limit)
        with self.database.read() as session:
            held = policy.held_roles(session, user)
            query = self._task_query(select(*_TASK_ROW), user, _sees_all(session, user), held, instance_id, state,
                                     filters, now)
            query = query.order_by(*_task_order(filters or TaskFilter())).limit(limit).offset(offset)
            rows = tasks_with_candidates(session, session.execute(query).all())
            return without_case_items(session, user or ADMIN, rows)

    def task_total(self, *, user: str | None = None, instance_id: int | None = None, state: str = "open",
                   filters: TaskFilter | None = None, now: datetime | None = None) -> int:
        """How many tasks :meth:`tasks` would list over all its pages."""
        with self.database.read() as session:
            query = self._task_query(_COUNT, user, _sees_all(session, user), policy.held_roles(session, user),
                                     instance_id, state, filters, now)
            return int(session.scalar(query) or 0)

    def task_list(self, *, user: str | None = None, instance_id: int | None = None, state: str = "open",
                  filters: TaskFilter | None = None, now: datetime | None = None,
                  limit: int = 50, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """:meth:`tasks` with :meth:`task_total`, in one read (``GET /api/v1/tasks``): the total comes with the
        page as a window over the same matches, so they are found once."""
        limit = page_limit(limit)
        with self.database.read() as session:
            held, sees_all = policy.held_roles(session, user), _sees_all(session, user)
            query = self._task_query(select(*_TASK_ROW, func.count().over().label("total")), user, sees_all, held,
                                     instance_id, state, filters, now)
            found = session.execute(query.order_by(*_task_order(filters or TaskFilter())).limit(limit)
                                    .offset(offset)).all()
            if found:
                total = found[0].total
            else:  # past the last page, or nothing at all: counted on its own
                total = offset and session.scalar(self._task_query(_COUNT, user, sees_all, held, instance_id, state,
                                                                   filters, now))
            return without_case_items(session, user or ADMIN, tasks_with_candidates(session, found)), int(total or 0)

    def task_page(self, *, user: str, filters: TaskFilter, now: datetime, limit: int = 20,
                  offset: int = 0) -> dict[str, Any]:
        """One page of a person's inbox with the total over all pages (the inbox page), in one read."""
        limit = page_limit(limit)
        with self.database.read() as session:
            held, sees_all = policy.held_roles(session, user), _sees_all(session, user)
            # the total comes with the page (a window over the same matches), so the matches are found once
            query = self._task_query(select(*_TASK_ROW, func.count().over().label("total")), user, sees_all, held,
                                     None, "open", filters, now)
            found = session.execute(query.order_by(*_task_order(filters)).limit(limit).offset(offset)).all()
            if found:
                total = found[0].total
            else:  # past the last page, or nothing at all: counted on its own
                total = offset and session.scalar(self._task_query(_COUNT, user, sees_all, held, None, "open",
                                                                   filters, now))
            return {"tasks": without_case_items(session, user, tasks_with_candidates(session, found)),
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
        t = _TASK
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
                inner = _INNER.c
                in_state = [inner.state == state] if state != "all" else []
                open_offers = [_CANDIDATE.task_open == true()] if state == "open" else []
                offered = (select(_CANDIDATE.task_id).join(_INNER, inner.id == _CANDIDATE.task_id)
                           .where(or_(and_(_CANDIDATE.kind == "user", _CANDIDATE.value == user),
                                      and_(_CANDIDATE.kind == "role", _CANDIDATE.value.in_(held))),
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
        if f.unit:  # a unit's code, or its name or part of it as a person types it ("珠晖区第二小学")
            unit = tables.org_unit.c
            named = select(unit.id).where(or_(unit.id == f.unit, unit.name.contains(f.unit, autoescape=True)))
            query = query.where(t.org_scope.in_(named))
        for word in f.words():  # in the title too: a unit's or a subject's name finds the task
            query = query.where(or_(t.name.contains(word, autoescape=True), t.title.contains(word, autoescape=True)))
        if f.due:
            query = query.where(*self._due_condition(f, now))
        return query

    def _due_condition(self, f: TaskFilter, now: datetime | None) -> list[Any]:
        if now is None:
            raise InvalidInput("a due-date filter needs the current time")
        t = _TASK
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
        """One task, with its instructions for the person doing it rendered over its data (see
        :meth:`task_instructions`)."""
        with self.database.read() as session:
            task = session.get(HumanTask, task_id)
            if task is None:
                raise NotFound(Phrase("task %(task)s does not exist", task=task_id))
            found = without_case_items(session, viewer, tasks_with_candidates(session, [task]))[0]
        found["instructions"] = self.task_instructions(task_id, viewer or ADMIN)
        return found

    def task_instructions(self, task_id: int, viewer: str) -> dict[str, Any] | None:
        """The task's ``instructionsForEndUser`` rendered over the data it holds (its own, inside a called process,
        over the instance's; an item's input first), as ``markdown`` and safe ``html``, or an ``error`` saying why
        they cannot be shown; None when the model gives none, or in a confidential case for a viewer who may not
        read its record. Variables the model marks sensitive are left out for whoever does not hold the task."""
        with self.database.read() as session:
            row = session.execute(select(ProcessInstance.id, ProcessInstance.definition_id, ProcessInstance.data,
                                         ProcessInstance.workflow_state, HumanTask.spiff_task_id,
                                         HumanTask.item_input, HumanTask.element_id)
                                  .join(HumanTask, HumanTask.instance_id == ProcessInstance.id)
                                  .where(HumanTask.id == task_id)).first()
            if row is None:
                raise NotFound(Phrase("task %(task)s does not exist", task=task_id))
            called = waiting_task_process(row.workflow_state, row.spiff_task_id)
            source = instructions_of(session, row.definition_id, called, row.element_id)
            if source is None:
                return None
            if sensitivity_of(session, row.definition_id).confidential and \
                    not at_least(case_level(session, viewer, row.id), RECORD):
                return None
            hidden = self._hidden_variables(session, row, viewer, task_id)
        own = waiting_task_data(row.workflow_state, row.spiff_task_id) or {}
        data = {**_json_object(row.data), **own, **_json_object(row.item_input)}
        return rendered_instructions(source, {k: v for k, v in data.items() if k not in hidden})

    def offered_to_several(self, task_id: int) -> bool:
        """Whether a task has a pool to go back to: offered to more than one person (a group counts as several).

        A task the model gives one person, or offered to a role only one person holds, has none: giving it
        back (退回待认领) would leave it with the same person or nobody.
        """
        with self.database.read() as session:
            offers = session.execute(select(TaskCandidate.kind, TaskCandidate.value)
                                     .where(TaskCandidate.task_id == task_id)).all()
            if any(kind == "group" for kind, _value in offers):
                return True
            people = {value for kind, value in offers if kind == "user"}
            pairs = [value.split("@", 1) for kind, value in offers if kind == "role" and "@" in value]
            if pairs:
                people |= set(session.scalars(select(RoleAssignment.person_id).where(or_(*(
                    and_(RoleAssignment.role == role, RoleAssignment.unit_id == unit) for role, unit in pairs))
                ).distinct().limit(2)))
            return len(people) > 1

    def task_instance(self, task_id: int) -> int:
        """The instance a task belongs to."""
        with self.database.read() as session:
            instance_id = session.scalar(select(HumanTask.instance_id).where(HumanTask.id == task_id))
        if instance_id is None:
            raise NotFound(Phrase("task %(task)s does not exist", task=task_id))
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

    def delegation_pool(self, task_id: int, delegator: str, *, limit: int = 300) -> list[dict[str, Any]]:
        """Whom ``delegator`` may delegate a task to, by name: the people it is offered to (by name or a role they
        hold) and the people of the units :func:`engine.access.policy.delegation_units` names, exactly as
        :func:`engine.access.policy.may_delegate_to` allows, the delegator and the assignee left out.

        Only for whoever may act on the open task (its assignee, or a candidate who may claim it): a list of a
        unit's staff is no business of an overseer or an earlier step's person (403: they read the task, not act
        on it). A closed task goes to nobody."""
        with self.database.read() as session:
            task = session.get(HumanTask, task_id)
            if task is None:
                raise NotFound(Phrase("task %(task)s does not exist", task=task_id))
            if task.state != "open":
                return []
            if not policy.may_work_on_task(session, task, delegator):
                raise Forbidden(Phrase("only the assignee (%(assignee)s) may delegate task %(task)s",
                                       assignee=task.assignee, task=task_id) if task.assignee
                                else Phrase("%(actor)s is not among the candidates of task %(task)s",
                                            actor=delegator, task=task_id))
            offered = session.execute(select(TaskCandidate.kind, TaskCandidate.value)
                                      .where(TaskCandidate.task_id == task_id)).all()
            users = [value for kind, value in offered if kind == "user"]
            roles = [value.split("@", 1) for kind, value in offered if kind == "role" and "@" in value]
            units = policy.delegation_units(session, task, delegator)
            holding = [and_(RoleAssignment.role == role, RoleAssignment.unit_id == unit) for role, unit in roles]
            if units:
                holding.append(RoleAssignment.unit_id.in_(units))
            found = or_(Person.id.in_(users or [""]),
                        Person.id.in_(select(RoleAssignment.person_id).where(or_(*holding))) if holding else false(),
                        Person.unit_id.in_(units) if units else false())
            left_out = {delegator, task.assignee or delegator}
            people = session.execute(select(Person.id, Person.name).where(found, Person.id.not_in(left_out))
                                     .order_by(Person.unit_id, Person.id).limit(page_limit(limit))).all()
            held: dict[str, list[dict[str, str]]] = {}
            for row in session.execute(select(RoleAssignment.person_id, RoleAssignment.role, OrgUnit.name)
                                       .join(OrgUnit, OrgUnit.id == RoleAssignment.unit_id)
                                       .where(RoleAssignment.person_id.in_([p.id for p in people] or [""]))
                                       .order_by(RoleAssignment.id)):
                held.setdefault(row.person_id, []).append({"role_name": ROLES.get(row.role, row.role),
                                                           "unit_name": row.name})
        return [{"id": person.id, "name": person.name, "roles": held.get(person.id, [])} for person in people]

    def comments(self, task_id: int) -> list[dict[str, Any]]:
        """A task's comments, oldest first."""
        with self.database.read() as session:
            rows = session.execute(select(TaskComment, Person.name).outerjoin(Person, Person.id == TaskComment.author)
                                   .where(TaskComment.task_id == task_id).order_by(TaskComment.id)).all()
            return [{"id": c.id, "author": c.author, "author_name": name, "body": c.body,
                     "created_at": iso(c.created_at)} for c, name in rows]

    def attachments(self, task_id: int) -> list[dict[str, Any]]:
        """A task's attachments (without their bytes), oldest first."""
        a = TaskAttachment
        with self.database.read() as session:
            rows = session.execute(select(a.id, a.task_id, a.name, a.content_type, a.size, a.sha256, a.uploaded_by,
                                          a.uploaded_at, Person.name.label("uploader"))
                                   .outerjoin(Person, Person.id == a.uploaded_by)
                                   .where(a.task_id == task_id).order_by(a.id)).all()
            return [{"id": r.id, "task_id": r.task_id, "name": r.name, "content_type": r.content_type,
                     "size": r.size, "sha256": r.sha256, "uploaded_by": r.uploaded_by, "uploaded_by_name": r.uploader,
                     "uploaded_at": iso(r.uploaded_at)} for r in rows]

    def earlier_attachments(self, task_id: int, referenced: list[int]) -> list[dict[str, Any]]:
        """The files of earlier steps shown on a task page: those attached to the instance's other tasks, and those
        the task's form data references (a case file uploaded at the school, shown to the expert); each with its
        step's name and its uploader's name."""
        a = TaskAttachment
        with self.database.read() as session:
            instance_id = session.scalar(select(HumanTask.instance_id).where(HumanTask.id == task_id))
            if instance_id is None:
                raise NotFound(Phrase("task %(task)s does not exist", task=task_id))
            # 独立评分: the files of the other items of a multi-instance task (another expert's) are not earlier steps
            others = [task_id, *_sibling_items(session, task_id)]
            rows = session.execute(
                select(a.id, a.name, a.size, a.uploaded_by, a.uploaded_at, HumanTask.name.label("step"))
                .join(HumanTask, HumanTask.id == a.task_id)
                .where(or_(and_(a.instance_id == instance_id, a.task_id.not_in(others)),
                           a.id.in_(referenced or [-1])))
                .order_by(a.id).limit(200)).all()
            people = {r.uploaded_by for r in rows}
            names = dict(session.execute(select(Person.id, Person.name).where(Person.id.in_(people))).all()) \
                if people else {}
        return [{"id": r.id, "name": r.name, "size": r.size, "step": r.step, "uploaded_by": r.uploaded_by,
                 "uploaded_by_name": names.get(r.uploaded_by), "uploaded_at": iso(r.uploaded_at)} for r in rows]

    def attachment_task(self, attachment_id: int) -> int:
        """The task an attachment belongs to (whoever may see that task may download it)."""
        with self.database.read() as session:
            task_id = session.scalar(select(TaskAttachment.task_id).where(TaskAttachment.id == attachment_id))
        if task_id is None:
            raise NotFound(Phrase("attachment %(id)s does not exist", id=attachment_id))
        return task_id

    def attachment(self, attachment_id: int) -> tuple[str, str, bytes]:
        """An attachment's name, content type and bytes."""
        a = TaskAttachment
        with self.database.read() as session:
            row = session.execute(select(a.name, a.content_type, a.content).where(a.id == attachment_id)).first()
        if row is None:
            raise NotFound(Phrase("attachment %(id)s does not exist", id=attachment_id))
        return row.name, row.content_type, bytes(row.content)

    def task_history(self, task_id: int, *, limit: int = 50, viewer: str | None = None) -> dict[str, Any]:
        """The newest events of a task's instance (shown beside the task), with the actors' names; of a
        confidential case, only as far as ``viewer`` may read it."""
        limit = page_limit(limit, 200)
        with self.database.read() as session:
            instance_id = session.scalar(select(HumanTask.instance_id).where(HumanTask.id == task_id))
            if instance_id is None:
                raise NotFound(Phrase("task %(task)s does not exist", task=task_id))
            level = case_level(session, viewer, instance_id)
            if level == STATUS:
                return {"instance_id": instance_id, "total": 0, "shown": 0, "events": []}
            shown = Event.instance_id == instance_id
            siblings = _sibling_items(session, task_id)
            if siblings:  # 独立评分: one item of a multi-instance task does not show its siblings' work
                shown = and_(shown, or_(Event.task_id.is_(None), Event.task_id.not_in(siblings)))
            total = session.scalar(select(func.count()).select_from(Event).where(shown))
            events = session.scalars(select(Event).where(shown).order_by(Event.id.desc()).limit(limit)).all()
            listed = [{**event_row(e)} for e in events]
            actors = {e.actor for e in events if e.actor} | {str(row["detail"]["assignee"]) for row in listed
                                                             if row["detail"].get("assignee")}
            names = dict(session.execute(select(Person.id, Person.name).where(Person.id.in_(actors))).all()) \
                if actors else {}
            task_ids = {e.task_id for e in events if e.task_id}
            titles = {row.id: row.title or row.name for row in session.execute(
                select(HumanTask.id, HumanTask.title, HumanTask.name).where(HumanTask.id.in_(task_ids)))} \
                if task_ids else {}
            listed = [{**row, "actor_name": names.get(row["actor"] or ""),
                       "by_system": not row["actor"] or row["actor"] in SYSTEM_ACTORS,
                       "assignee_name": names.get(str(row["detail"].get("assignee") or "")),
                       "task_title": titles.get(row["task_id"]) if row["task_id"] else None} for row in listed]
            if level is not None and level != RECORD:
                # what the detail said is wiped, and whom a task went to with it (the assignee's name)
                listed = [{**event, "detail": {}, "assignee_name": None} for event in listed]
            return {"instance_id": instance_id, "total": int(total or 0), "shown": len(events), "events": listed}

    def task_form(self, task_id: int) -> dict[str, Any] | None:
        """The form-js schema of a task's form, or None when the task has no form. A task whose form is a JSON
        Schema (``formJsonSchemaFilename``) gets a form-js form of the fields it asks for
        (:func:`engine.json_schema_forms.as_form_js`).

        The version is the one the instance's process version was deployed with (the newest, for a
        version deployed before its form was): a running instance keeps its forms.
        """
        with self.database.read() as session:
            task = session.execute(select(HumanTask.form_key, ProcessInstance.definition_id)
                                   .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
                                   .where(HumanTask.id == task_id)).first()
            if task is None or task.form_key is None:
                return None
            json_schema = self._json_schema_files(session, task.definition_id, task.form_key)
            if json_schema is not None:
                return as_form_js(task.form_key, *json_schema, data=self._choices_data(session, task_id, *json_schema))
            content = session.scalar(self._form_query(session, task.definition_id, task.form_key))
        return json.loads(content) if content else None

    def task_json_schema(self, task_id: int) -> dict[str, Any] | None:
        """A task's JSON-schema form as its process version keeps it: ``schema`` and ``ui_schema`` (for a renderer
        such as RJSF); None when the task's form is not one."""
        with self.database.read() as session:
            task = session.execute(select(HumanTask.form_key, ProcessInstance.definition_id)
                                   .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
                                   .where(HumanTask.id == task_id)).first()
            found = None if task is None or task.form_key is None else \
                self._json_schema_files(session, task.definition_id, task.form_key)
        return None if found is None else {"schema": found[0], "ui_schema": found[1]}

    @staticmethod
    def _choices_data(session: Session, task_id: int, schema: dict[str, Any], _ui: dict[str, Any]) -> dict[str, Any]:
        """The lists of the task's data a JSON-schema form takes its choices from (none the model marks sensitive)."""
        names = set(choice_variables(schema))
        if not names:
            return {}
        row = session.execute(select(ProcessInstance.definition_id, ProcessInstance.data,
                                     ProcessInstance.workflow_state, HumanTask.spiff_task_id, HumanTask.item_input)
                              .join(HumanTask, HumanTask.instance_id == ProcessInstance.id)
                              .where(HumanTask.id == task_id)).one()
        names -= sensitivity_of(session, row.definition_id).variables
        own = waiting_task_data(row.workflow_state, row.spiff_task_id) or {}
        data = {**_json_object(row.data), **own, **_json_object(row.item_input)}
        return {name: value for name, value in data.items() if name in names}

    @staticmethod
    def _json_schema_files(session: Session, definition_id: int,
                           name: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The JSON Schema named ``name`` that the process version keeps, and its UI schema ({} without one)."""
        rows = dict(session.execute(
            select(DefinitionArtifact.kind, DeploymentResource.content)
            .join(ProcessDefinition, ProcessDefinition.id == DefinitionArtifact.definition_id)
            .join(DeploymentResource, (DeploymentResource.deployment_id == ProcessDefinition.deployment_id)
                  & (DeploymentResource.name == DefinitionArtifact.resource_name))
            .where(DefinitionArtifact.definition_id == definition_id, DefinitionArtifact.artifact_key == name,
                   DefinitionArtifact.kind.in_((SCHEMA_KIND, UI_SCHEMA_KIND)))).all())
        if SCHEMA_KIND not in rows:
            return None
        ui = rows.get(UI_SCHEMA_KIND)
        return json.loads(bytes(rows[SCHEMA_KIND])), ui_schema(bytes(ui)) if ui is not None else {}

    def task_form_data(self, task_id: int, schema: dict[str, Any] | None, viewer: str) -> dict[str, Any]:
        """The data a task's form opens with: the rows the process set for its fixed lists (``properties.rowsFrom``:
        a checking sheet opens with one row per teacher) and the process data it names for showing
        (:mod:`engine.form_context`), and nothing else.

        The values are the task's own data (a task inside a called subprocess sees the subprocess's: the draft a
        leader signs), over the instance's; a multi-instance item's own input (the case an expert scores) first.
        Variables the model marks sensitive are filled only for whoever holds the task, and in a confidential case
        only for a reader of its record.
        """
        components = (schema or {}).get("components")
        wanted = {c["path"]: c["properties"]["rowsFrom"] for c in _dynamic_lists(components)}
        shown = shown_names(components)
        if not wanted and not shown:
            return {}
        with self.database.read() as session:
            row = session.execute(select(ProcessInstance.id, ProcessInstance.definition_id, ProcessInstance.data,
                                         ProcessInstance.workflow_state, HumanTask.spiff_task_id, HumanTask.item_input)
                                  .join(HumanTask, HumanTask.instance_id == ProcessInstance.id)
                                  .where(HumanTask.id == task_id)).first()
            if row is None:
                raise NotFound(Phrase("task %(task)s does not exist", task=task_id))
            hidden = self._hidden_variables(session, row, viewer, task_id)
        data = _json_object(row.data)
        item = _json_object(row.item_input)
        rows = {path: data[name] for path, name in wanted.items()
                if isinstance(data.get(name), list) and name not in hidden}
        own = waiting_task_data(row.workflow_state, row.spiff_task_id) if shown else None  # inside a call activity
        values = {name: value for name, value in {**data, **(own or {}), **item}.items()
                  if name in shown and name not in hidden}
        return {**markdown_safe(components, values), **rows}

    def _hidden_variables(self, session: Session, row: Any, viewer: str, task_id: int) -> frozenset[str]:
        """The variables ``viewer`` may not see of a task's data (``row``: its instance id, definition, stored state
        and spiff task id): those the model marks sensitive, for anyone but the task's holder, and in a confidential
        case for anyone but a reader of its record."""
        sensitivity = sensitivity_of(session, row.definition_id)
        # a task inside a called process shows that process's data: its sensitive variables are hidden too
        hidden = sensitivity.variables | _called_sensitive_variables(session, row.definition_id,
                                                                     row.workflow_state, row.spiff_task_id)
        if sensitivity.confidential:
            return frozenset() if at_least(case_level(session, viewer, row.id), RECORD) else hidden
        if hidden and self.holds_task(viewer, task_id):
            return frozenset()
        return hidden

    @staticmethod
    def _form_query(session: Session, definition_id: int, form_key: str) -> Any:
        pinned = session.scalar(select(DefinitionArtifact.form_version).where(
            DefinitionArtifact.definition_id == definition_id, DefinitionArtifact.kind == "form",
            DefinitionArtifact.artifact_key == form_key))
        query = select(FormDefinition.content).where(FormDefinition.form_key == form_key)
        if pinned is not None:
            return query.where(FormDefinition.version == pinned)
        return query.order_by(FormDefinition.version.desc()).limit(1)

    def saved_filters(self, owner: str) -> list[dict[str, Any]]:
        """A person's saved inbox filters, by name."""
        with self.database.read() as session:
            rows = session.scalars(select(SavedFilter).where(SavedFilter.owner == owner)
                                   .order_by(SavedFilter.name, SavedFilter.id)).all()
            return [{"id": r.id, "name": r.name, "filters": json.loads(r.filters), "created_at": iso(r.created_at)}
                    for r in rows]


#: Actors that are the engine itself (the worker, the scheduler), shown as 系统 rather than by an id.
SYSTEM_ACTORS = frozenset({"system", "scheduler"})


def _sibling_items(session: Session, task_id: int) -> list[int]:
    """The other items of the multi-instance task ``task_id`` is an item of (none for a plain task)."""
    group = session.scalar(select(HumanTask.item_group_id).where(HumanTask.id == task_id))
    if group is None:
        return []
    return list(session.scalars(select(HumanTask.id).where(HumanTask.item_group_id == group,
                                                             HumanTask.id != task_id)))


def _called_sensitive_variables(session: Session, definition_id: int, state: str | None,
                                spiff_task_id: str) -> frozenset[str]:
    """The variables marked sensitive by the process a task waits in when that is a called one (deployed with
    the instance's own process, or else its newest version); none for a task of the instance's own process."""
    called = waiting_task_process(state, spiff_task_id)
    if called is None:
        return frozenset()
    deployment = select(ProcessDefinition.deployment_id).where(ProcessDefinition.id == definition_id)
    found = session.scalar(select(ProcessDefinition.id).where(ProcessDefinition.key == called).order_by(
        ProcessDefinition.deployment_id.in_(deployment).desc(), ProcessDefinition.version.desc()).limit(1))
    return sensitivity_of(session, found).variables if found is not None else frozenset()


#: The task table again, for the inbox's id lookups; made once, as building an alias costs more than the query.
_INNER = tables.human_task.alias("inner_task")


def _json_object(text: str | None) -> dict[str, Any]:
    found = json.loads(text or "{}")
    return found if isinstance(found, dict) else {}


def _sees_all(session: Session, user: str | None) -> bool:
    """Whether ``user``'s 'open' inbox view is everyone's open tasks: it is, for an administrator."""
    return user is not None and policy.is_administrator(session, user)


def _task_order(f: TaskFilter) -> list[Any]:
    """Due first (no due date last), or latest due first, or newest first; a done list shows the latest done first."""
    t = _TASK
    if f.view == "done":
        return [t.completed_at.desc(), t.id.desc()]
    if f.sort == "newest":
        return [t.id.desc()]
    if f.sort == "due_desc":
        return [t.due_at.is_(None), t.due_at.desc(), t.id.desc()]
    return [t.due_at.is_(None), t.due_at, t.id]


def _dynamic_lists(components: Any) -> list[dict[str, Any]]:
    """The dynamic lists of a form-js schema whose rows the process sets, inside groups too."""
    found = []
    for component in components if isinstance(components, list) else []:
        if not isinstance(component, dict):
            continue
        properties = component.get("properties")
        if component.get("type") == "dynamiclist" and isinstance(component.get("path"), str) \
                and isinstance(properties, dict) and isinstance(properties.get("rowsFrom"), str):
            found.append(component)
        elif component.get("type") == "group":
            found += _dynamic_lists(component.get("components"))
    return found
