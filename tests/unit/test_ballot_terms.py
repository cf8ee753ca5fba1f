"""The terms a ballot is cast on (``BallotTerms``) admit exactly the ballots the vote's rules allow: the store
compares the facts with the terms, the domain judges them, and the two never disagree."""

from __future__ import annotations

import itertools
from uuid import uuid4

import pytest

from podium.domain.models import Ballot, BallotFacts, BallotTerms, Vote, VoteCandidate, VoteQuotaUse
from podium.domain.rules import QUOTA_PROJECTS_COUNTED_TO, fewest_projects_by_cast, max_votes_per_user
from podium.domain.services.voting import ballot_refusal

EVENT, ELSEWHERE, VOTER = uuid4(), uuid4(), uuid4()
# How a project asked for can stand: missing (None), in another event, voted for already, the voter's own.
STANDINGS: list[VoteCandidate | None] = [
    VoteCandidate(EVENT, already_voted=False, is_member=False),
    None,
    VoteCandidate(ELSEWHERE, already_voted=False, is_member=False),
    VoteCandidate(EVENT, already_voted=True, is_member=False),
    VoteCandidate(EVENT, already_voted=False, is_member=True),
]


@pytest.mark.parametrize("ballot_size", [1, 2, 3, 4])
def test_the_quota_thresholds_say_what_the_quota_says(ballot_size: int) -> None:
    fewest = fewest_projects_by_cast(ballot_size)
    for cast, projects in itertools.product(range(6), range(45)):
        within = cast < len(fewest) and projects >= fewest[cast]
        assert within == (cast + ballot_size <= max_votes_per_user(projects)), (cast, projects)


@pytest.mark.parametrize("ballot_size", [0, 1, 2])
def test_the_terms_admit_exactly_the_ballots_the_rules_allow(ballot_size: int) -> None:
    wanted = [uuid4() for _ in range(ballot_size)]
    votes = tuple(Vote(voter_id=VOTER, project_id=p, event_id=EVENT) for p in wanted)
    terms = BallotTerms(EVENT, VOTER, votes, fewest_projects_by_cast(ballot_size) if votes else ())
    checked = admitted = 0
    for found, votable, attending, cast, projects, standings in itertools.product(
        (True, False), (True, False), (True, False), range(5), (0, 3, 4, 19, 20, 300),
        itertools.product(STANDINGS, repeat=ballot_size),
    ):  # fmt: skip
        candidates = {p: c for p, c in zip(wanted, standings, strict=True) if c is not None}
        facts = BallotFacts(found, votable, attending, Ballot(VoteQuotaUse(cast, projects), candidates))
        allowed = ballot_refusal(facts, EVENT, wanted) is None
        assert terms.admits(facts) == allowed, facts
        checked += 1
        admitted += allowed
    assert 0 < admitted < checked


def test_no_project_past_the_counted_end_changes_a_quota() -> None:
    """The store counts an event's projects up to ``QUOTA_PROJECTS_COUNTED_TO`` only (the default of every
    ``BallotTerms``): the quota, and so every refusal's message, is the same as with the whole count."""
    assert BallotTerms(EVENT, VOTER, (), ()).count_projects_to == QUOTA_PROJECTS_COUNTED_TO
    for projects in range(200):
        capped = min(projects, QUOTA_PROJECTS_COUNTED_TO)
        assert max_votes_per_user(capped) == max_votes_per_user(projects), projects
    for ballot_size in range(1, 5):
        assert all(fewest <= QUOTA_PROJECTS_COUNTED_TO for fewest in fewest_projects_by_cast(ballot_size))


def test_terms_never_ask_to_count_fewer_than_no_projects() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        BallotTerms(EVENT, VOTER, (), (), count_projects_to=-1)
