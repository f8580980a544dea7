"""What each process version uses: the forms (pinned to a version) and the DMN decisions (by file).

A running instance keeps the forms and decisions of its own version; an edited form or decision
reaches new instances through a new process version that binds it.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "definition_artifact",
        sa.Column("definition_id", _ID, nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("artifact_key", sa.String(length=200), nullable=False),
        sa.Column("form_version", sa.Integer(), nullable=True),
        sa.Column("resource_name", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("definition_id", "kind", "artifact_key", name=op.f("pk_definition_artifact")),
    )


def downgrade() -> None:
    op.drop_table("definition_artifact")
