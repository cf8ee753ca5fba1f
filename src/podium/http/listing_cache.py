"""An exact, in-process cache of an event's lists: the public ones and the organiser's (PRODUCT §3.19).

Every change that can alter a list bumps the event's listing version inside the change's own transaction:
the schema's triggers do it (migration 0004), whoever writes — the API, SQL, an admin UI, the backfill —
and marks what it changed (migration 0015). A read of a list not cached yet asks for the version (one
primary-key lookup, shared by the reads that arrive together: ``adapters/coalesce``) and builds the list.
A read of a cached list sends one statement instead: what was marked since the cached list's read, those
projects' rows, and the event's listing state (version, leaderboard, owner, phase), all from one snapshot;
only the changed rows are re-encoded (``list_parts``), so the cost of a vote to the readers does not grow
with the event. That refresh is shared by the reads that arrive together and sent after every one of them
began (``Batched``), so a read that starts after a vote's response reflects the vote, on every worker and
every instance sharing the database; each read then checks the state itself (unknown event, hidden
leaderboard, not the organiser), cached or not. The attendee and referral views are rebuilt whole.
"""

from __future__ import annotations

import asyncio
import random
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Generic, Protocol, TypeVar
from uuid import UUID

import msgspec

from podium import mechanisms
from podium.adapters.coalesce import Batched
from podium.config import Frontend
from podium.domain.models import ListingState, ProjectView, Referral, User, Vote, leaderboard_order
from podium.domain.ports import Changes
from podium.domain.services.events import EventService, organiser_version_of, public_version
from podium.http.list_parts import Part, Parts
from podium.http.schemas import ProjectPrivate, ProjectPublic, ReferralResponse, UserAttendee, VoteResponse

_encoder = msgspec.json.Encoder()
T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class Listing:
    version: int
    fragments: list[bytes]  # each project's JSON, in leaderboard order
    board: bytes  # the whole leaderboard array
    parts: Parts | None = None  # what the next version is built from

    @property
    def etag(self) -> str:
        return f'W/"{self.version}"'

    def shuffled(self, rng: random.Random) -> bytes:
        fragments = self.fragments.copy()
        rng.shuffle(fragments)
        return b"[" + b",".join(fragments) + b"]"


class SharedBuilds(Generic[T]):
    """Concurrent builds of one list share one: a read that needs the list at ``version`` waits for a
    build of the same key already running at that version or newer, instead of running its own.

    A build runs in the request that started it (its connection, its context); the others wait for its
    outcome. If that build fails or its request goes away, a waiter builds for itself, so no request
    inherits another's failure. Exactness: a list built after reading version V reflects every change
    counted in any version ≤ V (versions only grow, and a later snapshot sees all an earlier one saw).
    """

    __slots__ = ("_running",)

    def __init__(self) -> None:
        self._running: dict[Hashable, tuple[int, asyncio.Future[T]]] = {}

    async def run(self, key: Hashable, version: int, build: Callable[[], Awaitable[T]]) -> T:
        running = self._running.get(key)
        if running is not None and running[0] >= version:
            try:
                return await asyncio.shield(running[1])
            except asyncio.CancelledError:
                if not running[1].cancelled():
                    raise  # this request was cancelled, not the build
            except Exception:
                pass
        mine = (version, asyncio.get_running_loop().create_future())
        mine[1].add_done_callback(_retrieved)
        self._running[key] = mine
        try:
            value = await build()
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                mine[1].cancel()
            else:
                mine[1].set_exception(exc)
            raise
        finally:
            if self._running.get(key) is mine:
                del self._running[key]
        mine[1].set_result(value)
        return value


def _body(parts: Parts, base: Parts, base_body: bytes) -> bytes:
    """The body of ``parts``, made from ``base`` (whose body is ``base_body``): the same when nothing changed."""
    return base_body if parts.fragments is base.fragments else parts.array()


# A refresh's outcome: the event's state and the list as of one read, or what the read raised.
_Refreshed = tuple[ListingState | None, T | None] | BaseException


async def _each(keys: list[K], refresh: Callable[[K], Awaitable[_Refreshed[T]]]) -> list[_Refreshed[T]]:
    """One refresh per distinct key (concurrently), answered to every caller of that key; a failure is
    its own callers' alone."""
    distinct = list(dict.fromkeys(keys))
    outcomes = await asyncio.gather(*map(refresh, distinct), return_exceptions=True)
    by_key = dict(zip(distinct, outcomes, strict=True))
    return [by_key[key] for key in keys]


class _Versioned(Protocol):
    @property
    def version(self) -> int: ...


V = TypeVar("V", bound=_Versioned)


def _file(entries: OrderedDict[K, V], key: K, value: V, limit: int, *, newest: bool = False) -> None:
    """Keep ``value`` unless a newer list is held (with ``newest``: one read no earlier, even at the same
    version, so the next refresh starts from the newest cursor); the least recently used go past ``limit``."""
    current = entries.get(key)
    if current is None or current.version < value.version or (newest and current.version == value.version):
        entries[key] = value
        entries.move_to_end(key)
        while len(entries) > limit:
            entries.popitem(last=False)


def _outcome(refreshed: _Refreshed[T]) -> tuple[ListingState | None, T | None]:
    if isinstance(refreshed, BaseException):
        raise refreshed
    return refreshed


def _retrieved(future: asyncio.Future[object]) -> None:
    """A failed build nobody waited for is not an unretrieved exception: its own request raised it."""
    if not future.cancelled():
        future.exception()


class OrganiserView(Enum):
    """The organiser's lists of an event (``_VIEWS``: how to read and encode each)."""

    LEADERBOARD = "leaderboard"
    VOTES = "votes"
    ATTENDEES = "attendees"
    REFERRALS = "referrals"


def _public_card(frontend: Frontend) -> Callable[[ProjectView], Part]:
    return lambda view: (
        view.project.id,
        leaderboard_order(view),
        _encoder.encode(ProjectPublic.of(view, frontend)),
    )


def _private_card(frontend: Frontend) -> Callable[[ProjectView], Part]:
    return lambda view: (
        view.project.id,
        leaderboard_order(view),
        _encoder.encode(ProjectPrivate.of(view, frontend)),
    )


# Rows by id as an int: PostgreSQL's order of uuids, compared in C (a UUID compares in Python), and smaller.
def _vote_part(_frontend: Frontend) -> Callable[[Vote], Part]:
    return lambda vote: (vote.project_id, vote.id.int, _encoder.encode(VoteResponse.of(vote)))


# An attendee and a referral are each their own subject of change (migration 0018).
def _attendee_part(_frontend: Frontend) -> Callable[[User], Part]:
    return lambda user: (user.id, user.id.int, _encoder.encode(UserAttendee.of(user)))


def _referral_part(_frontend: Frontend) -> Callable[[Referral], Part]:
    return lambda referral: (referral.id, referral.id.int, _encoder.encode(ReferralResponse.of(referral)))


# Each view: how to read what changed since a cursor (the service checks the organiser again on every
# read that misses), and a row as a part, encoded for the deployment's frontend.
_VIEWS: dict[
    OrganiserView,
    tuple[
        Callable[[EventService, User, UUID, str | None], Awaitable[Changes[Any]]],
        Callable[[Frontend], Callable[[Any], Part]],
    ],
] = {
    OrganiserView.LEADERBOARD: (EventService.leaderboard_since, _private_card),
    OrganiserView.VOTES: (EventService.votes_since, _vote_part),
    OrganiserView.ATTENDEES: (EventService.attendees_since, _attendee_part),
    OrganiserView.REFERRALS: (EventService.referrals_since, _referral_part),
}


@dataclass(frozen=True, slots=True)
class _OrganiserList:
    version: int
    body: bytes
    parts: Parts


class ProjectListingCache:
    def __init__(
        self,
        events: EventService,
        *,
        enabled: bool = True,
        max_events: int = 512,
        frontend: Frontend = "legacy",
    ) -> None:
        self._events = events
        self._frontend: Frontend = frontend
        self._enabled = enabled
        self._max_events = max_events
        self._entries: OrderedDict[UUID, Listing] = OrderedDict()
        self._organiser: OrderedDict[tuple[UUID, OrganiserView], _OrganiserList] = OrderedDict()
        self._rng = random.Random()
        self._builds: SharedBuilds[Listing] = SharedBuilds()
        self._organiser_builds: SharedBuilds[_OrganiserList] = SharedBuilds()
        self._public_card = _public_card(frontend)
        # A cached list is brought up to date by one query, shared by the reads that arrive together.
        self._coalesce = mechanisms.enabled("coalesced_reads")
        self._public_refreshes: Batched[UUID, _Refreshed[Listing]] = Batched(
            lambda keys: _each(keys, self._public_refresh)
        )
        self._organiser_refreshes: Batched[tuple[UUID, OrganiserView], _Refreshed[_OrganiserList]] = Batched(
            lambda keys: _each(keys, self._organiser_refresh)
        )

    async def organiser_view(self, user: User, event_id: UUID, view: OrganiserView) -> bytes:
        """The encoded organiser's list; raises ``Forbidden`` unless ``user`` organises the event."""
        if not self._enabled:
            return (await self._organiser_list(user, event_id, view, -1)).body
        key = (event_id, view)
        if self._coalesce and key in self._organiser:
            state, fresh = _outcome(await self._shared_refresh(self._organiser_refreshes, key))
            organiser_version_of(state, user)  # checked against the same read as the rows
            assert fresh is not None
            return fresh.body
        version = await self._events.organiser_version(user, event_id)
        cached = self._organiser.get(key)
        if cached is not None and cached.version == version:
            self._organiser.move_to_end(key)
            return cached.body
        # Read after the version, so the list is at least as new as the version it is filed under.
        built = await self._organiser_builds.run(
            key, version, lambda: self._organiser_list(user, event_id, view, version)
        )
        _file(self._organiser, key, built, self._max_events * len(OrganiserView))
        return built.body

    async def _organiser_list(
        self, user: User, event_id: UUID, view: OrganiserView, version: int
    ) -> _OrganiserList:
        read, part = _VIEWS[view]
        # The newest list held when this build starts, and only what changed since its read.
        base = self._organiser.get((event_id, view)) if self._enabled else None
        changes = await read(self._events, user, event_id, None if base is None else base.parts.cursor)
        if base is None:
            parts = Parts.of(changes.cursor, map(part(self._frontend), changes.rows))
            return _OrganiserList(version, parts.array(), parts)
        parts = base.parts.updated(changes, part(self._frontend))
        return _OrganiserList(version, _body(parts, base.parts, base.body), parts)

    async def listing(self, event_id: UUID, leaderboard: bool) -> Listing:
        """The event's current list; raises the domain's errors (unknown event, leaderboard not public)."""
        if not self._enabled:
            # Already in the order to serve (ranked, or shuffled by the service), encoded in one go.
            views = await self._events.projects(event_id, leaderboard)
            return Listing(
                -1, [], _encoder.encode([ProjectPublic.of(view, self._frontend) for view in views])
            )
        if self._coalesce and event_id in self._entries:
            state, fresh = _outcome(await self._shared_refresh(self._public_refreshes, event_id))
            public_version(state, leaderboard)  # checked against the same read as the rows
            assert fresh is not None
            return fresh
        version = await self._events.listing_version(event_id, leaderboard)
        return await self._at(event_id, version)

    async def _shared_refresh(self, refreshes: Batched[K, _Refreshed[T]], key: K) -> _Refreshed[T]:
        # The shared query runs on a connection of its own: give back the request's first.
        await self._events.release_connection()
        return await refreshes.submit(key)

    async def _public_refresh(self, event_id: UUID) -> tuple[ListingState | None, Listing | None]:
        """The cached list brought up to date by one read of what changed since it, with the event's state
        as of that read (the caller checks it): runs after every read it answers began, so it reflects
        every change any of them must see."""
        base = self._entries.get(event_id)
        since = None if base is None else base.parts
        changes = await self._events.public_changes(event_id, None if since is None else since.cursor)
        state = changes.state
        if state is None:
            return None, None
        if base is None or since is None:
            parts = Parts.of(changes.cursor, map(self._public_card, changes.rows))
            listing = Listing(state.version, parts.fragments, parts.array(), parts)
        else:
            parts = since.updated(changes, self._public_card)
            listing = Listing(state.version, parts.fragments, _body(parts, since, base.board), parts)
        _file(self._entries, event_id, listing, self._max_events, newest=True)
        return state, listing

    async def _organiser_refresh(
        self, key: tuple[UUID, OrganiserView]
    ) -> tuple[ListingState | None, _OrganiserList | None]:
        """As ``_public_refresh``, for one of the organiser's lists (the caller checks who reads it)."""
        event_id, view = key
        base = self._organiser.get(key)
        changes = await self._events.organiser_changes(
            view.value, event_id, None if base is None else base.parts.cursor
        )
        state = changes.state
        if state is None:
            return None, None
        part = _VIEWS[view][1](self._frontend)
        if base is None:
            parts = Parts.of(changes.cursor, map(part, changes.rows))
            built = _OrganiserList(state.version, parts.array(), parts)
        else:
            parts = base.parts.updated(changes, part)
            built = _OrganiserList(state.version, _body(parts, base.parts, base.body), parts)
        _file(self._organiser, key, built, self._max_events * len(OrganiserView), newest=True)
        return state, built

    async def current(self, event_id: UUID) -> tuple[Listing, bool]:
        """The event's current list in leaderboard order, and whether its leaderboard may be shown (the
        live streams check it themselves); raises ``NotFound`` for an unknown event."""
        state = await self._events.listing_state(event_id)
        if not self._enabled:
            return self._build(
                state.version, await self._events.ranked_projects(event_id)
            ), state.leaderboard_enabled
        return await self._at(event_id, state.version), state.leaderboard_enabled

    async def _at(self, event_id: UUID, version: int) -> Listing:
        cached = self._entries.get(event_id)
        if cached is not None and cached.version == version:
            self._entries.move_to_end(event_id)
            return cached
        # Read after the version, so the list is at least as new as the version it is filed under.
        listing = await self._builds.run(event_id, version, lambda: self._refreshed(event_id, version))
        _file(self._entries, event_id, listing, self._max_events)
        return listing

    async def _refreshed(self, event_id: UUID, version: int) -> Listing:
        # The newest list held when this build starts, and only what changed since its read.
        base = self._entries.get(event_id)
        since = None if base is None else base.parts
        changes = await self._events.ranked_projects_since(event_id, None if since is None else since.cursor)
        if base is None or since is None:
            parts = Parts.of(changes.cursor, map(self._public_card, changes.rows))
            return Listing(version, parts.fragments, parts.array(), parts)
        parts = since.updated(changes, self._public_card)
        return Listing(version, parts.fragments, _body(parts, since, base.board), parts)

    def body(self, listing: Listing, leaderboard: bool) -> bytes:
        return listing.board if leaderboard or not self._enabled else listing.shuffled(self._rng)

    def _build(self, version: int, views: list[ProjectView]) -> Listing:
        frontend = self._frontend
        fragments = [_encoder.encode(ProjectPublic.of(view, frontend)) for view in views]
        return Listing(version, fragments, b"[" + b",".join(fragments) + b"]")
