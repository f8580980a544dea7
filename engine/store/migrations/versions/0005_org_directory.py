"""The org directory (units, people, roles), job payloads (scheduled starts per org unit), schedule watermarks.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "org_unit",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("parent_id", sa.String(length=100), nullable=True),
        sa.Column("path", sa.String(length=1000), nullable=False),
        sa.Column("sort_order", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org_unit")),
    )
    op.create_index("ix_org_unit_kind_path", "org_unit", ["kind", "path"])
    op.create_index("ix_org_unit_parent", "org_unit", ["parent_id"])
    op.create_table(
        "person",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("unit_id", sa.String(length=100), nullable=False),
        sa.Column("phone", sa.String(length=30), nullable=True),
        sa.Column("active", sa.Boolean(), server_default="1", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person")),
    )
    op.create_index("ix_person_unit", "person", ["unit_id"])
    op.create_table(
        "role_assignment",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("person_id", sa.String(length=100), nullable=False),
        sa.Column("unit_id", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role_assignment")),
        sa.UniqueConstraint("person_id", "unit_id", "role", name="uq_role_assignment_holder"),
    )
    op.create_index("ix_role_assignment_unit_role", "role_assignment", ["unit_id", "role"])
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payload", sa.Text(), nullable=True))
    op.create_table(
        "schedule_watermark",
        sa.Column("schedule_key", sa.String(length=200), nullable=False),
        sa.Column("checked_until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("schedule_key", name=op.f("pk_schedule_watermark")),
    )


def downgrade() -> None:
    op.drop_table("schedule_watermark")
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_column("payload")
    op.drop_table("role_assignment")
    op.drop_table("person")
    op.drop_index("ix_org_unit_parent", table_name="org_unit")
    op.drop_index("ix_org_unit_kind_path", table_name="org_unit")
    op.drop_table("org_unit")
