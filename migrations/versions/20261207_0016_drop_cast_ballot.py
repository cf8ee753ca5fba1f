"""The old one-round-trip vote goes: ``podium_cast_ballot`` (migration 0012) is dropped.

Since migration 0013 the vote is cast on the domain's terms by ``podium_cast_ballot_on_terms``, its commit
included; nothing calls ``podium_cast_ballot`` any more, and a SECURITY INVOKER function that writes votes
without judging them is machinery no one should keep callable. Nothing in the schema depends on it (no
grant but its owner's: 0012 revoked EXECUTE from PUBLIC).

The downgrade re-creates it exactly as 0012 did, by running 0012's own upgrade (alembic loads every
revision's module): one definition of the function, the one that was migrated.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 21:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SIGNATURE = "public.podium_cast_ballot(uuid, uuid, uuid[], uuid[])"
_CREATED_BY = "0012"


def upgrade() -> None:
    op.execute(f"DROP FUNCTION {_SIGNATURE}")


def downgrade() -> None:
    script = op.get_context().script
    if script is None:
        raise RuntimeError(f"re-creating {_SIGNATURE} needs migration {_CREATED_BY}'s script")
    script.get_revision(_CREATED_BY).module.upgrade()
