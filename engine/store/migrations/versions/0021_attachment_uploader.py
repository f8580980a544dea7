"""Attachments are looked up by who uploaded them, so a person's count and total size are bounded cheaply.

Revision ID: 0021
Revises: 0015
Create Date: 2026-12-06
"""
from __future__ import annotations

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_task_attachment_uploader", "task_attachment", ["uploaded_by", "size"])


def downgrade() -> None:
    op.drop_index("ix_task_attachment_uploader", table_name="task_attachment")
