"""Fixed-window rate limiter in PostgreSQL, so the limit holds across every worker and instance."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Mapping

from sqlalchemy import DateTime, Integer, String, bindparam, delete, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from podium.adapters.coalesce import Batched
from podium.adapters.postgres.models import RateLimitHitModel
from podium.adapters.postgres.uow import release_shared_connection

log = logging.getLogger(__name__)

_KEY_COLUMN_LENGTH = 300


class PostgresRateLimiter:
    """``RateLimiter`` over the ``rate_limit_hits`` table: one row per (key, window start).

    Each hit is a single upsert, run in autocommit (one statement is its own transaction: no BEGIN and
    COMMIT round trips), so concurrent hits on one key serialise on the row and every one of them is
    counted exactly once. Windows are aligned to the epoch using
    ``clock`` (the host clock, NTP-synced; skew between hosts only shifts a boundary by that skew).

    Old windows are deleted at most every ``sweep_interval_seconds`` per limiter, keeping rows for
    ``retention_seconds``; windows longer than that are refused, since a sweep could reset them.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        clock: Callable[[], float] = time.time,
        *,
        retention_seconds: int = 86_400,
        sweep_interval_seconds: float = 300,
    ) -> None:
        self._engine = engine
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._clock = clock
        self._retention = retention_seconds
        self._sweep_interval = sweep_interval_seconds
        self._last_sweep = clock()
        # Concurrent attempts (a room joining at once) are counted together: one upsert per batch.
        self._counts: Batched[tuple[str, dt.datetime], int] = Batched(self._count_all)

    async def _count_all(self, hits: list[tuple[str, dt.datetime]]) -> list[int]:
        """Count every hit of the batch in one autocommit upsert; each caller gets its own running total
        (hits on one key count up in the order they came), as if they had been counted one by one."""
        per_row = Counter(hits)
        rows = list(per_row.items())  # the statement orders them (its lock order)
        params = {
            "keys": [key for (key, _), _ in rows],
            "window_starts": [start for (_, start), _ in rows],
            "hits": [n for _, n in rows],
        }
        async with self._autocommit.connect() as connection:
            totals = {(r.key, r.window_start): r.hits for r in await connection.execute(_COUNT, params)}
        seen: Counter[tuple[str, dt.datetime]] = Counter()
        counts = []
        for hit in hits:
            seen[hit] += 1
            counts.append(totals[hit] - per_row[hit] + seen[hit])
        return counts

    async def hit(self, key: str, limit: int, window_seconds: int) -> int | None:
        return await self.hit_all({key: limit}, window_seconds)

    async def hit_all(self, limits: Mapping[str, int], window_seconds: int) -> int | None:
        if not 1 <= window_seconds <= self._retention:
            raise ValueError(f"window_seconds must be between 1 and {self._retention}")
        now = self._clock()
        start = math.floor(now / window_seconds) * window_seconds
        end = start + window_seconds
        over = False
        for key, limit in limits.items():
            await release_shared_connection()
            if await self._counts.submit((_column_key(key), _timestamp(start))) > limit:
                over = True
                break  # the keys after it are not charged for an attempt refused already
        await self._sweep(now)
        return max(1, math.ceil(end - now)) if over else None

    async def _sweep(self, now: float) -> None:
        if now - self._last_sweep < self._sweep_interval:
            return
        self._last_sweep = now
        cutoff = _timestamp(now - self._retention)
        try:
            await release_shared_connection()
            async with self._engine.begin() as connection:
                await connection.execute(
                    delete(RateLimitHitModel).where(RateLimitHitModel.window_start < cutoff)
                )
        except SQLAlchemyError:
            # Housekeeping only: a failed sweep must not fail the login it piggybacks on; the next
            # sweep catches up.
            log.warning("rate limit sweep failed", exc_info=True)


# Rows are upserted in (key, window) order, so concurrent batches from other workers lock them in the same
# order and never deadlock.
_COUNT = (
    text(
        "INSERT INTO rate_limit_hits (key, window_start, hits) "
        "SELECT t.key, t.window_start, t.hits "
        "FROM unnest(:keys, :window_starts, :hits) AS t(key, window_start, hits) "
        "ORDER BY t.key, t.window_start "
        "ON CONFLICT (key, window_start) DO UPDATE SET hits = rate_limit_hits.hits + excluded.hits "
        "RETURNING key, window_start, hits"
    )
    .bindparams(
        bindparam("keys", type_=ARRAY(String)),
        bindparam("window_starts", type_=ARRAY(DateTime(timezone=True))),
        bindparam("hits", type_=ARRAY(Integer)),
    )
    .columns(key=String, window_start=DateTime(timezone=True), hits=Integer)
)


def _column_key(key: str) -> str:
    # Keys embed user input (an email, an address); hash the long ones so they always fit the column.
    if len(key) <= _KEY_COLUMN_LENGTH:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def _timestamp(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
