"""The backfill remembers which records it has already reported for review (issue 24), so a re-run's exit
status tells a new problem (3) from only the ones earlier runs reported (4).

``backfill_reported`` holds one row per (table, Airtable record, outcome, reason) that a real run listed
as needing review: not migrated, a conflict with v2, or gone from Airtable. Dry runs compare, never add.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 15:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "backfill_reported",
        sa.Column("table_name", sa.String(length=40), nullable=False),
        sa.Column("airtable_id", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "first_reported_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint(
            "table_name", "airtable_id", "outcome", "reason", name=op.f("backfill_reported_pkey")
        ),
    )


def downgrade() -> None:
    op.drop_table("backfill_reported")
