"""Project validation as Podium HEAD has it (issue 25).

* ``events.repo_validation`` (none/github/custom), ``events.demo_validation`` (none/itch/reachable/custom)
  and ``events.custom_validator`` (the name of a configured custom validator): which checks a submitted
  project gets. Existing events get ``none``: nothing changes for them.
* ``projects.validation_status`` (pending/valid/warning) and ``projects.validation_message``: the last
  check's outcome. Existing projects stay ``pending`` until someone asks for a check.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 15:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "events",
        sa.Column("repo_validation", sa.String(length=16), server_default=sa.text("'none'"), nullable=False),
    )
    op.add_column(
        "events",
        sa.Column("demo_validation", sa.String(length=16), server_default=sa.text("'none'"), nullable=False),
    )
    op.add_column("events", sa.Column("custom_validator", sa.String(length=64), nullable=True))
    op.create_check_constraint(
        "repo_validation_known", "events", "repo_validation IN ('none', 'github', 'custom')"
    )
    op.create_check_constraint(
        "demo_validation_known", "events", "demo_validation IN ('none', 'itch', 'reachable', 'custom')"
    )
    op.add_column(
        "projects",
        sa.Column(
            "validation_status", sa.String(length=16), server_default=sa.text("'pending'"), nullable=False
        ),
    )
    op.add_column(
        "projects", sa.Column("validation_message", sa.Text(), server_default=sa.text("''"), nullable=False)
    )
    op.create_check_constraint(
        "validation_status_known", "projects", "validation_status IN ('pending', 'valid', 'warning')"
    )


def downgrade() -> None:
    op.drop_constraint("validation_status_known", "projects", type_="check")
    op.drop_column("projects", "validation_message")
    op.drop_column("projects", "validation_status")
    op.drop_constraint("demo_validation_known", "events", type_="check")
    op.drop_constraint("repo_validation_known", "events", type_="check")
    op.drop_column("events", "custom_validator")
    op.drop_column("events", "demo_validation")
    op.drop_column("events", "repo_validation")
