"""Casting votes (legacy §4.1; PRODUCT §3.9, §3.16)."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from podium.domain.errors import BAD_ACCESS, Forbidden, Invalid, NotFound
from podium.domain.models import BallotFacts, User, Vote
from podium.domain.ports import UnitOfWorkFactory
from podium.domain.rules import max_votes_per_user

NO_VOTE = "You have not voted for this project"


class VotingService:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def cast_votes(self, voter: User, event_id: UUID, project_ids: Sequence[UUID]) -> list[Vote]:
        """Vote for projects of an event, all or nothing, within the voter's quota.

        The attendee's row is locked for the transaction, so however many requests one attendee fires at
        once they are decided one after another: the quota and one-vote-per-project hold under concurrency.
        The store locks, reads the facts and writes the votes in one call (``Votes.cast``); the rules below
        decide on those facts, and only if every one holds is the write committed — a refused ballot leaves
        the unit of work uncommitted, which undoes it.
        """
        wanted = list(dict.fromkeys(project_ids))
        votes = [Vote(voter_id=voter.id, project_id=project_id, event_id=event_id) for project_id in wanted]
        async with self._uow() as uow:
            facts = await uow.votes.cast(event_id, voter.id, votes)
            _refuse_unless_allowed(facts, event_id, wanted)
            if votes:
                await uow.commit()
        return votes

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


def _refuse_unless_allowed(facts: BallotFacts, event_id: UUID, wanted: list[UUID]) -> None:
    """The rules of a ballot (legacy §4.1), in the order their errors are reported."""
    if not facts.event_found:
        raise NotFound("Event not found")
    if not facts.attending:
        raise Forbidden(BAD_ACCESS)
    if not facts.votable:
        raise Forbidden("Voting is not open for this event")
    if not wanted:
        return
    ballot = facts.ballot
    already = ballot.use.cast
    quota = max_votes_per_user(ballot.use.project_count)
    if already + len(wanted) > quota:
        raise Invalid(
            f"Cannot vote for {len(wanted)} projects. You have {max(quota - already, 0)} vote(s) remaining."
        )
    for project_id in wanted:
        candidate = ballot.candidates.get(project_id)
        if candidate is None:
            raise NotFound("Project not found")
        if candidate.event_id != event_id:
            raise Invalid("Project is not in the event")
        if candidate.already_voted:
            raise Invalid("User has already voted for this project")
        if candidate.is_member:
            raise Forbidden("User cannot vote for their own project")
