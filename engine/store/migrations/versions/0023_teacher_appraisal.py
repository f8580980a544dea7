"""教师考评台账: each teacher's monthly check score per month, for 职称评定、绩效考核、评优评先.

Revision ID: 0023
Revises: 0025 (main had 0025 when this branch merged it)
Create Date: 2026-12-08
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0028"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "teacher_appraisal",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("instance_id", _ID, nullable=False),
        sa.Column("school_id", sa.String(length=100), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("person_id", sa.String(length=100), nullable=False),
        sa.Column("person_name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=40), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("band", sa.String(length=20), nullable=True),
        sa.Column("reason", sa.String(length=100), nullable=True),
        sa.Column("item_scores", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teacher_appraisal")),
        sa.UniqueConstraint("instance_id", "person_id", "role", name="uq_teacher_appraisal_instance_person"),
    )
    op.create_index("ix_teacher_appraisal_school_month", "teacher_appraisal", ["school_id", "month"])
    op.create_index("ix_teacher_appraisal_person_month", "teacher_appraisal", ["person_id", "month"])


def downgrade() -> None:
    op.drop_index("ix_teacher_appraisal_person_month", table_name="teacher_appraisal")
    op.drop_index("ix_teacher_appraisal_school_month", table_name="teacher_appraisal")
    op.drop_table("teacher_appraisal")
