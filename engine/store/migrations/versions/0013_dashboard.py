"""The dashboard's narrow figures of instances (period, score, band), filled from the instances already there.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29
"""
from __future__ import annotations

import json
import math
import re

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
#: As engine.commands.figures.REPORTED when this revision was written (a migration never imports the engine).
_REPORTED = {"monthly_school_check": ("scheduled_for", "total", "band")}
_MONTH = re.compile(r"\d{4}-\d{2}")


def upgrade() -> None:
    figure = op.create_table(
        "instance_figure",
        sa.Column("instance_id", _ID, nullable=False),
        sa.Column("process_key", sa.String(length=200), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("band", sa.String(length=20), nullable=True),
        sa.PrimaryKeyConstraint("instance_id", name=op.f("pk_instance_figure")),
    )
    op.create_index("ix_instance_figure_process_period", "instance_figure", ["process_key", "period"])
    connection = op.get_bind()
    instance = sa.table("process_instance", sa.column("id", _ID), sa.column("process_key", sa.String),
                        sa.column("data", sa.Text))
    for process_key, (period_name, score_name, band_name) in _REPORTED.items():
        rows = []
        for row in connection.execute(sa.select(instance.c.id, instance.c.data)
                                      .where(instance.c.process_key == process_key)):
            try:
                data = json.loads(row.data or "{}")
            except ValueError:
                data = {}
            data = data if isinstance(data, dict) else {}
            period, score, band = data.get(period_name), data.get(score_name), data.get(band_name)
            rows.append({"instance_id": row.id, "process_key": process_key,
                         "period": period[:7] if isinstance(period, str) and _MONTH.match(period) else None,
                         "score": _finite(score),
                         "band": band if isinstance(band, str) and len(band) <= 20 else None})
            if len(rows) == 5000:
                op.bulk_insert(figure, rows)
                rows = []
        if rows:
            op.bulk_insert(figure, rows)


def _finite(value: object) -> float | None:
    """A score as a float; None for text, booleans, NaN, infinities and integers too large for a float."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    try:
        score = float(value)
    except OverflowError:
        return None
    return score if math.isfinite(score) else None


def downgrade() -> None:
    op.drop_index("ix_instance_figure_process_period", table_name="instance_figure")
    op.drop_table("instance_figure")
