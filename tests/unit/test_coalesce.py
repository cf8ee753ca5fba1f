"""Coalesced reads share queries but never answer from a query sent before the caller began."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Collection, Mapping

import pytest

from podium.adapters.coalesce import CoalescedReads

request_marker: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_marker", default=None)


class Store:
    """A key-value 'database' whose reads can be held in flight, recording every read it serves."""

    def __init__(self) -> None:
        self.values: dict[str, int] = {}
        self.reads: list[set[str]] = []
        self.contexts: list[str | None] = []
        self.hold: asyncio.Event | None = None
        self.fail_next: Exception | None = None
        self.sent = asyncio.Event()

    async def read(self, keys: Collection[str]) -> Mapping[str, int]:
        self.reads.append(set(keys))
        self.contexts.append(request_marker.get())
        snapshot = {k: self.values[k] for k in keys if k in self.values}  # taken when the query is sent
        self.sent.set()
        if self.hold is not None:
            await self.hold.wait()
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error
        return snapshot


async def test_concurrent_lookups_share_one_read() -> None:
    store = Store()
    store.values = {"a": 1, "b": 2}
    reads = CoalescedReads(store.read)
    results = await asyncio.gather(*(reads.get(k) for k in ["a", "b", "a", "missing"] * 8))
    assert results == [1, 2, 1, None] * 8
    assert store.reads == [{"a", "b", "missing"}]


async def test_a_lookup_never_joins_a_read_already_sent() -> None:
    store = Store()
    store.values = {"a": 1}
    store.hold = asyncio.Event()
    reads = CoalescedReads(store.read)
    early = asyncio.create_task(reads.get("a"))
    await store.sent.wait()  # the first read has been sent (its snapshot says 1) and is in flight
    store.values["a"] = 2  # a change commits while that read is in flight
    late = [asyncio.create_task(reads.get("a")) for _ in range(5)]  # ...and these begin after it
    await asyncio.sleep(0.01)
    store.hold.set()
    assert await early == 1
    assert [await t for t in late] == [2] * 5  # all five see the change, from one second read
    assert store.reads == [{"a"}, {"a"}]


async def test_a_failed_read_fails_its_callers_only() -> None:
    store = Store()
    store.values = {"a": 1}
    store.fail_next = ConnectionError("database down")
    reads = CoalescedReads(store.read)
    outcomes = await asyncio.gather(reads.get("a"), reads.get("a"), return_exceptions=True)
    assert [type(o) for o in outcomes] == [ConnectionError, ConnectionError]
    assert await reads.get("a") == 1  # the next lookup reads again


async def test_a_cancelled_caller_does_not_cancel_the_others() -> None:
    store = Store()
    store.values = {"a": 1}
    store.hold = asyncio.Event()
    reads = CoalescedReads(store.read)
    leaving = asyncio.create_task(reads.get("a"))
    staying = asyncio.create_task(reads.get("a"))
    await asyncio.sleep(0)
    leaving.cancel()
    store.hold.set()
    assert await staying == 1
    with pytest.raises(asyncio.CancelledError):
        await leaving


async def test_the_read_does_not_run_in_a_callers_context() -> None:
    store = Store()
    reads = CoalescedReads(store.read)
    request_marker.set("request 1")
    await reads.get("a")
    assert store.contexts == [None]


async def test_a_sender_cancelled_before_it_ran_does_not_strand_later_lookups() -> None:
    store = Store()
    store.values = {"a": 1}
    reads = CoalescedReads(store.read)
    stranded = asyncio.create_task(reads.get("a"))
    await asyncio.sleep(0)  # the lookup has queued its batch and scheduled the sender...
    sender = reads._calls._sender
    assert sender is not None
    sender.cancel()  # ...which a shutting-down loop cancels before it runs
    stranded.cancel()
    await asyncio.gather(stranded, sender, return_exceptions=True)
    assert await asyncio.wait_for(reads.get("a"), 2) == 1
