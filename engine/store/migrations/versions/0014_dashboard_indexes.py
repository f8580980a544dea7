"""Indexes for the dashboard's overdue work and monthly self-checks, so neither reads the whole task table.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29
"""
from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_human_task_state_due", "human_task", ["state", "due_at"])
    op.create_index("ix_human_task_element", "human_task", ["process_key", "element_id"])


def downgrade() -> None:
    op.drop_index("ix_human_task_element", table_name="human_task")
    op.drop_index("ix_human_task_state_due", table_name="human_task")
