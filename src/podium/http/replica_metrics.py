"""The replicas' metrics in Prometheus' text format, appended to ``GET /metrics`` when replicas are set.

Kept apart from ``metrics`` (one snapshot entry, one render function) so it ports as is to another metrics
library: per-database public reads and fallbacks (counters, summed over workers), the primary-position
and replica-probe queries sent (counters), and each replica's last measured lag and state (gauges, per
live worker).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from podium.adapters.postgres.replicas import ReplicaRouter
from podium.processes import pid_alive


def replica_snapshot(router: ReplicaRouter | None) -> dict[str, Any] | None:
    if router is None:
        return None
    stats = router.stats
    return {
        "reads": dict(stats.reads),
        "fallbacks": dict(stats.fallbacks),
        "positions": stats.positions,
        "probes": stats.probes,
        "replicas": [
            {"name": r.name, "lag_ms": r.lag_ms, "up": int(r.up and not r.skipped_now())}
            for r in router.replicas
        ],
    }


def render_replicas(snapshots: list[dict[str, Any]]) -> str:
    """The lines for the workers' snapshots that carry replica numbers (empty without replicas)."""
    own = [s for s in snapshots if s.get("replicas")]
    if not own:
        return ""
    reads: dict[str, int] = defaultdict(int)
    fallbacks: dict[str, int] = defaultdict(int)
    positions = probes = 0
    for snapshot in own:
        numbers = snapshot["replicas"]
        for database, value in numbers["reads"].items():
            reads[database] += value
        for reason, value in numbers["fallbacks"].items():
            fallbacks[reason] += value
        positions += numbers["positions"]
        probes += numbers["probes"]
    lines = [
        "# HELP podium_db_public_reads_total Public reads (listings, events, slugs, profiles) by database.",
        "# TYPE podium_db_public_reads_total counter",
        *(f'podium_db_public_reads_total{{database="{db}"}} {n}' for db, n in sorted(reads.items())),
        "# HELP podium_db_replica_fallbacks_total Public reads sent to the primary although replicas are set,"
        " by reason (behind: not yet replayed the read's position; lagging/down: every replica skipped;"
        " error: the replica failed mid-read, the read ran again on the primary).",
        "# TYPE podium_db_replica_fallbacks_total counter",
    ]
    for reason in sorted({"behind", "lagging", "down", "error", *fallbacks}):
        lines.append(f'podium_db_replica_fallbacks_total{{reason="{reason}"}} {fallbacks.get(reason, 0)}')
    lines += [
        "# HELP podium_db_primary_position_queries_total Queries of the primary's WAL position (shared).",
        "# TYPE podium_db_primary_position_queries_total counter",
        f"podium_db_primary_position_queries_total {positions}",
        "# HELP podium_db_replica_probes_total Queries of a replica's replay position (shared).",
        "# TYPE podium_db_replica_probes_total counter",
        f"podium_db_replica_probes_total {probes}",
        "# HELP podium_db_replica_lag_milliseconds Replay lag at the last probe, per replica and worker.",
        "# TYPE podium_db_replica_lag_milliseconds gauge",
    ]
    live = [s for s in own if pid_alive(int(s["pid"]))]
    for snapshot in live:
        for replica in snapshot["replicas"]["replicas"]:
            labels = f'replica="{replica["name"]}",worker="{snapshot["pid"]}"'
            lines.append(f"podium_db_replica_lag_milliseconds{{{labels}}} {replica['lag_ms']:.1f}")
    lines += [
        "# HELP podium_db_replica_up 1 when the replica is used for reads, 0 while skipped, per worker.",
        "# TYPE podium_db_replica_up gauge",
    ]
    for snapshot in live:
        for replica in snapshot["replicas"]["replicas"]:
            labels = f'replica="{replica["name"]}",worker="{snapshot["pid"]}"'
            lines.append(f"podium_db_replica_up{{{labels}}} {replica['up']}")
    return "\n".join(lines) + "\n"
