"""Scheduled starts: the fire log whose unique key makes every occurrence start once.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schedule_fire",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("schedule_key", sa.String(length=200), nullable=False),
        sa.Column("fire_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("org_unit", sa.String(length=100), server_default="", nullable=False),
        sa.Column("instance_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("late", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_fire")),
        sa.UniqueConstraint("schedule_key", "fire_time", "org_unit", name="uq_schedule_fire_occurrence"),
    )


def downgrade() -> None:
    op.drop_table("schedule_fire")
