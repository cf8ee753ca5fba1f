"""The ports' contract: the in-memory fakes and the Postgres adapters behave the same (STYLE habit 3)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import uuid4

import pytest

from podium.domain.models import Ballot, Referral, User, Vote, VoteCandidate, VoteQuotaUse
from podium.domain.ports import JoinCodeTaken, LockPurpose, SlugTaken, UnitOfWork, UnitOfWorkFactory
from podium.domain.rules import QUOTA_PROJECTS_COUNTED_TO
from tests.factories import EventFactory, ProjectFactory, UserFactory


async def _people(uow: UnitOfWorkFactory, count: int) -> list[User]:
    users = UserFactory.batch(count)
    async with uow() as tx:
        for user in users:
            assert await tx.users.add(user)
        await tx.commit()
    return users


async def test_users_are_found_by_id_and_email_and_emails_are_unique(uow: UnitOfWorkFactory) -> None:
    (user,) = await _people(uow, 1)
    async with uow() as tx:
        assert await tx.users.get(user.id) == user
        assert await tx.users.get_by_email(user.email) == user
        assert await tx.users.get_by_email("nobody@example.com") is None
        assert await tx.users.get_many_by_email([user.email, "nobody@example.com"]) == {user.email: user}
        assert await tx.users.get_many_by_email([]) == {}
        assert not await tx.users.add(UserFactory.build(email=user.email))


async def test_work_is_lost_unless_committed(uow: UnitOfWorkFactory) -> None:
    user = UserFactory.build()
    async with uow() as tx:
        await tx.users.add(user)
    async with uow() as tx:
        assert await tx.users.get(user.id) is None


async def test_event_slugs_and_join_codes_are_unique(uow: UnitOfWorkFactory) -> None:
    (owner,) = await _people(uow, 1)
    event = EventFactory.build(owner_id=owner.id)
    async with uow() as tx:
        await tx.events.add(event)
        with pytest.raises(SlugTaken):
            await tx.events.add(EventFactory.build(owner_id=owner.id, slug=event.slug))
        with pytest.raises(JoinCodeTaken):
            await tx.events.add(EventFactory.build(owner_id=owner.id, join_code=event.join_code))
        # The failed inserts leave the unit of work usable.
        await tx.commit()
    async with uow() as tx:
        assert await tx.events.id_for_slug(event.slug) == event.id
        assert await tx.events.get_by_join_code(event.join_code) == event


async def test_event_views_count_projects_for_the_vote_quota(uow: UnitOfWorkFactory) -> None:
    owner, attendee = await _people(uow, 2)
    event = EventFactory.build(owner_id=owner.id)
    async with uow() as tx:
        await tx.events.add(event)
        for _ in range(4):
            await tx.projects.add(ProjectFactory.build(event_id=event.id, owner_id=owner.id))
        assert await tx.attendance.add(event.id, attendee.id)
        assert not await tx.attendance.add(event.id, attendee.id)
        await tx.commit()
    async with uow() as tx:
        view = await tx.events.view(event.id)
        assert view is not None
        assert (view.project_count, view.max_votes_per_user) == (4, 2)
        assert [v.event.id for v in await tx.events.owned_by(owner.id)] == [event.id]
        assert [v.event.id for v in await tx.events.attended_by(attendee.id)] == [event.id]
        assert await tx.events.attended_by(owner.id) == []
        assert [u.id for u in await tx.attendance.attendees(event.id)] == [attendee.id]


async def test_event_views_count_projects_only_as_far_as_the_quota_needs(uow: UnitOfWorkFactory) -> None:
    owner, attendee = await _people(uow, 2)
    large, small = EventFactory.batch(2, owner_id=owner.id)
    async with uow() as tx:
        for event, projects in ((large, QUOTA_PROJECTS_COUNTED_TO + 5), (small, 3)):
            await tx.events.add(event)
            for _ in range(projects):
                await tx.projects.add(ProjectFactory.build(event_id=event.id, owner_id=owner.id))
            assert await tx.attendance.add(event.id, attendee.id)
        await tx.commit()
    async with uow(read_only=True) as tx:
        views = {view.event.id: view for view in await tx.events.attended_by(attendee.id)}
    assert (views[large.id].project_count, views[large.id].max_votes_per_user) == (
        QUOTA_PROJECTS_COUNTED_TO,
        3,
    )
    assert (views[small.id].project_count, views[small.id].max_votes_per_user) == (3, 1)


async def test_listings_compute_points_and_order_deterministically(uow: UnitOfWorkFactory) -> None:
    owner, mate, *voters = await _people(uow, 5)
    event = EventFactory.build(owner_id=owner.id)
    alpha = ProjectFactory.build(event_id=event.id, owner_id=owner.id, name="Alpha")
    beta = ProjectFactory.build(event_id=event.id, owner_id=owner.id, name="Beta", legacy_points=1)
    gamma = ProjectFactory.build(event_id=event.id, owner_id=owner.id, name="Gamma")
    async with uow() as tx:
        await tx.events.add(event)
        for project in (gamma, beta, alpha):
            await tx.projects.add(project)
        await tx.projects.add_collaborator(alpha.id, mate.id)
        await tx.votes.add_many(
            [Vote(voter_id=v.id, project_id=gamma.id, event_id=event.id) for v in voters]
            + [Vote(voter_id=voters[0].id, project_id=alpha.id, event_id=event.id)]
        )
        await tx.commit()
    async with uow() as tx:
        views = await tx.projects.in_event(event.id)
        # Gamma 3 votes; Alpha 1 vote and Beta 1 legacy point tie, broken by name.
        assert [(v.project.name, v.points) for v in views] == [("Gamma", 3), ("Alpha", 1), ("Beta", 1)]
        alpha_view = views[1]
        assert alpha_view.collaborator_display_names == [mate.display_name]
        assert alpha_view.owner_display_name == owner.display_name
        missing = uuid4()
        assert await tx.votes.ballot(event.id, voters[0].id, [alpha.id, beta.id, missing]) == Ballot(
            VoteQuotaUse(cast=2, project_count=3),
            {
                alpha.id: VoteCandidate(event.id, already_voted=True, is_member=False),
                beta.id: VoteCandidate(event.id, already_voted=False, is_member=False),
            },
        )
        assert await tx.votes.ballot(event.id, mate.id, [alpha.id, beta.id]) == Ballot(
            VoteQuotaUse(cast=0, project_count=3),
            {
                alpha.id: VoteCandidate(event.id, already_voted=False, is_member=True),
                beta.id: VoteCandidate(event.id, already_voted=False, is_member=False),
            },
        )
        assert await tx.votes.ballot(event.id, owner.id, [gamma.id]) == Ballot(
            VoteQuotaUse(cast=0, project_count=3),
            {gamma.id: VoteCandidate(event.id, already_voted=False, is_member=True)},
        )
        assert await tx.votes.ballot(event.id, voters[0].id, []) == Ballot(VoteQuotaUse(2, 3), {})
        assert await tx.votes.ballot(uuid4(), voters[0].id, [missing]) == Ballot(VoteQuotaUse(0, 0), {})
        assert [p.project.name for p in await tx.projects.mine(mate.id)] == ["Alpha"]
        assert len(await tx.votes.in_event(event.id)) == 4
        first = await tx.votes.ids_by_voter(voters[0].id)
        assert len(first) == 2
        assert first == sorted(first, key=str)
        assert await tx.votes.ids_by_voters([voters[0].id, mate.id]) == {voters[0].id: first}


async def test_deleting_a_project_takes_its_votes_and_links(uow: UnitOfWorkFactory) -> None:
    owner, mate, voter = await _people(uow, 3)
    event = EventFactory.build(owner_id=owner.id)
    project = ProjectFactory.build(event_id=event.id, owner_id=owner.id)
    async with uow() as tx:
        await tx.events.add(event)
        await tx.projects.add(project)
        await tx.projects.add_collaborator(project.id, mate.id)
        await tx.votes.add_many([Vote(voter_id=voter.id, project_id=project.id, event_id=event.id)])
        await tx.projects.delete(project.id)
        await tx.commit()
    async with uow() as tx:
        assert await tx.projects.get(project.id) is None
        assert await tx.votes.in_event(event.id) == []
        assert await tx.projects.mine(mate.id) == []


async def test_deleting_an_event_takes_everything_under_it(uow: UnitOfWorkFactory) -> None:
    owner, voter = await _people(uow, 2)
    event = EventFactory.build(owner_id=owner.id)
    project = ProjectFactory.build(event_id=event.id, owner_id=owner.id)
    async with uow() as tx:
        await tx.events.add(event)
        await tx.projects.add(project)
        await tx.attendance.add(event.id, voter.id)
        await tx.referrals.add(Referral(content="a friend", user_id=voter.id, event_id=event.id))
        await tx.votes.add_many([Vote(voter_id=voter.id, project_id=project.id, event_id=event.id)])
        await tx.commit()
    async with uow() as tx:
        assert [r.content for r in await tx.referrals.in_event(event.id)] == ["a friend"]
        await tx.events.delete(event.id)
        await tx.commit()
    async with uow() as tx:
        assert await tx.events.get(event.id) is None
        assert await tx.projects.get(project.id) is None
        assert await tx.referrals.in_event(event.id) == []
        assert await tx.events.attended_by(voter.id) == []
        assert await tx.votes.ids_by_voter(voter.id) == []


async def test_a_magic_link_is_consumed_once(uow: UnitOfWorkFactory) -> None:
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=15)
    async with uow() as tx:
        assert await tx.magic_links.consume("a" * 64, expires)
        await tx.commit()
    async with uow() as tx:
        assert not await tx.magic_links.consume("a" * 64, expires)
        assert await tx.magic_links.consume("b" * 64, expires)


async def test_projects_join_codes_are_unique_and_found(uow: UnitOfWorkFactory) -> None:
    (owner,) = await _people(uow, 1)
    event = EventFactory.build(owner_id=owner.id)
    project = ProjectFactory.build(event_id=event.id, owner_id=owner.id)
    async with uow() as tx:
        await tx.events.add(event)
        await tx.projects.add(project)
        with pytest.raises(JoinCodeTaken):
            await tx.projects.add(
                ProjectFactory.build(event_id=event.id, owner_id=owner.id, join_code=project.join_code)
            )
        await tx.commit()
    async with uow() as tx:
        assert await tx.projects.get_by_join_code(project.join_code) == project
        assert await tx.projects.get(project.id) == project


async def test_listing_states_read_each_existing_event(uow: UnitOfWorkFactory) -> None:
    (owner,) = await _people(uow, 1)
    event = EventFactory.build(owner_id=owner.id, leaderboard_enabled=True)
    other = EventFactory.build(owner_id=owner.id)
    async with uow() as tx:
        await tx.events.add(event)
        await tx.events.add(other)
        await tx.commit()
    async with uow() as tx:
        states = await tx.events.listing_states([event.id, other.id, uuid4()])
        assert states.keys() == {event.id, other.id}  # an unknown event has no state
        assert states[event.id].leaderboard_enabled is True
        assert states[other.id].leaderboard_enabled is False
        assert states[event.id].owner_id == owner.id
        assert await tx.events.listing_states([]) == {}


# Each change, made through a repository that knows nothing of caches, must move the version of the event
# whose lists show it (the store decides: triggers in Postgres), and leave an unrelated event's alone.
_CHANGES: dict[str, Callable[[UnitOfWork, dict[str, Any]], Awaitable[object]]] = {
    "vote": lambda tx, w: tx.votes.add_many(
        [Vote(voter_id=w["mate"].id, project_id=w["p2"].id, event_id=w["event"].id)]
    ),
    "collaborator joins": lambda tx, w: tx.projects.add_collaborator(w["project"].id, w["bystander"].id),
    "project renamed": lambda tx, w: tx.projects.update(dataclasses.replace(w["project"], name="Renamed")),
    "project added": lambda tx, w: tx.projects.add(
        ProjectFactory.build(event_id=w["event"].id, owner_id=w["bystander"].id)
    ),
    "project deleted": lambda tx, w: tx.projects.delete(w["project"].id),
    "owner renamed": lambda tx, w: tx.users.update(dataclasses.replace(w["owner"], display_name="New name")),
    "collaborator renamed": lambda tx, w: tx.users.update(
        dataclasses.replace(w["mate"], display_name="Mate 2")
    ),
    "attendee renamed": lambda tx, w: tx.users.update(dataclasses.replace(w["attendee"], last_name="Other")),
    "attendee joins": lambda tx, w: tx.attendance.add(w["event"].id, w["bystander"].id),
    "attendee removed": lambda tx, w: tx.attendance.remove(w["event"].id, w["attendee"].id),
    "referral": lambda tx, w: tx.referrals.add(
        Referral(content="a friend", user_id=w["attendee"].id, event_id=w["event"].id)
    ),
    "leaderboard opened": lambda tx, w: tx.events.update(
        dataclasses.replace(w["event"], leaderboard_enabled=True)
    ),
}


@pytest.mark.parametrize("change", list(_CHANGES))
async def test_every_change_to_a_list_moves_its_events_version(uow: UnitOfWorkFactory, change: str) -> None:
    owner, mate, attendee, bystander = await _people(uow, 4)
    event = EventFactory.build(owner_id=owner.id)
    other = EventFactory.build(owner_id=bystander.id)
    project = ProjectFactory.build(event_id=event.id, owner_id=owner.id)
    p2 = ProjectFactory.build(event_id=event.id, owner_id=owner.id)
    async with uow() as tx:
        await tx.events.add(event)
        await tx.events.add(other)
        await tx.projects.add(project)
        await tx.projects.add(p2)
        await tx.projects.add_collaborator(project.id, mate.id)
        for user in (mate, attendee):
            await tx.attendance.add(event.id, user.id)
        await tx.commit()
    world = {
        "owner": owner,
        "mate": mate,
        "attendee": attendee,
        "bystander": bystander,
        "event": event,
        "project": project,
        "p2": p2,
    }
    async with uow(read_only=True) as tx:
        before = await tx.events.listing_states([event.id, other.id])
    async with uow() as tx:
        await _CHANGES[change](tx, world)
        await tx.commit()
    async with uow(read_only=True) as tx:
        after = await tx.events.listing_states([event.id, other.id])
    assert after[event.id].version > before[event.id].version
    assert after[other.id].version == before[other.id].version


async def test_a_change_that_is_rolled_back_or_changes_nothing_keeps_the_version(
    uow: UnitOfWorkFactory,
) -> None:
    owner, bystander = await _people(uow, 2)
    event = EventFactory.build(owner_id=owner.id)
    async with uow() as tx:
        await tx.events.add(event)
        await tx.projects.add(ProjectFactory.build(event_id=event.id, owner_id=owner.id))
        await tx.commit()
    async with uow(read_only=True) as tx:
        before = await tx.events.listing_states([event.id])
    async with uow() as tx:
        await tx.events.update(dataclasses.replace(event, name="Not kept"))
    async with uow() as tx:
        await tx.users.update(dataclasses.replace(bystander, display_name="Not on any list"))
        await tx.events.update(event)
        await tx.commit()
    async with uow(read_only=True) as tx:
        assert await tx.events.listing_states([event.id]) == before


async def test_locking_an_attendee_reads_the_event_and_whether_they_attend(uow: UnitOfWorkFactory) -> None:
    owner, attendee, stranger = await _people(uow, 3)
    event = EventFactory.build(owner_id=owner.id)
    async with uow() as tx:
        await tx.events.add(event)
        await tx.attendance.add(event.id, attendee.id)
        await tx.commit()
    async with uow() as tx:
        assert await tx.attendance.lock_with_event(event.id, attendee.id) == (event, True)
        assert await tx.attendance.lock_with_event(event.id, stranger.id) == (event, False)
        assert await tx.attendance.lock_with_event(uuid4(), attendee.id) == (None, False)


@pytest.mark.parametrize("purpose", ["delete", "change", "keep"])
async def test_locking_reads_an_event_or_project_like_get_and_none_once_deleted(
    uow: UnitOfWorkFactory, purpose: LockPurpose
) -> None:
    (owner,) = await _people(uow, 1)
    event = EventFactory.build(owner_id=owner.id)
    project = ProjectFactory.build(event_id=event.id, owner_id=owner.id)
    async with uow() as tx:
        await tx.events.add(event)
        await tx.projects.add(project)
        await tx.commit()
    async with uow() as tx:
        assert await tx.events.lock(event.id, purpose) == await tx.events.get(event.id)
        assert await tx.events.lock_by_join_code(event.join_code) == await tx.events.get(event.id)
        assert await tx.projects.lock(project.id, purpose) == project
        assert await tx.projects.lock_by_join_code(project.join_code) == project
        await tx.projects.delete(project.id)
        await tx.commit()
    async with uow() as tx:
        assert await tx.projects.lock(project.id, purpose) is None
        assert await tx.projects.lock_by_join_code(project.join_code) is None
        await tx.events.delete(event.id)
        await tx.commit()
    async with uow() as tx:
        assert await tx.events.lock(event.id, purpose) is None
        assert await tx.events.lock_by_join_code(event.join_code) is None
        assert await tx.events.lock(uuid4(), purpose) is None


async def test_reading_what_changed_since_a_cursor_brings_every_list_up_to_date(
    uow: UnitOfWorkFactory,
) -> None:
    """Whatever the change, the rows read since the last cursor, put in place of the changed projects' rows
    (or of every row, when the store names none), give the lists as read whole."""
    owner, mate, attendee, bystander = await _people(uow, 4)
    event = EventFactory.build(owner_id=owner.id)
    project = ProjectFactory.build(event_id=event.id, owner_id=owner.id)
    p2 = ProjectFactory.build(event_id=event.id, owner_id=owner.id)
    async with uow() as tx:
        await tx.events.add(event)
        for p in (project, p2):
            await tx.projects.add(p)
        await tx.projects.add_collaborator(project.id, mate.id)
        for user in (mate, attendee):
            await tx.attendance.add(event.id, user.id)
        await tx.votes.add_many([Vote(voter_id=attendee.id, project_id=p2.id, event_id=event.id)])
        await tx.commit()
    world = {"owner": owner, "mate": mate, "attendee": attendee, "bystander": bystander, "event": event,
             "project": project, "p2": p2}  # fmt: skip
    # Each list: read since a cursor, read whole, a row's key and its subject of change (a vote's project; an
    # attendee or a referral is its own).
    lists: dict[str, tuple[Any, Any, Callable[[Any], Any], Callable[[Any], Any]]] = {
        "cards": (lambda tx, c: tx.projects.in_event_since(event.id, c), lambda tx: tx.projects.in_event(event.id),
                  lambda v: v.project.id, lambda v: v.project.id),
        "votes": (lambda tx, c: tx.votes.in_event_since(event.id, c), lambda tx: tx.votes.in_event(event.id),
                  lambda v: v.id, lambda v: v.project_id),
        "attendees": (lambda tx, c: tx.attendance.attendees_since(event.id, c),
                      lambda tx: tx.attendance.attendees(event.id), lambda u: u.id, lambda u: u.id),
        "referrals": (lambda tx, c: tx.referrals.in_event_since(event.id, c),
                      lambda tx: tx.referrals.in_event(event.id), lambda r: r.id, lambda r: r.id),
    }  # fmt: skip
    held: dict[str, tuple[str, dict[Any, Any]]] = {}
    async with uow(read_only=True) as tx:
        for name, (since, _, key, _) in lists.items():
            first = await since(tx, None)
            assert first.projects is None
            held[name] = (first.cursor, {key(row): row for row in first.rows})
    for change in _CHANGES:
        async with uow() as tx:
            await _CHANGES[change](tx, world)
            await tx.commit()
        async with uow(read_only=True) as tx:
            for name, (since, whole, key, project_of) in lists.items():
                cursor, rows = held[name]
                changes = await since(tx, cursor)
                if changes.projects is None:
                    rows = {}
                else:
                    rows = {k: row for k, row in rows.items() if project_of(row) not in changes.projects}
                rows.update((key(row), row) for row in changes.rows)
                assert sorted(rows.items()) == sorted((key(row), row) for row in await whole(tx)), (
                    change,
                    name,
                )
                held[name] = (changes.cursor, rows)
