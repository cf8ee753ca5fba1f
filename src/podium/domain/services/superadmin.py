"""The superadmin's use-cases (issue 15): every event and user, paginated and searchable; events created,
changed, handed over, soft-deleted and restored. Superadmins are made only from the command line."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from uuid import UUID

from podium.domain.clock import utcnow
from podium.domain.errors import NotFound, Unprocessable
from podium.domain.models import Event, EventView, User
from podium.domain.ports import SlugTaken, UnitOfWorkFactory
from podium.domain.rules import flags_for_phase, normalize_email, slug_for, truncate_at_dash
from podium.domain.services.access import require_superadmin
from podium.domain.services.events import ADMIN_FIELDS, EVENT_NOT_FOUND, with_changes
from podium.domain.services.join_codes import with_fresh_join_code

USER_NOT_FOUND = "User not found"
SLUG_STEM_LENGTH = 40
SLUG_SUFFIX_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    page: int
    size: int

    @property
    def pages(self) -> int:
        return math.ceil(self.total / self.size)


class SuperadminService:
    def __init__(self, uow: UnitOfWorkFactory, now: Callable[[], dt.datetime] = utcnow) -> None:
        self._uow = uow
        self._now = now

    async def events(self, admin: User, query: str, page: int, size: int) -> Page[EventView]:
        """Every event, soft-deleted ones included, whose name or slug contains ``query``, by creation."""
        require_superadmin(admin)
        async with self._uow(read_only=True) as uow:
            items, total = await uow.directory.events_page(query.strip(), (page - 1) * size, size)
        return Page(items, total, page, size)

    async def users(self, admin: User, query: str, page: int, size: int) -> Page[User]:
        """Every user whose email or display name contains ``query``, by creation."""
        require_superadmin(admin)
        async with self._uow(read_only=True) as uow:
            items, total = await uow.directory.users_page(query.strip(), (page - 1) * size, size)
        return Page(items, total, page, size)

    async def create(self, admin: User, fields: dict[str, Any]) -> EventView:
        """An event owned by the superadmin, with a slug made unique by a random suffix (as HEAD)."""
        require_superadmin(admin)
        return await create_event(self._uow, admin, fields)

    async def update(
        self, admin: User, event_id: UUID, changes: dict[str, Any], owner_email: str | None
    ) -> EventView:
        """The organiser's PATCH on any event (soft-deleted ones too), plus ``owner_email`` to hand it
        over to another existing user."""
        require_superadmin(admin)
        changes = {k: v for k, v in changes.items() if k in ADMIN_FIELDS and v is not None}
        async with self._uow() as uow:
            event = await uow.directory.event(event_id)
            if event is None:
                raise NotFound(EVENT_NOT_FOUND)
            changed = with_changes(event, changes)
            if owner_email is not None:
                owner = await uow.users.get_by_email(normalize_email(owner_email))
                if owner is None:
                    raise NotFound(USER_NOT_FOUND)
                changed.owner_id = owner.id
            if changed != event:
                await uow.directory.save(changed)
            view = await uow.directory.view(event_id)
            assert view is not None
            await uow.commit()
        return view

    async def soft_delete(self, admin: User, event_id: UUID) -> None:
        """Hide the event everywhere but here, keeping all its data: it 404s on every public and attendee
        path and leaves every list at once (its listing version moves with the change). Of racing deletes
        the first wins; the others, like any later one, find the event gone."""
        require_superadmin(admin)
        async with self._uow() as uow:
            event = await uow.directory.event(event_id)
            if event is None or event.deleted_at is not None:
                raise NotFound(EVENT_NOT_FOUND)
            await uow.directory.save(dataclasses.replace(event, deleted_at=self._now()))
            await uow.commit()

    async def restore(self, admin: User, event_id: UUID) -> EventView:
        """Bring a soft-deleted event back as it was (a live one is left as it is)."""
        require_superadmin(admin)
        async with self._uow() as uow:
            event = await uow.directory.event(event_id)
            if event is None:
                raise NotFound(EVENT_NOT_FOUND)
            if event.deleted_at is not None:
                await uow.directory.save(dataclasses.replace(event, deleted_at=None))
            view = await uow.directory.view(event_id)
            assert view is not None
            await uow.commit()
        return view

    async def set_superadmin(self, email: str, granted: bool) -> bool:
        """Grant or revoke the flag (the command line's use-case: no HTTP route reaches it but HEAD's
        test-only one, ``e2e.E2eFixtures.promote``); False when no user has this email."""
        async with self._uow() as uow:
            found = await uow.directory.set_superadmin(normalize_email(email), granted)
            if found:
                await uow.commit()
        return found


async def create_event(uow_factory: UnitOfWorkFactory, owner: User, fields: dict[str, Any]) -> EventView:
    """An event owned by ``owner`` from HEAD's ``EventCreate`` fields, with a slug made unique by a random
    suffix (as HEAD): the superadmin's creation, and HEAD's test-only one."""
    stem = truncate_at_dash(slug_for(fields["name"]), SLUG_STEM_LENGTH)
    if not stem:
        raise Unprocessable("Event name must contain at least one letter or digit")
    phase = fields.get("phase") or "submission"
    votable, leaderboard = flags_for_phase(phase)
    async with uow_factory() as uow:

        async def add(join_code: str) -> Event:
            suffix = "".join(secrets.choice(SLUG_SUFFIX_ALPHABET) for _ in range(6))
            event = Event(
                name=fields["name"],
                slug=f"{stem}-{suffix}",
                join_code=join_code,
                owner_id=owner.id,
                description=fields.get("description") or "",
                demo_links_optional=bool(fields.get("demo_links_optional")),
                feature_flags_csv=fields.get("feature_flags_csv") or "",
                require_ysws_pii=bool(fields.get("require_ysws_pii")),
                repo_validation=fields.get("repo_validation") or "none",
                demo_validation=fields.get("demo_validation") or "none",
                custom_validator=fields.get("custom_validator") or None,
                phase=phase,
                votable=votable,
                leaderboard_enabled=leaderboard,
            )
            await uow.events.add(event)
            return event

        event = await with_fresh_join_code(add, also_retry=(SlugTaken,))
        view = await uow.directory.view(event.id)
        assert view is not None
        await uow.commit()
        return view
