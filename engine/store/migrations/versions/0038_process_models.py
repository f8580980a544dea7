"""spiff-arena process models: a folder's identity, names and primary process, and the model of each version.

Until now a process was known by its BPMN process id alone, so a second folder whose diagram reused an id became
a new version of the first. ``process_model`` records each deployed folder (its path below the group root,
display name, description, primary file and process); ``process_definition.model_path`` says which folder a
version came from (None for files deployed on their own, as every version deployed before this revision).

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-07
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0038"
down_revision = "0037"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "process_model",
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("display_name", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("primary_file_name", sa.String(length=300), nullable=False),
        sa.Column("primary_process_id", sa.String(length=200), nullable=False),
        sa.Column("deployed_by", sa.String(length=100), nullable=False),
        sa.Column("deployed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("path", name="pk_process_model"),
    )
    op.add_column("process_definition", sa.Column("model_path", sa.String(length=300), nullable=True))
    op.create_index("ix_process_definition_model_path", "process_definition", ["model_path"])


def downgrade() -> None:
    op.drop_index("ix_process_definition_model_path", table_name="process_definition")
    with op.batch_alter_table("process_definition") as batch:
        batch.drop_column("model_path")
    op.drop_table("process_model")
