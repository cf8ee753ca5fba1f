"""What changed in an event's lists, and in which transaction: ``listing_marks``.

Issue 26, goal 4: a vote moved the event's listing version (migration 0004) and every cached list of the
event was rebuilt from scratch, a cost that grows with the event (a leaderboard carries every vote's id,
the organiser's attendee list every attendee, even though a vote changes neither the one card it touches
nor the attendees). A cache that knows *what* changed since the list it holds re-reads only that.

The schema marks it, whoever writes (PRODUCT §3.19): statement-level ``AFTER`` triggers upsert one row per
(event, subject, slot) holding the writing transaction's id (``txid_current()``, a 64-bit xid8 as bigint),
in the writer's own transaction. The subject is a project (its card and its votes changed: ``projects``,
``votes``, ``project_collaborators``, and ``users`` for the names on cards), or the event's attendee list
(``event_attendees``, and ``users`` for the attendees' names) or referral list (``referrals``), each
named by a fixed id below. The slot is the transaction's id modulo 16, as for the version counters:
concurrent votes for one project rarely wait on one row lock. Each marking trigger fires after the same
write's version bump of migration 0004 (triggers fire in name order: ``…_bumps_listings`` before
``…_marks_lists``), so a transaction writes an event's marks of its slot only while it already holds that
event's counter row of the same slot: the marks add no lock wait and no deadlock the counters did not
already have (tests/api/test_incremental_lists.py checks the order). A ``TRUNCATE`` of those tables (or of this
one) marks every event with the nil id, "anything may have changed": readers rebuild their lists.

A reader keeps the snapshot (``pg_current_snapshot()``) of the statement that read its list and later asks
for the marks whose transaction that snapshot did not see (``NOT pg_visible_in_snapshot``): commit order,
not transaction-id order, decides, so a transaction that began first and committed last is never missed.
Marks are never pruned: there are at most 16 per subject and event.

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
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SAFE_PATH = "pg_catalog, public, pg_temp"
# The subjects that are not projects (``podium.adapters.postgres.repositories.marks`` names them too).
EVERYTHING = "00000000-0000-0000-0000-000000000000"
ATTENDEES = "00000000-0000-0000-0000-000000000001"
REFERRALS = "00000000-0000-0000-0000-000000000002"

# Per table: the (event, subject) pairs whose lists show a set of its rows (``{rows}``).
_SUBJECTS_OF: dict[str, str] = {
    "projects": "SELECT event_id, id FROM {rows}",
    "votes": "SELECT event_id, project_id FROM {rows}",
    "project_collaborators": "SELECT p.event_id, p.id FROM {rows} r JOIN public.projects p ON p.id = r.project_id",
    "event_attendees": f"SELECT event_id, '{ATTENDEES}'::uuid FROM {{rows}}",
    "referrals": f"SELECT event_id, '{REFERRALS}'::uuid FROM {{rows}}",
    "users": (
        "SELECT p.event_id, p.id FROM public.projects p WHERE p.owner_id IN (SELECT id FROM {rows})"
        " UNION SELECT p.event_id, p.id FROM public.projects p JOIN public.project_collaborators c"
        " ON c.project_id = p.id WHERE c.user_id IN (SELECT id FROM {rows})"
        f" UNION SELECT a.event_id, '{ATTENDEES}'::uuid FROM public.event_attendees a"
        " WHERE a.user_id IN (SELECT id FROM {rows})"
    ),
}
# Users are inserted before they appear anywhere; deleting one cascades into the tables above.
_ACTIONS: dict[str, tuple[str, ...]] = {"users": ("update",)}
# As migration 0004: an update counts only the rows it really changed, on both sides.
_CHANGED = (
    "WITH was AS (SELECT * FROM old_rows EXCEPT ALL SELECT * FROM new_rows),"
    " now AS (SELECT * FROM new_rows EXCEPT ALL SELECT * FROM old_rows)"
)
# Only events that still exist are marked (a cascade from a deleted event finds none); in key order, so two
# transactions marking the same rows take their locks in one order.
_MARK = """
    INSERT INTO public.listing_marks AS m (event_id, subject, slot, xact)
    SELECT DISTINCT c.event_id, c.subject, (pg_catalog.txid_current() % 16)::smallint, pg_catalog.txid_current()
    FROM ({subjects}) AS c (event_id, subject) JOIN public.events e ON e.id = c.event_id
    ORDER BY 1, 2
    ON CONFLICT (event_id, subject, slot) DO UPDATE SET xact = excluded.xact;"""
_MARK_EVERYTHING = f"""
CREATE FUNCTION public.podium_mark_every_list() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {SAFE_PATH} AS $$
BEGIN{_MARK.format(subjects=f"SELECT id, '{EVERYTHING}'::uuid FROM public.events")}
    RETURN NULL;
END $$
"""
_TRUNCATED = ("projects", "votes", "project_collaborators", "event_attendees", "referrals", "listing_marks")


def _actions(table: str) -> tuple[str, ...]:
    return _ACTIONS.get(table, ("insert", "update", "delete"))


def _trigger(table: str, action: str) -> list[str]:
    subjects = _SUBJECTS_OF[table]
    selected, transitions = {
        "insert": (subjects.format(rows="new_rows"), "NEW TABLE AS new_rows"),
        "delete": (subjects.format(rows="old_rows"), "OLD TABLE AS old_rows"),
        "update": (
            f"{_CHANGED} {subjects.format(rows='was')} UNION {subjects.format(rows='now')}",
            "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        ),
    }[action]
    function = f"public.podium_{table}_{action}_marks()"
    return [
        f"""
CREATE FUNCTION {function} RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {SAFE_PATH} AS $$
BEGIN{_MARK.format(subjects=selected)}
    RETURN NULL;
END $$""",
        f"CREATE TRIGGER {table}_{action}_marks_lists AFTER {action.upper()} ON public.{table} "
        f"REFERENCING {transitions} FOR EACH STATEMENT EXECUTE FUNCTION {function}",
        f"REVOKE EXECUTE ON FUNCTION {function} FROM PUBLIC",
    ]


def upgrade() -> None:
    op.create_table(
        "listing_marks",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.Uuid(), nullable=False),
        sa.Column("slot", sa.SmallInteger(), nullable=False),
        sa.Column("xact", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("listing_marks_event_id_fkey"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("event_id", "subject", "slot", name=op.f("listing_marks_pkey")),
    )
    op.create_index("ix_listing_marks_event_id_xact", "listing_marks", ["event_id", "xact"])
    for table in _SUBJECTS_OF:
        for action in _actions(table):
            for statement in _trigger(table, action):
                op.execute(statement)
    op.execute(_MARK_EVERYTHING)
    op.execute("REVOKE EXECUTE ON FUNCTION public.podium_mark_every_list() FROM PUBLIC")
    for table in _TRUNCATED:
        op.execute(
            f"CREATE TRIGGER {table}_truncate_marks_lists AFTER TRUNCATE ON public.{table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION public.podium_mark_every_list()"
        )


def downgrade() -> None:
    for table in _TRUNCATED:
        if table != "listing_marks":
            op.execute(f"DROP TRIGGER {table}_truncate_marks_lists ON public.{table}")
    for table in _SUBJECTS_OF:
        for action in _actions(table):
            op.execute(f"DROP TRIGGER {table}_{action}_marks_lists ON public.{table}")
            op.execute(f"DROP FUNCTION public.podium_{table}_{action}_marks()")
    op.drop_table("listing_marks")
    op.execute("DROP FUNCTION public.podium_mark_every_list()")
