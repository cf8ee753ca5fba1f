"""The RateLimiter contract, run against the in-memory and the PostgreSQL implementations."""

from __future__ import annotations

import asyncio
import math
import random
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


async def test_allows_up_to_the_limit_then_asks_to_wait_until_the_first_attempt_leaves_the_window(
    make_limiter: MakeLimiter, clock: FakeClock
) -> None:
    limiter = make_limiter(clock)
    assert [await limiter.hit("login:ada", 3, 60) for _ in range(3)] == [None, None, None]
    clock.advance(15.5)
    assert await limiter.hit("login:ada", 3, 60) == 45  # ceil(60 - 15.5)
    assert await limiter.hit("login:ada", 3, 60) == 45


async def test_attempts_a_window_old_no_longer_count(make_limiter: MakeLimiter, clock: FakeClock) -> None:
    limiter = make_limiter(clock)
    for _ in range(2):
        await limiter.hit("login:ada", 2, 60)
    assert await limiter.hit("login:ada", 2, 60) is not None
    clock.advance(60)
    assert await limiter.hit("login:ada", 2, 60) is None
    assert await limiter.hit("login:ada", 2, 60) is None
    assert await limiter.hit("login:ada", 2, 60) == 60


async def test_the_window_slides_so_no_boundary_gives_a_fresh_allowance(
    make_limiter: MakeLimiter, clock: FakeClock
) -> None:
    # Fixed windows let 2× the limit through here: a burst just before a boundary and one just after.
    limiter = make_limiter(clock)
    clock.advance(59)
    assert [await limiter.hit("k", 3, 60) for _ in range(3)] == [None, None, None]
    clock.advance(1)  # where a fixed 60 s window would begin
    assert await limiter.hit("k", 3, 60) == 59
    clock.advance(58.5)
    assert await limiter.hit("k", 3, 60) == 1
    clock.advance(0.5)  # T0 + 119: the first three leave the window
    assert [await limiter.hit("k", 3, 60) for _ in range(4)] == [None, None, None, 60]


async def test_retry_after_is_when_the_oldest_attempt_in_the_window_leaves_it(
    make_limiter: MakeLimiter, clock: FakeClock
) -> None:
    limiter = make_limiter(clock)
    for _ in range(3):
        clock.advance(10)
        assert await limiter.hit("k", 3, 60) is None  # at T0 + 10, 20, 30
    clock.advance(10)
    assert await limiter.hit("k", 3, 60) == 30  # T0 + 40: room again at T0 + 70
    clock.advance(29)
    assert await limiter.hit("k", 3, 60) == 1  # T0 + 69: still full
    clock.advance(1)
    assert await limiter.hit("k", 3, 60) is None  # T0 + 70, exactly when it said
    assert await limiter.hit("k", 3, 60) == 10  # the next room: T0 + 20 leaves at T0 + 80
    clock.advance(10)
    assert await limiter.hit("k", 3, 60) is None


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_no_window_of_any_start_holds_more_than_the_limit_and_every_refusal_is_due(
    make_limiter: MakeLimiter, clock: FakeClock, seed: int
) -> None:
    # Bursts and lulls over several windows, crossing fixed-window boundaries: replay every answer
    # against the definition.
    limiter = make_limiter(clock)
    rng = random.Random(seed)
    limit, window = 4, 10
    admitted: list[float] = []
    for _ in range(120):
        clock.advance(rng.choice([0, 0, 0, 0.25, 0.5, 1, 3, 7.5]))
        wait = await limiter.hit("k", limit, window)
        in_window = [t for t in admitted if t > clock.now - window]
        if wait is None:
            assert len(in_window) < limit
            admitted.append(clock.now)
        else:
            assert len(in_window) == limit
            assert wait == max(1, math.ceil(in_window[0] + window - clock.now))
    assert len(admitted) > 3 * limit
    for start in admitted:
        assert sum(start <= t < start + window for t in admitted) <= limit


async def test_the_wait_is_at_least_one_second(make_limiter: MakeLimiter, clock: FakeClock) -> None:
    limiter = make_limiter(clock)
    await limiter.hit("k", 1, 60)
    clock.advance(59.999)
    assert await limiter.hit("k", 1, 60) == 1


async def test_a_zero_limit_refuses_everything_for_a_window(
    make_limiter: MakeLimiter, clock: FakeClock
) -> None:
    limiter = make_limiter(clock)
    assert await limiter.hit("k", 0, 60) == 60
    clock.advance(120)
    assert await limiter.hit("k", 0, 60) == 60


async def test_a_lowered_limit_applies_to_the_attempts_already_in_the_window(
    make_limiter: MakeLimiter, clock: FakeClock
) -> None:
    limiter = make_limiter(clock)
    for _ in range(4):
        clock.advance(1)
        assert await limiter.hit("k", 10, 60) is None  # T0 + 1 … 4
    assert await limiter.hit("k", 2, 60) == 59  # two of them must leave first: T0 + 3 leaves at T0 + 63
    clock.advance(59)
    assert await limiter.hit("k", 2, 60) is None


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
    assert list(limiter._windows) == ["ip:new"]


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
async def test_postgres_limiter_keeps_at_most_the_limit_of_times_per_key(clean_database: AsyncEngine) -> None:
    clock = FakeClock()
    limiter = PostgresRateLimiter(clean_database, clock)
    for _ in range(10):
        clock.advance(1)
        await limiter.hit("k", 3, 60)
    async with clean_database.connect() as connection:
        times = (await connection.execute(select(RateLimitHitModel.hit_times))).scalar_one()
    assert times == [T0 + 1, T0 + 2, T0 + 3]  # refused attempts are not recorded


@pytest.mark.postgres
async def test_a_key_seen_with_two_policies_in_one_batch_is_decided_under_each(
    clean_database: AsyncEngine,
) -> None:
    limiter = PostgresRateLimiter(clean_database, FakeClock())
    answers = await asyncio.gather(
        limiter.hit("k", 1, 60), limiter.hit("k", 2, 60), limiter.hit("k", 1, 60), limiter.hit("k", 5, 60)
    )
    assert answers == [None, None, 60, None]


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
    assert await limiter.hit_all(limits, 60) == 60  # the user is over: the address is not charged
    assert await limiter.hit("join:client:10.0.0.1", 3, 60) is None  # the address's 2nd, not 3rd
    assert await limiter.hit("join:client:10.0.0.1", 3, 60) is None
    assert await limiter.hit("join:client:10.0.0.1", 3, 60) == 60
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
