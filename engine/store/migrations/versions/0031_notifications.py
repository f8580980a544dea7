"""Notifications: what each person was told, each message through e-mail, a group robot or SMS, and what each
person chose to hear (per kind, with the administrator's defaults per role) and when not to be disturbed.
People get an e-mail address beside their mobile number.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-07
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def UtcDateTime() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("person", sa.Column("email", sa.String(length=200), nullable=True))
    op.create_table(
        "notification",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("person_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=500), nullable=True),
        sa.Column("task_id", Id, nullable=True),
        sa.Column("instance_id", Id, nullable=True),
        sa.Column("unit_id", sa.String(length=100), nullable=True),
        sa.Column("urgent", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("dedupe_key", sa.String(length=300), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("read_at", UtcDateTime(), nullable=True),
        sa.UniqueConstraint("person_id", "dedupe_key", name="uq_notification_occasion"),
    )
    op.create_index("ix_notification_person", "notification", ["person_id", "read_at", "id"])
    op.create_table(
        "notification_delivery",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("batch_key", sa.String(length=300), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("due_at", UtcDateTime(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("sent_at", UtcDateTime(), nullable=True),
        sa.UniqueConstraint("batch_key", name="uq_notification_delivery_batch"),
    )
    op.create_index("ix_notification_delivery_state", "notification_delivery", ["state", "id"])
    op.create_table(
        "notification_delivery_item",
        sa.Column("delivery_id", Id, sa.ForeignKey("notification_delivery.id"), primary_key=True),
        sa.Column("notification_id", Id, sa.ForeignKey("notification.id"), primary_key=True),
    )
    op.create_table(
        "notification_preference",
        sa.Column("person_id", sa.String(length=100), primary_key=True),
        sa.Column("kind", sa.String(length=40), primary_key=True),
        sa.Column("channels", sa.String(length=200), nullable=False),
    )
    op.create_table(
        "notification_role_default",
        sa.Column("role", sa.String(length=40), primary_key=True),
        sa.Column("kind", sa.String(length=40), primary_key=True),
        sa.Column("channels", sa.String(length=200), nullable=False),
    )
    op.create_table(
        "notification_quiet_hours",
        sa.Column("person_id", sa.String(length=100), primary_key=True),
        sa.Column("starts", sa.String(length=5), nullable=False),
        sa.Column("ends", sa.String(length=5), nullable=False),
    )


def downgrade() -> None:
    for table in ("notification_quiet_hours", "notification_role_default", "notification_preference",
                  "notification_delivery_item", "notification_delivery", "notification"):
        op.drop_table(table)
    with op.batch_alter_table("person") as batch:
        batch.drop_column("email")
