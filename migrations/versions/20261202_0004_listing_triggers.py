"""Triggers own the listing version: every write to a listed table bumps its events, whoever the writer is.

PRODUCT §3.19: a cached list is exact after a change made through the API, the Mathesar admin UI,
operators' SQL or the backfill. So the schema, not the application, marks what changed: statement-level
AFTER triggers with transition tables find the events a statement touched and bump each one's version once
per statement, inside the writer's own transaction, then ``NOTIFY podium_listings, '<event id>'``
(PostgreSQL folds duplicates within a transaction and delivers at commit).

The version of an event is the sum of its counter rows in ``event_listing_versions``. A bump updates the
row chosen by the writing transaction's id (``txid % 16``): concurrent writers in one event rarely queue on
one row lock, and one transaction bumps one row per event however many statements it runs (no deadlock
between two transactions each holding the other's slot). ``events.version`` is gone: nothing writes it.

The functions run as their owner (SECURITY DEFINER, fixed search_path): a role with only DML rights on the
data tables — an admin UI's — invalidates without any right on the counters.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 19:15:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNEL = "podium_listings"

_BUMP = f"""
CREATE FUNCTION podium_bump_listings(event_ids uuid[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    changed uuid;
BEGIN
    -- Only events that still exist get a counter (a cascade from a deleted event finds none).
    INSERT INTO event_listing_versions AS v (event_id, slot, version)
    SELECT e.id, (txid_current() % 16)::smallint, 1
    FROM events e WHERE e.id = ANY (event_ids)
    ORDER BY e.id
    ON CONFLICT (event_id, slot) DO UPDATE SET version = v.version + 1;
    FOR changed IN SELECT DISTINCT u FROM unnest(event_ids) AS u WHERE u IS NOT NULL LOOP
        PERFORM pg_notify('{CHANNEL}', changed::text);
    END LOOP;
END $$
"""
_BUMP_ALL = """
CREATE FUNCTION podium_bump_all_listings() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    PERFORM podium_bump_listings(ARRAY(SELECT id FROM events));
    RETURN NULL;
END $$
"""

# Per table: the events whose lists show a set of its rows (``{rows}``: a transition table or a subset).
_EVENTS_OF: dict[str, str] = {
    "projects": "SELECT event_id FROM {rows}",
    "votes": "SELECT event_id FROM {rows}",
    "event_attendees": "SELECT event_id FROM {rows}",
    "referrals": "SELECT event_id FROM {rows}",
    "project_collaborators": "SELECT p.event_id FROM {rows} r JOIN projects p ON p.id = r.project_id",
    # Names on project cards and in the organiser's attendee list.
    "users": (
        "SELECT p.event_id FROM projects p WHERE p.owner_id IN (SELECT id FROM {rows})"
        " UNION SELECT p.event_id FROM projects p JOIN project_collaborators c ON c.project_id = p.id"
        " WHERE c.user_id IN (SELECT id FROM {rows})"
        " UNION SELECT a.event_id FROM event_attendees a WHERE a.user_id IN (SELECT id FROM {rows})"
    ),
    # The flags that gate the lists, and everything shown with them; a deletion is announced too.
    "events": "SELECT id FROM {rows}",
}
# Users are inserted before they appear anywhere; deleting one cascades into the tables above.
_ACTIONS: dict[str, tuple[str, ...]] = {
    "users": ("update",),
    "events": ("update", "delete"),
}
_ALL_ACTIONS = ("insert", "update", "delete", "truncate")
# An update counts only the rows it really changed (a re-run of the backfill rewrites identical rows), on
# both sides: a project moved between events changes the old event's lists and the new one's.
_CHANGED = (
    "WITH was AS (SELECT * FROM old_rows EXCEPT ALL SELECT * FROM new_rows),"
    " now AS (SELECT * FROM new_rows EXCEPT ALL SELECT * FROM old_rows)"
)


def _trigger(table: str, action: str) -> list[str]:
    if action == "truncate":
        return [
            f"CREATE TRIGGER {table}_truncate_bumps_listings AFTER TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION podium_bump_all_listings()"
        ]
    events_of = _EVENTS_OF[table]
    events, transitions = {
        "insert": (events_of.format(rows="new_rows"), "NEW TABLE AS new_rows"),
        "delete": (events_of.format(rows="old_rows"), "OLD TABLE AS old_rows"),
        "update": (
            f"{_CHANGED} {events_of.format(rows='was')} UNION {events_of.format(rows='now')}",
            "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        ),
    }[action]
    function = f"podium_{table}_{action}_bumps"
    return [
        f"""
CREATE FUNCTION {function}() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    PERFORM podium_bump_listings(ARRAY({events}));
    RETURN NULL;
END $$""",
        f"CREATE TRIGGER {table}_{action}_bumps_listings AFTER {action.upper()} ON {table} "
        f"REFERENCING {transitions} FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
    ]


def _statements() -> list[str]:
    statements = [_BUMP, _BUMP_ALL]
    for table in _EVENTS_OF:
        for action in _ACTIONS.get(table, _ALL_ACTIONS):
            statements.extend(_trigger(table, action))
    return statements


_FUNCTIONS = [
    *(
        f"podium_{table}_{action}_bumps"
        for table in _EVENTS_OF
        for action in _ACTIONS.get(table, _ALL_ACTIONS)
        if action != "truncate"
    ),
    "podium_bump_all_listings",
]


def upgrade() -> None:
    for statement in _statements():
        op.execute(statement)
    # What events.version counted carries over into the counters, so no version moves backwards.
    op.execute(
        "INSERT INTO event_listing_versions AS v (event_id, slot, version) "
        "SELECT id, 0, version FROM events WHERE version <> 0 "
        "ON CONFLICT (event_id, slot) DO UPDATE SET version = v.version + excluded.version"
    )
    op.drop_column("events", "version")


def downgrade() -> None:
    op.add_column(
        "events", sa.Column("version", sa.BigInteger(), server_default=sa.text("0"), nullable=False)
    )
    for function in _FUNCTIONS:
        op.execute(f"DROP FUNCTION {function}() CASCADE")
    op.execute("DROP FUNCTION podium_bump_listings(uuid[])")
