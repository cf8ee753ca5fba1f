"""Sliding-window rate limiter in PostgreSQL, so the limit holds across every worker and instance."""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable, Mapping

from sqlalchemy import Float, Integer, String, bindparam, delete, func, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from podium.adapters.coalesce import Batched
from podium.adapters.postgres.database import autocommit
from podium.adapters.postgres.models import RateLimitHitModel
from podium.adapters.postgres.uow import release_shared_connection

log = logging.getLogger(__name__)

_KEY_COLUMN_LENGTH = 300

# (bucket key, limit, window seconds): one attempt on one key.
_Hit = tuple[str, int, int]


class PostgresRateLimiter:
    """``RateLimiter`` over the ``rate_limit_hits`` table: one row per bucket key, holding the times of its
    most recent admitted attempts (at most ``limit`` of them).

    Sliding log: an attempt at ``t`` is admitted when fewer than ``limit`` admitted attempts fall in
    ``(t - window, t]``, so no interval of ``window`` seconds ever holds more than ``limit`` admitted
    attempts, wherever it starts. A refused attempt is not recorded (waiting ``Retry-After`` then always
    works), and its wait is the time until the oldest attempt that fills the window leaves it.

    Each batch of concurrent attempts is a single upsert, run in autocommit (one statement is its own
    transaction: no BEGIN and COMMIT round trips); the decision is taken in the statement on the locked
    row, so attempts from every worker are serialised on it and each is counted exactly once. Times come
    from ``clock`` (the host clock, NTP-synced; skew between hosts shifts a window by that skew).

    Rows whose newest attempt is older than ``retention_seconds`` are deleted at most every
    ``sweep_interval_seconds`` per limiter; windows longer than the retention are refused, since a sweep
    could forget attempts still inside them.
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
        self._autocommit = autocommit(engine)
        self._clock = clock
        self._retention = retention_seconds
        self._sweep_interval = sweep_interval_seconds
        self._last_sweep = clock()
        # Concurrent attempts (a room joining at once) are decided together: one upsert per batch.
        self._hits: Batched[_Hit, int | None] = Batched(self._decide_all)

    async def _decide_all(self, hits: list[_Hit]) -> list[int | None]:
        """Decide every attempt of the batch; attempts on one key are decided in the order they came, as
        if one by one. A key seen with two policies in one batch (not done by the app) takes a second
        statement, since one upsert can change a row only once."""
        now = self._clock()
        answers: list[int | None] = [None] * len(hits)
        for group in _rounds(hits):
            params = {
                "keys": list(group),
                "limits": [limit for limit, _, _ in group.values()],
                "windows": [float(window) for _, window, _ in group.values()],
                "counts": [len(indices) for _, _, indices in group.values()],
                "now": now,
            }
            async with self._autocommit.begin() as connection:
                rows = (await connection.execute(_DECIDE, params)).all()
            for row in rows:
                _, window, indices = group[row.key]
                wait = window if row.oldest is None else max(1, math.ceil(row.oldest + window - now))
                for index in indices[row.admitted :]:
                    answers[index] = wait
        return answers

    async def hit(self, key: str, limit: int, window_seconds: int) -> int | None:
        return await self.hit_all({key: limit}, window_seconds)

    async def hit_all(self, limits: Mapping[str, int], window_seconds: int) -> int | None:
        if not 1 <= window_seconds <= self._retention:
            raise ValueError(f"window_seconds must be between 1 and {self._retention}")
        for key, limit in limits.items():
            await release_shared_connection()
            wait = await self._hits.submit((_column_key(key), limit, window_seconds))
            if wait is not None:
                await self._sweep()
                return wait  # the keys after it are not charged for an attempt refused already
        await self._sweep()
        return None

    async def _sweep(self) -> None:
        now = self._clock()
        if now - self._last_sweep < self._sweep_interval:
            return
        self._last_sweep = now
        times = RateLimitHitModel.hit_times
        try:
            await release_shared_connection()
            async with self._engine.begin() as connection:
                await connection.execute(
                    delete(RateLimitHitModel).where(
                        func.coalesce(times[func.cardinality(times)], 0.0) <= now - self._retention
                    )
                )
        except SQLAlchemyError:
            # Housekeeping only: a failed sweep must not fail the login it piggybacks on; the next
            # sweep catches up.
            log.warning("rate limit sweep failed", exc_info=True)


def _rounds(hits: list[_Hit]) -> list[dict[str, tuple[int, int, list[int]]]]:
    """The batch as statements: key -> (limit, window, indices of its attempts), one policy per key each."""
    rounds: list[dict[str, tuple[int, int, list[int]]]] = []
    last: dict[str, int] = {}
    for index, (key, limit, window) in enumerate(hits):
        at = last.get(key)
        if at is None or rounds[at][key][:2] != (limit, window):
            at = last[key] = 0 if at is None else at + 1
            if at == len(rounds):
                rounds.append({})
            rounds[at][key] = (limit, window, [])
        rounds[at][key][2].append(index)
    return rounds


# One statement decides a batch. Rows are upserted in key order, so concurrent batches from other workers
# lock them in the same order and never deadlock. On conflict the SET sub-select reads the locked row
# (``r``, its latest committed version): keep the times still inside the window, admit as many of the
# batch's attempts as there is room for, and keep the newest ``limit`` times. ``admitted`` is this
# statement's answer; ``oldest`` is when the window's first attempt came (the wait of the refused ones).
_DECIDE = (
    text(
        "WITH t AS ("
        "  SELECT * FROM unnest(:keys, :limits, :windows, :counts) AS t(key, lim, win, n)"
        ") "
        "INSERT INTO rate_limit_hits AS r (key, hit_times, admitted) "
        "SELECT t.key, array_fill(CAST(:now AS float8), ARRAY[least(t.n, greatest(t.lim, 0))]), "
        "       least(t.n, greatest(t.lim, 0)) "
        "FROM t ORDER BY t.key "
        "ON CONFLICT (key) DO UPDATE SET (hit_times, admitted) = ("
        "  SELECT (k.kept || array_fill(CAST(:now AS float8), ARRAY[a.n]))"
        "           [greatest(1, cardinality(k.kept) + a.n - t.lim + 1):],"
        "         a.n "
        "  FROM t,"
        "   LATERAL (SELECT coalesce(array_agg(s ORDER BY s), '{}') AS kept"
        "            FROM unnest(r.hit_times) AS s WHERE s > :now - t.win) AS k,"
        "   LATERAL (SELECT least(t.n, greatest(0, t.lim - cardinality(k.kept))) AS n) AS a"
        "  WHERE t.key = excluded.key"
        ") "
        "RETURNING r.key, r.admitted, r.hit_times[1] AS oldest"
    )
    .bindparams(
        bindparam("keys", type_=ARRAY(String)),
        bindparam("limits", type_=ARRAY(Integer)),
        bindparam("windows", type_=ARRAY(Float)),
        bindparam("counts", type_=ARRAY(Integer)),
        bindparam("now", type_=Float),
    )
    .columns(key=String, admitted=Integer, oldest=Float)
)


def _column_key(key: str) -> str:
    # Keys embed user input (an email, an address); hash the long ones so they always fit the column.
    if len(key) <= _KEY_COLUMN_LENGTH:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()
