"""Tasks keep a title naming their unit and subject ("审核 珠晖区第一小学 工作方案"), made when they are created.

Open tasks made before this revision get "<task name> · <unit name>", the title a model without a template
gives; finished ones keep none and are shown by name.

Revision ID: 0030
Revises: 0023
Create Date: 2026-12-07
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("human_task", sa.Column("title", sa.String(length=300), nullable=True))
    task = sa.table("human_task", sa.column("title", sa.String), sa.column("name", sa.String),
                    sa.column("org_scope", sa.String), sa.column("state", sa.String))
    unit = sa.table("org_unit", sa.column("id", sa.String), sa.column("name", sa.String))
    unit_name = sa.select(unit.c.name).where(unit.c.id == task.c.org_scope).scalar_subquery()
    op.execute(task.update().where(task.c.state == "open")
               .values(title=sa.func.substr(task.c.name + " · " + sa.func.coalesce(unit_name, task.c.org_scope),
                                            1, 300)))
    op.execute(task.update().where(task.c.state == "open", task.c.title.is_(None)).values(title=task.c.name))


def downgrade() -> None:
    with op.batch_alter_table("human_task") as batch:
        batch.drop_column("title")
