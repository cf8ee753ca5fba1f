"""Coalesced reads: concurrent lookups of small values share one query, without ever seeing old data.

At a leaderboard reveal hundreds of requests a second ask the database for the same event's listing
version. Each asking on its own costs a pooled connection and a round trip apiece, so 32 concurrent
readers need 32 connections for a few microseconds of database work. Here the lookups made while no query
is being prepared join one batch, and one query answers the batch. The same holds for writes whose
callers each need their own answer, such as rate-limit counters (``Batched``).

Exactness: a lookup only ever joins a batch whose query has **not been sent yet**, and a query is always
sent after every lookup in its batch began. So the query's snapshot includes every change committed
before any of its callers started, just as if each had queried alone. While one query is in flight, new
lookups gather in the next batch, which is sent when the first returns (as group commit does for writes):
under load batches grow instead of queries piling up, and when idle a lookup costs one query.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Collection, Hashable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from podium.mechanisms import enabled

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
T = TypeVar("T")
R = TypeVar("R")


class _Batch(Generic[T, R]):
    __slots__ = ("items", "result")

    def __init__(self) -> None:
        self.items: list[T] = []
        self.result: asyncio.Future[Sequence[R]] = asyncio.get_running_loop().create_future()
        # Every caller may have gone (cancelled) by the time it fails: don't log it as never retrieved.
        self.result.add_done_callback(_mark_retrieved)


def _mark_retrieved(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


class Batched(Generic[T, R]):
    """``submit(item)`` answers from ``run(items)``, called with the items of every concurrent ``submit``
    (in the order they came) and returning one result per item, in that order.

    ``run`` runs in a task of its own, in an empty context: none of the callers' context variables (such
    as a request's shared database connection) leak into it.
    """

    def __init__(self, run: Callable[[list[T]], Awaitable[Sequence[R]]]) -> None:
        self._run = run
        self._next: _Batch[T, R] | None = None  # gathering items; not sent yet
        self._sender: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        """``item``'s result, from a ``run`` that began after this call did."""
        if self._sender is not None and self._sender.done():
            # Cancelled before it ever ran (a loop shutting down): its batch will never be sent.
            self._sender = self._next = None
        batch = self._next
        if batch is None:
            batch = self._next = _Batch()
            if self._sender is None:
                self._sender = asyncio.create_task(self._send(), context=contextvars.Context())
        index = len(batch.items)
        batch.items.append(item)
        # Shielded: a caller that is cancelled (its client went away) must not cancel the others' run.
        results = await asyncio.shield(batch.result)
        return results[index]

    async def _send(self) -> None:
        try:
            while (batch := self._next) is not None:
                self._next = None  # from here on, new callers gather in a new batch
                try:
                    batch.result.set_result(await self._run(batch.items))
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


class CoalescedReads(Generic[K, V]):
    """``get(key)`` answers from ``read(keys)``, called once with the distinct keys of every concurrent
    ``get`` (see ``Batched``)."""

    def __init__(self, read: Callable[[Collection[K]], Awaitable[Mapping[K, V]]]) -> None:
        self._read = read
        self._calls: Batched[K, V | None] = Batched(self._read_all)
        self._coalesce = enabled("coalesced_reads")

    async def get(self, key: K) -> V | None:
        """The value for ``key`` (None if ``read`` had none), as of a moment after this call began."""
        if not self._coalesce:
            return (await self._read((key,))).get(key)
        return await self._calls.submit(key)

    async def _read_all(self, keys: list[K]) -> list[V | None]:
        values = await self._read(dict.fromkeys(keys).keys())
        return [values.get(key) for key in keys]
