"""Ports: what the use-cases need from the outside world, in the domain's own words.

Each has a Postgres adapter (runtime) and an in-memory adapter (unit tests); both pass the same
contract tests in ``tests/contract``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, Literal, Protocol, Self, TypeVar
from uuid import UUID

from podium.domain.models import (
    Ballot,
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
)

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Changes(Generic[R]):
    """An event's rows of one kind (its projects' cards, its votes) that changed since a ``cursor`` an
    earlier read returned, so a cache re-reads only those.

    ``cursor`` marks this read: pass it to the next. ``projects`` names every project whose rows may have
    changed since the cursor passed in, and ``rows`` are those projects' rows now (a named project without
    rows has left the event, or lost its last vote). ``projects`` is None when the store cannot tell (no
    cursor passed in, a ``TRUNCATE``, an adapter that keeps no marks): ``rows`` is then every row.

    ``state`` is the event's listing state as of the same read, when the store reads it with the rows (so
    a cache needs no second round trip to check who may see them); None when it does not, or the event is
    gone."""

    cursor: str
    projects: frozenset[UUID] | None
    rows: list[R]
    state: ListingState | None = None


class Users(Protocol):
    async def get(self, user_id: UUID) -> User | None: ...
    async def get_many_by_email(self, emails: Collection[str]) -> dict[str, User]:
        """The users with these (normalised) emails that exist, by email."""
        ...

    async def get_by_email(self, email: str) -> User | None:
        """The user with this (already normalised) email, if any."""
        ...

    async def add(self, user: User) -> bool:
        """Store a new user; False when the email is already taken."""
        ...

    async def update(self, user: User) -> None: ...


# What a writer is about to do with a row it reads, so racing writers are decided one after another:
# "delete" it, "change" its fields (racing changes and deletes wait for each other, readers and writers
# that only need it to exist do not), or "keep" relying on it (waits for, and holds off, its deletion).
LockPurpose = Literal["delete", "change", "keep"]


class Events(Protocol):
    async def get(self, event_id: UUID) -> Event | None: ...
    async def lock(self, event_id: UUID, purpose: LockPurpose) -> Event | None:
        """The event, locked for ``purpose`` until the unit of work ends. A writer that waited for a
        concurrent delete gets None, as for an event that never existed: of racing writers, the first
        decides and the others see its outcome."""
        ...

    async def view(self, event_id: UUID) -> EventView | None:
        """The event with its live project count."""
        ...

    async def id_for_slug(self, slug: str) -> UUID | None: ...
    async def get_by_join_code(self, join_code: str) -> Event | None: ...
    async def lock_by_join_code(self, join_code: str) -> Event | None:
        """The event with this code, locked against deletion until the unit of work ends (None if there
        is none, or no longer after a concurrent delete)."""
        ...

    async def add(self, event: Event) -> None:
        """Store a new event. Raises ``SlugTaken`` or ``JoinCodeTaken`` on a clash."""
        ...

    async def update(self, event: Event) -> None: ...
    async def delete(self, event_id: UUID) -> None:
        """Delete the event and everything under it (projects, votes, referrals, attendance)."""
        ...

    async def owned_by(self, user_id: UUID) -> list[EventView]: ...
    async def attended_by(self, user_id: UUID) -> list[EventView]: ...
    async def listing_states(self, event_ids: Collection[UUID]) -> dict[UUID, ListingState]:
        """The listing state of each of these events that exists, in one read. The store itself moves an
        event's version with every committed change to anything its lists show, whoever wrote it."""
        ...


class Attendance(Protocol):
    async def is_attending(self, event_id: UUID, user_id: UUID) -> bool: ...
    async def lock_with_event(self, event_id: UUID, user_id: UUID) -> tuple[Event | None, bool]:
        """The event (None if it does not exist) and whether the user attends it. While the unit of work
        lasts, other writers for the same attendee wait: this serialises one attendee's concurrent votes."""
        ...

    async def add(self, event_id: UUID, user_id: UUID) -> bool:
        """Record attendance; False when the user already attends."""
        ...

    async def remove(self, event_id: UUID, user_id: UUID) -> None: ...
    async def attendees(self, event_id: UUID) -> list[User]: ...
    async def attendees_since(self, event_id: UUID, since: str | None) -> Changes[User]:
        """The event's attendees (by id) if the list may have changed since ``since``, else none (``projects``
        then empty), read together with the cursor of this read in one snapshot."""
        ...


class Projects(Protocol):
    async def get(self, project_id: UUID) -> Project | None: ...
    async def lock(self, project_id: UUID, purpose: LockPurpose) -> Project | None:
        """The project, locked for ``purpose`` until the unit of work ends, its event first ("keep": always
        event then project, so a project edit and an event delete never wait on each other in a circle).
        None when it does not exist, or no longer does after a concurrent delete."""
        ...

    async def view(self, project_id: UUID) -> ProjectView | None: ...
    async def get_by_join_code(self, join_code: str) -> Project | None: ...
    async def lock_by_join_code(self, join_code: str) -> Project | None:
        """The project with this code, locked against deletion (its event first) until the unit of work
        ends; None if there is none, or no longer after a concurrent delete."""
        ...

    async def add(self, project: Project) -> None:
        """Store a new project. Raises ``JoinCodeTaken`` on a clash."""
        ...

    async def update(self, project: Project) -> None: ...
    async def delete(self, project_id: UUID) -> None:
        """Delete the project with its votes and collaborator links."""
        ...

    async def in_event(self, event_id: UUID) -> list[ProjectView]:
        """Every project of the event, in leaderboard order."""
        ...

    async def in_event_since(self, event_id: UUID, since: str | None) -> Changes[ProjectView]:
        """The event's projects that changed since ``since`` (in no particular order), read together with
        the cursor of this read in one snapshot."""
        ...

    async def mine(self, user_id: UUID) -> list[ProjectView]:
        """Projects the user owns, then those they collaborate on."""
        ...

    async def collaborator_ids(self, project_id: UUID) -> set[UUID]: ...
    async def add_collaborator(self, project_id: UUID, user_id: UUID) -> bool:
        """Link a collaborator; False when already linked."""
        ...


class Votes(Protocol):
    async def ballot(self, event_id: UUID, voter_id: UUID, project_ids: Sequence[UUID]) -> Ballot:
        """In one read: the votes the voter has cast in the event with the event's project count (which
        sets the quota), and for each of ``project_ids`` that exists its event, whether the voter has
        voted for it already and whether the voter owns or collaborates on it."""
        ...

    async def add_many(self, votes: Sequence[Vote]) -> None: ...
    async def withdraw(self, event_id: UUID, voter_id: UUID, project_id: UUID) -> bool:
        """Delete the voter's vote for the project of this event; False when there was none."""
        ...

    async def in_event(self, event_id: UUID) -> list[Vote]: ...
    async def in_event_since(self, event_id: UUID, since: str | None) -> Changes[Vote]:
        """The votes of the event's projects that changed since ``since`` (by id), read together with the
        cursor of this read in one snapshot."""
        ...

    async def ids_by_voter(self, voter_id: UUID) -> list[UUID]: ...
    async def ids_by_voters(self, voter_ids: Collection[UUID]) -> dict[UUID, list[UUID]]:
        """Each voter's vote ids (ordered as ``ids_by_voter``); voters without votes are left out."""
        ...


class Directory(Protocol):
    """The superadmin's views of the whole store (soft-deleted events included), and the official events."""

    async def events_page(self, query: str, offset: int, limit: int) -> tuple[list[EventView], int]:
        """Events (deleted ones too) whose name or slug contains ``query`` (any case; "" matches all), by
        creation then id: the page from ``offset`` and how many match in all."""
        ...

    async def users_page(self, query: str, offset: int, limit: int) -> tuple[list[User], int]:
        """Users whose email or display name contains ``query``, by creation then id, and the total."""
        ...

    async def event(self, event_id: UUID) -> Event | None:
        """The event even when soft-deleted, locked against concurrent changes until the unit of work ends."""
        ...

    async def view(self, event_id: UUID) -> EventView | None:
        """The event with its project count, even when soft-deleted."""
        ...

    async def save(self, event: Event) -> None:
        """Store every field of the event (owner, phase, ``deleted_at`` included)."""
        ...

    async def flagged(self, flag: str) -> list[EventView]:
        """Live events whose feature flags may name ``flag`` (callers check the exact flag), by name."""
        ...

    async def set_superadmin(self, email: str, granted: bool) -> bool:
        """Grant or revoke the superadmin flag; False when no user has this (normalised) email."""
        ...


ExportKind = Literal["leaderboard", "votes", "attendees", "projects"]


class Exports(Protocol):
    """The organiser's exports as streams of rows (plain values in the columns' order), read a batch at a
    time so that memory stays flat whatever the event's size. Each stream holds its own connection only
    while it is read."""

    def event_rows(self, kind: ExportKind, event_id: UUID) -> AsyncIterator[Sequence[Any]]:
        """One event's rows of ``kind`` (``services.exports.COLUMNS`` names the columns)."""
        ...

    def ysws_rows(self, event_id: UUID | None, series: str | None) -> AsyncIterator[Sequence[Any]]:
        """Podium HEAD's YSWS export: a row per project with its owner's details, of one event or of every
        live, non-draft event whose feature flags name ``series``."""
        ...


class Referrals(Protocol):
    async def add(self, referral: Referral) -> None: ...
    async def in_event(self, event_id: UUID) -> list[Referral]: ...
    async def in_event_since(self, event_id: UUID, since: str | None) -> Changes[Referral]:
        """The event's referrals (by id) if the list may have changed since ``since``, else none
        (``projects`` then empty), read together with the cursor of this read in one snapshot."""
        ...


class DisposableEmails(Protocol):
    """Which addresses belong to throwaway-mail services (a maintained list, outside the domain)."""

    def is_disposable(self, email: str) -> bool: ...


class MagicLinks(Protocol):
    async def consume(self, token_hash: str, expires_at: dt.datetime) -> bool:
        """Mark a magic link used, by its fingerprint, until ``expires_at``; False when it had been used
        already."""
        ...


class UnitOfWork(Protocol):
    """One transaction over every repository: rolled back unless ``commit`` is called."""

    @property
    def users(self) -> Users: ...
    @property
    def events(self) -> Events: ...
    @property
    def attendance(self) -> Attendance: ...
    @property
    def projects(self) -> Projects: ...
    @property
    def votes(self) -> Votes: ...
    @property
    def referrals(self) -> Referrals: ...
    @property
    def magic_links(self) -> MagicLinks: ...
    @property
    def directory(self) -> Directory: ...

    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...
    async def commit(self) -> None: ...


class Lookups(Protocol):
    """Point reads that need no unit of work, for the hottest requests. Each answer reflects every change
    committed before the call began; an adapter may answer concurrent calls with one query."""

    async def user_by_email(self, email: str) -> User | None: ...
    async def vote_ids_by_voter(self, voter_id: UUID) -> list[UUID]: ...
    async def listing_state(self, event_id: UUID) -> ListingState | None:
        """The event's listing version and whether its leaderboard is public; None if it does not exist."""
        ...

    async def release(self) -> None:
        """Give back whatever connection the caller holds, before it waits on work run on another."""
        ...


T = TypeVar("T")


class Ballots(Protocol):
    """Casting a ballot as one atomic step of the store, no unit of work needed (the vote's hot path)."""

    async def cast(self, terms: BallotTerms) -> BallotOutcome:
        """Lock the event against deletion and the voter's attendee row (as ``Attendance.lock_with_event``),
        read the facts with the lock held (as ``Votes.ballot`` for the votes' projects), and write
        ``terms.votes`` only if the facts are within the terms (``BallotTerms.admits``) — all or nothing,
        committed when written. The store decides nothing but that comparison; on PostgreSQL the whole step
        is one round trip."""
        ...


class UnitOfWorkFactory(Protocol):
    """The store: units of work, and the point reads that need none, and the one-step ballot."""

    @property
    def lookups(self) -> Lookups: ...

    @property
    def ballots(self) -> Ballots: ...

    def __call__(self, *, read_only: bool = False) -> UnitOfWork:
        """A unit of work; a ``read_only`` one only reads (no transaction to open, nothing to commit)."""
        ...

    async def read_public(self, read: Callable[[UnitOfWork], Awaitable[T]]) -> T:
        """``read``'s answer for data anyone may see, reflecting every change acknowledged before this call.

        The store may answer from a copy of the database that provably holds all of those changes (a
        streaming replica), and may run ``read`` again on the primary if the copy fails: ``read`` only
        reads."""
        ...


class RateLimiter(Protocol):
    """A sliding window per key: an attempt is admitted when fewer than ``limit`` attempts were admitted
    in the last ``window_seconds``, so no interval of that length, wherever it starts, admits more. A
    refused attempt is not counted; its wait is when the oldest admitted attempt leaves the window."""

    async def hit(self, key: str, limit: int, window_seconds: int) -> int | None:
        """Count one attempt for ``key``; None when admitted, else the whole seconds to wait (at least 1)."""
        ...

    async def hit_all(self, limits: Mapping[str, int], window_seconds: int) -> int | None:
        """Count one attempt against the keys of ``limits`` (key -> limit) in their order, stopping at the
        first one over its limit (the keys after it are not charged); the seconds to wait then, else None.
        """
        ...


class Mailer(Protocol):
    async def send_magic_link(self, email: str, link: str) -> None:
        """Deliver a login link. Raises ``DeliveryFailed`` when the mail could not be handed over."""
        ...


class TokenCodec(Protocol):
    def encode(self, claims: dict[str, Any]) -> str: ...
    def decode(self, token: str) -> dict[str, Any]:
        """The verified claims; raises ``BadToken`` for a bad signature, expiry, a missing ``exp``, a
        ``exp``/``nbf``/``iat`` that is not a finite number, or any spelling but the canonical one."""
        ...

    def fingerprint(self, token: str) -> str:
        """A fixed-length identity of a token ``decode`` accepted, the same for every spelling of it."""
        ...


class ProjectChecks(Protocol):
    """The external review service that checks a project's repo, demo and image."""

    @property
    def configured(self) -> bool: ...
    async def start(self, repo: str, image_url: str, demo: str) -> dict[str, Any]: ...
    async def poll(self, check_id: str) -> dict[str, Any]: ...


class SlugTaken(Exception):
    """An event with this slug exists."""


class JoinCodeTaken(Exception):
    """A row with this join code exists."""


class BadToken(Exception):
    """A token that is malformed, non-canonically encoded, wrongly signed, expired or without ``exp``."""


class DeliveryFailed(Exception):
    """The mail provider did not accept the message."""


class UpstreamError(Exception):
    """The external service failed or answered with an error."""


# Issue 25: what Podium HEAD's client needs beyond the legacy API (its web services: web_services.py).


class E2eData(Protocol):
    """The rows Podium HEAD's E2E suite creates (its test users and all they own)."""

    async def remove(self) -> dict[str, int]:
        """Delete them all, in one transaction; the counts per table."""
        ...
