"""Which projects of an event changed, and in which transaction: ``project_listing_marks``.

Issue 26, goal 4: a vote moved the event's listing version (migration 0004) and every cached list of the
event was rebuilt from scratch, a cost that grows with the event (a leaderboard carries every vote's id).
A cache that knows *which* projects changed since the list it holds re-reads only those.

The schema marks them, whoever writes (PRODUCT §3.19): statement-level ``AFTER`` triggers on every table
whose rows a project card shows — ``projects``, ``votes``, ``project_collaborators`` (insert, update,
delete) and ``users`` (update: names on cards) — upsert one row per (event, project, slot) holding the
writing transaction's id (``pg_current_xact_id()``, a 64-bit xid8 kept as bigint), in the writer's own
transaction. The slot is the transaction's id modulo 16, as for the version counters: concurrent votes
for one project rarely wait on one row lock. A ``TRUNCATE`` of those tables (or of this one) marks every
event with the nil project id, "anything may have changed": readers rebuild the whole list.

A reader keeps the snapshot (``pg_current_snapshot()``) of the statement that read its list and later asks
for the marks whose transaction that snapshot did not see (``NOT pg_visible_in_snapshot``): commit order,
not transaction-id order, decides, so a transaction that began first and committed last is never missed.
The marks are never pruned: there are at most 16 per project and event.

The functions run as their owner (SECURITY DEFINER, search path pinned with ``pg_temp`` last, EXECUTE
revoked from PUBLIC, as migration 0009 does for every function): an admin UI's role, with DML rights on the
data tables only, marks without any right on this table.

Revision ID: 0015
Revises: 0012
Create Date: 2026-12-07 17:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SAFE_PATH = "pg_catalog, public, pg_temp"
EVERYTHING = "00000000-0000-0000-0000-000000000000"

# Per table: the (event, project) pairs whose cards show a set of its rows (``{rows}``).
_CARDS_OF: dict[str, str] = {
    "projects": "SELECT event_id, id FROM {rows}",
    "votes": "SELECT event_id, project_id FROM {rows}",
    "project_collaborators": "SELECT p.event_id, p.id FROM {rows} r JOIN public.projects p ON p.id = r.project_id",
    "users": (
        "SELECT p.event_id, p.id FROM public.projects p WHERE p.owner_id IN (SELECT id FROM {rows})"
        " UNION SELECT p.event_id, p.id FROM public.projects p JOIN public.project_collaborators c"
        " ON c.project_id = p.id WHERE c.user_id IN (SELECT id FROM {rows})"
    ),
}
_ACTIONS: dict[str, tuple[str, ...]] = {"users": ("update",)}
# As migration 0004: an update counts only the rows it really changed, on both sides.
_CHANGED = (
    "WITH was AS (SELECT * FROM old_rows EXCEPT ALL SELECT * FROM new_rows),"
    " now AS (SELECT * FROM new_rows EXCEPT ALL SELECT * FROM old_rows)"
)
# Only events that still exist are marked (a cascade from a deleted event finds none); in key order, so two
# transactions marking the same rows take their locks in one order.
_MARK = """
    INSERT INTO public.project_listing_marks AS m (event_id, project_id, slot, xact)
    SELECT DISTINCT c.event_id, c.project_id, (pg_catalog.txid_current() % 16)::smallint,
           pg_catalog.txid_current()
    FROM ({cards}) AS c (event_id, project_id) JOIN public.events e ON e.id = c.event_id
    ORDER BY 1, 2
    ON CONFLICT (event_id, project_id, slot) DO UPDATE SET xact = excluded.xact;"""
_MARK_EVERYTHING = f"""
CREATE FUNCTION public.podium_mark_every_listing() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {SAFE_PATH} AS $$
BEGIN{_MARK.format(cards=f"SELECT id, '{EVERYTHING}'::uuid FROM public.events")}
    RETURN NULL;
END $$
"""


def _trigger(table: str, action: str) -> list[str]:
    cards = _CARDS_OF[table]
    selected, transitions = {
        "insert": (cards.format(rows="new_rows"), "NEW TABLE AS new_rows"),
        "delete": (cards.format(rows="old_rows"), "OLD TABLE AS old_rows"),
        "update": (
            f"{_CHANGED} {cards.format(rows='was')} UNION {cards.format(rows='now')}",
            "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        ),
    }[action]
    function = f"public.podium_{table}_{action}_marks()"
    return [
        f"""
CREATE FUNCTION {function} RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {SAFE_PATH} AS $$
BEGIN{_MARK.format(cards=selected)}
    RETURN NULL;
END $$""",
        f"CREATE TRIGGER {table}_{action}_marks_projects AFTER {action.upper()} ON public.{table} "
        f"REFERENCING {transitions} FOR EACH STATEMENT EXECUTE FUNCTION {function}",
        f"REVOKE EXECUTE ON FUNCTION {function} FROM PUBLIC",
    ]


_TRUNCATED = ("projects", "votes", "project_collaborators", "project_listing_marks")


def upgrade() -> None:
    op.create_table(
        "project_listing_marks",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("slot", sa.SmallInteger(), nullable=False),
        sa.Column("xact", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("project_listing_marks_event_id_fkey"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("event_id", "project_id", "slot", name=op.f("project_listing_marks_pkey")),
    )
    op.create_index("ix_project_listing_marks_event_id_xact", "project_listing_marks", ["event_id", "xact"])
    for table in _CARDS_OF:
        for action in _ACTIONS.get(table, ("insert", "update", "delete")):
            for statement in _trigger(table, action):
                op.execute(statement)
    op.execute(_MARK_EVERYTHING)
    op.execute("REVOKE EXECUTE ON FUNCTION public.podium_mark_every_listing() FROM PUBLIC")
    for table in _TRUNCATED:
        op.execute(
            f"CREATE TRIGGER {table}_truncate_marks_projects AFTER TRUNCATE ON public.{table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION public.podium_mark_every_listing()"
        )


def downgrade() -> None:
    for table in _TRUNCATED:
        if table != "project_listing_marks":
            op.execute(f"DROP TRIGGER {table}_truncate_marks_projects ON public.{table}")
    for table in _CARDS_OF:
        for action in _ACTIONS.get(table, ("insert", "update", "delete")):
            op.execute(f"DROP TRIGGER {table}_{action}_marks_projects ON public.{table}")
            op.execute(f"DROP FUNCTION public.podium_{table}_{action}_marks()")
    op.drop_table("project_listing_marks")
    op.execute("DROP FUNCTION public.podium_mark_every_listing()")
