"""Messages from outside bring only the variables their catch declares (``messageVariables``).

A subscription written before this revision declares nothing, so a message from outside still reaches it but
brings no variables (the safe reading of a catch that says nothing).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("message_subscription") as batch:
        batch.add_column(sa.Column("accepts", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("message_subscription") as batch:
        batch.drop_column("accepts")
