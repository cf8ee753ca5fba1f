"""Who may act on an event: the rules the events, exports and superadmin services share (one place)."""

from __future__ import annotations

from uuid import UUID

from podium.domain.errors import BAD_ACCESS, Forbidden
from podium.domain.models import Event, ListingState, User
from podium.domain.ports import LockPurpose, UnitOfWork

SUPERADMIN_ONLY = "Superadmin access required"
EVENT_IN_DRAFT = "This event is not open yet: it is still a draft"


def require_superadmin(user: User) -> None:
    """Forbidden unless ``user`` is a superadmin (granted from the command line only)."""
    if not user.is_superadmin:
        raise Forbidden(SUPERADMIN_ONLY)


def organises(user: User, event: Event | ListingState) -> bool:
    """The event's owner, or a superadmin: who sees an event in every phase and may change it."""
    return event.owner_id == user.id or user.is_superadmin


async def owned_event(uow: UnitOfWork, user: User, event_id: UUID, lock: LockPurpose | None = None) -> Event:
    """The caller's event, or any event for a superadmin (a missing one and someone else's alike are
    BAD_ACCESS, legacy §2.4), locked for a write: a writer that lost a race with the event's delete sees it
    missing."""
    if lock is None:
        event = await uow.events.get(event_id)
    else:
        event = await uow.events.lock(event_id, lock)
    if event is None or not organises(user, event):
        raise Forbidden(BAD_ACCESS)
    return event


def shown_to(user: User | None, event: Event | ListingState) -> bool:
    """Whether ``user`` (None: anyone) may see the event and what is in it: a draft is its organisers'
    alone (PRODUCT §7), on every path; a soft-deleted event is nobody's (the repositories never return it)."""
    return event.phase != "draft" or (user is not None and organises(user, event))


def require_open(user: User, event: Event) -> None:
    """Forbidden to add to or change what is in a draft event, but for its organisers."""
    if not shown_to(user, event):
        raise Forbidden(EVENT_IN_DRAFT)
