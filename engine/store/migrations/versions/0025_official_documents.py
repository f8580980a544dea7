"""Official documents (公文): drafts and issued documents, the 文号 counters, and each unit's 代字.

Revision ID: 0025
Revises: 0022
Create Date: 2026-12-08
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0022"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "official_document",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("instance_id", _ID, nullable=True),
        sa.Column("unit_id", sa.String(length=100), nullable=False),
        sa.Column("issuer", sa.String(length=200), nullable=False),
        sa.Column("template", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("signer_role", sa.String(length=200), nullable=True),
        sa.Column("drafted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("draft_documents", sa.Text(), nullable=True),
        sa.Column("code", sa.String(length=40), nullable=True),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("sequence", sa.Integer(), nullable=True),
        sa.Column("number", sa.String(length=100), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signed_by", sa.String(length=100), nullable=True),
        sa.Column("documents", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_official_document")),
        sa.UniqueConstraint("unit_id", "code", "year", "sequence", name="uq_official_document_number"),
    )
    op.create_index("ix_official_document_instance", "official_document", ["instance_id"])
    op.create_index("ix_official_document_register", "official_document", ["unit_id", "year", "sequence"])
    op.create_table(
        "document_sequence",
        sa.Column("unit_id", sa.String(length=100), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("unit_id", "code", "year", name=op.f("pk_document_sequence")),
    )
    op.create_table(
        "document_code",
        sa.Column("unit_id", sa.String(length=100), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("set_by", sa.String(length=100), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("unit_id", name=op.f("pk_document_code")),
    )


def downgrade() -> None:
    op.drop_table("document_code")
    op.drop_table("document_sequence")
    op.drop_index("ix_official_document_register", table_name="official_document")
    op.drop_index("ix_official_document_instance", table_name="official_document")
    op.drop_table("official_document")
