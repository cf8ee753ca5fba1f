"""A ballot cast in one statement, its commit included: ``podium_cast_ballot_on_terms``.

After migration 0012 a vote still took three round trips — BEGIN, ``podium_cast_ballot``, COMMIT — because
the transaction stayed open while the domain judged the facts the function returned. Here the domain
states up front the terms under which its rules accept the ballot (``BallotTerms``: everything found, open
and attended, no project voted for already or the voter's own, and the quota as the fewest projects the
event must have for each number of votes already cast), and the function compares the facts it finds with
the lock held against those terms, writing the votes only if they match. It decides nothing of its own: the
terms come from the domain, which judges the returned facts again afterwards and reports its first broken
rule. Called in autocommit, the lock, the facts, the write and the commit are one round trip.

Locks and snapshots as in 0012: the event against deletion, then the attendee's row (the order every writer
takes), then the projects asked for against deletion; each statement of this VOLATILE function takes a new
snapshot in READ COMMITTED, so the facts are read after the lock was granted.

SECURITY INVOKER (the default): it runs with the caller's rights, touching only tables the API's role
writes anyway; tables schema-qualified and the search path pinned, EXECUTE revoked from PUBLIC.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 17:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SIGNATURE = "public.podium_cast_ballot_on_terms(uuid, uuid, uuid[], uuid[], integer[])"
_CAST_BALLOT_ON_TERMS = """
CREATE FUNCTION public.podium_cast_ballot_on_terms(
    p_event uuid, p_voter uuid, p_projects uuid[], p_vote_ids uuid[], p_fewest_projects integer[],
    OUT event_found boolean, OUT votable boolean, OUT attending boolean, OUT cast_count bigint,
    OUT project_count bigint, OUT candidate_ids uuid[], OUT candidate_events uuid[],
    OUT candidates_voted boolean[], OUT candidates_member boolean[], OUT admitted boolean
)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = pg_catalog, public, pg_temp AS $$
#variable_conflict use_column
BEGIN
    -- One row whatever happens; the facts of a missing event are all false and empty.
    event_found := false; votable := false; attending := false; cast_count := 0; project_count := 0;
    candidate_ids := '{}'; candidate_events := '{}'; candidates_voted := '{}'; candidates_member := '{}';
    admitted := false;
    SELECT e.votable INTO votable FROM public.events e WHERE e.id = p_event AND e.deleted_at IS NULL
    FOR KEY SHARE;
    IF NOT FOUND THEN
        votable := false;
        RETURN;
    END IF;
    event_found := true;
    PERFORM 1 FROM public.event_attendees a WHERE a.event_id = p_event AND a.user_id = p_voter FOR UPDATE;
    attending := FOUND;
    -- The facts, in one statement read after the lock: the quota use, and each project asked for that
    -- exists (locked against deletion), whether the voter voted for it already and whether it is theirs.
    SELECT (SELECT count(*) FROM public.votes v WHERE v.event_id = p_event AND v.voter_id = p_voter),
           (SELECT count(*) FROM public.projects q WHERE q.event_id = p_event),
           coalesce(array_agg(c.id), '{}'), coalesce(array_agg(c.event_id), '{}'),
           coalesce(array_agg(c.voted), '{}'), coalesce(array_agg(c.member), '{}')
    INTO cast_count, project_count, candidate_ids, candidate_events, candidates_voted, candidates_member
    FROM (
        SELECT p.id, p.event_id,
               EXISTS (SELECT 1 FROM public.votes v WHERE v.project_id = p.id AND v.voter_id = p_voter),
               coalesce(p.owner_id = p_voter, false) OR EXISTS (
                   SELECT 1 FROM public.project_collaborators pc WHERE pc.project_id = p.id AND pc.user_id = p_voter
               )
        FROM public.projects p WHERE p.id = ANY (p_projects)
        FOR KEY SHARE OF p
    ) AS c (id, event_id, voted, member);
    -- The comparison with the domain's terms (BallotTerms.admits); nothing else is decided here.
    admitted := coalesce(votable AND attending AND (
        cardinality(p_projects) = 0 OR (
            cardinality(candidate_ids) = cardinality(p_projects)
            AND p_event = ALL (candidate_events)
            AND NOT true = ANY (candidates_voted) AND NOT true = ANY (candidates_member)
            AND cast_count < cardinality(p_fewest_projects)
            AND project_count >= p_fewest_projects[cast_count + 1]
        )
    ), false);
    IF admitted AND cardinality(p_projects) > 0 THEN
        INSERT INTO public.votes (id, voter_id, project_id, event_id)
        SELECT w.id, p_voter, w.project_id, p_event FROM unnest(p_projects, p_vote_ids) AS w (project_id, id);
    END IF;
END $$
"""


def upgrade() -> None:
    op.execute(_CAST_BALLOT_ON_TERMS)
    op.execute(f"REVOKE EXECUTE ON FUNCTION {_SIGNATURE} FROM PUBLIC")
    # The role that ran the migrations (the API's, unless a deployment separates them) keeps it as owner.


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {_SIGNATURE}")
