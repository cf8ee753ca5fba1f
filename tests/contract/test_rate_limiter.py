"""The RateLimiter contract, run against the in-memory and the PostgreSQL implementations."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from podium.adapters.memory.rate_limiter import MemoryRateLimiter
from podium.adapters.postgres.models import RateLimitHitModel
from podium.adapters.postgres.rate_limiter import PostgresRateLimiter
from podium.domain.ports import RateLimiter

# A window boundary for 60 s windows: the tests start at the top of a window.
T0 = 60 * 28_333_334


class FakeClock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


MakeLimiter = Callable[[FakeClock], RateLimiter]


@pytest.fixture(params=["memory", pytest.param("postgres", marks=pytest.mark.postgres)])
def make_limiter(request: pytest.FixtureRequest) -> MakeLimiter:
    if request.param == "memory":
        return lambda clock: MemoryRateLimiter(clock)
    engine: AsyncEngine = request.getfixturevalue("clean_database")
    return lambda clock: PostgresRateLimiter(engine, clock)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def test_allows_up_to_the_limit_then_asks_to_wait_until_the_window_ends(
    make_limiter: MakeLimiter, clock: FakeClock
) -> None:
    limiter = make_limiter(clock)
    assert [await limiter.hit("login:ada", 3, 60) for _ in range(3)] == [None, None, None]
    clock.advance(15.5)
    assert await limiter.hit("login:ada", 3, 60) == 45  # ceil(60 - 15.5)
    assert await limiter.hit("login:ada", 3, 60) == 45


async def test_a_new_window_starts_a_new_count(make_limiter: MakeLimiter, clock: FakeClock) -> None:
    limiter = make_limiter(clock)
    for _ in range(2):
        await limiter.hit("login:ada", 2, 60)
    assert await limiter.hit("login:ada", 2, 60) is not None
    clock.advance(60)
    assert await limiter.hit("login:ada", 2, 60) is None
    assert await limiter.hit("login:ada", 2, 60) is None
    assert await limiter.hit("login:ada", 2, 60) == 60


async def test_windows_are_fixed_not_sliding(make_limiter: MakeLimiter, clock: FakeClock) -> None:
    limiter = make_limiter(clock)
    clock.advance(59)
    assert await limiter.hit("k", 1, 60) is None
    assert await limiter.hit("k", 1, 60) == 1
    clock.advance(1)  # the next window begins: a burst at a boundary gets a fresh allowance
    assert await limiter.hit("k", 1, 60) is None


async def test_the_wait_is_at_least_one_second(make_limiter: MakeLimiter, clock: FakeClock) -> None:
    limiter = make_limiter(clock)
    clock.advance(59.999)
    await limiter.hit("k", 0, 60)
    assert await limiter.hit("k", 0, 60) == 1


async def test_keys_are_counted_separately(make_limiter: MakeLimiter, clock: FakeClock) -> None:
    limiter = make_limiter(clock)
    assert await limiter.hit("login:email:ada@example.com", 1, 60) is None
    assert await limiter.hit("login:ip:127.0.0.1", 1, 60) is None
    assert await limiter.hit("login:email:ada@example.com", 1, 60) == 60
    assert await limiter.hit("login:email:bob@example.com", 1, 60) is None


async def test_long_keys_are_accepted_and_kept_apart(make_limiter: MakeLimiter, clock: FakeClock) -> None:
    limiter = make_limiter(clock)
    long_key = "login:email:" + "a" * 1000 + "@example.com"
    assert await limiter.hit(long_key, 1, 60) is None
    assert await limiter.hit(long_key, 1, 60) == 60
    assert await limiter.hit(long_key.replace("a", "b", 1), 1, 60) is None


async def test_concurrent_hits_are_each_counted_once(make_limiter: MakeLimiter, clock: FakeClock) -> None:
    limiter = make_limiter(clock)
    results = await asyncio.gather(*(limiter.hit("burst", 10, 60) for _ in range(40)))
    assert results.count(None) == 10
    assert results.count(60) == 30


async def test_limiters_sharing_a_store_share_the_count(make_limiter: MakeLimiter, clock: FakeClock) -> None:
    # Two Postgres limiters stand for two workers; for the memory one this is "per process".
    first, second = make_limiter(clock), make_limiter(clock)
    await first.hit("shared", 1, 60)
    expected = 60 if isinstance(first, PostgresRateLimiter) else None
    assert await second.hit("shared", 1, 60) == expected


async def test_rejects_a_window_shorter_than_a_second(make_limiter: MakeLimiter, clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="window_seconds"):
        await make_limiter(clock).hit("k", 1, 0)


# Housekeeping is implementation-specific: each test checks its own storage.


async def test_memory_limiter_forgets_ended_windows() -> None:
    clock = FakeClock()
    limiter = MemoryRateLimiter(clock, sweep_interval_seconds=300)
    for n in range(50):
        await limiter.hit(f"ip:{n}", 5, 60)
    clock.advance(301)
    await limiter.hit("ip:new", 5, 60)
    assert list(limiter._windows) == [("ip:new", T0 + 300)]


@pytest.mark.postgres
async def test_postgres_limiter_deletes_windows_past_retention(clean_database: AsyncEngine) -> None:
    clock = FakeClock()
    limiter = PostgresRateLimiter(clean_database, clock, retention_seconds=3600, sweep_interval_seconds=300)
    for n in range(20):
        await limiter.hit(f"ip:{n}", 5, 60)
    clock.advance(1800)
    await limiter.hit("ip:recent", 5, 60)  # a sweep runs, but nothing is past retention yet
    assert await _rows(clean_database) == 21
    clock.advance(1801)
    await limiter.hit("ip:new", 5, 60)
    assert await _rows(clean_database) == 2  # "ip:recent" (1801 s old) and "ip:new"


@pytest.mark.postgres
async def test_postgres_limiter_refuses_windows_longer_than_retention(clean_database: AsyncEngine) -> None:
    limiter = PostgresRateLimiter(clean_database, FakeClock(), retention_seconds=3600)
    with pytest.raises(ValueError, match="window_seconds"):
        await limiter.hit("k", 1, 7200)


async def _rows(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        count: int = (
            await connection.execute(select(func.count()).select_from(RateLimitHitModel))
        ).scalar_one()
        return count


async def test_hit_all_counts_keys_in_order_and_stops_at_the_first_over_its_limit(
    make_limiter: MakeLimiter, clock: FakeClock
) -> None:
    limiter = make_limiter(clock)
    clock.advance(30)
    limits = {"join:user:ada": 1, "join:client:10.0.0.1": 5}
    assert await limiter.hit_all(limits, 60) is None  # both counted: user 1, address 1
    assert await limiter.hit_all(limits, 60) == 30  # the user is over: the address is not charged
    assert await limiter.hit("join:client:10.0.0.1", 3, 60) is None  # the address's 2nd, not 3rd
    assert await limiter.hit("join:client:10.0.0.1", 3, 60) is None
    assert await limiter.hit("join:client:10.0.0.1", 3, 60) == 30
    assert await limiter.hit_all({}, 60) is None


async def test_concurrent_hit_all_on_shared_keys_count_each_attempt_once(
    make_limiter: MakeLimiter, clock: FakeClock
) -> None:
    limiter = make_limiter(clock)
    # Keys in both orders, at once: no attempt deadlocks or is lost.
    attempts = [{"a": 100, "b": 100}, {"b": 100, "a": 100}] * 10
    await asyncio.gather(*(limiter.hit_all(limits, 60) for limits in attempts))
    assert await limiter.hit("a", 21, 60) is None
    assert await limiter.hit("b", 21, 60) is None
    assert await limiter.hit("a", 21, 60) == 60


async def test_concurrent_attempts_on_one_key_each_get_their_own_count(
    make_limiter: MakeLimiter, clock: FakeClock
) -> None:
    limiter = make_limiter(clock)
    answers = await asyncio.gather(*(limiter.hit("join:client:10.0.0.1", 5, 60) for _ in range(12)))
    assert answers.count(None) == 5  # exactly the first five are let through, however they were batched
    assert answers.count(60) == 7
