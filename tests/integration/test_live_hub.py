"""The live lists' fan-out (``podium.http.live``) on real PostgreSQL, with the notifications driven by the
test: one encoded frame per version shared by every stream, one read per change, newest-only buffers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import replace

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from podium.bootstrap import Container
from podium.config import Settings
from podium.http.listing_cache import ProjectListingCache
from podium.http.live import LiveListings, LiveSettings, LiveStream
from podium.http.live_frames import OPENING
from tests.support.schema_rows import insert_vote, seed_two_events

pytestmark = pytest.mark.usefixtures("clean_database")


class ManualListener:
    """Stands in for the LISTEN connection: the test says when a change was committed."""

    def __init__(self, on_change: Callable[[uuid.UUID], None], on_resync: Callable[[], None]) -> None:
        self.on_change = on_change
        self.on_resync = on_resync

    def start(self) -> None:
        return None

    async def wait_listening(self, within: float) -> bool:
        return True

    async def close(self) -> None:
        return None


class CountingCache(ProjectListingCache):
    reads = 0

    async def current(self, event_id: uuid.UUID):  # type: ignore[no-untyped-def]
        CountingCache.reads += 1
        return await super().current(event_id)


@pytest.fixture
async def hub(settings: Settings) -> AsyncIterator[tuple[LiveListings, list[ManualListener]]]:
    container = Container.build(replace(settings))
    listeners: list[ManualListener] = []

    def listener(on_change: Callable[[uuid.UUID], None], on_resync: Callable[[], None]) -> ManualListener:
        listeners.append(ManualListener(on_change, on_resync))
        return listeners[-1]

    live = LiveListings(CountingCache(container.events), listener, LiveSettings(min_interval=0.0))
    try:
        yield live, listeners
    finally:
        await live.close()
        await container.close()


async def _next_list(stream: LiveStream) -> bytes:
    async with asyncio.timeout(10):
        async for chunk in stream:
            if chunk.startswith(b"id: "):
                return chunk
    raise AssertionError("the stream ended")


async def test_every_stream_gets_the_same_frame_read_once_per_change(
    hub: tuple[LiveListings, list[ManualListener]], engine: AsyncEngine
) -> None:
    live, listeners = hub
    ids = await seed_two_events(engine)
    streams = [await live.open(ids["event_a"], False, None) for _ in range(5)]
    first = [await _next_list(stream) for stream in streams]
    assert len(listeners) == 1  # one listener per process, however many streams
    assert all(frame is first[0] for frame in first)  # the judging order too is shuffled once, shared

    CountingCache.reads = 0
    await insert_vote(engine, ids["voter"], ids["project_a"], ids["event_a"])
    listeners[0].on_change(ids["event_a"])
    listeners[0].on_change(ids["event_b"])  # no stream: nothing read
    second = [await _next_list(stream) for stream in streams]
    assert all(frame is second[0] for frame in second)
    assert second[0] != first[0]
    assert CountingCache.reads == 1
    assert live.streams == 5
    for stream in streams:
        await stream.aclose()
    assert live.streams == 0


async def test_a_stream_not_reading_keeps_only_the_newest_list(
    hub: tuple[LiveListings, list[ManualListener]], engine: AsyncEngine
) -> None:
    live, listeners = hub
    ids = await seed_two_events(engine)
    stream = await live.open(ids["event_a"], False, None)
    assert await anext(stream) == OPENING
    await _next_list(stream)
    for name in ("one", "two", "three"):
        async with engine.begin() as connection:
            await connection.execute(
                text("UPDATE projects SET name = :n WHERE id = :id"), {"n": name, "id": ids["project_a"]}
            )
        listeners[0].on_change(ids["event_a"])
        await asyncio.sleep(0.2)  # the read happens; the stream is not read meanwhile
    frame = await _next_list(stream)
    assert b'"name":"three"' in frame
    # Nothing older was kept: the stream has nothing more until the next change.
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.5):
            await anext(stream)
    await stream.aclose()


async def test_streams_dropped_before_being_read_leave_no_count(
    hub: tuple[LiveListings, list[ManualListener]], engine: AsyncEngine
) -> None:
    live, _ = hub
    ids = await seed_two_events(engine)
    stream = await live.open(ids["event_a"], False, None)
    assert live.streams == 1
    del stream
    await asyncio.sleep(0)  # the clean-up is scheduled, not run inside the collector
    await asyncio.sleep(0)
    assert live.streams == 0
