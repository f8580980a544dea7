"""Event routing between instances: signal subscriptions and message/signal start triggers.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("message_subscription", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=10), server_default="message", nullable=False))
    op.create_table(
        "start_trigger",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("definition_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("process_key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("element_id", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["definition_id"], ["process_definition.id"],
                                name=op.f("fk_start_trigger_definition_id_process_definition")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_start_trigger")),
    )
    with op.batch_alter_table("start_trigger", schema=None) as batch_op:
        batch_op.create_index("ix_start_trigger_lookup", ["kind", "name"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("start_trigger", schema=None) as batch_op:
        batch_op.drop_index("ix_start_trigger_lookup")
    op.drop_table("start_trigger")
    with op.batch_alter_table("message_subscription", schema=None) as batch_op:
        batch_op.drop_column("kind")
