"""Rate limits: a sliding window per key (the times of its recent admitted attempts) replaces the
fixed-window counters, which let twice the limit through around a window boundary.

The counters are short-lived (a window at most a day): both directions start from empty tables.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 19:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_table("rate_limit_hits")
    op.create_table(
        "rate_limit_hits",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("hit_times", postgresql.ARRAY(sa.Double()), nullable=False),
        sa.Column("admitted", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("rate_limit_hits_pkey")),
    )


def downgrade() -> None:
    op.drop_table("rate_limit_hits")
    op.create_table(
        "rate_limit_hits",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start", name=op.f("rate_limit_hits_pkey")),
    )
