"""Attendance and referral writes bump their event's version without NOTIFY.

Only the organiser's attendee and referral lists show those rows, and nothing streams those (the live
leaderboards follow the public lists). A transaction that NOTIFYs takes PostgreSQL's database-wide notify
lock at commit and holds it through its WAL flush, so every notifying commit waits for the one before:
measured on the attend transaction (attendee + referral insert) at 8 clients, 258 tx/s with the NOTIFY
against 424 without it and 407 with no trigger at all (bench: /tmp microbenchmark described in
docs/benchmarks.md). The version still moves in the writer's transaction, so the admin views' cache stays
exact; the public lists' changes (projects, votes, collaborators, names, event flags) still announce.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 08:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_QUIET_BUMP = """
CREATE FUNCTION podium_bump_listings_quietly(event_ids uuid[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    -- As podium_bump_listings (migration 0004), without the NOTIFY.
    INSERT INTO event_listing_versions AS v (event_id, slot, version)
    SELECT e.id, (txid_current() % 16)::smallint, 1
    FROM events e WHERE e.id = ANY (event_ids)
    ORDER BY e.id
    ON CONFLICT (event_id, slot) DO UPDATE SET version = v.version + 1;
END $$
"""
_ROWS = {
    "insert": "SELECT event_id FROM new_rows",
    "delete": "SELECT event_id FROM old_rows",
    "update": (
        "WITH was AS (SELECT * FROM old_rows EXCEPT ALL SELECT * FROM new_rows),"
        " now AS (SELECT * FROM new_rows EXCEPT ALL SELECT * FROM old_rows)"
        " SELECT event_id FROM was UNION SELECT event_id FROM now"
    ),
}
_TABLES = ("event_attendees", "referrals")


def _functions(bump: str) -> list[str]:
    return [
        f"""
CREATE OR REPLACE FUNCTION podium_{table}_{action}_bumps() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    PERFORM {bump}(ARRAY({events}));
    RETURN NULL;
END $$"""
        for table in _TABLES
        for action, events in _ROWS.items()
    ]


def upgrade() -> None:
    op.execute(_QUIET_BUMP)
    for statement in _functions("podium_bump_listings_quietly"):
        op.execute(statement)


def downgrade() -> None:
    for statement in _functions("podium_bump_listings"):
        op.execute(statement)
    op.execute("DROP FUNCTION podium_bump_listings_quietly(uuid[])")
