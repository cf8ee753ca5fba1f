"""Votes (the ballot's checks and the insert, in as few round trips as the rules allow) and referrals."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import (
    Uuid,
    any_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from podium.adapters.postgres.models import (
    ProjectCollaboratorModel,
    ProjectModel,
    ReferralModel,
    VoteModel,
)
from podium.adapters.postgres.repositories.marks import (
    ONLY_CHANGED,
    REFERRALS,
    changes,
    keyed_list_changes,
    since,
)
from podium.adapters.postgres.repositories.rows import values_of
from podium.domain.models import (
    Ballot,
    BallotFacts,
    BallotOutcome,
    BallotTerms,
    Referral,
    Vote,
    VoteCandidate,
    VoteQuotaUse,
)
from podium.domain.ports import Changes

# The vote's checks in two statements whatever the number of projects asked for (issue 6).
_QUOTA_USE = select(
    select(func.count())
    .select_from(VoteModel)
    .where(VoteModel.event_id == bindparam("event_id"), VoteModel.voter_id == bindparam("voter_id"))
    .scalar_subquery()
    .label("cast"),
    select(func.count())
    .select_from(ProjectModel)
    .where(ProjectModel.event_id == bindparam("event_id"))
    .scalar_subquery()
    .label("project_count"),
)
_CANDIDATES = select(
    ProjectModel.id,
    ProjectModel.event_id,
    exists()
    .where(VoteModel.project_id == ProjectModel.id, VoteModel.voter_id == bindparam("voter_id"))
    .label("already_voted"),
    (
        (ProjectModel.owner_id == bindparam("voter_id"))
        | exists().where(
            ProjectCollaboratorModel.project_id == ProjectModel.id,
            ProjectCollaboratorModel.user_id == bindparam("voter_id"),
        )
    ).label("is_member"),
).where(ProjectModel.id == any_(bindparam("project_ids", type_=ARRAY(Uuid))))
# Against deletion, as the vote's own foreign key would lock them, but before the checks: a vote racing a
# project's delete waits for it and finds the project gone (404), rather than failing at the insert.
_CANDIDATES = _CANDIDATES.with_for_update(read=True, key_share=True, of=ProjectModel)
# Quota and candidates in one round trip: the quota row, joined with one row per candidate (if any).
_QUOTA = _QUOTA_USE.subquery("quota")
_CANDIDATE_ROWS = _CANDIDATES.subquery("candidate")
_BALLOT = select(_QUOTA, _CANDIDATE_ROWS).select_from(_QUOTA.outerjoin(_CANDIDATE_ROWS, true()))
_ADD_VOTE = insert(VoteModel).values(
    id=bindparam("id"),
    voter_id=bindparam("voter_id"),
    project_id=bindparam("project_id"),
    event_id=bindparam("event_id"),
)
# A ballot on the domain's terms, lock to commit, in one statement (migration 0013 says what it does). Run on
# the driver's connection: the statement needs nothing of SQLAlchemy's but the pooled connection.
CAST_BALLOT_ON_TERMS = "SELECT * FROM public.podium_cast_ballot_on_terms($1, $2, $3, $4, $5, $6)"


async def cast_on_terms(connection: Any, terms: BallotTerms) -> BallotOutcome:
    """``Ballots.cast`` on an asyncpg connection (in autocommit, or in a transaction the caller commits)."""
    row = await connection.fetchrow(
        CAST_BALLOT_ON_TERMS,
        terms.event_id,
        terms.voter_id,
        [v.project_id for v in terms.votes],
        [v.id for v in terms.votes],
        list(terms.fewest_projects),
        terms.count_projects_to,
    )
    found = zip(
        row["candidate_ids"],
        row["candidate_events"],
        row["candidates_voted"],
        row["candidates_member"],
        strict=True,
    )
    candidates = {
        project_id: VoteCandidate(event_id, voted, member) for project_id, event_id, voted, member in found
    }
    use = VoteQuotaUse(cast=row["cast_count"], project_count=row["project_count"])
    facts = BallotFacts(row["event_found"], row["votable"], row["attending"], Ballot(use, candidates))
    return BallotOutcome(facts, row["admitted"])


_VOTE_IDS_OF_VOTER = select(VoteModel.id).where(VoteModel.voter_id == bindparam("key")).order_by(VoteModel.id)
_VOTE_IDS_OF_VOTERS = (
    select(VoteModel.voter_id, VoteModel.id)
    .where(VoteModel.voter_id == any_(bindparam("keys", type_=ARRAY(Uuid))))
    .order_by(VoteModel.voter_id, VoteModel.id)
)

_VOTES_IN_EVENT_SINCE = since(
    f"SELECT v.id, v.voter_id, v.project_id, v.event_id FROM public.votes v WHERE v.event_id = :key {ONLY_CHANGED}",
    "v.project_id",
    "r.id",
)


def _vote(row: Any) -> Vote:
    return Vote(id=row.id, voter_id=row.voter_id, project_id=row.project_id, event_id=row.event_id)


class PostgresVotes:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def ballot(self, event_id: UUID, voter_id: UUID, project_ids: Sequence[UUID]) -> Ballot:
        params = {"event_id": event_id, "voter_id": voter_id, "project_ids": list(project_ids)}
        rows = (await self._db.execute(_BALLOT, params)).all()
        candidates = {
            row.id: VoteCandidate(row.event_id, row.already_voted, row.is_member)
            for row in rows
            if row.id is not None
        }
        return Ballot(VoteQuotaUse(cast=rows[0].cast, project_count=rows[0].project_count), candidates)

    async def add_many(self, votes: Sequence[Vote]) -> None:
        rows = [values_of(v, ("id", "voter_id", "project_id", "event_id")) for v in votes]
        if len(rows) == 1:
            await self._db.execute(_ADD_VOTE, rows[0])
        elif rows:
            await self._db.execute(insert(VoteModel).values(rows))

    async def withdraw(self, event_id: UUID, voter_id: UUID, project_id: UUID) -> bool:
        statement = (
            delete(VoteModel)
            .where(
                VoteModel.event_id == event_id,
                VoteModel.voter_id == voter_id,
                VoteModel.project_id == project_id,
            )
            .returning(VoteModel.id)
        )
        return (await self._db.execute(statement)).first() is not None

    async def in_event(self, event_id: UUID) -> list[Vote]:
        statement = (
            select(VoteModel.id, VoteModel.voter_id, VoteModel.project_id, VoteModel.event_id)
            .where(VoteModel.event_id == event_id)
            .order_by(VoteModel.id)
        )
        return [_vote(r) for r in (await self._db.execute(statement)).all()]

    async def in_event_since(self, event_id: UUID, since: str | None) -> Changes[Vote]:
        return await changes(self._db, _VOTES_IN_EVENT_SINCE, event_id, since, _vote)

    async def ids_by_voter(self, voter_id: UUID) -> list[UUID]:
        return list((await self._db.scalars(_VOTE_IDS_OF_VOTER, {"key": voter_id})).all())

    async def ids_by_voters(self, voter_ids: Collection[UUID]) -> dict[UUID, list[UUID]]:
        by_voter: dict[UUID, list[UUID]] = {}
        for voter_id, vote_id in await self._db.execute(_VOTE_IDS_OF_VOTERS, {"keys": list(voter_ids)}):
            by_voter.setdefault(voter_id, []).append(vote_id)
        return by_voter


_ADD_REFERRAL = insert(ReferralModel).values(
    id=bindparam("id"),
    content=bindparam("content"),
    user_id=bindparam("user_id"),
    event_id=bindparam("event_id"),
)
# Each referral is its own subject (migration 0018).
_REFERRALS_SINCE = since(
    f"SELECT f.id, f.content, f.user_id, f.event_id FROM public.referrals f WHERE f.event_id = :key {ONLY_CHANGED}",
    "f.id",
    "r.id",
)


def _referral(row: Any) -> Referral:
    return Referral(id=row.id, content=row.content, user_id=row.user_id, event_id=row.event_id)


class PostgresReferrals:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def add(self, referral: Referral) -> None:
        await self._db.execute(_ADD_REFERRAL, values_of(referral, ("id", "content", "user_id", "event_id")))

    async def in_event(self, event_id: UUID) -> list[Referral]:
        statement = (
            select(ReferralModel.id, ReferralModel.content, ReferralModel.user_id, ReferralModel.event_id)
            .where(ReferralModel.event_id == event_id)
            .order_by(ReferralModel.id)
        )
        return [_referral(r) for r in (await self._db.execute(statement)).all()]

    async def in_event_since(self, event_id: UUID, since: str | None) -> Changes[Referral]:
        return await keyed_list_changes(self._db, _REFERRALS_SINCE, event_id, since, _referral, REFERRALS)
