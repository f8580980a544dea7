"""Each school's counselling room register per school year (§四.5: rooms, area, functions, opening hours, duty
roster, the new students' visit).

Revision ID: 0026
Revises: 0022
Create Date: 2026-12-10
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0024"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "counselling_room",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("school_id", sa.String(length=100), nullable=False),
        sa.Column("school_year", sa.String(length=20), nullable=False),
        sa.Column("instance_id", _ID, nullable=False),
        sa.Column("rooms", sa.Text(), nullable=True),
        sa.Column("opening_hours", sa.Text(), nullable=True),
        sa.Column("class_hours", sa.Text(), nullable=True),
        sa.Column("largest_area", sa.Float(), nullable=True),
        sa.Column("parent_access", sa.Boolean(), nullable=True),
        sa.Column("standard_met", sa.Boolean(), nullable=True),
        sa.Column("shortfalls", sa.Text(), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("orientation", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_counselling_room")),
        sa.UniqueConstraint("school_id", "school_year", name=op.f("uq_counselling_room_school_id")),
    )


def downgrade() -> None:
    op.drop_table("counselling_room")
