"""The ports of issue 15 behave alike in memory and on PostgreSQL: the superadmin's directory, soft
deletes as every other port sees them, and vote withdrawal."""

from __future__ import annotations

import dataclasses
import datetime as dt

from podium.domain.models import Vote
from podium.domain.ports import UnitOfWorkFactory
from tests.factories import EventFactory, ProjectFactory, UserFactory

WHEN = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC)


async def test_a_soft_deleted_event_is_seen_only_by_the_directory(uow: UnitOfWorkFactory) -> None:
    owner = UserFactory.build()
    event = EventFactory.build(owner_id=owner.id, name="Gone Jam", slug="gone-jam")
    project = ProjectFactory.build(event_id=event.id, owner_id=owner.id)
    async with uow() as tx:
        await tx.users.add(owner)
        await tx.events.add(event)
        await tx.attendance.add(event.id, owner.id)
        await tx.projects.add(project)
        await tx.commit()
    async with uow() as tx:
        found = await tx.directory.event(event.id)
        assert found == event
        await tx.directory.save(dataclasses.replace(event, deleted_at=WHEN))
        await tx.commit()
    async with uow() as tx:
        assert await tx.events.get(event.id) is None
        assert await tx.events.view(event.id) is None
        assert await tx.events.id_for_slug(event.slug) is None
        assert await tx.events.get_by_join_code(event.join_code) is None
        assert await tx.events.owned_by(owner.id) == []
        assert await tx.events.attended_by(owner.id) == []
        assert await tx.events.listing_states([event.id]) == {}
        assert await tx.attendance.lock_with_event(event.id, owner.id) == (None, False)
        assert await tx.projects.get(project.id) is None
        assert await tx.projects.mine(owner.id) == []
        kept = await tx.directory.view(event.id)
        assert kept is not None
        assert (kept.event.deleted_at, kept.project_count) == (WHEN, 1)
        page, total = await tx.directory.events_page("gone", 0, 10)
        assert ([v.event.id for v in page], total) == ([event.id], 1)
        assert await tx.directory.flagged("") == []


async def test_the_directory_pages_and_searches(uow: UnitOfWorkFactory) -> None:
    owner = UserFactory.build(email="owner@example.com", display_name="Olive Owner")
    events = [EventFactory.build(owner_id=owner.id, name=f"Jam {i}", slug=f"jam-{i}") for i in range(5)]
    async with uow() as tx:
        await tx.users.add(owner)
        for event in events:
            await tx.events.add(event)
        await tx.commit()
    async with uow() as tx:
        page, total = await tx.directory.events_page("", 2, 2)
        assert ([v.event.id for v in page], total) == ([events[2].id, events[3].id], 5)
        assert await tx.directory.events_page("JAM-4", 0, 10) == ([await tx.directory.view(events[4].id)], 1)
        assert await tx.directory.events_page("%", 0, 10) == ([], 0)
        users, count = await tx.directory.users_page("olive", 0, 10)
        assert ([u.email for u in users], count) == ([owner.email], 1)
        assert await tx.directory.set_superadmin(owner.email, True)
        assert not await tx.directory.set_superadmin("nobody@example.com", True)
        await tx.commit()
    async with uow() as tx:
        user = await tx.users.get(owner.id)
        assert user is not None
        assert user.is_superadmin


async def test_a_vote_is_withdrawn_once_and_only_in_its_event(uow: UnitOfWorkFactory) -> None:
    owner, voter = UserFactory.build(), UserFactory.build()
    event, other = EventFactory.build(owner_id=owner.id), EventFactory.build(owner_id=owner.id)
    project = ProjectFactory.build(event_id=event.id, owner_id=owner.id)
    async with uow() as tx:
        for user in (owner, voter):
            await tx.users.add(user)
        await tx.events.add(event)
        await tx.events.add(other)
        await tx.projects.add(project)
        await tx.votes.add_many([Vote(voter_id=voter.id, project_id=project.id, event_id=event.id)])
        await tx.commit()
    async with uow() as tx:
        assert not await tx.votes.withdraw(other.id, voter.id, project.id)
        assert not await tx.votes.withdraw(event.id, owner.id, project.id)
        assert await tx.votes.withdraw(event.id, voter.id, project.id)
        assert not await tx.votes.withdraw(event.id, voter.id, project.id)
        await tx.commit()
    async with uow() as tx:
        assert await tx.votes.ids_by_voter(voter.id) == []
