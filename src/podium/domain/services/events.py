"""Events, attendance, referrals and the organiser's admin views (legacy §2.3–2.4, §4.2–4.6)."""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from podium.domain.errors import BAD_ACCESS, Forbidden, Invalid, NotFound, Unprocessable
from podium.domain.models import Event, EventView, ListingState, ProjectView, Referral, User, Vote
from podium.domain.ports import LockPurpose, SlugTaken, UnitOfWork, UnitOfWorkFactory
from podium.domain.rules import normalize_join_code, slug_for
from podium.domain.services.join_codes import JoinCodeGuard, with_fresh_join_code

EVENT_NOT_FOUND = "Event not found"
LEADERBOARD_DISABLED = "Leaderboard is not enabled"
UPDATABLE_FIELDS = frozenset(
    {"name", "description", "votable", "leaderboard_enabled", "demo_links_optional", "ysws_checks_enabled"}
)


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
        async with self._uow(read_only=True) as uow:
            view = await uow.events.view(event_id)
        if view is None:
            raise NotFound(EVENT_NOT_FOUND)
        return view

    async def id_for_slug(self, slug: str) -> UUID:
        async with self._uow(read_only=True) as uow:
            event_id = await uow.events.id_for_slug(slug)
        if event_id is None:
            raise NotFound(EVENT_NOT_FOUND)
        return event_id

    async def of_user(self, user: User) -> UserEvents:
        async with self._uow(read_only=True) as uow:
            return UserEvents(await uow.events.owned_by(user.id), await uow.events.attended_by(user.id))

    async def update(self, user: User, event_id: UUID, changes: dict[str, Any]) -> None:
        """Change the event's settings (owner only); absent and null fields are left as they are."""
        changes = {k: v for k, v in changes.items() if k in UPDATABLE_FIELDS and v is not None}
        async with self._uow() as uow:
            event = await _owned_event(uow, user, event_id, "change")
            if changes:
                await uow.events.update(dataclasses.replace(event, **changes))
                await uow.commit()

    async def delete(self, user: User, event_id: UUID) -> None:
        async with self._uow() as uow:
            await _owned_event(uow, user, event_id, "delete")
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
            if not await uow.attendance.add(event.id, user.id):
                raise Invalid("User already attending event")
            if referral:
                await uow.referrals.add(Referral(content=referral, user_id=user.id, event_id=event.id))
            await uow.commit()
        return event.id

    async def listing_state(self, event_id: UUID) -> ListingState:
        """The version of the event's lists and whether its leaderboard may be shown (one tiny query,
        shared with concurrent callers); an unknown event is ``NotFound``."""
        state = await self._uow.lookups.listing_state(event_id)
        if state is None:
            raise NotFound(EVENT_NOT_FOUND)
        return state

    async def listing_version(self, event_id: UUID, leaderboard: bool) -> int:
        """The version of the event's public project list, checking it may be shown: one tiny query
        (shared with concurrent callers), so an exact cache can tell whether what it holds is current."""
        state = await self.listing_state(event_id)
        if leaderboard and not state.leaderboard_enabled:
            raise Forbidden(LEADERBOARD_DISABLED)
        return state.version

    async def ranked_projects(self, event_id: UUID) -> list[ProjectView]:
        """Every project of the event in leaderboard order, for a caller that has already checked the list
        may be shown (with ``listing_version``)."""
        async with self._uow(read_only=True) as uow:
            return await uow.projects.in_event(event_id)

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
        state = await self._uow.lookups.listing_state(event_id)
        if state is None or state.owner_id != user.id:
            raise Forbidden(BAD_ACCESS)
        return state.version

    async def private(self, user: User, event_id: UUID) -> EventView:
        async with self._uow(read_only=True) as uow:
            await _owned_event(uow, user, event_id)
            view = await uow.events.view(event_id)
        assert view is not None
        return view

    async def attendees(self, user: User, event_id: UUID) -> list[User]:
        async with self._uow(read_only=True) as uow:
            await _owned_event(uow, user, event_id)
            return await uow.attendance.attendees(event_id)

    async def remove_attendee(self, user: User, event_id: UUID, attendee_id: UUID) -> None:
        async with self._uow() as uow:
            await _owned_event(uow, user, event_id, "keep")
            await uow.attendance.remove(event_id, attendee_id)
            await uow.commit()

    async def leaderboard(self, user: User, event_id: UUID) -> list[ProjectView]:
        async with self._uow(read_only=True) as uow:
            await _owned_event(uow, user, event_id)
            return await uow.projects.in_event(event_id)

    async def votes(self, user: User, event_id: UUID) -> list[Vote]:
        async with self._uow(read_only=True) as uow:
            await _owned_event(uow, user, event_id)
            return await uow.votes.in_event(event_id)

    async def referrals(self, user: User, event_id: UUID) -> list[Referral]:
        async with self._uow(read_only=True) as uow:
            await _owned_event(uow, user, event_id)
            return await uow.referrals.in_event(event_id)


async def _owned_event(uow: UnitOfWork, user: User, event_id: UUID, lock: LockPurpose | None = None) -> Event:
    """The caller's event (a missing one and someone else's alike are BAD_ACCESS, legacy §2.4), locked
    for a write: a writer that lost a race with the event's delete sees it missing."""
    if lock is None:
        event = await uow.events.get(event_id)
    else:
        event = await uow.events.lock(event_id, lock)
    if event is None or event.owner_id != user.id:
        raise Forbidden(BAD_ACCESS)
    return event
