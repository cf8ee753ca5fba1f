"""In-process fixed-window rate limiter: for unit tests and a single-process dev server."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping


class MemoryRateLimiter:
    """``RateLimiter`` with the same fixed-window semantics as ``PostgresRateLimiter``.

    Windows are aligned to the epoch (``[n * window, (n + 1) * window)``), so every key's window
    boundaries are predictable. Counts live in this process only: not for multi-worker deployments.
    """

    def __init__(
        self, clock: Callable[[], float] = time.time, *, sweep_interval_seconds: float = 300
    ) -> None:
        self._clock = clock
        self._sweep_interval = sweep_interval_seconds
        self._last_sweep = clock()
        # (key, window start) -> (window end, hits): the same row shape as the Postgres table.
        self._windows: dict[tuple[str, int], tuple[int, int]] = {}

    async def hit(self, key: str, limit: int, window_seconds: int) -> int | None:
        return await self.hit_all({key: limit}, window_seconds)

    async def hit_all(self, limits: Mapping[str, int], window_seconds: int) -> int | None:
        if window_seconds < 1:
            raise ValueError("window_seconds must be at least 1")
        now = self._clock()
        start = math.floor(now / window_seconds) * window_seconds
        end = start + window_seconds
        over = False
        for key, limit in limits.items():
            _, previous = self._windows.get((key, start), (end, 0))
            hits = previous + 1
            self._windows[(key, start)] = (end, hits)
            if hits > limit:
                over = True
                break  # the keys after it are not charged for an attempt refused already
        self._sweep(now)
        return max(1, math.ceil(end - now)) if over else None

    def _sweep(self, now: float) -> None:
        # Without this, every key ever seen (one per client address) would stay in memory forever.
        if now - self._last_sweep < self._sweep_interval:
            return
        self._last_sweep = now
        self._windows = {bucket: count for bucket, count in self._windows.items() if count[0] > now}
