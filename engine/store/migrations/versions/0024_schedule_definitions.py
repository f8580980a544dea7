"""Schedules administrators can see and change, and the school term calendar.

``schedule_definition`` holds each schedule as it is in force (loaded from config/schedules.toml, or as an
administrator changed it); ``term_calendar`` holds the holiday months and semester dates an administrator set.
Both start empty: the scheduler loads the shipped schedules at its next start, and the term calendar's
defaults (February, July and August off) apply until someone sets it.

Revision ID: 0024
Revises: 0025 (main had 0025 on 0022 when this branch merged it)
Create Date: 2026-12-07
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schedule_definition",
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("process_key", sa.String(100), nullable=False),
        sa.Column("entry", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("origin", sa.String(20), nullable=False),
        sa.Column("shipped_sha256", sa.String(64), nullable=True),
        sa.Column("changed_by", sa.String(100), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_schedule_definition")),
    )
    op.create_table(
        "term_calendar",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("holiday_months", sa.String(40), nullable=False),
        sa.Column("spring_start", sa.String(5), nullable=False),
        sa.Column("spring_end", sa.String(5), nullable=False),
        sa.Column("autumn_start", sa.String(5), nullable=False),
        sa.Column("autumn_end", sa.String(5), nullable=False),
        sa.Column("set_by", sa.String(100), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_term_calendar")),
    )


def downgrade() -> None:
    op.drop_table("term_calendar")
    op.drop_table("schedule_definition")
