"""Tiered fan-out: a task's child instances, one per org unit, and their progress (what coverage reads).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "fan_out",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("parent_instance_id", _ID, nullable=False),
        sa.Column("spiff_task_id", sa.String(length=36), nullable=False),
        sa.Column("element_id", sa.String(length=200), nullable=False),
        sa.Column("process_key", sa.String(length=200), nullable=False),
        sa.Column("for_each", sa.String(length=100), nullable=False),
        sa.Column("settings", sa.Text(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), server_default="0", nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fan_out")),
    )
    op.create_index("ix_fan_out_parent", "fan_out", ["parent_instance_id", "spiff_task_id"])
    op.create_table(
        "fan_out_child",
        sa.Column("fan_out_id", _ID, nullable=False),
        sa.Column("unit_id", sa.String(length=100), nullable=False),
        sa.Column("instance_id", _ID, nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("fan_out_id", "unit_id", name=op.f("pk_fan_out_child")),
    )
    op.create_index("ix_fan_out_child_instance", "fan_out_child", ["instance_id"])


def downgrade() -> None:
    op.drop_table("fan_out_child")
    op.drop_table("fan_out")
