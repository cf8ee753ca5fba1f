"""A ballot's lock, facts and insert in one round trip: ``podium_cast_ballot``.

Casting a vote used five round trips (BEGIN, the event with its attendee's row lock, the quota with the
candidates, the insert, COMMIT), and on this machine every round trip's socket write is the single biggest
CPU cost of the API's vote (py-spy, docs/benchmarks.md "The vote path"). This function does the middle
three in one call, in the caller's transaction, and decides nothing: it locks (the event against deletion,
then the attendee's row, the order every writer takes), reads the facts the domain's rules need — with a
snapshot taken after the lock was granted, since each statement of a VOLATILE PL/pgSQL function takes its
own in READ COMMITTED — and inserts the ballot's votes that the table's constraints accept. The caller
(``VotingService.cast_votes``) checks its rules against the facts as they were before the insert and
commits only if they all hold; otherwise its transaction rolls back and the insert never happened.

SECURITY INVOKER (the default): it runs with the caller's rights, touching only tables the API's role
writes anyway; its tables are schema-qualified and the search path pinned (as migration 0009 does for every
function), so no object of another schema can stand in for them.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 14:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CAST_BALLOT = """
CREATE FUNCTION public.podium_cast_ballot(p_event uuid, p_voter uuid, p_projects uuid[], p_vote_ids uuid[])
RETURNS TABLE (
    event_found boolean, votable boolean, attending boolean, cast_count bigint, project_count bigint,
    candidate_id uuid, candidate_event_id uuid, already_voted boolean, is_member boolean
)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp AS $$
#variable_conflict use_column
DECLARE
    v_votable boolean;
    v_attending boolean;
BEGIN
    -- The event, locked against deletion, then the attendee's row (as lock_with_event).
    SELECT e.votable INTO v_votable FROM public.events e WHERE e.id = p_event AND e.deleted_at IS NULL
    FOR KEY SHARE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT false, false, false, 0::bigint, 0::bigint, NULL::uuid, NULL::uuid, NULL::boolean,
            NULL::boolean;
        RETURN;
    END IF;
    PERFORM 1 FROM public.event_attendees a WHERE a.event_id = p_event AND a.user_id = p_voter FOR UPDATE;
    v_attending := FOUND;
    -- The facts, read after the lock (a new statement, a new snapshot): the quota use, and one row per
    -- project asked for that exists (as PostgresVotes.ballot), each locked against deletion.
    RETURN QUERY
    SELECT true, v_votable, v_attending,
           (SELECT count(*) FROM public.votes v WHERE v.event_id = p_event AND v.voter_id = p_voter),
           (SELECT count(*) FROM public.projects q WHERE q.event_id = p_event),
           c.id, c.event_id, c.already_voted, c.is_member
    FROM (SELECT 1) AS one
    LEFT JOIN (
        SELECT p.id, p.event_id,
               EXISTS (SELECT 1 FROM public.votes v WHERE v.project_id = p.id AND v.voter_id = p_voter),
               p.owner_id = p_voter OR EXISTS (
                   SELECT 1 FROM public.project_collaborators pc WHERE pc.project_id = p.id AND pc.user_id = p_voter
               )
        FROM public.projects p WHERE p.id = ANY (p_projects)
        FOR KEY SHARE OF p
    ) AS c (id, event_id, already_voted, is_member) ON true;
    -- The votes the constraints accept; the caller commits them only if its rules accept the facts.
    INSERT INTO public.votes (id, voter_id, project_id, event_id)
    SELECT w.id, p_voter, w.project_id, p_event
    FROM unnest(p_projects, p_vote_ids) AS w (project_id, id)
    WHERE EXISTS (SELECT 1 FROM public.projects p WHERE p.id = w.project_id AND p.event_id = p_event)
    ON CONFLICT DO NOTHING;
END $$
"""


def upgrade() -> None:
    op.execute(_CAST_BALLOT)
    op.execute("REVOKE EXECUTE ON FUNCTION public.podium_cast_ballot(uuid, uuid, uuid[], uuid[]) FROM PUBLIC")
    # The role that ran the migrations (the API's, unless a deployment separates them) keeps it as owner.


def downgrade() -> None:
    op.execute("DROP FUNCTION public.podium_cast_ballot(uuid, uuid, uuid[], uuid[])")
