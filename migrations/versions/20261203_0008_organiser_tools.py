"""Organiser tools (issue 15): event phases, soft deletes, the YSWS PII gate and superadmins.

* ``events.phase`` ∈ draft/submission/voting/closed, mapped from the legacy flags (votable → voting;
  leaderboard only → closed; else submission). Phase and flags stay one state whoever writes: a BEFORE
  trigger derives whichever side a statement did not change from the side it did, and a CHECK refuses any
  row where they disagree (a statement that changes both inconsistently fails). The states allowed:
  draft/submission with both flags off, voting with ``votable`` (and the leaderboard public or not: the
  legacy client can ask for both at once), closed with only the leaderboard.
* ``events.deleted_at``: a soft delete. It is an UPDATE of ``events``, so migration 0004's trigger moves
  the event's listing version at once. No new attendance, project or vote can be added to a deleted event
  (a trigger), whoever writes.
* ``events.require_ysws_pii``, ``users.is_superadmin`` (granted only from the command line), and
  ``created_at`` on users, events (the superadmin lists' order) and votes (the votes export); existing
  rows get the migration's time.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 08:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PHASE_FROM_FLAGS = (
    "CASE WHEN votable THEN 'voting' WHEN leaderboard_enabled THEN 'closed' ELSE 'submission' END"
)

_PHASE_FUNCTIONS = """
CREATE FUNCTION podium_event_phase_sync() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.phase IS NULL THEN
            NEW.phase := CASE WHEN NEW.votable THEN 'voting'
                              WHEN NEW.leaderboard_enabled THEN 'closed' ELSE 'submission' END;
        ELSIF NOT NEW.votable AND NOT NEW.leaderboard_enabled THEN
            NEW.votable := NEW.phase = 'voting';
            NEW.leaderboard_enabled := NEW.phase = 'closed';
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.phase IS DISTINCT FROM OLD.phase THEN
        IF NEW.votable IS NOT DISTINCT FROM OLD.votable
           AND NEW.leaderboard_enabled IS NOT DISTINCT FROM OLD.leaderboard_enabled THEN
            -- The phase moved alone: the legacy flags follow it.
            NEW.votable := NEW.phase = 'voting';
            NEW.leaderboard_enabled := NEW.phase = 'closed';
        END IF;
    ELSIF NEW.votable IS DISTINCT FROM OLD.votable
          OR NEW.leaderboard_enabled IS DISTINCT FROM OLD.leaderboard_enabled THEN
        -- The legacy flags moved alone: the phase follows them (draft and submission keep themselves).
        NEW.phase := CASE WHEN NEW.votable THEN 'voting'
                          WHEN NEW.leaderboard_enabled THEN 'closed'
                          WHEN OLD.phase IN ('draft', 'submission') THEN OLD.phase
                          ELSE 'submission' END;
    END IF;
    RETURN NEW;
END $$
"""
_PHASE_TRIGGER = """
CREATE TRIGGER events_phase_sync BEFORE INSERT OR UPDATE ON events
FOR EACH ROW EXECUTE FUNCTION podium_event_phase_sync()
"""
_REFUSE_FUNCTION = """
CREATE FUNCTION podium_refuse_deleted_event() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM events WHERE id = NEW.event_id AND deleted_at IS NOT NULL) THEN
        RAISE EXCEPTION 'event % is deleted', NEW.event_id USING ERRCODE = 'check_violation',
            CONSTRAINT = 'event_not_deleted';
    END IF;
    RETURN NEW;
END $$
"""
_GUARDED = ("event_attendees", "projects", "votes")


def upgrade() -> None:
    op.add_column(
        "users", sa.Column("is_superadmin", sa.Boolean(), server_default=sa.text("false"), nullable=False)
    )
    op.add_column("events", sa.Column("phase", sa.String(length=20), nullable=True))
    op.add_column(
        "events",
        sa.Column("require_ysws_pii", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.add_column("events", sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
    # The superadmin lists are sorted by creation; the votes export says when each was cast.
    for table in ("users", "events", "votes"):
        op.add_column(
            table,
            # The time of the insert itself (not of its transaction): rows written together keep their order.
            sa.Column(
                "created_at",
                sa.DateTime(timezone=True),
                server_default=sa.text("clock_timestamp()"),
                nullable=False,
            ),
        )
    op.execute(f"UPDATE events SET phase = {PHASE_FROM_FLAGS}")
    op.alter_column("events", "phase", nullable=False)
    op.create_check_constraint(
        op.f("events_phase_known_check"), "events", "phase IN ('draft', 'submission', 'voting', 'closed')"
    )
    op.create_check_constraint(
        op.f("events_phase_matches_flags_check"),
        "events",
        "votable = (phase = 'voting') AND (phase <> 'closed' OR leaderboard_enabled)"
        " AND (NOT leaderboard_enabled OR phase IN ('voting', 'closed'))",
    )
    for statement in (_PHASE_FUNCTIONS, _PHASE_TRIGGER, _REFUSE_FUNCTION):
        op.execute(statement)
    for table in _GUARDED:
        op.execute(
            f"CREATE TRIGGER {table}_refuse_deleted_event BEFORE INSERT OR UPDATE OF event_id ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION podium_refuse_deleted_event()"
        )


def downgrade() -> None:
    for table in _GUARDED:
        op.execute(f"DROP TRIGGER {table}_refuse_deleted_event ON {table}")
    op.execute("DROP TRIGGER events_phase_sync ON events")
    op.execute("DROP FUNCTION podium_event_phase_sync()")
    op.execute("DROP FUNCTION podium_refuse_deleted_event()")
    op.drop_constraint(op.f("events_phase_matches_flags_check"), "events", type_="check")
    op.drop_constraint(op.f("events_phase_known_check"), "events", type_="check")
    # A soft-deleted event was gone for its users: the schema before has no other way to say so.
    op.execute("DELETE FROM events WHERE deleted_at IS NOT NULL")
    op.drop_column("events", "deleted_at")
    op.drop_column("events", "require_ysws_pii")
    op.drop_column("events", "phase")
    op.drop_column("events", "created_at")
    op.drop_column("votes", "created_at")
    op.drop_column("users", "created_at")
    op.drop_column("users", "is_superadmin")
