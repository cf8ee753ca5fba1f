"""Live lists written straight to a stream's connection (``BodyWriter``) when it can take them at once, and
through the stream's own task otherwise, never out of order and never after a stream's last frame."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any, cast
from uuid import UUID, uuid4

from podium.http.listing_cache import Listing, ProjectListingCache
from podium.http.live import CLOSED, ChangeListener, LiveListings, LiveSettings, LiveStream, Snapshot
from podium.http.protocol import BodyWriter, http_chunk


class Lists:
    def __init__(self) -> None:
        self.version = 1
        self.public = True

    async def current(self, event_id: UUID) -> tuple[Listing, bool]:
        return Listing(self.version, [b"{}"], b"[{}]"), self.public


class Listener:
    def start(self) -> None: ...

    async def wait_listening(self, within: float) -> bool:
        return True

    async def close(self) -> None: ...


def _listener(_change: Callable[[UUID], None], _resync: Callable[[], None]) -> ChangeListener:
    return Listener()


class Connection:
    """Stands in for the response's connection: takes chunks while ``ready``."""

    def __init__(self) -> None:
        self.ready = True
        self.chunks: list[bytes] = []

    def write(self, chunk: bytes) -> bool:
        if self.ready:
            self.chunks.append(chunk)
        return self.ready


def _frame(version: int) -> bytes:
    return b"id: %d\ndata: [{}]\n\n" % version


async def _settle() -> None:
    for _ in range(5):  # the refresher reads, publishes and ends; woken streams run
        await asyncio.sleep(0)


async def _open(live: LiveListings, event: UUID, connection: Connection) -> LiveStream:
    return await live.open(event, True, None, client="192.0.2.1", writer=cast(BodyWriter, connection))


async def test_a_stream_waiting_for_news_gets_it_written_directly_and_its_task_sleeps_on() -> None:
    lists, connection = Lists(), Connection()
    live = LiveListings(cast(ProjectListingCache, lists), _listener, LiveSettings(min_interval=0))
    event = uuid4()
    stream = await _open(live, event, connection)
    assert (await anext(stream)).startswith(b"retry:")
    assert await anext(stream) == _frame(1)
    reader = asyncio.create_task(anext(stream))
    await _settle()  # the stream's task waits for news
    lists.version = 2
    live.notify(event)
    await _settle()
    assert connection.chunks == [http_chunk(_frame(2))]
    assert not reader.done()
    assert live.written_directly == 1
    # A connection that cannot take the next list at once leaves it to the stream's task.
    connection.ready = False
    lists.version = 3
    live.notify(event)
    async with asyncio.timeout(5):
        assert await reader == _frame(3)
    assert connection.chunks == [http_chunk(_frame(2))]
    await stream.aclose()
    await live.close()


async def test_nothing_is_written_directly_before_the_stream_has_sent_what_it_holds() -> None:
    lists, connection = Lists(), Connection()
    live = LiveListings(cast(ProjectListingCache, lists), _listener, LiveSettings(min_interval=0))
    event = uuid4()
    stream = await _open(live, event, connection)
    # The opening and the first list are not sent yet: a newer list must not overtake them.
    lists.version = 2
    live.notify(event)
    await _settle()
    assert connection.chunks == []
    assert [await anext(stream) for _ in range(3)][1:] == [_frame(1), _frame(2)]
    await stream.aclose()
    await live.close()


async def test_no_list_is_written_after_a_stream_was_given_its_last_frame() -> None:
    lists, connection = Lists(), Connection()
    live = LiveListings(cast(ProjectListingCache, lists), _listener, LiveSettings(min_interval=0))
    event = uuid4()
    stream = await _open(live, event, connection)
    await anext(stream)
    await anext(stream)
    reader = asyncio.create_task(anext(stream))
    await _settle()
    feed = live._feeds[event]
    # The leaderboard closes, then reopens, before the stream's task runs: the stream says it closed and
    # ends; the list after it is never written.
    live._publish(feed, Snapshot(Listing(2, [b"{}"], b"[{}]"), False, random.Random()))
    live._publish(feed, Snapshot(Listing(3, [b"{}"], b"[{}]"), True, random.Random()))
    assert await reader == CLOSED
    assert connection.chunks == []
    rest: list[Any] = [chunk async for chunk in stream]
    assert rest == []
    await live.close()
