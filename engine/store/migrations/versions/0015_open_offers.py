"""Offers know whether their task is still open, so a group inbox reads only open offers through its index.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("task_candidate") as batch:
        batch.add_column(sa.Column("task_open", sa.Boolean(), server_default=sa.true(), nullable=False))
    candidate = sa.table("task_candidate", sa.column("task_id", sa.BigInteger()), sa.column("task_open", sa.Boolean()))
    task = sa.table("human_task", sa.column("id", sa.BigInteger()), sa.column("state", sa.String()))
    op.execute(candidate.update().where(candidate.c.task_id.in_(sa.select(task.c.id).where(task.c.state != "open")))
               .values(task_open=False))
    op.drop_index("ix_task_candidate_lookup", table_name="task_candidate")
    op.create_index("ix_task_candidate_open_lookup", "task_candidate", ["kind", "value", "task_open", "task_id"])


def downgrade() -> None:
    op.drop_index("ix_task_candidate_open_lookup", table_name="task_candidate")
    op.create_index("ix_task_candidate_lookup", "task_candidate", ["kind", "value", "task_id"])
    with op.batch_alter_table("task_candidate") as batch:
        batch.drop_column("task_open")
