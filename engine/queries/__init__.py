"""The read side: every read-only question the entry points ask, answered from the narrow indexed tables (no
workflow is deserialised here). It mirrors :mod:`engine.commands`: one module per family of questions.

=================  =====================================================================================
``tasks``          the inbox (lists, pages, counts), a task, its comments, attachments, history and form,
                   saved filters
``instances``      an instance, its history, the instance list and counts, documents, coverage, fan-out
                   status, and the read-access questions (engine.access.policy / confidential)
``models``         process definitions and names, deployed BPMN, DMN and forms, model validation
``directory``      people, units, the whole directory, unit ids, people's names
``accounts``       sessions, tokens, administrators, service accounts, accounts that may use the pages
``scheduling``     schedule fires and watermarks, timer schedules, due jobs, job payloads, webhook targets
``operations``     the org tree and schedules of the operations pages; jobs, incidents and webhooks lists
``dashboard``      the dashboard's scope and figures
``monthly``        一月一查 oversight (per county and school of a month) and the teacher appraisal ledger
``official_documents``  a unit's register of issued documents (发文登记簿) and who reads it
``starting``       what a person may start by hand (发起事项), and where a start's work went
``calendar``       working days (:class:`CalendarQueries`)
``audit``          the audit log
``rows``           what the families share: page limits, allowed values, rows as dicts
``case_reading``   how much of a confidential or sensitive case a viewer may read
``notification_deliveries``  notification deliveries: what a worker sends, per-minute counts, the admin list
=================  =====================================================================================

``counselling_rooms`` answers for schools' counselling room registers (§四.5): a school's, a county's list, and
the register of an instance's school.

:class:`Queries` stays one object, ``huhua.queries``, composed from one mixin per family. Mixins rather than
sub-objects with delegating methods: callers ask ``huhua.queries.tasks(...)`` and some eighty methods like it,
and delegation would write every signature and docstring twice; the families share no state but the
``database`` (and the task family the working calendar), which each mixin declares as an attribute it reads.
No mixin calls another's method: what two families share is a function in ``rows``, ``case_reading`` or
``directory.unit_path``. The objects reached by attribute (``.calendar``, ``.operations``, ``.accounts``,
``.audit``, ``.notifications``) stay the sub-objects they were. Imports run one way: ``__init__`` imports the
families, the families import ``rows`` and their helpers, never ``engine.queries`` itself.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from engine.connectors.registry import ConnectorRegistry
from engine.queries.accounts import AccountFamily, AccountQueries
from engine.queries.audit import AuditQueries
from engine.queries.calendar import CalendarQueries
from engine.queries.counselling_rooms import CounsellingRoomFamily
from engine.queries.dashboard import DashboardFamily
from engine.queries.directory import DirectoryFamily
from engine.queries.instances import InstanceFamily
from engine.queries.models import ModelFamily
from engine.queries.monthly import MonthlyFamily
from engine.queries.notification_deliveries import NotificationDeliveryFamily
from engine.queries.notifications import NotificationQueries
from engine.queries.official_documents import OfficialDocumentFamily
from engine.queries.operations import OperationsFamily, OperationsQueries
from engine.queries.scheduling import SchedulingFamily
from engine.queries.starting import StartingFamily
from engine.queries.tasks import TaskFamily
from engine.store.database import Database

__all__ = ["CalendarQueries", "Queries"]


class Queries(TaskFamily, InstanceFamily, ModelFamily, DirectoryFamily, AccountFamily, SchedulingFamily,
              OperationsFamily, DashboardFamily, MonthlyFamily, OfficialDocumentFamily, CounsellingRoomFamily,
              StartingFamily, NotificationDeliveryFamily):
    """Every read-only question of the engine, one method each (see the families above)."""

    def __init__(self, database: Database, max_model_bytes: int, schedules_file: Path | None = None,
                 connectors: ConnectorRegistry | None = None) -> None:
        self.database = database
        self.max_model_bytes = max_model_bytes
        #: The connectors a service task may name (checking a model refuses others, as deploying it does).
        self.connectors = connectors or ConnectorRegistry()
        #: The shipped schedules (config/schedules.toml), shown until the scheduler first loads them.
        self.schedules_file = schedules_file
        self.calendar = CalendarQueries(database)
        self.operations = OperationsQueries(database, self.calendar)
        #: Sessions and tokens (engine.queries.accounts).
        self.accounts = AccountQueries(database)
        self.audit = AuditQueries(database)
        #: The notification centre, a person's choices, the role defaults (engine.queries.notifications).
        self.notifications = NotificationQueries(database)

    def working_days_after(self, day: date | str, n: int | str) -> dict[str, Any]:
        """The date ``n`` working days after ``day``, on the official calendar with administrators' overrides."""
        return self.calendar.working_days_after(day, n)

    def is_working_day(self, day: date | str) -> dict[str, Any]:
        return self.calendar.is_working_day(day)

    def calendar_overrides(self, year: int | str) -> list[dict[str, Any]]:
        return self.calendar.overrides(year)

    def calendar_year(self, year: int | str) -> dict[str, Any]:
        return self.calendar.year(year)
