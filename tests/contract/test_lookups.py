"""The store's point reads outside units of work: current as of the call, and shared by concurrent calls."""

from __future__ import annotations

import asyncio

from podium.domain.models import ListingState, Vote
from podium.domain.ports import UnitOfWorkFactory
from tests.factories import EventFactory, ProjectFactory, UserFactory


async def test_lookups_see_every_change_committed_before_the_call(uow: UnitOfWorkFactory) -> None:
    owner, voter = UserFactory.batch(2)
    event = EventFactory.build(owner_id=owner.id, leaderboard_enabled=False)
    project = ProjectFactory.build(event_id=event.id, owner_id=owner.id)
    lookups = uow.lookups
    assert await lookups.user_by_email(voter.email) is None
    async with uow() as tx:
        for user in (owner, voter):
            await tx.users.add(user)
        await tx.events.add(event)
        await tx.projects.add(project)
        await tx.commit()
    assert await lookups.user_by_email(voter.email) == voter
    assert await lookups.vote_ids_by_voter(voter.id) == []
    state = await lookups.listing_state(event.id)
    assert state is not None
    assert state.leaderboard_enabled is False

    vote = Vote(voter_id=voter.id, project_id=project.id, event_id=event.id)
    async with uow() as tx:
        await tx.votes.add_many([vote])
        await tx.commit()
    assert await lookups.vote_ids_by_voter(voter.id) == [vote.id]
    assert await lookups.listing_state(event.id) == ListingState(
        state.version + 1, False, event.owner_id, event.phase
    )

    async with uow() as tx:
        await tx.events.delete(event.id)
        await tx.commit()
    assert await lookups.listing_state(event.id) is None


async def test_concurrent_lookups_get_their_own_answers(uow: UnitOfWorkFactory) -> None:
    users = UserFactory.batch(5)
    async with uow() as tx:
        for user in users:
            await tx.users.add(user)
        await tx.commit()
    emails = [u.email for u in users] + ["nobody@example.com"]
    found = await asyncio.gather(*(uow.lookups.user_by_email(e) for e in emails * 3))
    assert found == [*users, None] * 3
    first, again = found[0], found[len(emails)]
    assert first is not again  # callers of one batch never share a mutable user
