"""The append-only audit log: administrators' commands and reads of confidential records; and the narrow
figures of the counselling cases already there (their month, follow-ups and risk level, for the bureaus' counts).

UPDATE and DELETE are refused by triggers on both databases, so nothing written can be changed or removed
through SQL short of dropping the triggers (which needs the schema owner).

Revision ID: 0019
Revises: 0015
Create Date: 2026-12-06
"""
from __future__ import annotations

import json
import re

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_REFUSAL = "audit_log is append-only"
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
#: As engine.commands.figures.REPORTED gained it in this revision (a migration never imports the engine).
_CASES = ("counselling_case", "session_date", "follow_ups", "risk_level")
_MONTH = re.compile(r"\d{4}-\d{2}")


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("resource", sa.String(300), nullable=True),
        sa.Column("school", sa.String(100), nullable=True),
        sa.Column("surface", sa.String(20), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at", "id"])
    op.create_index("ix_audit_log_actor", "audit_log", ["actor", "id"])
    op.create_index("ix_audit_log_school", "audit_log", ["school", "kind", "id"])
    _keep_case_figures()
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""CREATE FUNCTION audit_log_refuse_change() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION '{_REFUSAL}'; END; $$ LANGUAGE plpgsql""")
        op.execute("""CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
            FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change()""")
        op.execute("""CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
            FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change()""")
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"""CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log
                BEGIN SELECT RAISE(ABORT, '{_REFUSAL}'); END""")


def _keep_case_figures() -> None:
    """Fill instance_figure for the counselling cases already running or done (none had a row before)."""
    process_key, period_name, score_name, band_name = _CASES
    instance = sa.table("process_instance", sa.column("id", _ID), sa.column("process_key", sa.String),
                        sa.column("data", sa.Text))
    figure = sa.table("instance_figure", sa.column("instance_id", _ID), sa.column("process_key", sa.String),
                      sa.column("period", sa.String), sa.column("score", sa.Float), sa.column("band", sa.String))
    connection = op.get_bind()
    kept = sa.select(figure.c.instance_id)
    rows = []
    for row in connection.execute(sa.select(instance.c.id, instance.c.data).where(
            instance.c.process_key == process_key, instance.c.id.not_in(kept))):
        try:
            data = json.loads(row.data or "{}")
        except ValueError:
            data = {}
        data = data if isinstance(data, dict) else {}
        period, score, band = data.get(period_name), data.get(score_name), data.get(band_name)
        rows.append({"instance_id": row.id, "process_key": process_key,
                     "period": period[:7] if isinstance(period, str) and _MONTH.match(period) else None,
                     "score": float(score) if isinstance(score, int) and not isinstance(score, bool)
                     and abs(score) < 2**53 else None,
                     "band": band if isinstance(band, str) and len(band) <= 20 else None})
    for start in range(0, len(rows), 5000):
        op.bulk_insert(figure, rows[start:start + 5000])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_refuse_change()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    op.drop_table("audit_log")
    op.execute("DELETE FROM instance_figure WHERE process_key = 'counselling_case'")
