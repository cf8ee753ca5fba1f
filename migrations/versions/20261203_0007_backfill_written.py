"""The backfill remembers what it wrote to each row, so a re-run after go-live never undoes v2 (issue 14).

``backfill_written`` holds, per table and row id, the row's columns as the backfill last wrote them. The
table starts empty: the first run after this migration records every row it plans. The write-back
(``podium airtable write-back``) keeps it up to date too, and notes in ``airtable_pending_creates`` the
records it has asked Airtable to create until it has stored their ids.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 08:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "backfill_written",
        sa.Column("table_name", sa.String(length=40), nullable=False),
        sa.Column("row_id", sa.Uuid(), nullable=False),
        sa.Column("written", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("table_name", "row_id", name=op.f("backfill_written_pkey")),
    )
    op.create_table(
        "airtable_pending_creates",
        sa.Column("table_name", sa.String(length=40), nullable=False),
        sa.Column("row_id", sa.Uuid(), nullable=False),
        sa.Column("fields", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("table_name", "row_id", name=op.f("airtable_pending_creates_pkey")),
    )


def downgrade() -> None:
    op.drop_table("airtable_pending_creates")
    op.drop_table("backfill_written")
