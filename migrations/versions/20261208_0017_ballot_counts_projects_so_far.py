"""A ballot counts an event's projects only as far as the quota needs: ``podium_cast_ballot_on_terms`` takes
the count's end from the domain's terms (``p_count_projects_to``).

The quota (legacy §4.1) changes at 4 and 20 projects and never past 20, but migration 0013's function
counted every project of the event on every vote: a bitmap scan of the event's projects, about a fifth of
the function's CPU at 300 projects (bench: 1.18 → 0.99 ms of backend CPU per vote, median of 6 interleaved
rounds of 500 serial casts) and growing with the event. The count now stops at the domain's
``count_projects_to`` (``BallotTerms``; ``rules.QUOTA_PROJECTS_COUNTED_TO``), which the facts report as the
project count; everything else is 0013's function unchanged, and the comparison with the terms is the same.

0013's function stays: instances of the previous release call it until a rolling restart has replaced them
(docs/scaling.md: migrations run before instances are replaced, and the running version must tolerate them),
and it counts every project, which gives the same quota. A later release drops it, as 0016 dropped 0012's.
The downgrade drops the new signature only.

A NULL end counts every project (``LIMIT NULL``); a negative one is an error, as any negative LIMIT is.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-08 00:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SIGNATURE = "public.podium_cast_ballot_on_terms(uuid, uuid, uuid[], uuid[], integer[], integer)"
_CAST_BALLOT_ON_TERMS = """
CREATE FUNCTION public.podium_cast_ballot_on_terms(
    p_event uuid, p_voter uuid, p_projects uuid[], p_vote_ids uuid[], p_fewest_projects integer[],
    p_count_projects_to integer,
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
    -- The facts, in one statement read after the lock: the quota use (the event's projects counted up to
    -- the terms' end), and each project asked for that exists (locked against deletion), whether the
    -- voter voted for it already and whether it is theirs.
    SELECT (SELECT count(*) FROM public.votes v WHERE v.event_id = p_event AND v.voter_id = p_voter),
           (SELECT count(*) FROM (
               SELECT FROM public.projects q WHERE q.event_id = p_event LIMIT p_count_projects_to
           ) AS counted),
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


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {_SIGNATURE}")
