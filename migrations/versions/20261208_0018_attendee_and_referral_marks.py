"""An event's attendee and referral lists are marked row by row, as the project lists are.

Migration 0015 marked a change to an event's attendees (or to an attendee's name) with the one subject
"the attendee list", and a referral with "the referral list": the organiser's cached list was then read
again whole — 25,000 attendees re-read and re-encoded for each one who joins (issue 26, goal 4's class). Now
the subject is the row's own id: the attendee's user id, the referral's id, so a cache re-reads the rows
that changed and puts them in place (``http/list_parts.Parts``), whatever the event's size. A mark is one
row per (event, attendee or referral, slot): at most as many as the event has attendees and referrals.

The subjects share ``listing_marks`` with the projects'; uuids do not collide, and a list reading another's
subjects finds no row of its own for them. Marks made before this migration name the old whole-list
subjects; a reader that meets one reads its list whole (``marks.keyed_list_changes``), so nothing marked
across the upgrade is missed. Only the functions' bodies change (``CREATE OR REPLACE``: same owner, rights
and triggers); the downgrade puts 0015's subjects back.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-08 00:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SAFE_PATH = "pg_catalog, public, pg_temp"
ATTENDEES = "00000000-0000-0000-0000-000000000001"
REFERRALS = "00000000-0000-0000-0000-000000000002"

# Users' names show on their projects' cards (unchanged) and in the attendee lists of the events they attend.
_USERS_PROJECTS = (
    "SELECT p.event_id, p.id FROM public.projects p WHERE p.owner_id IN (SELECT id FROM {rows})"
    " UNION SELECT p.event_id, p.id FROM public.projects p JOIN public.project_collaborators c"
    " ON c.project_id = p.id WHERE c.user_id IN (SELECT id FROM {rows})"
)
_USERS_ATTENDING = " UNION SELECT a.event_id, {subject} FROM public.event_attendees a WHERE a.user_id IN (SELECT id FROM {{rows}})"
# Per table: the (event, subject) pairs of a set of its rows (``{rows}``), by row, then as 0015.
_BY_ROW: dict[str, str] = {
    "event_attendees": "SELECT event_id, user_id FROM {rows}",
    "referrals": "SELECT event_id, id FROM {rows}",
    "users": _USERS_PROJECTS + _USERS_ATTENDING.format(subject="a.user_id"),
}
_WHOLE_LIST: dict[str, str] = {
    "event_attendees": f"SELECT event_id, '{ATTENDEES}'::uuid FROM {{rows}}",
    "referrals": f"SELECT event_id, '{REFERRALS}'::uuid FROM {{rows}}",
    "users": _USERS_PROJECTS + _USERS_ATTENDING.format(subject=f"'{ATTENDEES}'::uuid"),
}
_ACTIONS: dict[str, tuple[str, ...]] = {
    "event_attendees": ("insert", "update", "delete"),
    "referrals": ("insert", "update", "delete"),
    "users": ("update",),
}
# As migration 0015: an update counts only the rows it really changed, on both sides; only events that
# still exist are marked; in key order, so two transactions marking the same rows lock them in one order.
_CHANGED = (
    "WITH was AS (SELECT * FROM old_rows EXCEPT ALL SELECT * FROM new_rows),"
    " now AS (SELECT * FROM new_rows EXCEPT ALL SELECT * FROM old_rows)"
)
_MARK = """
    INSERT INTO public.listing_marks AS m (event_id, subject, slot, xact)
    SELECT DISTINCT c.event_id, c.subject, (pg_catalog.txid_current() % 16)::smallint, pg_catalog.txid_current()
    FROM ({subjects}) AS c (event_id, subject) JOIN public.events e ON e.id = c.event_id
    ORDER BY 1, 2
    ON CONFLICT (event_id, subject, slot) DO UPDATE SET xact = excluded.xact;"""


def _functions(subjects_of: dict[str, str]) -> list[str]:
    statements = []
    for table, actions in _ACTIONS.items():
        subjects = subjects_of[table]
        for action in actions:
            selected = {
                "insert": subjects.format(rows="new_rows"),
                "delete": subjects.format(rows="old_rows"),
                "update": f"{_CHANGED} {subjects.format(rows='was')} UNION {subjects.format(rows='now')}",
            }[action]
            statements.append(f"""
CREATE OR REPLACE FUNCTION public.podium_{table}_{action}_marks() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {SAFE_PATH} AS $$
BEGIN{_MARK.format(subjects=selected)}
    RETURN NULL;
END $$""")
    return statements


def upgrade() -> None:
    for statement in _functions(_BY_ROW):
        op.execute(statement)


def downgrade() -> None:
    for statement in _functions(_WHOLE_LIST):
        op.execute(statement)
