"""Read replicas under load: how much of the public reads a replica takes, what a replay pause does, and
the leaderboard's throughput with its reads on the replica vs on the primary, in one run.

    uv run python -m bench.replica                 # 3 s per measurement, 10 measurements
    uv run python -m bench.replica --duration 5

A throw-away primary (``bench.pg``: Debian's PostgreSQL 15 if installed) is migrated and seeded with the
issue-6 dataset (``bench.seed``), then copied into a streaming replica (``pg_basebackup -R``). Four
``podium serve`` configurations run one after the other on it: with ``PODIUM_DATABASE_REPLICA_URLS`` or
without, each with the listing cache on and off. wrk drives each scenario (``bench.load``); the
replica's share, fallbacks and the rule's own queries come from the server's ``/metrics`` before and after
each measurement. "+ writes" runs a writer meanwhile: a project's row updated on the primary every 20 ms,
so the listing version moves, the cache rebuilds, and fresh WAL keeps arriving at the replica. "paused"
is the same with replay paused on the replica (``pg_wal_replay_pause()``): every read must then fall back
(or the listing would be stale). Everything started is stopped and removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg

from bench.load import SCENARIOS, comparison_parser, measure
from bench.pg import Cluster, free_port, streaming_replica, throwaway_cluster
from bench.run import JWT_SECRET, ROOT, migrate, podium_command, server
from bench.seed import seed

DATABASE = "podium_replica_bench"
# (label, replicas?, cache?, [(scenario, mode)]) with mode: "" | "writes" | "paused"
PLAN = [
    ("replica", True, True, [("leaderboard", ""), ("leaderboard", "writes"), ("listing", "writes"),
                                 ("leaderboard", "paused")]),
    ("primary", False, True, [("leaderboard", ""), ("leaderboard", "writes")]),
    ("replica", True, False, [("leaderboard", ""), ("event", "")]),
    ("primary", False, False, [("leaderboard", ""), ("event", "")]),
]  # fmt: skip
_METRIC = re.compile(r'^(podium_db_\w+?)(?:\{(?:database|reason)="([^"]*)"\})? (\d+(?:\.\d+)?)$', re.M)


def counters(base: str) -> dict[str, float]:
    """The replica counters of ``/metrics`` (summed over the server's workers)."""
    with urllib.request.urlopen(base + "/metrics", timeout=10) as response:
        text = response.read().decode()
    found: dict[str, float] = {}
    for name, label, value in _METRIC.findall(text):
        found[f"{name}:{label}" if label else name] = float(value)
    return found


def settle(base: str, timeout: float = 15.0) -> None:
    """Wait until the server has answered everything wrk left in flight (it stops without waiting), so
    those requests' reads are not counted in the next measurement."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(base + "/metrics", timeout=10) as response:
            found = re.search(r"^podium_http_requests_in_progress (\d+)", response.read().decode(), re.M)
        if found is None or int(found.group(1)) <= 1:  # the scrape itself
            return
        time.sleep(0.05)


def _delta(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {k: after[k] - before.get(k, 0.0) for k in after}


@contextlib.contextmanager
def writer(primary: Cluster, project_id: str, interval: float = 0.02) -> Iterator[dict[str, int]]:
    """Update a project's row on the primary every ``interval`` s: the listing version moves each time."""
    done = threading.Event()
    count = {"writes": 0}

    async def run() -> None:
        connection = await asyncpg.connect(primary.dsn(DATABASE))
        try:
            while not done.is_set():
                await connection.execute(
                    "UPDATE projects SET description = md5(random()::text) WHERE id = $1", project_id
                )
                count["writes"] += 1
                await asyncio.sleep(interval)
        finally:
            await connection.close()

    thread = threading.Thread(target=lambda: asyncio.run(run()), daemon=True)
    thread.start()
    while count["writes"] == 0 and thread.is_alive():  # measure only once writes are landing
        time.sleep(0.005)
    try:
        yield count
    finally:
        done.set()
        thread.join(timeout=10)


def replay(replica: Cluster, action: str) -> None:
    """``pause``, ``resume``, or ``wait``: until replay has actually paused (a pause is only a request,
    honoured at the next WAL record: ``pg_get_wal_replay_pause_state()``), at most 2 s."""

    async def run() -> None:
        connection = await asyncpg.connect(replica.dsn(DATABASE))
        try:
            if action != "wait":
                await connection.execute(f"SELECT pg_wal_replay_{action}()")
                return
            for _ in range(200):
                if await connection.fetchval("SELECT pg_get_wal_replay_pause_state()") == "paused":
                    return
                await asyncio.sleep(0.01)
        finally:
            await connection.close()

    asyncio.run(run())


def main() -> None:
    parser = comparison_parser(__doc__)
    parser.add_argument("--pg", choices=("auto", "pg15", "embedded"), default="auto")
    args = parser.parse_args()
    duration = min(args.duration, 10.0)
    rows: list[dict[str, Any]] = []

    with throwaway_cluster(args.pg, tuned=False) as primary:
        primary.create_database(DATABASE)
        migrate(primary, DATABASE)
        with tempfile.TemporaryDirectory(prefix="podium-replica-bench-") as out:
            info = asyncio.run(
                seed(primary.dsn(DATABASE), scale=1, attend_pool=100, out=Path(out), secret=JWT_SECRET)
            )
            with streaming_replica(primary) as replica:
                rows = _measure_all(primary, replica, info, duration, args)
    _report(rows, duration)


def _measure_all(
    primary: Cluster, replica: Cluster, info: dict[str, Any], duration: float, args: argparse.Namespace
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    base_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")},
        "PODIUM_DATABASE_URL": primary.sqlalchemy_url(DATABASE),
        "PODIUM_JWT_SECRET": JWT_SECRET,
        "PODIUM_LOG_LEVEL": "WARNING",
        "PODIUM_LOG_FORMAT": "json",
    }
    replica_url = replica.sqlalchemy_url(DATABASE)
    project = info["project_ids"][0]
    for label, with_replica, cache, runs in PLAN:
        env = {**base_env, "PODIUM_LEADERBOARD_CACHE": "true" if cache else "false"}
        if with_replica:
            env["PODIUM_DATABASE_REPLICA_URLS"] = replica_url
        port = free_port()
        command = [*podium_command(), "serve", "--port", str(port), "--workers", "1"]
        name = f"replica-bench-{label}-{'cache' if cache else 'nocache'}"
        with server(command, env, name, port, cwd=ROOT) as (base, _):
            for scenario_name, mode in runs:
                if mode == "paused":
                    replay(replica, "pause")
                try:
                    before = counters(base)
                    with contextlib.ExitStack() as stack:
                        writes = stack.enter_context(writer(primary, project)) if mode else {"writes": 0}
                        if mode == "paused":
                            replay(replica, "wait")
                        started = time.monotonic()
                        result = measure(
                            SCENARIOS[scenario_name],
                            base,
                            info,
                            duration=duration,
                            connections=args.connections,
                            threads=args.threads,
                            warmup=0.5,
                        )
                        elapsed = time.monotonic() - started
                    settle(base)
                    after = counters(base)
                finally:
                    if mode == "paused":
                        replay(replica, "resume")
                row = {
                    "reads_on": label,
                    "cache": cache,
                    "scenario": scenario_name + (f" + writes{' (replay paused)' if mode == 'paused' else ''}"
                                                 if mode else ""),
                    "req_s": round(result.req_s, 1),
                    "p99_ms": round(result.p99_ms, 1),
                    "errors": result.errors,
                    "loadavg": result.loadavg_before,
                    "writes_per_s": round(writes["writes"] / elapsed, 1) if elapsed else 0.0,
                    "metrics": _delta(after, before),
                }  # fmt: skip
                rows.append(row)
                print(_line(row), flush=True)
    return rows


def _shares(metrics: dict[str, float]) -> tuple[float, float, float, float]:
    """(public reads, replica share, fallback share, position queries per public read)."""
    reads = {k: v for k, v in metrics.items() if k.startswith("podium_db_public_reads_total:")}
    total = sum(reads.values())
    primary = reads.get("podium_db_public_reads_total:primary", 0.0)
    fallbacks = sum(v for k, v in metrics.items() if k.startswith("podium_db_replica_fallbacks_total:"))
    positions = metrics.get("podium_db_primary_position_queries_total", 0.0)
    if not total:
        return 0.0, 0.0, 0.0, 0.0
    return total, (total - primary) / total, fallbacks / total, positions / total


def _line(row: dict[str, Any]) -> str:
    total, replica, fallback, positions = _shares(row["metrics"])
    share = (
        f"replica {replica:6.1%}  fallback {fallback:6.1%}  positions/read {positions:4.2f}" if total else ""
    )
    cache = "cache" if row["cache"] else "no cache"
    return (
        f"{row['reads_on']:>7} {cache:>8}  {row['scenario']:<38} {row['req_s']:>8.1f} req/s  "
        f"p99 {row['p99_ms']:>7.1f} ms  errors {row['errors']:>3}  load {row['loadavg']:>4.1f}  "
        f"public reads {total:>6.0f}  {share}"
    )


def _report(rows: list[dict[str, Any]], duration: float) -> None:
    def rate(reads_on: str, cache: bool, scenario: str) -> float:
        return next(
            r["req_s"]
            for r in rows
            if (r["reads_on"], r["cache"], r["scenario"]) == (reads_on, cache, scenario)
        )

    print(f"\nRatios (same run, {duration:g} s per measurement):")
    pairs = ((True, "leaderboard"), (True, "leaderboard + writes"), (False, "leaderboard"), (False, "event"))
    for cache, scenario in pairs:
        on_replica, on_primary = rate("replica", cache, scenario), rate("primary", cache, scenario)
        label = f"{scenario} ({'cache' if cache else 'no cache'})"
        print(f"  {label:<32} reads on the replica / on the primary: {on_replica / on_primary:.2f}")
    paused = next(r for r in rows if "paused" in r["scenario"])
    total, replica, fallback, _ = _shares(paused["metrics"])
    reasons = {k.split(":")[1]: int(v) for k, v in paused["metrics"].items() if "fallbacks_total:" in k and v}
    print(
        f"  replay paused: {fallback:.1%} of {total:.0f} public reads fell back ({reasons}); replica served {replica:.1%}"
    )


if __name__ == "__main__":
    main()
