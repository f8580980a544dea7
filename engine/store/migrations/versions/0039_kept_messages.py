"""Messages thrown before their receiver waits are kept until it does.

Until now a message an instance threw with a key that no waiting instance had was dropped (the sender's history
said "message not delivered"), so a reply that outran its receiver (the receiver still busy before its catch
event) was lost. ``kept_message`` holds such a message, its payload and the sender's org scope, until a
subscription with its name and key appears or it expires.

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-07
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0039"
down_revision = "0038"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kept_message",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("message_name", sa.String(length=200), nullable=False),
        sa.Column("correlation_key", sa.String(length=200), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("sender_instance_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sender_scope", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_kept_message"),
    )
    op.create_index("ix_kept_message_lookup", "kept_message", ["message_name", "correlation_key"])


def downgrade() -> None:
    op.drop_index("ix_kept_message_lookup", table_name="kept_message")
    op.drop_table("kept_message")
