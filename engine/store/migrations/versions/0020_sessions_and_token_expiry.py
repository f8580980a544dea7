"""Log-ins kept on the server (so log-out, a new password and deactivation end them), the log-in throttle's
failures, and API tokens that expire.

Tokens made before this revision never expired; they get 90 days from the upgrade, so programs that use
them keep working while their owners replace them.

Revision ID: 0020
Revises: 0015
Create Date: 2026-12-06
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

#: What tokens made before expiry existed are given, from the upgrade on.
EXISTING_TOKEN_DAYS = 90


def upgrade() -> None:
    with op.batch_alter_table("api_token") as batch:
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    until = datetime.now(UTC) + timedelta(days=EXISTING_TOKEN_DAYS)
    if op.get_bind().dialect.name == "sqlite":  # the engine keeps naive UTC there
        until = until.replace(tzinfo=None)
    token = sa.table("api_token", sa.column("expires_at", sa.DateTime(timezone=True)))
    op.execute(token.update().where(token.c.expires_at.is_(None)).values(expires_at=until))
    with op.batch_alter_table("api_token") as batch:
        batch.alter_column("expires_at", existing_type=sa.DateTime(timezone=True), nullable=False)
    op.create_index("ix_api_token_username", "api_token", ["username", "id"])

    op.create_table(
        "account_session",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("remote", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_session")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_account_session_key_hash")),
    )
    op.create_index("ix_account_session_username", "account_session", ["username", "ended_at"])
    op.create_table(
        "login_failure",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("subject", sa.String(length=100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failure")),
    )
    op.create_index("ix_login_failure_subject", "login_failure", ["kind", "subject", "at"])
    op.create_index("ix_login_failure_at", "login_failure", ["at"])


def downgrade() -> None:
    op.drop_table("login_failure")
    op.drop_table("account_session")
    op.drop_index("ix_api_token_username", table_name="api_token")
    with op.batch_alter_table("api_token") as batch:
        batch.drop_column("expires_at")
