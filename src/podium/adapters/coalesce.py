"""Coalesced reads: concurrent lookups of small values share one query, without ever seeing old data.

At a leaderboard reveal hundreds of requests a second ask the database for the same event's listing
version. Each asking on its own costs a pooled connection and a round trip apiece, so 32 concurrent
readers need 32 connections for a few microseconds of database work. Here the lookups made while no query
is being prepared join one batch, and one query answers the batch.

Exactness: a lookup only ever joins a batch whose query has **not been sent yet**, and a query is always
sent after every lookup in its batch began. So the query's snapshot includes every change committed
before any of its callers started, just as if each had queried alone. While one query is in flight, new
lookups gather in the next batch, which is sent when the first returns (as group commit does for writes):
under load batches grow instead of queries piling up, and when idle a lookup costs one query.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Collection, Hashable, Mapping
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _Batch(Generic[K, V]):
    __slots__ = ("keys", "result")

    def __init__(self) -> None:
        self.keys: set[K] = set()
        self.result: asyncio.Future[Mapping[K, V]] = asyncio.get_running_loop().create_future()
        # Every caller may have gone (cancelled) by the time it fails: don't log it as never retrieved.
        self.result.add_done_callback(_mark_retrieved)


def _mark_retrieved(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


class CoalescedReads(Generic[K, V]):
    """``get(key)`` answers from ``read(keys)``, called with the keys of every concurrent ``get``.

    ``read`` runs in a task of its own, in an empty context: none of the callers' context variables (such
    as a request's shared database connection) leak into it.
    """

    def __init__(self, read: Callable[[Collection[K]], Awaitable[Mapping[K, V]]]) -> None:
        self._read = read
        self._next: _Batch[K, V] | None = None  # gathering keys; its query has not been sent
        self._sender: asyncio.Task[None] | None = None

    async def get(self, key: K) -> V | None:
        """The value for ``key`` (None if ``read`` had none), as of a moment after this call began."""
        if self._sender is not None and self._sender.done():
            # Cancelled before it ever ran (a loop shutting down): its batch will never be sent.
            self._sender = self._next = None
        batch = self._next
        if batch is None:
            batch = self._next = _Batch()
            if self._sender is None:
                self._sender = asyncio.create_task(self._send(), context=contextvars.Context())
        batch.keys.add(key)
        # Shielded: a caller that is cancelled (its client went away) must not cancel the others' read.
        values = await asyncio.shield(batch.result)
        return values.get(key)

    async def _send(self) -> None:
        try:
            while (batch := self._next) is not None:
                self._next = None  # from here on, new callers gather in a new batch
                try:
                    batch.result.set_result(await self._read(batch.keys))
                except asyncio.CancelledError:
                    batch.result.cancel()
                    raise
                except Exception as exc:  # every caller of the batch gets it
                    batch.result.set_exception(exc)
        finally:
            self._sender = None
            if self._next is not None:  # cancelled (shutdown) with callers waiting
                self._next.result.cancel()
                self._next = None
