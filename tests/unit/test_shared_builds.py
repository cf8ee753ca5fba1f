"""Concurrent reads of one list share one build (``SharedBuilds``), never a stale one."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from podium.http.listing_cache import SharedBuilds


class Builder:
    def __init__(self) -> None:
        self.calls: list[int] = []
        self.release = asyncio.Event()
        self.fail_first = False

    def at(self, version: int) -> Callable[[], Awaitable[str]]:
        async def build() -> str:
            self.calls.append(version)
            await self.release.wait()
            if self.fail_first and len(self.calls) == 1:
                raise RuntimeError("the first build failed")
            return f"list@{version}"

        return build


async def _started(builder: Builder, count: int) -> None:
    for _ in range(100):  # a few turns of the loop: the tasks run up to their build's first await
        if len(builder.calls) >= count:
            return
        await asyncio.sleep(0)
    raise AssertionError(f"{count} builds expected, {len(builder.calls)} started")


async def test_reads_at_the_same_or_an_older_version_wait_for_the_running_build() -> None:
    builds: SharedBuilds[str] = SharedBuilds()
    builder = Builder()
    first = asyncio.create_task(builds.run("e", 5, builder.at(5)))
    await _started(builder, 1)
    same = [asyncio.create_task(builds.run("e", v, builder.at(v))) for v in (5, 4, 5)]
    newer = asyncio.create_task(builds.run("e", 6, builder.at(6)))
    other = asyncio.create_task(builds.run("f", 5, builder.at(5)))
    await _started(builder, 3)
    builder.release.set()
    assert await asyncio.gather(first, *same) == ["list@5"] * 4
    assert await newer == "list@6"  # a newer version never takes an older build
    assert await other == "list@5"
    assert sorted(builder.calls) == [5, 5, 6]  # one build per key and version, not one per read
    assert await builds.run("e", 5, builder.at(5)) == "list@5"
    assert len(builder.calls) == 4  # nothing running any more: a new build


async def test_a_failed_or_abandoned_build_is_not_passed_on_to_its_waiters() -> None:
    builds: SharedBuilds[str] = SharedBuilds()
    builder = Builder()
    builder.fail_first = True
    failing = asyncio.create_task(builds.run("e", 1, builder.at(1)))
    await _started(builder, 1)
    waiter = asyncio.create_task(builds.run("e", 1, builder.at(1)))
    await asyncio.sleep(0)
    builder.release.set()
    with pytest.raises(RuntimeError):
        await failing
    assert await waiter == "list@1"  # it built for itself
    assert builder.calls == [1, 1]

    builder = Builder()
    abandoned = asyncio.create_task(builds.run("e", 2, builder.at(2)))
    await _started(builder, 1)
    waiter = asyncio.create_task(builds.run("e", 2, builder.at(2)))
    await asyncio.sleep(0)
    abandoned.cancel()  # the client of the building request went away
    await asyncio.sleep(0)
    builder.release.set()
    assert await waiter == "list@2"
    assert builder.calls == [2, 2]
    with pytest.raises(asyncio.CancelledError):
        await abandoned
