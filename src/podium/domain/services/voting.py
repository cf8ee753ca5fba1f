"""Casting votes (legacy §4.1; PRODUCT §3.9, §3.16)."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from podium.domain.errors import BAD_ACCESS, Forbidden, Invalid, NotFound
from podium.domain.models import User, Vote
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
        """
        wanted = list(dict.fromkeys(project_ids))
        async with self._uow() as uow:
            event, attending = await uow.attendance.lock_with_event(event_id, voter.id)
            if event is None:
                raise NotFound("Event not found")
            if not attending:
                raise Forbidden(BAD_ACCESS)
            if not event.votable:
                raise Forbidden("Voting is not open for this event")
            if not wanted:
                return []
            ballot = await uow.votes.ballot(event_id, voter.id, wanted)
            already = ballot.use.cast
            quota = max_votes_per_user(ballot.use.project_count)
            if already + len(wanted) > quota:
                raise Invalid(
                    f"Cannot vote for {len(wanted)} projects. "
                    f"You have {max(quota - already, 0)} vote(s) remaining."
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
            votes = [
                Vote(voter_id=voter.id, project_id=project_id, event_id=event_id) for project_id in wanted
            ]
            await uow.votes.add_many(votes)
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
