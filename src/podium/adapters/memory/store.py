"""In-memory implementations of the domain's ports, for fast unit tests of the use-cases.

They honour the same contract as the Postgres adapters (``tests/contract``): the same uniqueness rules,
cascades and orderings. A unit of work works on a copy of the data and publishes it only on commit.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self, TypeVar
from uuid import UUID

from podium.adapters.lookups import BatchedLookups
from podium.adapters.memory.superadmin import MemoryDirectory
from podium.adapters.memory.votes import MemoryReferrals, MemoryVotes
from podium.domain.models import (
    Ballot,
    BallotFacts,
    BallotOutcome,
    BallotTerms,
    Event,
    EventView,
    ListingState,
    Project,
    ProjectView,
    Referral,
    User,
    Vote,
    VoteQuotaUse,
    leaderboard_order,
)
from podium.domain.ports import Changes, JoinCodeTaken, LockPurpose, SlugTaken
from podium.domain.rules import QUOTA_PROJECTS_COUNTED_TO


@dataclass
class MemoryData:
    users: dict[UUID, User] = field(default_factory=dict)
    events: dict[UUID, Event] = field(default_factory=dict)
    event_versions: dict[UUID, int] = field(default_factory=dict)  # moved only by ``_bump_changed_lists``
    attendance: list[tuple[UUID, UUID]] = field(default_factory=list)  # (event, user) in insertion order
    projects: dict[UUID, Project] = field(default_factory=dict)
    collaborators: list[tuple[UUID, UUID]] = field(default_factory=list)  # (project, user)
    votes: dict[UUID, Vote] = field(default_factory=dict)
    referrals: dict[UUID, Referral] = field(default_factory=dict)
    magic_links: dict[str, dt.datetime] = field(default_factory=dict)


def _by_name(row: Event | Project) -> tuple[str, str]:
    return (row.name, str(row.id))


def _by_display_name(user: User) -> tuple[str, str]:
    return (user.display_name, str(user.id))


class MemoryUsers:
    def __init__(self, data: MemoryData) -> None:
        self._data = data

    async def get(self, user_id: UUID) -> User | None:
        return copy.copy(self._data.users.get(user_id))

    async def get_by_email(self, email: str) -> User | None:
        return next((copy.copy(u) for u in self._data.users.values() if u.email == email), None)

    async def get_many_by_email(self, emails: Collection[str]) -> dict[str, User]:
        wanted = set(emails)
        return {u.email: copy.copy(u) for u in self._data.users.values() if u.email in wanted}

    async def add(self, user: User) -> bool:
        if any(u.email == user.email for u in self._data.users.values()):
            return False
        self._data.users[user.id] = copy.copy(user)
        return True

    async def update(self, user: User) -> None:
        self._data.users[user.id] = copy.copy(user)


class MemoryEvents:
    def __init__(self, data: MemoryData) -> None:
        self._data = data

    def _view(self, event: Event) -> EventView:
        count = sum(1 for p in self._data.projects.values() if p.event_id == event.id)
        return EventView(copy.copy(event), min(count, QUOTA_PROJECTS_COUNTED_TO))

    def _live(self) -> list[Event]:
        """The events that are not soft-deleted: the only ones these ports see."""
        return [e for e in self._data.events.values() if e.deleted_at is None]

    async def get(self, event_id: UUID) -> Event | None:
        event = self._data.events.get(event_id)
        return None if event is None or event.deleted_at is not None else copy.copy(event)

    async def lock(self, event_id: UUID, purpose: LockPurpose) -> Event | None:
        # A memory unit of work never yields to another between its reads and its commit.
        return await self.get(event_id)

    async def view(self, event_id: UUID) -> EventView | None:
        event = await self.get(event_id)
        return None if event is None else self._view(event)

    async def id_for_slug(self, slug: str) -> UUID | None:
        return next((e.id for e in self._live() if e.slug == slug), None)

    async def get_by_join_code(self, join_code: str) -> Event | None:
        return next((copy.copy(e) for e in self._live() if e.join_code == join_code), None)

    async def lock_by_join_code(self, join_code: str) -> Event | None:
        return await self.get_by_join_code(join_code)

    async def add(self, event: Event) -> None:
        if any(e.slug == event.slug for e in self._data.events.values()):
            raise SlugTaken(event.slug)
        if any(e.join_code == event.join_code for e in self._data.events.values()):
            raise JoinCodeTaken(event.join_code)
        self._data.events[event.id] = copy.copy(event)

    async def update(self, event: Event) -> None:
        self._data.events[event.id] = copy.copy(event)

    async def delete(self, event_id: UUID) -> None:
        data = self._data
        doomed = {p.id for p in data.projects.values() if p.event_id == event_id}
        data.events.pop(event_id, None)
        data.projects = {k: v for k, v in data.projects.items() if k not in doomed}
        data.collaborators = [(p, u) for p, u in data.collaborators if p not in doomed]
        data.votes = {k: v for k, v in data.votes.items() if v.event_id != event_id}
        data.referrals = {k: v for k, v in data.referrals.items() if v.event_id != event_id}
        data.attendance = [(e, u) for e, u in data.attendance if e != event_id]

    async def owned_by(self, user_id: UUID) -> list[EventView]:
        events = [e for e in self._live() if e.owner_id == user_id]
        return [self._view(e) for e in sorted(events, key=_by_name)]

    async def attended_by(self, user_id: UUID) -> list[EventView]:
        live = {e.id: e for e in self._live()}
        events = [live[e] for e, u in self._data.attendance if u == user_id and e in live]
        return [self._view(e) for e in sorted(events, key=_by_name)]

    async def listing_states(self, event_ids: Collection[UUID]) -> dict[UUID, ListingState]:
        events = self._data.events
        return {
            event_id: ListingState(
                self._data.event_versions.get(event_id, 0),
                events[event_id].leaderboard_enabled,
                events[event_id].owner_id,
                events[event_id].phase,
            )
            for event_id in event_ids
            if event_id in events and events[event_id].deleted_at is None
        }


class MemoryAttendance:
    def __init__(self, data: MemoryData) -> None:
        self._data = data

    async def is_attending(self, event_id: UUID, user_id: UUID) -> bool:
        return (event_id, user_id) in self._data.attendance

    async def lock_with_event(self, event_id: UUID, user_id: UUID) -> tuple[Event | None, bool]:
        # One unit of work at a time touches memory data, so there is nothing to wait for.
        event = self._data.events.get(event_id)
        if event is None or event.deleted_at is not None:
            return None, False
        return copy.copy(event), await self.is_attending(event_id, user_id)

    async def add(self, event_id: UUID, user_id: UUID) -> bool:
        if (event_id, user_id) in self._data.attendance:
            return False
        self._data.attendance.append((event_id, user_id))
        return True

    async def remove(self, event_id: UUID, user_id: UUID) -> None:
        self._data.attendance = [pair for pair in self._data.attendance if pair != (event_id, user_id)]

    async def attendees(self, event_id: UUID) -> list[User]:
        users = [copy.copy(self._data.users[u]) for e, u in self._data.attendance if e == event_id]
        return sorted(users, key=lambda u: str(u.id))

    async def attendees_since(self, event_id: UUID, since: str | None) -> Changes[User]:
        # No marks kept: every attendee, every time.
        return Changes("", None, await self.attendees(event_id))


class MemoryProjects:
    def __init__(self, data: MemoryData) -> None:
        self._data = data

    def _view(self, project: Project) -> ProjectView:
        data = self._data
        owner = data.users.get(project.owner_id)
        collaborators = sorted(
            (data.users[u] for p, u in data.collaborators if p == project.id), key=_by_display_name
        )
        return ProjectView(
            project=copy.copy(project),
            vote_ids=sorted(str(v.id) for v in data.votes.values() if v.project_id == project.id),
            owner_display_name=owner.display_name if owner else "",
            collaborator_display_names=[u.display_name for u in collaborators],
        )

    def _live(self, project: Project | None) -> Project | None:
        event = None if project is None else self._data.events.get(project.event_id)
        return project if event is not None and event.deleted_at is None else None

    async def get(self, project_id: UUID) -> Project | None:
        return copy.copy(self._live(self._data.projects.get(project_id)))

    async def lock(self, project_id: UUID, purpose: LockPurpose) -> Project | None:
        return await self.get(project_id)

    async def view(self, project_id: UUID) -> ProjectView | None:
        project = self._live(self._data.projects.get(project_id))
        return None if project is None else self._view(project)

    async def get_by_join_code(self, join_code: str) -> Project | None:
        return next((copy.copy(p) for p in self._data.projects.values() if p.join_code == join_code), None)

    async def lock_by_join_code(self, join_code: str) -> Project | None:
        return await self.get_by_join_code(join_code)

    async def add(self, project: Project) -> None:
        if any(p.join_code == project.join_code for p in self._data.projects.values()):
            raise JoinCodeTaken(project.join_code)
        self._data.projects[project.id] = copy.copy(project)

    async def update(self, project: Project) -> None:
        self._data.projects[project.id] = copy.copy(project)

    async def delete(self, project_id: UUID) -> None:
        data = self._data
        data.projects.pop(project_id, None)
        data.collaborators = [(p, u) for p, u in data.collaborators if p != project_id]
        data.votes = {k: v for k, v in data.votes.items() if v.project_id != project_id}

    async def in_event(self, event_id: UUID) -> list[ProjectView]:
        views = [self._view(p) for p in self._data.projects.values() if p.event_id == event_id]
        return sorted(views, key=leaderboard_order)

    async def in_event_since(self, event_id: UUID, since: str | None) -> Changes[ProjectView]:
        # No marks kept: every project, every time.
        return Changes("", None, await self.in_event(event_id))

    async def mine(self, user_id: UUID) -> list[ProjectView]:
        owned = [p for p in self._data.projects.values() if p.owner_id == user_id]
        joined = [self._data.projects[p] for p, u in self._data.collaborators if u == user_id]
        ordered = sorted(owned, key=_by_name) + sorted(joined, key=_by_name)
        return [self._view(p) for p in ordered if self._live(p)]

    async def collaborator_ids(self, project_id: UUID) -> set[UUID]:
        return {u for p, u in self._data.collaborators if p == project_id}

    async def add_collaborator(self, project_id: UUID, user_id: UUID) -> bool:
        if (project_id, user_id) in self._data.collaborators:
            return False
        self._data.collaborators.append((project_id, user_id))
        return True


class MemoryMagicLinks:
    def __init__(self, data: MemoryData) -> None:
        self._data = data

    async def consume(self, token_hash: str, expires_at: dt.datetime) -> bool:
        if token_hash in self._data.magic_links:
            return False
        self._data.magic_links[token_hash] = expires_at
        return True


class MemoryUnitOfWork:
    """Works on a private copy of the data; ``commit`` publishes it, leaving without commit discards it."""

    def __init__(self, store: MemoryStore, *, read_only: bool = False) -> None:
        self._store = store
        self._read_only = read_only

    async def __aenter__(self) -> Self:
        self._data = copy.deepcopy(self._store.data)
        self.users = MemoryUsers(self._data)
        self.events = MemoryEvents(self._data)
        self.attendance = MemoryAttendance(self._data)
        self.projects = MemoryProjects(self._data)
        self.votes = MemoryVotes(self._data)
        self.referrals = MemoryReferrals(self._data)
        self.magic_links = MemoryMagicLinks(self._data)
        self.directory = MemoryDirectory(self._data)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        del self._data

    async def commit(self) -> None:
        if self._read_only:
            raise RuntimeError("a read-only unit of work cannot commit")
        _bump_changed_lists(self._store.data, self._data)
        self._store.data = copy.deepcopy(self._data)
        self._store.commits += 1


def _shown_by_event(data: MemoryData) -> dict[UUID, list[object]]:
    """Everything each event's lists (public and organiser's) show, to compare across a commit."""
    shown: dict[UUID, list[object]] = {event_id: [event] for event_id, event in data.events.items()}
    event_of_project = {p.id: p.event_id for p in data.projects.values()}

    def show(event_id: UUID | None, *items: object) -> None:
        if event_id in shown:
            shown[event_id].extend(items)

    for project in data.projects.values():
        show(project.event_id, project, data.users.get(project.owner_id))
    for project_id, user_id in data.collaborators:
        show(event_of_project.get(project_id), project_id, data.users.get(user_id))
    for vote in data.votes.values():
        show(vote.event_id, vote)
    for referral in data.referrals.values():
        show(referral.event_id, referral)
    for event_id, user_id in data.attendance:
        show(event_id, data.users.get(user_id))
    return shown


def _bump_changed_lists(before: MemoryData, after: MemoryData) -> None:
    """What the Postgres triggers do (migration 0004): every event whose lists a commit changed gets a
    new version, whichever repository method made the change."""
    old, new = _shown_by_event(before), _shown_by_event(after)
    versions = dict(before.event_versions)
    for event_id, shown in new.items():
        if old.get(event_id) != shown:
            versions[event_id] = versions.get(event_id, 0) + 1
    after.event_versions = versions


class MemoryBallots:
    """``Ballots`` in memory: in one unit of work (one at a time touches memory data, so nothing to lock)
    the event and attendance, the facts of the votes' projects, and the votes written and committed only
    when the terms admit the facts."""

    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    async def cast(self, terms: BallotTerms) -> BallotOutcome:
        async with self._store() as uow:
            event, attending = await uow.attendance.lock_with_event(terms.event_id, terms.voter_id)
            if event is None:
                return BallotOutcome(
                    BallotFacts(False, False, False, Ballot(VoteQuotaUse(0, 0), {})), admitted=False
                )
            found = await uow.votes.ballot(
                terms.event_id, terms.voter_id, [v.project_id for v in terms.votes]
            )
            use = VoteQuotaUse(found.use.cast, min(found.use.project_count, terms.count_projects_to))
            ballot = Ballot(use, found.candidates)
            facts = BallotFacts(True, event.votable, attending, ballot)
            admitted = terms.admits(facts)
            if admitted and terms.votes:
                await uow.votes.add_many(terms.votes)
                await uow.commit()
        return BallotOutcome(facts, admitted)


@dataclass
class MemoryStore:
    """The whole in-memory database; call it to get a unit of work (it is a ``UnitOfWorkFactory``)."""

    data: MemoryData = field(default_factory=MemoryData)
    commits: int = 0
    lookups: BatchedLookups = field(init=False, repr=False)
    ballots: MemoryBallots = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.lookups = BatchedLookups(self)
        self.ballots = MemoryBallots(self)

    def __call__(self, *, read_only: bool = False) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self, read_only=read_only)

    async def read_public(self, read: Callable[[MemoryUnitOfWork], Awaitable[T]]) -> T:
        async with self(read_only=True) as uow:
            return await read(uow)


T = TypeVar("T")

__all__ = ["MemoryStore", "MemoryUnitOfWork"]
