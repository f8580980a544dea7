"""The tables of notifications: what a person was told (the in-app centre reads them), how each message went out
through e-mail, a WeCom or DingTalk group robot or SMS (administrators read the deliveries), and what each person
chose to hear, and when not to be disturbed. They share the engine's declarative base (:mod:`engine.store.models`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models import Base, Id, UtcDateTime


class Notification(Base):
    """One thing one person was told: a task offered to them, a reminder, an escalation, a digest.

    ``dedupe_key`` names the occasion (``task_offered:task:42``, ``reminder:launch_school_remind:task:42``):
    a person is told of one occasion once, however often the event that causes it is replayed or retried.
    """

    __tablename__ = "notification"
    __table_args__ = (
        UniqueConstraint("person_id", "dedupe_key", name="uq_notification_occasion"),
        Index("ix_notification_person", "person_id", "read_at", "id"),
        Index("ix_notification_task", "task_id", "kind"),  # the morning sweep: reminded of this rule already?
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(String(100))
    #: see engine.notifications.kinds
    kind: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(300))
    #: Markdown (rendered safely in the centre; robots take it as it is; e-mail and SMS get it as text).
    body: Mapped[str] = mapped_column(Text)
    #: A path inside the web app (``/tasks/42``); channels make it absolute with the configured base URL.
    link: Mapped[str | None] = mapped_column(String(500))
    task_id: Mapped[int | None] = mapped_column(Id)
    instance_id: Mapped[int | None] = mapped_column(Id)
    #: The unit the occasion concerns (whose group robot hears of it).
    unit_id: Mapped[str | None] = mapped_column(String(100))
    urgent: Mapped[bool] = mapped_column(Boolean, server_default="0")
    dedupe_key: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class NotificationDelivery(Base):
    """One message through one outside channel: an e-mail, an SMS, or one robot message to a unit's group.

    Robot messages are batched: every notification for one unit's group due in one minute goes into one message
    (``batch_key`` ``wecom:<unit>:<minute>``), because a group robot takes about 20 messages a minute.
    ``message_id`` stays the same on every attempt, so a receiver that sees a message twice (the worker died
    between sending and recording) can drop the second.
    """

    __tablename__ = "notification_delivery"
    __table_args__ = (
        UniqueConstraint("batch_key", name="uq_notification_delivery_batch"),
        Index("ix_notification_delivery_state", "state", "id"),
        #: the per-minute limits count what went out in the last minute (migration 0033)
        Index("ix_notification_delivery_sent", "channel", "sent_at"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    #: email | wecom | dingtalk | sms
    channel: Mapped[str] = mapped_column(String(20))
    #: An e-mail address or a mobile number (person channels), or a unit id (group robots).
    target: Mapped[str] = mapped_column(String(200))
    batch_key: Mapped[str] = mapped_column(String(300))
    message_id: Mapped[str] = mapped_column(String(64))
    #: pending | sent | failed
    state: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    #: What the provider answered to the last attempt (its status and body, shortened).
    answer: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class NotificationDeliveryItem(Base):
    """Which notifications one delivery carries (one for e-mail and SMS, all of a unit's minute for a robot)."""

    __tablename__ = "notification_delivery_item"
    delivery_id: Mapped[int] = mapped_column(Id, ForeignKey("notification_delivery.id"), primary_key=True)
    notification_id: Mapped[int] = mapped_column(Id, ForeignKey("notification.id"), primary_key=True)


class NotificationPreference(Base):
    """The channels one person chose for one kind of notification (overriding the defaults of their roles)."""

    __tablename__ = "notification_preference"
    person_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    #: Comma-separated channels (inbox, email, wecom, dingtalk, sms); empty: none but the in-app centre.
    channels: Mapped[str] = mapped_column(String(200))


class NotificationRoleDefault(Base):
    """The administrator's default channels for holders of a role, per kind (a person's own choice wins)."""

    __tablename__ = "notification_role_default"
    role: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    channels: Mapped[str] = mapped_column(String(200))


class NotificationQuietHours(Base):
    """When one person is not to be disturbed (local time, ``HH:MM``; may span midnight). Urgent kinds ignore it."""

    __tablename__ = "notification_quiet_hours"
    person_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    starts: Mapped[str] = mapped_column(String(5))
    ends: Mapped[str] = mapped_column(String(5))
