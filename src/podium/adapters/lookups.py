"""The ``Lookups`` port for any store: concurrent point reads of one kind share one read-only unit of work
and one query (see ``coalesce``: never an answer older than the call).

The shared query runs on a connection of its own. ``before_wait`` lets a store first give back whatever
connection the caller holds, so that a caller never waits for a second connection while holding one."""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Collection
from uuid import UUID

from podium.adapters.coalesce import CoalescedReads
from podium.domain.models import ListingState, User
from podium.domain.ports import UnitOfWorkFactory


async def _nothing_to_release() -> None:
    return None


class BatchedLookups:
    def __init__(
        self, store: UnitOfWorkFactory, before_wait: Callable[[], Awaitable[None]] = _nothing_to_release
    ) -> None:
        self._store = store
        self._before_wait = before_wait
        self._users: CoalescedReads[str, User] = CoalescedReads(self._users_by_email)
        self._vote_ids: CoalescedReads[UUID, list[UUID]] = CoalescedReads(self._vote_ids_by_voter)
        self._listings: CoalescedReads[UUID, ListingState] = CoalescedReads(self._listing_states)

    async def user_by_email(self, email: str) -> User | None:
        await self._before_wait()
        user = await self._users.get(email)
        return None if user is None else copy.copy(user)  # callers of one batch get their own

    async def vote_ids_by_voter(self, voter_id: UUID) -> list[UUID]:
        await self._before_wait()
        return list(await self._vote_ids.get(voter_id) or ())

    async def listing_state(self, event_id: UUID) -> ListingState | None:
        await self._before_wait()
        return await self._listings.get(event_id)

    async def release(self) -> None:
        await self._before_wait()

    async def _users_by_email(self, emails: Collection[str]) -> dict[str, User]:
        async with self._store(read_only=True) as uow:
            return await uow.users.get_many_by_email(emails)

    async def _vote_ids_by_voter(self, voter_ids: Collection[UUID]) -> dict[UUID, list[UUID]]:
        async with self._store(read_only=True) as uow:
            return await uow.votes.ids_by_voters(voter_ids)

    async def _listing_states(self, event_ids: Collection[UUID]) -> dict[UUID, ListingState]:
        async with self._store(read_only=True) as uow:
            return await uow.events.listing_states(event_ids)
