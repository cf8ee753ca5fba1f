"""Entities and read models of the domain: plain dataclasses, no framework."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

from podium.domain.rules import QUOTA_PROJECTS_COUNTED_TO, feature_flags, max_votes_per_user, phase_for_flags


def new_id() -> UUID:
    return uuid4()


@dataclass(slots=True)
class User:
    email: str
    first_name: str
    id: UUID = field(default_factory=new_id)
    display_name: str = ""
    last_name: str = ""
    phone: str = ""
    street_1: str = ""
    street_2: str = ""
    city: str = ""
    state: str = ""
    zip_code: str = ""
    country: str = ""
    dob: dt.date | None = None
    is_superadmin: bool = False

    @property
    def has_ysws_pii(self) -> bool:
        """Whether the profile holds what a YSWS event needs to ship prizes: street, city, country, birth."""
        return bool(self.street_1.strip() and self.city.strip() and self.country.strip() and self.dob)


@dataclass(slots=True)
class Event:
    name: str
    slug: str
    join_code: str
    owner_id: UUID
    id: UUID = field(default_factory=new_id)
    description: str = ""
    votable: bool = False
    leaderboard_enabled: bool = False
    demo_links_optional: bool = False
    ysws_checks_enabled: bool = False
    feature_flags_csv: str = ""
    # One state with ``votable``/``leaderboard_enabled`` (rules.flags_for_phase); left empty, it is
    # derived from them.
    phase: str = ""
    require_ysws_pii: bool = False
    # HEAD's project validation (issue 25): which checks a submitted project gets.
    repo_validation: str = "none"  # none / github / custom
    demo_validation: str = "none"  # none / itch / reachable / custom
    custom_validator: str | None = None  # the name of a configured custom validator
    deleted_at: dt.datetime | None = None  # soft-deleted: gone everywhere but the superadmin's views

    def __post_init__(self) -> None:
        if not self.phase:
            self.phase = phase_for_flags(self.votable, self.leaderboard_enabled, "submission")


@dataclass(slots=True)
class EventView:
    """An event as shown to people: with the live project count that sets the vote quota (counted up to
    ``rules.QUOTA_PROJECTS_COUNTED_TO``: past it no project changes the quota)."""

    event: Event
    project_count: int

    @property
    def max_votes_per_user(self) -> int:
        return max_votes_per_user(self.project_count)

    @property
    def feature_flags_list(self) -> list[str]:
        return feature_flags(self.event.feature_flags_csv)


@dataclass(slots=True)
class Project:
    name: str
    repo: str
    image_url: str
    event_id: UUID
    owner_id: UUID
    join_code: str
    id: UUID = field(default_factory=new_id)
    demo: str = ""
    description: str = ""
    hours_spent: int = 0
    legacy_points: int = 0
    cached_auto_quality: dict[str, Any] | None = None
    # HEAD's validation (issue 25): ``pending`` until checked, then ``valid`` or ``warning`` (the message
    # says why).
    validation_status: str = "pending"
    validation_message: str = ""


@dataclass(slots=True)
class ProjectView:
    """A project as listed: its points (votes + legacy points) and who made it.

    The votes' ids are kept in their canonical text form (``str(vote.id)``): a leaderboard lists thousands
    of them and only ever shows them, so they are never turned into ``UUID`` objects and back (issue 6)."""

    project: Project
    vote_ids: list[str]
    owner_display_name: str
    collaborator_display_names: list[str]

    @property
    def points(self) -> int:
        return len(self.vote_ids) + self.project.legacy_points


@dataclass(slots=True, frozen=True)
class ListingState:
    """What an exact cache of an event's lists checks: the lists' version (moved by every change that
    alters them), whether the leaderboard may be shown, and who may read the organiser's views."""

    version: int
    leaderboard_enabled: bool
    owner_id: UUID
    phase: str  # a draft's lists are its owner's alone


@dataclass(slots=True, frozen=True)
class VoteQuotaUse:
    """How much of their quota a voter has used in an event: votes cast and the event's project count (in a
    ballot's facts, counted up to its terms' ``count_projects_to``: past it the quota is the same)."""

    cast: int
    project_count: int


@dataclass(slots=True, frozen=True)
class VoteCandidate:
    """A project someone asks to vote for, as the vote's checks see it."""

    event_id: UUID
    already_voted: bool  # the voter has a vote for it already
    is_member: bool  # the voter owns it or collaborates on it


@dataclass(slots=True, frozen=True)
class Ballot:
    """What a vote's checks read: the voter's quota use in the event and the projects asked for (by id,
    those that exist)."""

    use: VoteQuotaUse
    candidates: dict[UUID, VoteCandidate]


@dataclass(slots=True, frozen=True)
class BallotFacts:
    """Everything a vote's rules read, with the voter's attendee row locked: whether the event exists (and is
    not deleted), is open for voting, whether the voter attends it, and the ballot (empty when the event is
    missing)."""

    event_found: bool
    votable: bool
    attending: bool
    ballot: Ballot


@dataclass(slots=True, frozen=True)
class BallotTerms:
    """A ballot with the facts under which the vote's rules accept it, worked out by the domain before the
    store looks (``VotingService``): the event found and open for voting, the voter attending it, every
    project asked for found in the event, not voted for by the voter yet and not theirs, and the voter's
    votes already cast, ``c``, within the quota: ``c < len(fewest_projects)`` and the event's project count
    at least ``fewest_projects[c]`` (``rules.fewest_projects_by_cast``). An empty ballot has no quota term.
    The store counts the event's projects up to ``count_projects_to`` only: no project past it changes any
    quota, and counting every project of a large event on every vote is work proportional to the event.

    The store writes the votes only if the facts it finds under the voter's lock are within these terms
    (``admits``): it compares; the rules behind the terms are the domain's."""

    event_id: UUID
    voter_id: UUID
    votes: tuple[Vote, ...]
    fewest_projects: tuple[int, ...]
    count_projects_to: int = QUOTA_PROJECTS_COUNTED_TO

    def __post_init__(self) -> None:
        if self.count_projects_to < 0:
            raise ValueError("count_projects_to must not be negative")

    def admits(self, facts: BallotFacts) -> bool:
        """Whether ``facts`` are within the terms (what the store checks before it writes)."""
        if not (facts.event_found and facts.votable and facts.attending):
            return False
        if not self.votes:
            return True
        candidates = facts.ballot.candidates
        if len(candidates) != len(self.votes) or any(v.project_id not in candidates for v in self.votes):
            return False
        if any(c.event_id != self.event_id or c.already_voted or c.is_member for c in candidates.values()):
            return False
        use = facts.ballot.use
        return use.cast < len(self.fewest_projects) and use.project_count >= self.fewest_projects[use.cast]


@dataclass(slots=True, frozen=True)
class BallotOutcome:
    """What casting a ballot on its terms found and did: the facts as they were before the write, and
    whether they were within the terms (then, and only then, the votes were written)."""

    facts: BallotFacts
    admitted: bool


@dataclass(slots=True, frozen=True)
class Vote:
    voter_id: UUID
    project_id: UUID
    event_id: UUID
    id: UUID = field(default_factory=new_id)


@dataclass(slots=True, frozen=True)
class Referral:
    content: str
    user_id: UUID
    event_id: UUID
    id: UUID = field(default_factory=new_id)


# The leaderboard order, defined once: (key, descending). Names compare by code point and ids by their
# canonical text, which is how PostgreSQL orders ``name COLLATE "C"`` and ``uuid``; the Postgres listing
# writes its ORDER BY from this list (adapters/postgres/repositories/projects.py).
LEADERBOARD_ORDER: tuple[tuple[str, bool], ...] = (("points", True), ("name", False), ("id", False))
_LEADERBOARD_KEYS: dict[str, Callable[[ProjectView], Any]] = {
    "points": lambda view: view.points,
    "name": lambda view: view.project.name,
    "id": lambda view: str(view.project.id),
}


def leaderboard_order(view: ProjectView) -> tuple[Any, ...]:
    """The sort key of :data:`LEADERBOARD_ORDER`: the same order everywhere, every time."""
    return tuple(
        -_LEADERBOARD_KEYS[key](view) if descending else _LEADERBOARD_KEYS[key](view)
        for key, descending in LEADERBOARD_ORDER
    )
