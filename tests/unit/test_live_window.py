"""The live coalescing window knows how long a message took to reach every stream (``_Feed.fanout``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, cast
from uuid import UUID, uuid4

from podium.http.listing_cache import Listing, ProjectListingCache
from podium.http.live import ChangeListener, LiveListings, LiveSettings


class Lists:
    def __init__(self) -> None:
        self.version = 1

    async def current(self, event_id: UUID) -> tuple[Listing, bool]:
        return Listing(self.version, [b"{}"], b"[{}]"), True


class Listener:
    def start(self) -> None: ...

    async def wait_listening(self, within: float) -> bool:
        return True

    async def close(self) -> None: ...


def _listener(_change: Callable[[UUID], None], _resync: Callable[[], None]) -> ChangeListener:
    return Listener()


async def test_the_fanout_is_measured_after_every_ready_stream_has_its_message() -> None:
    lists = Lists()
    live = LiveListings(cast(ProjectListingCache, lists), _listener, LiveSettings(min_interval=0))
    event = uuid4()
    streams = [await live.open(event, True, None, client=f"192.0.2.{n}") for n in range(50)]
    for stream in streams:
        assert (await anext(stream)).startswith(b"retry:")
        assert (await anext(stream)).startswith(b"id: 1\n")
    received: list[bytes] = []

    async def read(stream: Any) -> None:
        received.append(await anext(stream))

    readers = [asyncio.create_task(read(stream)) for stream in streams]
    await asyncio.sleep(0)  # every reader is waiting for its next message
    feed = live._feeds[event]
    assert feed.fanout == 0
    lists.version = 2
    live.notify(event)
    await asyncio.gather(*readers)
    assert [frame[:6] for frame in received] == [b"id: 2\n"] * 50
    for _ in range(3):  # the refresher's task ends, then the callback queued behind the streams runs
        await asyncio.sleep(0)
    assert feed.fanout > 0
    for stream in streams:
        await stream.aclose()
    await live.close()
