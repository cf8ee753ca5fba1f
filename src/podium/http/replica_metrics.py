"""The replicas' metrics, on the same prometheus_client registry as the request metrics
(:mod:`podium.http.metrics`): per-database public reads and fallbacks, the primary-position and
replica-probe queries sent (counters, summed over workers), each replica's last measured lag and state
(gauges, per live worker).

The router (:class:`~podium.adapters.postgres.replicas.ReplicaRouter`) keeps plain counts; they are carried
into the metrics after every request and on every scrape (:func:`refresh_replicas`), as the pool gauges are.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

from prometheus_client import Counter, Gauge

from podium.adapters.postgres.replicas import ReplicaRouter
from podium.http.metrics import REGISTRY, on_refresh

FALLBACK_REASONS = ("behind", "lagging", "down", "error")

PUBLIC_READS = Counter(
    "podium_db_public_reads",
    "Public reads (listings, events, slugs, profiles) by database.",
    ("database",),
    registry=REGISTRY,
)
FALLBACKS = Counter(
    "podium_db_replica_fallbacks",
    "Public reads sent to the primary although replicas are set, by reason (behind: not yet replayed the "
    "read's position; lagging/down: every replica skipped; error: the replica failed mid-read, the read ran "
    "again on the primary).",
    ("reason",),
    registry=REGISTRY,
)
POSITIONS = Counter(
    "podium_db_primary_position_queries", "Queries of the primary's WAL position (shared).", registry=REGISTRY
)
PROBES = Counter(
    "podium_db_replica_probes", "Queries of a replica's replay position (shared).", registry=REGISTRY
)
LAG = Gauge(
    "podium_db_replica_lag_milliseconds",
    "Replay lag at the last probe, per replica and worker.",
    ("replica", "worker"),
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
UP = Gauge(
    "podium_db_replica_up",
    "1 when the replica is used for reads, 0 while skipped, per worker.",
    ("replica", "worker"),
    registry=REGISTRY,
    multiprocess_mode="livesum",
)


class _Carried:
    """What of the router's counts has been carried into the counters already."""

    router: ReplicaRouter | None = None
    reads: ClassVar[dict[str, int]] = {}
    fallbacks: ClassVar[dict[str, int]] = {}
    positions = 0
    probes = 0


def watch_replicas(router: ReplicaRouter | None) -> None:
    """Called when the app starts: report ``router``'s numbers (nothing without replicas)."""
    _Carried.router = router
    _Carried.reads, _Carried.fallbacks, _Carried.positions, _Carried.probes = {}, {}, 0, 0
    if router is None:
        return
    PUBLIC_READS.labels("primary")
    for reason in FALLBACK_REASONS:
        FALLBACKS.labels(reason)  # every reason shows, at 0 until it happens
    on_refresh(refresh_replicas)
    refresh_replicas()


def _carry(counter: Any, counts: dict[str, int], carried: dict[str, int]) -> None:
    for key, value in counts.items():
        if value > carried.get(key, 0):
            counter.labels(key).inc(value - carried.get(key, 0))
            carried[key] = value


def refresh_replicas() -> None:
    router = _Carried.router
    if router is None:
        return
    stats = router.stats
    _carry(PUBLIC_READS, stats.reads, _Carried.reads)
    _carry(FALLBACKS, stats.fallbacks, _Carried.fallbacks)
    if stats.positions > _Carried.positions:
        POSITIONS.inc(stats.positions - _Carried.positions)
        _Carried.positions = stats.positions
    if stats.probes > _Carried.probes:
        PROBES.inc(stats.probes - _Carried.probes)
        _Carried.probes = stats.probes
    worker = str(os.getpid())
    for replica in router.replicas:
        LAG.labels(replica.name, worker).set(replica.lag_ms)
        UP.labels(replica.name, worker).set(int(replica.up and not replica.skipped_now()))
