"""Notification deliveries by channel and time sent: the per-minute limits ask how many went out in the last
minute before each e-mail or SMS, which without this index reads every delivery ever made.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-07
"""
from __future__ import annotations

from alembic import op

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_notification_delivery_sent", "notification_delivery", ["channel", "sent_at"])


def downgrade() -> None:
    op.drop_index("ix_notification_delivery_sent", table_name="notification_delivery")
