"""Notifications by task and kind: the morning sweep leaves out the tasks already reminded of a rule.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-08
"""
from __future__ import annotations

from alembic import op

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_notification_task", "notification", ["task_id", "kind"])


def downgrade() -> None:
    op.drop_index("ix_notification_task", table_name="notification")
