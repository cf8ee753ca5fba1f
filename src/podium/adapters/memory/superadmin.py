"""In-memory superadmin views (issue 15), honouring the contract of ``adapters/postgres/superadmin``."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING
from uuid import UUID

from podium.domain.models import Event, EventView, User

if TYPE_CHECKING:
    from podium.adapters.memory.store import MemoryData


class MemoryDirectory:
    def __init__(self, data: MemoryData) -> None:
        self._data = data

    def _view(self, event: Event) -> EventView:
        count = sum(1 for p in self._data.projects.values() if p.event_id == event.id)
        return EventView(copy.copy(event), count)

    async def events_page(self, query: str, offset: int, limit: int) -> tuple[list[EventView], int]:
        q = query.lower()
        # Insertion order stands for creation order here.
        found = [e for e in self._data.events.values() if q in e.name.lower() or q in e.slug.lower()]
        return [self._view(e) for e in found[offset : offset + limit]], len(found)

    async def users_page(self, query: str, offset: int, limit: int) -> tuple[list[User], int]:
        q = query.lower()
        found = [u for u in self._data.users.values() if q in u.email.lower() or q in u.display_name.lower()]
        return [copy.copy(u) for u in found[offset : offset + limit]], len(found)

    async def event(self, event_id: UUID) -> Event | None:
        return copy.copy(self._data.events.get(event_id))

    async def view(self, event_id: UUID) -> EventView | None:
        event = self._data.events.get(event_id)
        return None if event is None else self._view(event)

    async def save(self, event: Event) -> None:
        self._data.events[event.id] = copy.copy(event)

    async def flagged(self, flag: str) -> list[EventView]:
        live = [e for e in self._data.events.values() if e.deleted_at is None and flag in e.feature_flags_csv]
        return [self._view(e) for e in sorted(live, key=lambda e: (e.name, str(e.id)))]

    async def set_superadmin(self, email: str, granted: bool) -> bool:
        user = next((u for u in self._data.users.values() if u.email == email), None)
        if user is None:
            return False
        user.is_superadmin = granted
        return True
