"""Events, attendance, referrals and the organiser's admin views (legacy §2.3–2.4, §4.2–4.6)."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

from podium.domain.errors import BAD_ACCESS, Forbidden, Invalid, NotFound, Unprocessable
from podium.domain.models import Event, EventView, ListingState, ProjectView, Referral, User, Vote
from podium.domain.ports import Changes, SlugTaken, UnitOfWork, UnitOfWorkFactory
from podium.domain.rules import feature_flags, flags_for_phase, normalize_join_code, phase_for_flags, slug_for
from podium.domain.services.access import EVENT_IN_DRAFT, organises, owned_event
from podium.domain.services.join_codes import JoinCodeGuard, with_fresh_join_code

R = TypeVar("R")

EVENT_NOT_FOUND = "Event not found"
LEADERBOARD_DISABLED = "Leaderboard is not enabled"
NOT_OFFICIAL = "This event is not an official event of the current series"
ALREADY_ATTENDING = "Already attending this event"
SERIES_FLAGS_SUPERADMIN_ONLY = (
    "Only a superadmin may change an event's feature flags: they put an event into an official series"
)
UPDATABLE_FIELDS = frozenset(
    {"name", "description", "votable", "leaderboard_enabled", "demo_links_optional", "ysws_checks_enabled"}
)
# What the organiser's PATCH (and the superadmin's) may change (issue 15).
ADMIN_FIELDS = frozenset(
    {"phase", "name", "description", "demo_links_optional", "feature_flags_csv", "require_ysws_pii"}
) | frozenset({"repo_validation", "demo_validation", "custom_validator"})  # HEAD's validation (issue 25)


@dataclass(frozen=True, slots=True)
class CreatedEvent:
    id: UUID
    slug: str
    join_code: str


@dataclass(frozen=True, slots=True)
class UserEvents:
    owned: list[EventView]
    attending: list[EventView]


class EventService:
    def __init__(
        self, uow: UnitOfWorkFactory, shuffle: Any = random.shuffle, join_guard: JoinCodeGuard | None = None
    ) -> None:
        self._uow = uow
        self._shuffle = shuffle
        self._join_guard = join_guard or JoinCodeGuard(None)

    async def create(
        self, owner: User, name: str, description: str, demo_links_optional: bool, ysws_checks_enabled: bool
    ) -> CreatedEvent:
        """Create an event owned by the caller, with a slug from its name and a fresh join code."""
        slug = slug_for(name)
        if not slug:
            raise Unprocessable("Event name must contain at least one letter or digit")
        async with self._uow() as uow:
            if await uow.events.id_for_slug(slug) is not None:
                raise Invalid("Event slug already exists")

            async def add(join_code: str) -> Event:
                event = Event(
                    name=name,
                    slug=slug,
                    join_code=join_code,
                    owner_id=owner.id,
                    description=description,
                    demo_links_optional=demo_links_optional,
                    ysws_checks_enabled=ysws_checks_enabled,
                )
                try:
                    await uow.events.add(event)
                except SlugTaken as exc:
                    raise Invalid("Event slug already exists") from exc
                return event

            event = await with_fresh_join_code(add)
            await uow.commit()
        return CreatedEvent(event.id, event.slug, event.join_code)

    async def public(self, event_id: UUID) -> EventView:
        """An event as anyone sees it: a draft (or deleted) event does not exist for the public."""
        view = await self._uow.read_public(lambda uow: uow.events.view(event_id))
        if view is None or view.event.phase == "draft":
            raise NotFound(EVENT_NOT_FOUND)
        return view

    async def id_for_slug(self, slug: str) -> UUID:
        async def lookup(uow: UnitOfWork) -> Event | None:
            event_id = await uow.events.id_for_slug(slug)
            return None if event_id is None else await uow.events.get(event_id)

        event = await self._uow.read_public(lookup)
        if event is None or event.phase == "draft":
            raise NotFound(EVENT_NOT_FOUND)
        return event.id

    async def of_user(self, user: User) -> UserEvents:
        async with self._uow(read_only=True) as uow:
            owned = await uow.events.owned_by(user.id)
            attending = await uow.events.attended_by(user.id)
        # An event moved back to draft is its owner's alone until it opens again.
        attending = [v for v in attending if v.event.phase != "draft" or v.event.owner_id == user.id]
        return UserEvents(owned, attending)

    async def update(self, user: User, event_id: UUID, changes: dict[str, Any]) -> None:
        """Change the event's settings (owner only); absent and null fields are left as they are. The
        legacy flags move the phase with them (``rules.phase_for_flags``)."""
        changes = {k: v for k, v in changes.items() if k in UPDATABLE_FIELDS and v is not None}
        async with self._uow() as uow:
            event = await owned_event(uow, user, event_id, "change")
            if changes:
                await uow.events.update(with_changes(event, changes))
                await uow.commit()

    async def admin_update(self, user: User, event_id: UUID, changes: dict[str, Any]) -> EventView:
        """The organiser's PATCH (owner or superadmin): any of ``ADMIN_FIELDS``; absent and null fields are
        left as they are. A phase sets the legacy flags the v2 client reads (``rules.flags_for_phase``)."""
        changes = {k: v for k, v in changes.items() if k in ADMIN_FIELDS and v is not None}
        async with self._uow() as uow:
            event = await owned_event(uow, user, event_id, "change")
            _check_series_flags(user, event, changes)
            if changes:
                await uow.events.update(with_changes(event, changes))
            view = await uow.events.view(event_id)
            assert view is not None  # locked against deletion above
            await uow.commit()
        return view

    async def official(self, series: str) -> list[EventView]:
        """The non-draft events whose feature flags name the active series (none when it is unset)."""
        if not series:
            return []
        async with self._uow(read_only=True) as uow:
            return await official_views(uow, series)

    async def attend_official(self, user: User, event_id: UUID, series: str) -> bool:
        """Join an official event of the active series by its id, no code needed. False when the caller
        attends it already (HEAD answers that as a success)."""
        async with self._uow() as uow:
            event = await uow.events.lock(event_id, "keep")
            if event is None or event.phase == "draft":
                raise NotFound(EVENT_NOT_FOUND)
            if not series or series not in feature_flags(event.feature_flags_csv):
                raise Forbidden(NOT_OFFICIAL)
            if not await uow.attendance.add(event.id, user.id):
                return False
            await uow.commit()
        return True

    async def delete(self, user: User, event_id: UUID) -> None:
        async with self._uow() as uow:
            await owned_event(uow, user, event_id, "delete")
            await uow.events.delete(event_id)
            await uow.commit()

    async def attend(self, user: User, join_code: str, referral: str, client: str | None = None) -> UUID:
        """Join an event with its code; a non-empty referral answer is kept for the organiser.

        Lookups are rate-limited per user and per ``client`` address (join codes must not be guessable).
        """
        await self._join_guard.check("attend", user, client)
        async with self._uow() as uow:
            event = await uow.events.lock_by_join_code(normalize_join_code(join_code))
            if event is None:
                raise NotFound(EVENT_NOT_FOUND)
            if event.phase == "draft":
                raise Forbidden(EVENT_IN_DRAFT)
            if not await uow.attendance.add(event.id, user.id):
                raise Invalid("User already attending event")
            if referral:
                await uow.referrals.add(Referral(content=referral, user_id=user.id, event_id=event.id))
            await uow.commit()
        return event.id

    async def listing_state(self, event_id: UUID) -> ListingState:
        """The version of the event's lists and whether its leaderboard may be shown (one tiny query,
        shared with concurrent callers); an unknown event is ``NotFound``."""
        return public_state(await self._uow.lookups.listing_state(event_id))

    async def listing_version(self, event_id: UUID, leaderboard: bool) -> int:
        """The version of the event's public project list, checking it may be shown: one tiny query
        (shared with concurrent callers), so an exact cache can tell whether what it holds is current."""
        return public_version(await self._uow.lookups.listing_state(event_id), leaderboard)

    async def ranked_projects(self, event_id: UUID) -> list[ProjectView]:
        """Every project of the event in leaderboard order, for a caller that has already checked the list
        may be shown (with ``listing_version``)."""
        return await self._uow.read_public(lambda uow: uow.projects.in_event(event_id))

    async def ranked_projects_since(self, event_id: UUID, since: str | None) -> Changes[ProjectView]:
        """The event's projects changed since the cursor ``since`` (all of them without one), for a caller
        that has already checked the list may be shown: what an exact cache needs to bring its list up to
        date without reading the whole event again."""
        return await self._uow.read_public(lambda uow: uow.projects.in_event_since(event_id, since))

    async def release_connection(self) -> None:
        """Give back the connection the caller holds, before waiting on a read run on another."""
        await self._uow.lookups.release()

    async def public_changes(self, event_id: UUID, since: str | None) -> Changes[ProjectView]:
        """As ``ranked_projects_since``, with the event's listing state as of the same read
        (``changes.state``, None for an unknown event): for a cache that checks it (``public_version``)
        before showing the rows, so that one round trip both refreshes and checks."""
        return await self._uow.read_public(
            lambda uow: _with_state(uow, event_id, uow.projects.in_event_since(event_id, since))
        )

    async def organiser_changes(self, view: str, event_id: UUID, since: str | None) -> Changes[Any]:
        """What changed in the organiser's ``view`` (``ORGANISER_VIEWS``) since the cursor ``since``, with
        the event's listing state as of the same read: for a cache that checks the reader organises the
        event (``organiser_version_of``) before showing the rows, so that one round trip does both."""
        read = ORGANISER_VIEWS[view]
        async with self._uow(read_only=True) as uow:
            return await _with_state(uow, event_id, read(uow, event_id, since))

    async def projects(self, event_id: UUID, leaderboard: bool) -> list[ProjectView]:
        """The public project list: the leaderboard (when enabled) or every project in random order."""
        await self.listing_version(event_id, leaderboard)  # the checks
        views = await self.ranked_projects(event_id)
        if not leaderboard:
            self._shuffle(views)
        return views

    # The organiser's views. An unknown event and someone else's event both answer BAD_ACCESS (legacy §2.4).

    async def organiser_version(self, user: User, event_id: UUID) -> int:
        """The version of the event's lists, checking the user organises it: one tiny query (shared with
        concurrent callers), so an exact cache of the organiser's views can tell whether it is current."""
        return organiser_version_of(await self._uow.lookups.listing_state(event_id), user)

    async def private(self, user: User, event_id: UUID) -> EventView:
        async with self._uow(read_only=True) as uow:
            await owned_event(uow, user, event_id)
            view = await uow.events.view(event_id)
        assert view is not None
        return view

    async def attendees(self, user: User, event_id: UUID) -> list[User]:
        async with self._uow(read_only=True) as uow:
            await owned_event(uow, user, event_id)
            return await uow.attendance.attendees(event_id)

    async def attendees_since(self, user: User, event_id: UUID, since: str | None) -> Changes[User]:
        """As ``attendees``, when the list may have changed since the cursor ``since`` (else no rows)."""
        async with self._uow(read_only=True) as uow:
            await owned_event(uow, user, event_id)
            return await uow.attendance.attendees_since(event_id, since)

    async def remove_attendee(self, user: User, event_id: UUID, attendee_id: UUID) -> None:
        async with self._uow() as uow:
            await owned_event(uow, user, event_id, "keep")
            await uow.attendance.remove(event_id, attendee_id)
            await uow.commit()

    async def leaderboard(self, user: User, event_id: UUID) -> list[ProjectView]:
        async with self._uow(read_only=True) as uow:
            await owned_event(uow, user, event_id)
            return await uow.projects.in_event(event_id)

    async def leaderboard_since(self, user: User, event_id: UUID, since: str | None) -> Changes[ProjectView]:
        """As ``leaderboard``, only the projects changed since the cursor ``since`` (all without one)."""
        async with self._uow(read_only=True) as uow:
            await owned_event(uow, user, event_id)
            return await uow.projects.in_event_since(event_id, since)

    async def votes(self, user: User, event_id: UUID) -> list[Vote]:
        async with self._uow(read_only=True) as uow:
            await owned_event(uow, user, event_id)
            return await uow.votes.in_event(event_id)

    async def votes_since(self, user: User, event_id: UUID, since: str | None) -> Changes[Vote]:
        """As ``votes``, only the votes of the projects changed since the cursor ``since`` (all without one)."""
        async with self._uow(read_only=True) as uow:
            await owned_event(uow, user, event_id)
            return await uow.votes.in_event_since(event_id, since)

    async def referrals(self, user: User, event_id: UUID) -> list[Referral]:
        async with self._uow(read_only=True) as uow:
            await owned_event(uow, user, event_id)
            return await uow.referrals.in_event(event_id)

    async def referrals_since(self, user: User, event_id: UUID, since: str | None) -> Changes[Referral]:
        """As ``referrals``, when the list may have changed since the cursor ``since`` (else no rows)."""
        async with self._uow(read_only=True) as uow:
            await owned_event(uow, user, event_id)
            return await uow.referrals.in_event_since(event_id, since)


def public_state(state: ListingState | None) -> ListingState:
    """``state`` if anyone may see the event's lists, else ``NotFound`` (unknown, or still a draft)."""
    if state is None or state.phase == "draft":
        raise NotFound(EVENT_NOT_FOUND)
    return state


def public_version(state: ListingState | None, leaderboard: bool) -> int:
    """The version of the public project list of the event in ``state``, checking it may be shown."""
    state = public_state(state)
    if leaderboard and not state.leaderboard_enabled:
        raise Forbidden(LEADERBOARD_DISABLED)
    return state.version


def organiser_version_of(state: ListingState | None, user: User) -> int:
    """The version of the lists of the event in ``state``, checking ``user`` organises it (an unknown
    event and someone else's alike are BAD_ACCESS)."""
    if state is None or not organises(user, state):
        raise Forbidden(BAD_ACCESS)
    return state.version


async def _with_state(uow: UnitOfWork, event_id: UUID, read: Awaitable[Changes[R]]) -> Changes[R]:
    """``read``'s changes with the event's listing state: a store that does not read it with the rows
    (or an event that is gone) is asked for it in the same unit of work."""
    changes = await read
    if changes.state is None:
        state = (await uow.events.listing_states((event_id,))).get(event_id)
        changes = dataclasses.replace(changes, state=state)
    return changes


# The organiser's lists an exact cache keeps (``organiser_changes``), by name.
ORGANISER_VIEWS: dict[str, Callable[[UnitOfWork, UUID, str | None], Awaitable[Changes[Any]]]] = {
    "leaderboard": lambda uow, event_id, since: uow.projects.in_event_since(event_id, since),
    "votes": lambda uow, event_id, since: uow.votes.in_event_since(event_id, since),
    "attendees": lambda uow, event_id, since: uow.attendance.attendees_since(event_id, since),
    "referrals": lambda uow, event_id, since: uow.referrals.in_event_since(event_id, since),
}


async def official_views(uow: UnitOfWork, series: str) -> list[EventView]:
    """The events of ``series`` that are official: flagged with it, and past their draft."""
    return [v for v in await uow.directory.flagged(series) if is_official(v.event, series)]


def is_official(event: Event, series: str) -> bool:
    """Whether the event is an official one of ``series``: not a draft, and its feature flags name it."""
    return bool(series) and event.phase != "draft" and series in feature_flags(event.feature_flags_csv)


def with_changes(event: Event, changes: dict[str, Any]) -> Event:
    """The event with ``changes`` applied, its phase and legacy flags one consistent state: a new phase sets
    the flags; new flags move the phase; both at once must agree (the database checks it too)."""
    changes = dict(changes)
    if "custom_validator" in changes:
        changes["custom_validator"] = changes["custom_validator"] or None  # "" clears it
    phase = changes.pop("phase", None)
    votable = changes.pop("votable", None)
    leaderboard = changes.pop("leaderboard_enabled", None)
    changed = dataclasses.replace(event, **changes)
    if votable is not None or leaderboard is not None:
        changed.votable = event.votable if votable is None else votable
        changed.leaderboard_enabled = event.leaderboard_enabled if leaderboard is None else leaderboard
        changed.phase = phase_for_flags(changed.votable, changed.leaderboard_enabled, event.phase)
    elif phase is not None and phase != event.phase:
        changed.phase = phase
        changed.votable, changed.leaderboard_enabled = flags_for_phase(phase)
    return changed


def _check_series_flags(user: User, event: Event, changes: dict[str, Any]) -> None:
    """The feature flags name the official series an event belongs to (listed, joined without a code, in
    the series' PII export): only superadmins set them (PRODUCT §7). Sending the event's own value is no
    change (a client that sends its whole form)."""
    flags = changes.get("feature_flags_csv")
    if flags is not None and flags != event.feature_flags_csv and not user.is_superadmin:
        raise Forbidden(SERIES_FLAGS_SUPERADMIN_ONLY)
