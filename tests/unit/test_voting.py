"""The vote rules of legacy §4.1 and PRODUCT §3.9, on the in-memory adapters."""

from __future__ import annotations

from uuid import uuid4

import pytest

from podium.adapters.memory.store import MemoryStore
from podium.domain.errors import BAD_ACCESS, DomainError, Forbidden, Invalid, NotFound
from podium.domain.models import Event, Project, User
from podium.domain.services.voting import VotingService
from tests.factories import EventFactory, ProjectFactory, UserFactory


async def _event_with(
    store: MemoryStore, projects: int, votable: bool = True
) -> tuple[Event, list[Project], User]:
    owner, voter = UserFactory.batch(2)
    event = EventFactory.build(owner_id=owner.id, votable=votable)
    made = [ProjectFactory.build(event_id=event.id, owner_id=owner.id) for _ in range(projects)]
    async with store() as tx:
        for user in (owner, voter):
            await tx.users.add(user)
        await tx.events.add(event)
        for project in made:
            await tx.projects.add(project)
        await tx.attendance.add(event.id, voter.id)
        await tx.commit()
    return event, made, voter


async def _stored_votes(store: MemoryStore) -> int:
    return len(store.data.votes)


@pytest.mark.parametrize(("projects", "quota"), [(3, 1), (4, 2), (20, 3)])
async def test_an_attendee_votes_up_to_the_quota(store: MemoryStore, projects: int, quota: int) -> None:
    event, made, voter = await _event_with(store, projects)
    voting = VotingService(store)
    for project in made[:quota]:
        await voting.cast_votes(voter, event.id, [project.id])
    with pytest.raises(Invalid, match=r"Cannot vote for 1 projects. You have 0 vote\(s\) remaining."):
        await voting.cast_votes(voter, event.id, [made[quota].id])
    assert await _stored_votes(store) == quota


async def test_duplicate_ids_in_one_request_count_once(store: MemoryStore) -> None:
    event, made, voter = await _event_with(store, 3)
    votes = await VotingService(store).cast_votes(voter, event.id, [made[0].id, made[0].id])
    assert [v.project_id for v in votes] == [made[0].id]


async def test_an_empty_ballot_changes_nothing(store: MemoryStore) -> None:
    event, _, voter = await _event_with(store, 3)
    assert await VotingService(store).cast_votes(voter, event.id, []) == []
    assert store.commits == 1  # only the set-up


async def test_the_quota_check_comes_before_the_repeat_check(store: MemoryStore) -> None:
    event, made, voter = await _event_with(store, 3)
    voting = VotingService(store)
    await voting.cast_votes(voter, event.id, [made[0].id])
    with pytest.raises(Invalid, match="You have 0 vote"):
        await voting.cast_votes(voter, event.id, [made[0].id])


async def test_repeat_votes_are_refused(store: MemoryStore) -> None:
    event, made, voter = await _event_with(store, 4)
    voting = VotingService(store)
    await voting.cast_votes(voter, event.id, [made[0].id])
    with pytest.raises(Invalid, match="User has already voted for this project"):
        await voting.cast_votes(voter, event.id, [made[0].id])


async def test_voting_is_all_or_nothing(store: MemoryStore) -> None:
    event, made, voter = await _event_with(store, 4)
    with pytest.raises(NotFound, match="Project not found"):
        await VotingService(store).cast_votes(voter, event.id, [made[0].id, uuid4()])
    assert await _stored_votes(store) == 0


@pytest.mark.parametrize(
    ("case", "error", "message"),
    [
        ("unknown event", NotFound, "Event not found"),
        ("not attending", Forbidden, BAD_ACCESS),
        ("voting closed", Forbidden, "Voting is not open for this event"),
        ("project elsewhere", Invalid, "Project is not in the event"),
        ("own project", Forbidden, "User cannot vote for their own project"),
        ("collaborated project", Forbidden, "User cannot vote for their own project"),
    ],
)
async def test_refusals(store: MemoryStore, case: str, error: type[DomainError], message: str) -> None:
    event, made, voter = await _event_with(store, 3, votable=case != "voting closed")
    other_event, other_projects, _ = await _event_with(store, 1)
    target = made[0].id
    event_id = event.id
    async with store() as tx:
        if case == "unknown event":
            event_id = uuid4()
        elif case == "not attending":
            await tx.attendance.remove(event.id, voter.id)
        elif case == "project elsewhere":
            target = other_projects[0].id
        elif case == "own project":
            own = ProjectFactory.build(event_id=event.id, owner_id=voter.id)
            await tx.projects.add(own)
            target = own.id
        elif case == "collaborated project":
            await tx.projects.add_collaborator(made[0].id, voter.id)
        await tx.commit()
    with pytest.raises(error) as raised:
        await VotingService(store).cast_votes(voter, event_id, [target])
    assert raised.value.message == message
    assert await _stored_votes(store) == 0
    assert other_event.id != event.id
