"""``Votes.cast``: the vote's lock, facts and write in one call, the same in memory and on PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime as dt
from uuid import UUID, uuid4

from podium.domain.models import Ballot, BallotFacts, Vote, VoteCandidate, VoteQuotaUse
from podium.domain.ports import UnitOfWorkFactory
from tests.factories import EventFactory, ProjectFactory, UserFactory

NOTHING = Ballot(VoteQuotaUse(0, 0), {})


async def test_cast_reports_the_facts_before_its_write_and_writes_only_what_the_constraints_accept(
    uow: UnitOfWorkFactory,
) -> None:
    owner, voter, stranger = users = UserFactory.batch(3)
    event = EventFactory.build(owner_id=owner.id, votable=True)
    other = EventFactory.build(owner_id=owner.id, votable=False)
    mine, theirs, done = (
        ProjectFactory.build(event_id=event.id, owner_id=o.id) for o in (voter, owner, owner)
    )
    elsewhere = ProjectFactory.build(event_id=other.id, owner_id=owner.id)
    earlier = Vote(voter_id=voter.id, project_id=done.id, event_id=event.id)
    async with uow() as tx:
        for user in users:
            assert await tx.users.add(user)
        for each in (event, other):
            await tx.events.add(each)
        for project in (mine, theirs, done, elsewhere):
            await tx.projects.add(project)
        await tx.attendance.add(event.id, voter.id)
        await tx.votes.add_many([earlier])
        await tx.commit()

    def ballot(*project_ids: UUID) -> list[Vote]:
        return [Vote(voter_id=voter.id, project_id=p, event_id=event.id) for p in project_ids]

    missing = uuid4()
    asked = ballot(theirs.id, mine.id, done.id, elsewhere.id, missing)
    async with uow() as tx:  # the facts as they were; only the vote for `theirs` and `mine` is insertable
        assert await tx.votes.cast(event.id, voter.id, asked) == BallotFacts(
            True,
            True,
            True,
            Ballot(
                VoteQuotaUse(cast=1, project_count=3),
                {
                    theirs.id: VoteCandidate(event.id, already_voted=False, is_member=False),
                    mine.id: VoteCandidate(event.id, already_voted=False, is_member=True),
                    done.id: VoteCandidate(event.id, already_voted=True, is_member=False),
                    elsewhere.id: VoteCandidate(other.id, already_voted=False, is_member=False),
                },
            ),
        )
        assert {v.project_id for v in await tx.votes.in_event(event.id)} == {done.id, theirs.id, mine.id}
    async with uow() as tx:  # not committed: undone
        assert await tx.votes.in_event(event.id) == [earlier]
        facts = await tx.votes.cast(event.id, voter.id, (accepted := ballot(theirs.id)))
        assert facts.ballot.use == VoteQuotaUse(cast=1, project_count=3)
        await tx.commit()
    async with uow() as tx:
        assert sorted(await tx.votes.in_event(event.id), key=lambda v: v.id.int) == sorted(
            [earlier, *accepted], key=lambda v: v.id.int
        )
        # Someone who does not attend, an empty ballot, a missing event.
        assert await tx.votes.cast(event.id, stranger.id, []) == BallotFacts(
            True, True, False, Ballot(VoteQuotaUse(0, 3), {})
        )
        assert await tx.votes.cast(other.id, voter.id, []) == BallotFacts(
            True, False, False, Ballot(VoteQuotaUse(0, 1), {})
        )
        assert await tx.votes.cast(uuid4(), voter.id, ballot(theirs.id)) == BallotFacts(
            False, False, False, NOTHING
        )
        # A deleted event is a missing one.
        await tx.directory.save(
            dataclasses.replace(event, deleted_at=dt.datetime(2026, 12, 7, tzinfo=dt.UTC))
        )
        assert await tx.votes.cast(event.id, voter.id, ballot(mine.id)) == BallotFacts(
            False, False, False, NOTHING
        )
