"""The inbox: saved filters, task attachments, and an index for 'completed by me'.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "saved_filter",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("owner", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("filters", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_filter")),
        sa.UniqueConstraint("owner", "name", name="uq_saved_filter_owner_name"),
    )
    op.create_table(
        "task_attachment",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("task_id", _ID, nullable=False),
        sa.Column("instance_id", _ID, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=120), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=100), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_attachment")),
    )
    op.create_index("ix_task_attachment_task", "task_attachment", ["task_id", "id"])
    op.create_index("ix_human_task_completed_by", "human_task", ["completed_by", "completed_at"])


def downgrade() -> None:
    op.drop_index("ix_human_task_completed_by", table_name="human_task")
    op.drop_index("ix_task_attachment_task", table_name="task_attachment")
    op.drop_table("task_attachment")
    op.drop_table("saved_filter")
