"""``Ballots.cast``: a ballot written only when the facts found under the voter's lock are within its terms,
all or nothing and committed when written — the same in memory and on PostgreSQL (one statement there)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from uuid import UUID, uuid4

import pytest

from podium.domain.models import (
    Ballot,
    BallotFacts,
    BallotOutcome,
    BallotTerms,
    Event,
    Project,
    User,
    Vote,
    VoteCandidate,
    VoteQuotaUse,
)
from podium.domain.ports import UnitOfWorkFactory
from podium.domain.rules import fewest_projects_by_cast
from tests.factories import EventFactory, ProjectFactory, UserFactory


async def _store(
    uow: UnitOfWorkFactory,
    rows: list[User | Event | Project],
    attending: list[tuple[Event, User]],
    votes: Sequence[Vote] = (),
) -> None:
    async with uow() as tx:
        for row in rows:
            if isinstance(row, User):
                assert await tx.users.add(row)
            elif isinstance(row, Event):
                await tx.events.add(row)
            else:
                await tx.projects.add(row)
        for event, user in attending:
            await tx.attendance.add(event.id, user.id)
        await tx.votes.add_many(votes)
        await tx.commit()


Scene = tuple[User, User, Event, Event, tuple[Project, Project, Project, Project, Project], Vote]


async def _scene(uow: UnitOfWorkFactory) -> Scene:
    """A voter and a stranger; an event open for voting and a closed one, both attended by the voter; in the
    open event four projects (a quota of 2), ``first``, ``second``, ``mine`` (the voter's own) and ``done``
    (voted for already, ``earlier``), and ``elsewhere`` in the closed one."""
    owner, voter, stranger = users = UserFactory.batch(3)
    event = EventFactory.build(owner_id=owner.id, votable=True)
    closed = EventFactory.build(owner_id=owner.id, votable=False)
    first, second, mine, done = (
        ProjectFactory.build(event_id=event.id, owner_id=o.id) for o in (owner, owner, voter, owner)
    )
    elsewhere = ProjectFactory.build(event_id=closed.id, owner_id=owner.id)
    earlier = Vote(voter_id=voter.id, project_id=done.id, event_id=event.id)
    rows = [*users, event, closed, first, second, mine, done, elsewhere]
    await _store(uow, rows, [(event, voter), (closed, voter)], [earlier])
    return voter, stranger, event, closed, (first, second, mine, done, elsewhere), earlier


async def test_a_ballot_is_written_and_committed_only_within_its_terms(uow: UnitOfWorkFactory) -> None:
    voter, stranger, event, closed, (first, second, mine, done, elsewhere), earlier = await _scene(uow)

    def terms(*project_ids: UUID, event_id: UUID = event.id, voter_id: UUID = voter.id) -> BallotTerms:
        votes = tuple(Vote(voter_id=voter_id, project_id=p, event_id=event_id) for p in project_ids)
        return BallotTerms(event_id, voter_id, votes, fewest_projects_by_cast(len(votes)) if votes else ())

    fine = VoteCandidate(event.id, already_voted=False, is_member=False)

    def facts(candidates: dict[UUID, VoteCandidate], cast: int = 1) -> BallotFacts:
        return BallotFacts(True, True, True, Ballot(VoteQuotaUse(cast, 4), candidates))

    async def stored() -> list[Vote]:
        async with uow(read_only=True) as tx:
            return sorted(await tx.votes.in_event(event.id), key=lambda v: v.id.int)

    refused = [
        (terms(first.id, second.id), facts({first.id: fine, second.id: fine})),  # 1 + 2 over a quota of 2
        (terms(mine.id), facts({mine.id: VoteCandidate(event.id, False, True)})),
        (terms(done.id), facts({done.id: VoteCandidate(event.id, True, False)})),
        (terms(elsewhere.id), facts({elsewhere.id: VoteCandidate(closed.id, False, False)})),
        (terms(missing := uuid4()), facts({})),
        (terms(first.id, missing), facts({first.id: fine})),
        (terms(first.id, voter_id=stranger.id), BallotFacts(True, True, False, Ballot(VoteQuotaUse(0, 4), {first.id: fine}))),
        (terms(elsewhere.id, event_id=closed.id), BallotFacts(True, False, True, Ballot(VoteQuotaUse(0, 1), {elsewhere.id: VoteCandidate(closed.id, False, False)}))),
        (terms(first.id, event_id=uuid4()), BallotFacts(False, False, False, Ballot(VoteQuotaUse(0, 0), {}))),
    ]  # fmt: skip
    for asked, found in refused:
        assert await uow.ballots.cast(asked) == BallotOutcome(found, admitted=False), asked
        assert await stored() == [earlier]

    # An empty ballot is admitted when the event is open and attended, and writes nothing.
    assert await uow.ballots.cast(terms()) == BallotOutcome(facts({}), admitted=True)
    cast = terms(first.id)
    assert await uow.ballots.cast(cast) == BallotOutcome(facts({first.id: fine}), admitted=True)
    assert await stored() == sorted([earlier, *cast.votes], key=lambda v: v.id.int)  # committed
    # The quota is now used up: the same terms for the second project no longer hold.
    outcome = await uow.ballots.cast(terms(second.id))
    assert (outcome.admitted, outcome.facts.ballot.use) == (False, VoteQuotaUse(2, 4))


@pytest.mark.parametrize("projects", [3, 20])
async def test_the_quota_thresholds_follow_the_event_s_project_count(
    uow: UnitOfWorkFactory, projects: int
) -> None:
    owner, voter = UserFactory.batch(2)
    event = EventFactory.build(owner_id=owner.id, votable=True)
    made = [ProjectFactory.build(event_id=event.id, owner_id=owner.id) for _ in range(projects)]
    await _store(uow, [owner, voter, event, *made], [(event, voter)])
    quota = 1 if projects < 4 else 3
    outcomes = []
    for project in made[: quota + 1]:
        vote = (Vote(voter_id=voter.id, project_id=project.id, event_id=event.id),)
        outcomes.append(
            (
                await uow.ballots.cast(BallotTerms(event.id, voter.id, vote, fewest_projects_by_cast(1)))
            ).admitted
        )
    assert outcomes == [True] * quota + [False]


@pytest.mark.parametrize(
    ("projects", "count_to", "counted"), [(25, 20, 20), (25, 30, 25), (3, 20, 3), (25, 0, 0)]
)
async def test_a_ballot_counts_the_event_s_projects_only_as_far_as_its_terms_say(
    uow: UnitOfWorkFactory, projects: int, count_to: int, counted: int
) -> None:
    """Past the terms' ``count_projects_to`` no project changes a quota: the store stops counting there (a
    large event is not counted on every vote) and reports what it counted."""
    owner, voter = UserFactory.batch(2)
    event = EventFactory.build(owner_id=owner.id, votable=True)
    made = [ProjectFactory.build(event_id=event.id, owner_id=owner.id) for _ in range(projects)]
    await _store(uow, [owner, voter, event, *made], [(event, voter)])
    terms = BallotTerms(event.id, voter.id, (), (), count_projects_to=count_to)
    outcome = await uow.ballots.cast(terms)
    assert (outcome.admitted, outcome.facts.ballot.use) == (True, VoteQuotaUse(0, counted))


async def test_a_ballot_mixing_writable_votes_with_others_writes_none_and_a_deleted_event_is_missing(
    uow: UnitOfWorkFactory,
) -> None:
    """The facts of every kind of candidate in one ballot, all reported, none written; the refusals of an
    empty ballot; an event deleted since is one never found."""
    voter, stranger, event, closed, (first, _second, mine, done, elsewhere), earlier = await _scene(uow)

    def cast(
        event_id: UUID, voter_id: UUID, *project_ids: UUID, fewest: tuple[int, ...] = (0, 0)
    ) -> BallotTerms:
        votes = tuple(Vote(voter_id=voter_id, project_id=p, event_id=event_id) for p in project_ids)
        return BallotTerms(event_id, voter_id, votes, fewest)

    async def stored() -> list[Vote]:
        async with uow(read_only=True) as tx:
            return await tx.votes.in_event(event.id)

    # Within any quota, one vote that cannot be written refuses the ballot: nothing of it is written.
    mixed = cast(event.id, voter.id, first.id, mine.id, done.id, elsewhere.id, uuid4(), fewest=(0, 0, 0))
    candidates = {
        first.id: VoteCandidate(event.id, already_voted=False, is_member=False),
        mine.id: VoteCandidate(event.id, already_voted=False, is_member=True),
        done.id: VoteCandidate(event.id, already_voted=True, is_member=False),
        elsewhere.id: VoteCandidate(closed.id, already_voted=False, is_member=False),
    }
    found = BallotFacts(True, True, True, Ballot(VoteQuotaUse(1, 4), candidates))
    assert await uow.ballots.cast(mixed) == BallotOutcome(found, admitted=False)
    assert await stored() == [earlier]
    # An empty ballot by someone who does not attend, or for an event not open for voting.
    assert await uow.ballots.cast(cast(event.id, stranger.id)) == BallotOutcome(
        BallotFacts(True, True, False, Ballot(VoteQuotaUse(0, 4), {})), admitted=False
    )
    assert await uow.ballots.cast(cast(closed.id, voter.id)) == BallotOutcome(
        BallotFacts(True, False, True, Ballot(VoteQuotaUse(0, 1), {})), admitted=False
    )
    # A ballot that would be admitted, once its event is deleted, finds no event and writes nothing.
    async with uow() as tx:
        await tx.directory.save(
            dataclasses.replace(event, deleted_at=dt.datetime(2026, 12, 7, tzinfo=dt.UTC))
        )
        await tx.commit()
    missing = BallotOutcome(BallotFacts(False, False, False, Ballot(VoteQuotaUse(0, 0), {})), admitted=False)
    for terms in (
        cast(event.id, voter.id, first.id, fewest=fewest_projects_by_cast(1)),
        cast(event.id, voter.id),
    ):
        assert await uow.ballots.cast(terms) == missing
    assert await stored() == [earlier]
