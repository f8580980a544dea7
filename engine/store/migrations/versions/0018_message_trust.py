"""Messages: subscriptions say what they accept, idempotency keys per caller, service accounts.

Revision ID: 0018
Revises: 0015
Create Date: 2026-12-06
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("message_subscription") as batch:
        batch.add_column(sa.Column("keyless", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column("senders", sa.String(length=20), server_default="same_or_above", nullable=False))
    # An earlier answer belongs to nobody in particular ('' is no caller's name): it can no longer answer anyone.
    with op.batch_alter_table("inbound_webhook", recreate="always") as batch:
        batch.add_column(sa.Column("caller", sa.String(length=100), server_default="", nullable=False))
        batch.drop_constraint("pk_inbound_webhook", type_="primary")
        batch.create_primary_key("pk_inbound_webhook", ["caller", "idempotency_key"])
    with op.batch_alter_table("account") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=20), server_default="person", nullable=False))
        batch.add_column(sa.Column("messages", sa.Text(), nullable=True))
        batch.add_column(sa.Column("scope_unit", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("account") as batch:
        batch.drop_column("scope_unit")
        batch.drop_column("messages")
        batch.drop_column("kind")
    with op.batch_alter_table("inbound_webhook", recreate="always") as batch:
        batch.drop_constraint("pk_inbound_webhook", type_="primary")
        batch.drop_column("caller")
        batch.create_primary_key("pk_inbound_webhook", ["idempotency_key"])
    with op.batch_alter_table("message_subscription") as batch:
        batch.drop_column("senders")
        batch.drop_column("keyless")
