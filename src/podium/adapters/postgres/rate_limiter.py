"""Fixed-window rate limiter in PostgreSQL, so the limit holds across every worker and instance."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import math
import time
from collections.abc import Callable, Mapping

from sqlalchemy import bindparam, delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from podium.adapters.postgres.models import RateLimitHitModel
from podium.adapters.postgres.statements import compiled_once
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

    async def hit(self, key: str, limit: int, window_seconds: int) -> int | None:
        return await self.hit_all({key: limit}, window_seconds)

    async def hit_all(self, limits: Mapping[str, int], window_seconds: int) -> int | None:
        if not 1 <= window_seconds <= self._retention:
            raise ValueError(f"window_seconds must be between 1 and {self._retention}")
        now = self._clock()
        start = math.floor(now / window_seconds) * window_seconds
        end = start + window_seconds
        over = False
        if limits:
            await release_shared_connection()
            # One connection for the attempt; each upsert is its own (autocommit) transaction.
            async with self._autocommit.connect() as connection:
                for key, limit in limits.items():
                    values = {"key": _column_key(key), "window_start": _timestamp(start)}
                    if (await connection.execute(_HIT, values)).scalar_one() > limit:
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


_HIT = compiled_once(
    insert(RateLimitHitModel)
    .values(key=bindparam("key"), window_start=bindparam("window_start"), hits=1)
    .on_conflict_do_update(
        index_elements=[RateLimitHitModel.key, RateLimitHitModel.window_start],
        set_={"hits": RateLimitHitModel.hits + 1},
    )
    .returning(RateLimitHitModel.hits)
)


def _column_key(key: str) -> str:
    # Keys embed user input (an email, an address); hash the long ones so they always fit the column.
    if len(key) <= _KEY_COLUMN_LENGTH:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def _timestamp(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
