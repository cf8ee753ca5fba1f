"""Casting votes (legacy §4.1; PRODUCT §3.9, §3.16)."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from podium.domain.errors import BAD_ACCESS, DomainError, Forbidden, Invalid, NotFound
from podium.domain.models import BallotFacts, BallotTerms, User, Vote
from podium.domain.ports import UnitOfWorkFactory
from podium.domain.rules import fewest_projects_by_cast, max_votes_per_user

NO_VOTE = "You have not voted for this project"


class VotingService:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def cast_votes(self, voter: User, event_id: UUID, project_ids: Sequence[UUID]) -> list[Vote]:
        """Vote for projects of an event, all or nothing, within the voter's quota.

        The rules decide in two halves around one atomic step of the store. Before it, they state the
        terms under which they accept this ballot (``BallotTerms``: the quota as the project-count
        threshold for each number of votes already cast). The store then locks the voter's attendee row
        — however many requests one attendee fires at once, they are decided one after another —, reads
        the facts and writes the votes only if the facts are within the terms (``Ballots.cast``: one
        round trip on PostgreSQL, its commit included). After it, the rules judge the facts it returns and
        report the first broken rule, in their order, with their message; the store's comparison and this
        judgement agree by construction (tests/unit/test_voting.py proves it over every combination).
        """
        wanted = list(dict.fromkeys(project_ids))
        votes = tuple(
            Vote(voter_id=voter.id, project_id=project_id, event_id=event_id) for project_id in wanted
        )
        fewest = fewest_projects_by_cast(len(votes)) if votes else ()
        outcome = await self._uow.ballots.cast(BallotTerms(event_id, voter.id, votes, fewest))
        refusal = ballot_refusal(outcome.facts, event_id, wanted)
        if (refusal is None) != outcome.admitted:
            # Only a store that compares otherwise than ``BallotTerms.admits`` gets here.
            raise RuntimeError(
                f"the store {'wrote' if outcome.admitted else 'refused'} a ballot the rules judge otherwise"
            )
        if refusal is not None:
            raise refusal
        return list(votes)

    async def withdraw_vote(self, voter: User, event_id: UUID, project_id: UUID) -> None:
        """Take back one's own vote for a project while voting is open: the quota frees up and the points
        drop. Decided one after another with the attendee's casts (the same lock), so a withdrawal and a
        cast racing each other can never leave the voter over quota."""
        async with self._uow() as uow:
            event, _attending = await uow.attendance.lock_with_event(event_id, voter.id)
            if event is None:
                raise NotFound("Event not found")
            if not event.votable:
                raise Forbidden("Voting is not open for this event")
            if not await uow.votes.withdraw(event_id, voter.id, project_id):
                raise NotFound(NO_VOTE)
            await uow.commit()


def ballot_refusal(facts: BallotFacts, event_id: UUID, wanted: Sequence[UUID]) -> DomainError | None:
    """The first rule of a ballot (legacy §4.1) the facts break, in the order their errors are reported;
    None when the ballot is allowed."""
    if not facts.event_found:
        return NotFound("Event not found")
    if not facts.attending:
        return Forbidden(BAD_ACCESS)
    if not facts.votable:
        return Forbidden("Voting is not open for this event")
    if not wanted:
        return None
    ballot = facts.ballot
    already = ballot.use.cast
    quota = max_votes_per_user(ballot.use.project_count)
    if already + len(wanted) > quota:
        return Invalid(
            f"Cannot vote for {len(wanted)} projects. You have {max(quota - already, 0)} vote(s) remaining."
        )
    for project_id in wanted:
        candidate = ballot.candidates.get(project_id)
        if candidate is None:
            return NotFound("Project not found")
        if candidate.event_id != event_id:
            return Invalid("Project is not in the event")
        if candidate.already_voted:
            return Invalid("User has already voted for this project")
        if candidate.is_member:
            return Forbidden("User cannot vote for their own project")
    return None
