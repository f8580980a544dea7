"""Standard Webhooks: a subscription's previous secret stays valid for a grace period after a rotation.

Secrets made from now on are ``whsec_`` + base64 of 32 random bytes; older ones (any other text) keep signing
under the bytes of their text, so existing subscribers' keys need no change (see :mod:`engine.webhook_secrets`).

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-08
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("webhook_subscription", sa.Column("previous_secret", sa.String(length=200), nullable=True))
    op.add_column("webhook_subscription",
                  sa.Column("previous_secret_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("webhook_subscription") as batch:
        batch.drop_column("previous_secret_until")
        batch.drop_column("previous_secret")
