"""Training attendance registers: who attended, who is excused (and why), who is still absent.

"不漏一人" counts attendance, not answers; the trainings keep a register in their data, and each persist copies
it here so coverage and the dashboard read a narrow table. Instances running before this revision have no
register; coverage reads them as before (by completed tasks).

Revision ID: 0028
Revises: 0022
Create Date: 2026-12-10
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0026"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "training_attendance",
        sa.Column("instance_id", _ID, nullable=False),
        sa.Column("person_id", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=True),
        sa.Column("hours", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("instance_id", "person_id", name=op.f("pk_training_attendance")),
    )
    op.create_index("ix_training_attendance_person", "training_attendance", ["person_id"])


def downgrade() -> None:
    op.drop_index("ix_training_attendance_person", table_name="training_attendance")
    op.drop_table("training_attendance")
