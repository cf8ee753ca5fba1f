"""Live lists written straight to a stream's connection (``BodyWriter``) when it can take them at once, and
through the stream's own task otherwise, never out of order and never after a stream's last frame."""

from __future__ import annotations

import asyncio
import random
from typing import Any, cast
from uuid import uuid4

from podium.http.listing_cache import Listing, ProjectListingCache
from podium.http.live import LiveListings, LiveSettings, LiveStream
from podium.http.live_frames import CLOSED, Snapshot
from podium.http.protocol import BodyWriter, http_chunk
from tests.unit.test_live_window import Listener, Lists


class Connection:
    """Stands in for the response's connection: takes chunks while ``ready``."""

    def __init__(self) -> None:
        self.ready = True
        self.chunks: list[bytes] = []

    def write(self, chunk: bytes) -> bool:
        if self.ready:
            self.chunks.append(chunk)
        return self.ready


class Hub:
    """One event's live list with one stream on a fake connection."""

    def __init__(self) -> None:
        self.lists, self.connection, self.event = Lists(), Connection(), uuid4()
        self.live = LiveListings(
            cast(ProjectListingCache, self.lists), lambda _c, _r: Listener(), LiveSettings(min_interval=0)
        )

    async def open(self) -> LiveStream:
        writer = cast(BodyWriter, self.connection)
        return await self.live.open(self.event, True, None, client="192.0.2.1", writer=writer)

    async def waiting(self) -> tuple[LiveStream, asyncio.Task[bytes]]:
        """A stream that sent its opening and first list, and whose task now waits for news."""
        stream = await self.open()
        assert (await anext(stream)).startswith(b"retry:")
        assert await anext(stream) == _frame(1)
        reader = asyncio.create_task(anext(stream))
        await _settle()
        return stream, reader

    def change(self) -> None:
        self.lists.version += 1
        self.live.notify(self.event)


def _frame(version: int) -> bytes:
    return b"id: %d\ndata: [{}]\n\n" % version


async def _settle() -> None:
    for _ in range(5):  # the refresher reads, publishes and ends; woken streams run
        await asyncio.sleep(0)


async def test_a_stream_waiting_for_news_gets_it_written_directly_and_its_task_sleeps_on() -> None:
    hub = Hub()
    stream, reader = await hub.waiting()
    hub.change()
    await _settle()
    assert hub.connection.chunks == [http_chunk(_frame(2))]
    assert not reader.done()
    assert hub.live.written_directly == 1
    # A connection that cannot take the next list at once leaves it to the stream's task.
    hub.connection.ready = False
    hub.change()
    async with asyncio.timeout(5):
        assert await reader == _frame(3)
    assert hub.connection.chunks == [http_chunk(_frame(2))]
    await stream.aclose()
    await hub.live.close()


async def test_nothing_is_written_directly_before_the_stream_has_sent_what_it_holds() -> None:
    hub = Hub()
    stream = await hub.open()
    # The opening and the first list are not sent yet: a newer list must not overtake them.
    hub.change()
    await _settle()
    assert hub.connection.chunks == []
    assert [await anext(stream) for _ in range(3)][1:] == [_frame(1), _frame(2)]
    await stream.aclose()
    await hub.live.close()


async def test_no_list_is_written_after_a_stream_was_given_its_last_frame() -> None:
    hub = Hub()
    stream, reader = await hub.waiting()
    feed = hub.live._feeds[hub.event]
    # The leaderboard closes, then reopens, before the stream's task runs: the stream says it closed and
    # ends; the list after it is never written.
    hub.live._publish(feed, Snapshot(Listing(2, [b"{}"], b"[{}]"), False, random.Random()))
    hub.live._publish(feed, Snapshot(Listing(3, [b"{}"], b"[{}]"), True, random.Random()))
    assert await reader == CLOSED
    assert hub.connection.chunks == []
    rest: list[Any] = [chunk async for chunk in stream]
    assert rest == []
    await hub.live.close()
