"""In-process sliding-window rate limiter: for unit tests and a single-process dev server."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping


class MemoryRateLimiter:
    """``RateLimiter`` with the same sliding-window semantics as ``PostgresRateLimiter``.

    An attempt at ``t`` is admitted when fewer than ``limit`` admitted attempts fall in
    ``(t - window, t]``; refused attempts are not recorded. Counts live in this process only: not for
    multi-worker deployments.
    """

    def __init__(
        self, clock: Callable[[], float] = time.time, *, sweep_interval_seconds: float = 300
    ) -> None:
        self._clock = clock
        self._sweep_interval = sweep_interval_seconds
        self._last_sweep = clock()
        # key -> (window, times of its most recent admitted attempts, ascending, at most the limit).
        self._windows: dict[str, tuple[int, list[float]]] = {}

    async def hit(self, key: str, limit: int, window_seconds: int) -> int | None:
        return await self.hit_all({key: limit}, window_seconds)

    async def hit_all(self, limits: Mapping[str, int], window_seconds: int) -> int | None:
        if window_seconds < 1:
            raise ValueError("window_seconds must be at least 1")
        now = self._clock()
        wait = None
        for key, limit in limits.items():
            _, previous = self._windows.get(key, (window_seconds, []))
            times = [t for t in previous if t > now - window_seconds]
            if len(times) < limit:
                times.append(now)
            elif limit <= 0:
                wait = window_seconds
            else:  # full: room again once the oldest of the newest ``limit`` leaves the window
                wait = max(1, math.ceil(times[len(times) - limit] + window_seconds - now))
            self._windows[key] = (window_seconds, times[max(0, len(times) - max(limit, 0)) :])
            if wait is not None:
                break  # the keys after it are not charged for an attempt refused already
        self._sweep(now)
        return wait

    def _sweep(self, now: float) -> None:
        # Without this, every key ever seen (one per client address) would stay in memory forever.
        if now - self._last_sweep < self._sweep_interval:
            return
        self._last_sweep = now
        self._windows = {
            key: (window, times)
            for key, (window, times) in self._windows.items()
            if times and times[-1] > now - window
        }
