"""An official document's draft is drawn when it is read, not when it is made.

Each school issues a circular a month: its draft PDF and annex were rendered at drafting, in the command, though
most signers read the draft on the sign-off page and many drafts are superseded or pass their retention unopened;
the rendering was a fifth of a simulated full-profile month. A draft's ``document`` row now holds no bytes
(``content`` and ``size`` NULL) and names the ``official_document`` it is the draft of (``draft_of``), whose stored
content and drafting date draw it the same each time it is downloaded. Issued documents are rendered once, at
issue, and kept: they are the record.

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-07
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0040"
down_revision = "0039"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("document") as batch:
        batch.alter_column("content", existing_type=sa.LargeBinary(), nullable=True)
        batch.alter_column("size", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("draft_of", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True))


def downgrade() -> None:
    op.execute("DELETE FROM document WHERE content IS NULL")
    with op.batch_alter_table("document") as batch:
        batch.drop_column("draft_of")
        batch.alter_column("size", existing_type=sa.Integer(), nullable=False)
        batch.alter_column("content", existing_type=sa.LargeBinary(), nullable=False)
