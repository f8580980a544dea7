"""Tables. Lists and inboxes read the narrow, indexed tables; only commands read instance state."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Id = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone, so naive values read back as UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use the engine clock")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Deployment(Base):
    """One act of deploying a set of files; its resources are the files exactly as received."""

    __tablename__ = "deployment"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(20))  # shipped | api | cli
    deployed_by: Mapped[str] = mapped_column(String(100))
    deployed_at: Mapped[datetime] = mapped_column(UtcDateTime())


class DeploymentResource(Base):
    __tablename__ = "deployment_resource"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployment.id"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))


class ProcessDefinition(Base):
    """One version of one process. Instances keep the version they started on."""

    __tablename__ = "process_definition"
    __table_args__ = (UniqueConstraint("key", "version", name="uq_process_definition_key_version"),
                      Index("ix_process_definition_model_path", "model_path"))
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300))
    content_hash: Mapped[str] = mapped_column(String(64))
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployment.id"))
    resource_name: Mapped[str] = mapped_column(String(300))
    deployed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    #: The process model (:class:`ProcessModel`) the process belongs to; None for files deployed on their own.
    model_path: Mapped[str | None] = mapped_column(String(300))


class ProcessModel(Base):
    """A spiff-arena process model: a folder with ``process_model.json``, known by its path below the group root.

    Its process ids are its own: a folder deploying a process id of another folder is refused. The names and the
    primary process are the newest deployment's (like spiff-arena, the display name is not versioned).
    """

    __tablename__ = "process_model"
    path: Mapped[str] = mapped_column(String(300), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    primary_file_name: Mapped[str] = mapped_column(String(300))
    primary_process_id: Mapped[str] = mapped_column(String(200))
    deployed_by: Mapped[str] = mapped_column(String(100))
    deployed_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ShippedFile(Base):
    """What each file under processes/ looked like when it was last deployed at start-up."""

    __tablename__ = "shipped_file"
    path: Mapped[str] = mapped_column(String(300), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    shipped_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ProcessInstance(Base):
    __tablename__ = "process_instance"
    __table_args__ = (
        Index("ix_process_instance_key_state", "process_key", "state"),
        Index("ix_process_instance_business_key", "business_key"),
        Index("ix_process_instance_org_scope", "org_scope", "state"),
        Index("ix_process_instance_parent", "parent_instance_id"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"))
    process_key: Mapped[str] = mapped_column(String(200))
    business_key: Mapped[str | None] = mapped_column(String(200))
    org_scope: Mapped[str | None] = mapped_column(String(100))
    parent_instance_id: Mapped[int | None] = mapped_column(Id)
    #: running | completed | incident | suspended | terminated
    state: Mapped[str] = mapped_column(String(20))
    #: Optimistic lock: every write checks and bumps it.
    version: Mapped[int] = mapped_column(Integer)
    started_by: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    #: The workflow's data as JSON, for reading without deserialising the workflow.
    data: Mapped[str] = mapped_column(Text)
    #: SpiffWorkflow task tree (without the spec); dropped once the instance has ended.
    workflow_state: Mapped[str | None] = mapped_column(Text)
    #: JSON: the open work last published (task, item, timer and message ids), diffed on every save.
    waits: Mapped[str | None] = mapped_column(Text)


class HumanTask(Base):
    """A task a person must do: the inbox reads this table and nothing else."""

    __tablename__ = "human_task"
    __table_args__ = (
        Index("ix_human_task_assignee", "assignee", "state", "due_at"),
        Index("ix_human_task_scope", "org_scope", "state", "due_at"),
        Index("ix_human_task_instance", "instance_id", "state"),
        Index("ix_human_task_items", "item_group_id", "state"),
        Index("ix_human_task_completed_by", "completed_by", "completed_at"),
        Index("ix_human_task_state_due", "state", "due_at"),  # the dashboard's overdue work
        Index("ix_human_task_element", "process_key", "element_id"),  # the dashboard's monthly self-checks
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    #: The SpiffWorkflow task; for a multi-instance item, the multi-instance task.
    spiff_task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(300))
    #: What a person reads: the task with its unit and subject named (see engine.runtime.task_titles); None for
    #: tasks created before titles were kept, shown by name.
    title: Mapped[str | None] = mapped_column(String(300))
    process_key: Mapped[str] = mapped_column(String(200))
    #: open | completed | cancelled
    state: Mapped[str] = mapped_column(String(20))
    assignee: Mapped[str | None] = mapped_column(String(100))
    org_scope: Mapped[str | None] = mapped_column(String(100))
    form_key: Mapped[str | None] = mapped_column(String(200))
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    completed_by: Mapped[str | None] = mapped_column(String(100))
    item_group_id: Mapped[int | None] = mapped_column(Id)
    item_key: Mapped[str | None] = mapped_column(Text)  # JSON: the item's key or index
    #: JSON: for an item, the data it starts with; after completion, the data it was completed with.
    item_input: Mapped[str | None] = mapped_column(Text)
    item_output: Mapped[str | None] = mapped_column(Text)


class TaskCandidate(Base):
    """Who may claim an unassigned task: a user id or a role (group).

    Rows outlive their task (who was offered a finished task may still read it), so ``task_open`` mirrors
    whether the task is open: a group inbox reads only the offers still open through its index, instead of
    every offer the role ever had (a county officer's role has thousands of finished ones in a year).
    """

    __tablename__ = "task_candidate"
    __table_args__ = (Index("ix_task_candidate_open_lookup", "kind", "value", "task_open", "task_id"),)
    task_id: Mapped[int] = mapped_column(ForeignKey("human_task.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)  # user | group
    value: Mapped[str] = mapped_column(String(100), primary_key=True)
    task_open: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class ItemGroup(Base):
    """The item instances of one parallel multi-instance human task, counted without loading the workflow."""

    __tablename__ = "item_group"
    __table_args__ = (Index("ix_item_group_instance", "instance_id", "spiff_task_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    spiff_task_id: Mapped[str] = mapped_column(String(36))
    total: Mapped[int] = mapped_column(Integer)
    done: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20))  # open | finished | cancelled


class Job(Base):
    """Background work due at a time: timers now; async steps, service calls and webhooks later."""

    __tablename__ = "job"
    __table_args__ = (
        Index("ix_job_due", "state", "due_at"),
        Index("ix_job_instance", "instance_id", "state"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(30))  # timer | scheduled_start
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    spiff_task_id: Mapped[str | None] = mapped_column(String(36))
    element_id: Mapped[str | None] = mapped_column(String(200))
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    #: pending | done | cancelled | failed
    state: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    #: What a job without an instance needs to run (JSON): the occurrence of a scheduled start, say.
    payload: Mapped[str | None] = mapped_column(Text)


class MessageSubscription(Base):
    """A task waiting for a named message or signal; correlation reads this index, never instance state."""

    __tablename__ = "message_subscription"
    __table_args__ = (
        Index("ix_message_subscription_lookup", "message_name", "correlation_key"),
        Index("ix_message_subscription_instance", "instance_id"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    spiff_task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(200))
    #: message | signal
    kind: Mapped[str] = mapped_column(String(10), server_default="message")
    message_name: Mapped[str] = mapped_column(String(200))
    #: The business key, or the value of the message's correlation properties (engine.runtime.correlation).
    correlation_key: Mapped[str | None] = mapped_column(String(200))
    #: Whether the catching element takes a message that carries no key (``keylessMessages``).
    keyless: Mapped[bool] = mapped_column(Boolean, server_default="0")
    #: Where thrown events may come from (``eventSenders``): same_or_above | same_or_below | anywhere.
    senders: Mapped[str] = mapped_column(String(20), server_default="same_or_above")
    #: The variables a message from outside may bring (``messageVariables``, comma-separated); None: none.
    accepts: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class KeptMessage(Base):
    """A message an instance threw with a key before any instance waited for it: kept until one does (or it
    expires), as spiff-arena and Zeebe keep them, so a reply that outruns its receiver is not lost."""

    __tablename__ = "kept_message"
    __table_args__ = (Index("ix_kept_message_lookup", "message_name", "correlation_key"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    message_name: Mapped[str] = mapped_column(String(200))
    correlation_key: Mapped[str] = mapped_column(String(200))
    #: The message's payload (JSON).
    payload: Mapped[str] = mapped_column(Text)
    #: The instance that threw it (kept for the record; the instance may be gone by the time it is delivered).
    sender_instance_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    #: The sender's org scope: a kept message reaches only receivers in its reach, as a delivered one does.
    sender_scope: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())


class StartTrigger(Base):
    """A message or signal start event of a deployed process: what starts a new instance when it arrives."""

    __tablename__ = "start_trigger"
    __table_args__ = (Index("ix_start_trigger_lookup", "kind", "name"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"))
    process_key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))  # message | signal
    name: Mapped[str] = mapped_column(String(200))
    element_id: Mapped[str] = mapped_column(String(200))


class Incident(Base):
    __tablename__ = "incident"
    __table_args__ = (Index("ix_incident_instance", "instance_id", "resolved_at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    element_id: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Event(Base):
    """The audit history: what happened to which instance, when, and who did it."""

    __tablename__ = "event"
    __table_args__ = (Index("ix_event_instance", "instance_id", "id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    instance_id: Mapped[int | None] = mapped_column(Id)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    kind: Mapped[str] = mapped_column(String(40))
    element_id: Mapped[str | None] = mapped_column(String(200))
    task_id: Mapped[int | None] = mapped_column(Id)
    actor: Mapped[str | None] = mapped_column(String(100))
    detail: Mapped[str | None] = mapped_column(Text)  # JSON


class WorkdayOverride(Base):
    """An administrator's ruling on one date (working day or holiday); it wins over the official calendar."""

    __tablename__ = "workday_override"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    working: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str | None] = mapped_column(String(300))
    set_by: Mapped[str] = mapped_column(String(100))
    set_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ScheduleFire(Base):
    """One occurrence of a schedule that started work: the idempotency key of scheduled starts.

    The unique (schedule, fire time, org unit) means a scheduler that fires twice, or two schedulers,
    or a retry after a crash, never start the same occurrence twice.
    """

    __tablename__ = "schedule_fire"
    __table_args__ = (UniqueConstraint("schedule_key", "fire_time", "org_unit", name="uq_schedule_fire_occurrence"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    schedule_key: Mapped[str] = mapped_column(String(200))
    fire_time: Mapped[datetime] = mapped_column(UtcDateTime())
    #: The org unit the occurrence started for; '' when the schedule starts one instance.
    org_unit: Mapped[str] = mapped_column(String(100), server_default="")
    instance_id: Mapped[int | None] = mapped_column(Id)
    late: Mapped[bool] = mapped_column(Boolean, server_default="0")
    fired_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ScheduleWatermark(Base):
    """How far the scheduler has looked at a schedule: after downtime it fires what it missed since then."""

    __tablename__ = "schedule_watermark"
    schedule_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    checked_until: Mapped[datetime] = mapped_column(UtcDateTime())


class ScheduleDefinition(Base):
    """A schedule as it is in force: loaded from config/schedules.toml, or as an administrator changed it.

    ``shipped_sha256`` is the shipped entry last loaded; a restart loads an entry again only when the file's
    entry changed, so an administrator's edit survives restarts (as with shipped processes).
    """

    __tablename__ = "schedule_definition"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    process_key: Mapped[str] = mapped_column(String(100))
    #: The entry, as JSON in the file's shape (engine.schedules.Schedule.entry).
    entry: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean)
    #: shipped (as the file says), edited (by an administrator) or withdrawn (gone from the file; paused).
    origin: Mapped[str] = mapped_column(String(20))
    shipped_sha256: Mapped[str | None] = mapped_column(String(64))
    changed_by: Mapped[str] = mapped_column(String(100))
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime())


class TermCalendarSetting(Base):
    """The school term calendar an administrator set (one row; none: the defaults of engine.org.term_calendar)."""

    __tablename__ = "term_calendar"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Comma-separated month numbers, such as "2,7,8".
    holiday_months: Mapped[str] = mapped_column(String(40))
    spring_start: Mapped[str] = mapped_column(String(5))
    spring_end: Mapped[str] = mapped_column(String(5))
    autumn_start: Mapped[str] = mapped_column(String(5))
    autumn_end: Mapped[str] = mapped_column(String(5))
    set_by: Mapped[str] = mapped_column(String(100))
    set_at: Mapped[datetime] = mapped_column(UtcDateTime())


class OrgUnit(Base):
    """A unit of the org directory: the city bureau, a department, a county bureau, a school, a teaching point.

    ``path`` lists the unit's ancestors and itself as ``kind:id`` steps
    (``/city:hy/county:zhuhui/school:zhuhui-s001/``), so "every school of a county" is one indexed
    prefix read and "the county above this school" is read off one row, without recursion.
    """

    __tablename__ = "org_unit"
    __table_args__ = (Index("ix_org_unit_kind_path", "kind", "path"), Index("ix_org_unit_parent", "parent_id"))
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # city | department | county | school | teaching_point | outside
    parent_id: Mapped[str | None] = mapped_column(String(100))
    path: Mapped[str] = mapped_column(String(1000))
    sort_order: Mapped[int] = mapped_column(Integer, server_default="0")


class Person(Base):
    """Somebody who works through the inbox; ``id`` is the log-in name tasks are assigned to."""

    __tablename__ = "person"
    __table_args__ = (Index("ix_person_unit", "unit_id"),)
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    unit_id: Mapped[str] = mapped_column(String(100))
    #: The mobile number: SMS, and the @-mention in a WeCom or DingTalk group.
    phone: Mapped[str | None] = mapped_column(String(30))
    email: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, server_default="1")


class RoleAssignment(Base):
    """A person holds a role at a unit (principal of a school, programme officer of a county bureau, ...)."""

    __tablename__ = "role_assignment"
    __table_args__ = (
        UniqueConstraint("person_id", "unit_id", "role", name="uq_role_assignment_holder"),
        Index("ix_role_assignment_unit_role", "unit_id", "role"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(String(100))
    unit_id: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(40))


class WebhookSubscription(Base):
    """An outside system that wants to hear about engine events (task created, instance completed, ...)."""

    __tablename__ = "webhook_subscription"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(String(1000))
    #: '*' or a comma-separated list of event kinds.
    events: Mapped[str] = mapped_column(String(1000))
    #: Signs each delivery (Standard Webhooks: ``whsec_`` + base64 key), so the receiver knows it came from us.
    secret: Mapped[str] = mapped_column(String(200))
    #: The secret before the last rotation: deliveries carry its signature too until ``previous_secret_until``.
    previous_secret: Mapped[str | None] = mapped_column(String(200))
    previous_secret_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    active: Mapped[bool] = mapped_column(Boolean, server_default="1")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class InboundWebhook(Base):
    """A request an outside system sent in, under its idempotency key: a repeat gets the first answer."""

    __tablename__ = "inbound_webhook"
    #: Keys are the caller's own: one caller's key never answers or blocks another caller's request.
    caller: Mapped[str] = mapped_column(String(100), primary_key=True, server_default="")
    idempotency_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    message_name: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    response: Mapped[str] = mapped_column(Text)  # JSON


class FanOut(Base):
    """A task that started one child instance per org unit (every county, every school of a county, ...).

    The parent's task waits until ``done`` reaches ``total``; a deadline (a boundary timer) closes it early,
    and the children not done by then are what coverage lists as missing.
    """

    __tablename__ = "fan_out"
    __table_args__ = (Index("ix_fan_out_parent", "parent_instance_id", "spiff_task_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    parent_instance_id: Mapped[int] = mapped_column(Id)
    spiff_task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(200))
    process_key: Mapped[str] = mapped_column(String(200))
    for_each: Mapped[str] = mapped_column(String(100))
    #: JSON: the variables every child starts with, and the role whose holders each child is given.
    settings: Mapped[str] = mapped_column(Text)
    total: Mapped[int] = mapped_column(Integer)
    done: Mapped[int] = mapped_column(Integer, server_default="0")
    #: open | done | closed (the parent stopped waiting)
    state: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class FanOutChild(Base):
    """One unit of a fan-out and its child instance: the row coverage reads."""

    __tablename__ = "fan_out_child"
    __table_args__ = (Index("ix_fan_out_child_instance", "instance_id"),)
    fan_out_id: Mapped[int] = mapped_column(Id, primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(Id)
    #: pending (not started yet) | running | completed | incident
    state: Mapped[str] = mapped_column(String(10))
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class InstanceFigure(Base):
    """The figures reports read from an instance's data (its period, score and band), kept narrow and written
    with the instance, so the dashboard never parses instance data at city scale."""

    __tablename__ = "instance_figure"
    __table_args__ = (Index("ix_instance_figure_process_period", "process_key", "period"),)
    instance_id: Mapped[int] = mapped_column(Id, primary_key=True)
    process_key: Mapped[str] = mapped_column(String(200))
    period: Mapped[str | None] = mapped_column(String(7))  # YYYY-MM
    score: Mapped[float | None] = mapped_column(Float)
    band: Mapped[str | None] = mapped_column(String(20))


class FormDefinition(Base):
    """A task form (form-js schema), versioned like processes: a new version when its content changes."""

    __tablename__ = "form_definition"
    __table_args__ = (UniqueConstraint("form_key", "version", name="uq_form_definition_version"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    form_key: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    deployed_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Document(Base):
    """A generated document (a monthly circular, an assessment, a certificate) and the instance it belongs to."""

    __tablename__ = "document"
    __table_args__ = (Index("ix_document_instance", "instance_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    instance_id: Mapped[int | None] = mapped_column(Id)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(60))
    content_type: Mapped[str] = mapped_column(String(100))
    #: None for an official document's draft, drawn when read from the ``official_document`` it is the draft of.
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    size: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    draft_of: Mapped[int | None] = mapped_column(Id)


class Account(Base):
    """Who may call: a person of the org directory (or the administrator) with a hashed password, or a service
    account (a system that sends messages) that has no password and calls with API tokens only."""

    __tablename__ = "account"
    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    is_admin: Mapped[bool] = mapped_column(Boolean, server_default="0")
    active: Mapped[bool] = mapped_column(Boolean, server_default="1")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    #: person (logs in to pages) | service (a system that sends messages: API tokens only, no password).
    kind: Mapped[str] = mapped_column(String(20), server_default="person")
    #: A service account's messages, comma-separated: the only ones it may deliver.
    messages: Mapped[str | None] = mapped_column(Text)
    #: A service account's unit: it delivers only to instances at that unit or below (None: anywhere).
    scope_unit: Mapped[str | None] = mapped_column(String(100))


class ApiToken(Base):
    """A token a program calls the API with; only its hash is kept, the token is shown once. It stops at
    ``expires_at`` or when revoked; ``last_used_at`` is kept to about a minute."""

    __tablename__ = "api_token"
    __table_args__ = (Index("ix_api_token_username", "username", "id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    username: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AccountSession(Base):
    """A browser's log-in, kept on the server so that log-out, a new password or deactivation ends it: the
    signed cookie holds only a random key whose hash is here, and a cookie whose row has ended is refused."""

    __tablename__ = "account_session"
    __table_args__ = (Index("ix_account_session_username", "username", "ended_at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    username: Mapped[str] = mapped_column(String(100))
    remote: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class LoginFailure(Base):
    """A wrong password, once for the account name tried and once for the address it came from: the log-in
    throttle counts these (in the database, so every web process and restart sees the same counts)."""

    __tablename__ = "login_failure"
    __table_args__ = (Index("ix_login_failure_subject", "kind", "subject", "at"), Index("ix_login_failure_at", "at"))
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(10))  # account | address
    subject: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class TaskComment(Base):
    """A remark on a task, kept with the instance's history (who, when, what)."""

    __tablename__ = "task_comment"
    __table_args__ = (Index("ix_task_comment_task", "task_id", "id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    task_id: Mapped[int] = mapped_column(Id)
    instance_id: Mapped[int] = mapped_column(Id)
    author: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class DefinitionArtifact(Base):
    """A form or DMN decision a process version uses: forms pinned to the version current at its deployment.

    ``kind`` is ``form`` (``form_version`` set) or ``decision`` (``resource_name``: the DMN file of the
    version's deployment). Tasks read their form through this row, so an instance keeps its version's forms.
    """

    __tablename__ = "definition_artifact"
    definition_id: Mapped[int] = mapped_column(Id, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    artifact_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    form_version: Mapped[int | None] = mapped_column(Integer)
    resource_name: Mapped[str | None] = mapped_column(String(300))


class SavedFilter(Base):
    """A person's named inbox filter (a :class:`engine.task_filters.TaskFilter` as JSON), shown as a chip."""

    __tablename__ = "saved_filter"
    __table_args__ = (UniqueConstraint("owner", "name", name="uq_saved_filter_owner_name"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    owner: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(100))
    filters: Mapped[str] = mapped_column(Text)  # JSON
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class TaskAttachment(Base):
    """A file attached to a task, kept in the database so that every web process of a deployment can serve it."""

    __tablename__ = "task_attachment"
    __table_args__ = (Index("ix_task_attachment_task", "task_id", "id"),
                      Index("ix_task_attachment_uploader", "uploaded_by", "size"))
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    task_id: Mapped[int] = mapped_column(Id)
    instance_id: Mapped[int] = mapped_column(Id)
    name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AuditEntry(Base):
    """One line of the append-only audit log: an administrator's command, or a read of a confidential record.

    The database refuses UPDATE and DELETE on this table (triggers made by migration 0019), so a line once
    written stays as written.
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at", "id"), Index("ix_audit_log_actor", "actor", "id"),
                      Index("ix_audit_log_school", "school", "kind", "id"))
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    kind: Mapped[str] = mapped_column(String(20))  # command | read
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100))  # the command's name, or what was read
    resource: Mapped[str | None] = mapped_column(String(300))  # e.g. instance:12, task:40, webhook:3
    school: Mapped[str | None] = mapped_column(String(100))  # the unit of a confidential record read
    surface: Mapped[str | None] = mapped_column(String(20))  # api | page | cli
    detail: Mapped[str | None] = mapped_column(Text)  # JSON


