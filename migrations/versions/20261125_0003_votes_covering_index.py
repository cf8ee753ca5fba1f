"""Cover the listings' per-project aggregation of vote ids with an index on (project_id, id).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 11:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_votes_project_id_id", "votes", ["project_id", "id"])
    op.drop_index("ix_votes_project_id", table_name="votes")


def downgrade() -> None:
    op.create_index("ix_votes_project_id", "votes", ["project_id"])
    op.drop_index("ix_votes_project_id_id", table_name="votes")
