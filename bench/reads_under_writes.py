"""What a steady stream of changes costs the cached lists' readers (issue 26, goal 4).

    uv run python -m bench.reads_under_writes                       # 1× (6,000 votes), 0 / 4 / 50 changes/s
    uv run python -m bench.reads_under_writes --scale 3 --rates 0,4  # 18,000 votes
    uv run python -m bench.reads_under_writes --scale 3 --scenarios leaderboard --rates 0,50 --rounds 4

A throw-away PostgreSQL seeded with ``bench/seed.py`` at ``--scale``, ``podium serve`` (one worker, the
exact listing cache on), then wrk (32 connections) on each read scenario (after 2 s of discarded warm-up)
for ``--duration`` seconds while a writer makes ``rate`` changes a second, in SQL. ``--writes votes`` (the
default): a vote for a random project by a voter of the seed's pool, then its withdrawal, in turn — steady
voting that does not grow the event; ``--writes description``: one project's description; ``--writes
attends``: an attendee of the seed's pool joins, then leaves, in turn (read it with ``--scenarios
admin_attendees``, the organiser's attendee list: 25,000 attendees at 1×). Each change moves the event's
listing version. Printed: req/s per scenario and rate, and each rate's req/s ÷ the same scenario's at
rate 0. The goal: ≥ 0.8 at 4 and 50 changes/s. With ``--rounds N`` every scenario runs its rates N times, odd rounds in
reverse (0, 4, 50, 50, 4, 0, …): each ratio is taken within one round, and the median of the rounds is
printed with each round's ratio, so a machine whose speed drifts slows both sides of a ratio alike.

The server is the ``podium`` of the Python that runs this script: run it with another checkout's
``.venv/bin/python`` (from this directory) to measure that checkout with the same benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg

from bench.load import SCENARIOS, run_wrk
from bench.pg import Cluster, free_port, throwaway_cluster
from bench.run import JWT_SECRET, STATS_SQL, CpuMeter, drain, migrate, podium_command, server
from bench.seed import seed

DATABASE = "podium_reads"
READS = ("leaderboard", "listing", "admin_leaderboard", "admin_votes")


_DESCRIBE = "UPDATE projects SET description = md5(random()::text) WHERE id = $1"
_LEAVE = "DELETE FROM event_attendees WHERE event_id = $1 AND user_id = $2"
_JOIN = "INSERT INTO event_attendees (event_id, user_id) VALUES ($1, $2)"
_WITHDRAW = "DELETE FROM votes WHERE id = $1"
_VOTE = "INSERT INTO votes (id, voter_id, project_id, event_id) VALUES ($1, $2, $3, $4)"


class Writer:
    """One change at a time, as ``--writes`` says."""

    #: Every statement a writer sends (to leave out of the server's count).
    STATEMENTS = frozenset((_DESCRIBE, _LEAVE, _JOIN, _WITHDRAW, _VOTE))

    def __init__(self, kind: str, info: dict[str, Any]) -> None:
        self._kind = kind
        self._event = info["event_id"]
        self._projects = info["project_ids"]
        self._voters = info["pool_user_ids"]["voters"]
        self._joiners = info["pool_user_ids"]["joiners"]
        self._rng = random.Random(26)
        self._pending: str | None = None

    async def change(self, connection: asyncpg.Connection) -> None:
        if self._kind == "description":
            await connection.execute(_DESCRIBE, self._projects[0])
        elif self._kind == "attends":
            if self._pending is not None:
                await connection.execute(_LEAVE, self._event, self._pending)
                self._pending = None
            else:
                self._pending = self._rng.choice(self._joiners)
                await connection.execute(_JOIN, self._event, self._pending)
        elif self._pending is not None:
            await connection.execute(_WITHDRAW, self._pending)
            self._pending = None
        else:
            self._pending = str(uuid4())
            await connection.execute(
                _VOTE,
                self._pending,
                self._rng.choice(self._voters),
                self._rng.choice(self._projects),
                self._event,
            )


@contextlib.contextmanager
def changes(cluster: Cluster, writer: Writer, rate: float) -> Iterator[dict[str, int]]:
    """Make a change ``rate`` times a second until the block ends (nothing when rate is 0)."""
    count = {"writes": 0}
    if rate <= 0:
        yield count
        return
    done = threading.Event()

    async def run() -> None:
        connection = await asyncpg.connect(cluster.dsn(DATABASE))
        try:
            tick = time.monotonic()
            while not done.is_set():
                await writer.change(connection)
                count["writes"] += 1
                tick += 1 / rate
                await asyncio.sleep(max(0.0, tick - time.monotonic()))
        finally:
            await connection.close()

    thread = threading.Thread(target=lambda: asyncio.run(run()), daemon=True)
    thread.start()
    try:
        yield count
    finally:
        done.set()
        thread.join(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--rates", default="0,4,50", help="changes per second, comma-separated")
    parser.add_argument("--scenarios", default=",".join(READS))
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measurement (at most 30)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--writes", choices=("votes", "description", "attends"), default="votes")
    parser.add_argument("--pg", choices=("auto", "pg15", "embedded"), default="auto")
    parser.add_argument("--rounds", type=int, default=1, help="the rates run this many times, in turn")
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    if 0.0 not in rates or len(set(rates)) != len(rates):
        parser.error("--rates: each rate once, 0 among them (every ratio is against rate 0)")
    names = [n.strip() for n in args.scenarios.split(",") if n.strip()]
    duration = min(args.duration, 30.0)
    # req/s, and (app + PostgreSQL CPU seconds, requests, changes made), per scenario, rate and round
    rows: dict[tuple[str, float, int], float] = {}
    used: dict[tuple[str, float, int], tuple[float, int, int]] = {}
    with throwaway_cluster(args.pg) as cluster:
        cluster.create_database(DATABASE)
        migrate(cluster, DATABASE)
        cluster.psql(DATABASE, "create extension if not exists pg_stat_statements")
        with tempfile.TemporaryDirectory(prefix="podium-reads-bench-") as out:
            info: dict[str, Any] = asyncio.run(
                seed(
                    cluster.dsn(DATABASE), scale=args.scale, attend_pool=100, out=Path(out), secret=JWT_SECRET
                )
            )
            port = free_port()
            env = {
                **os.environ,
                "PODIUM_DATABASE_URL": cluster.sqlalchemy_url(DATABASE),
                "PODIUM_JWT_SECRET": JWT_SECRET,
                "PODIUM_LOG_LEVEL": "WARNING",
            }
            cmd = [*podium_command(), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
            writer = Writer(args.writes, info)
            with server(cmd, env, "reads-under-writes", port) as (base, sid):
                meter = CpuMeter(sid, cluster)
                for name in names:
                    requests = SCENARIOS[name].build(info)
                    # Discarded: the first seconds of a read (its list built and cached, the server's
                    # caches warm) would otherwise count against the first round's rate 0.
                    run_wrk(base, requests, once=False, duration=2.0, connections=args.connections, threads=2)
                    # Odd rounds run the rates in reverse (0, 4, 50, 50, 4, 0, …): a drift within a round
                    # favours no side of a ratio over the rounds.
                    order = [
                        (r, rate) for r in range(args.rounds) for rate in (rates[::-1] if r % 2 else rates)
                    ]
                    for round_, rate in order:
                        # The previous run's abandoned requests are worked off first (as bench.run does).
                        settle = drain(base, info["event_id"])
                        asyncio.run(_statements(cluster, "select pg_stat_statements_reset()"))
                        meter.reset()
                        with changes(cluster, writer, rate) as count:
                            result = run_wrk(
                                base,
                                requests,
                                once=False,
                                duration=duration,
                                connections=args.connections,
                                threads=2,
                            )
                        app_cpu, pg_cpu, _ = meter.used()
                        # The server's statements only.
                        sql = sum(
                            int(r["calls"])
                            for r in asyncio.run(_statements(cluster, STATS_SQL))
                            if r["query"] not in Writer.STATEMENTS
                        )
                        key = (name, rate, round_)
                        rows[key] = result["requests"] / (result["duration_us"] / 1e6)
                        per_request = 1000 / max(1, result["requests"])
                        used[key] = (app_cpu + pg_cpu, result["requests"], count["writes"])
                        statuses = result.get("statuses", {})
                        print(
                            f"{name:<18} {rate:>5g} changes/s ({count['writes']} made): "
                            f"{rows[key]:8.1f} req/s, CPU/request app {app_cpu * per_request:.2f} ms"
                            f" postgres {pg_cpu * per_request:.2f} ms, SQL/request {sql / max(1, result['requests']):.2f},"
                            f" statuses {statuses}"
                            f" (settled in {settle:.1f} s)",
                            flush=True,
                        )
    print(
        f"\nscale {args.scale}×, {args.writes}: req/s ÷ the same read with no changes"
        " [CPU per change: app + PostgreSQL CPU beyond what the reads cost without changes, ÷ changes]"
    )
    if args.rounds > 1:
        print("(the median of the rounds, then each round's ratio)")
    for name in names:
        summary = []
        for rate in rates:
            rounds = range(args.rounds)
            ratios = [rows[name, rate, r] / rows[name, 0.0, r] for r in rounds if rate and rows[name, 0.0, r]]
            if not ratios:
                continue
            per_change = statistics.median(_per_change(used, name, rate, r) for r in rounds)
            each = f" ({', '.join(f'{ratio:.2f}' for ratio in ratios)})" if len(ratios) > 1 else ""
            summary.append(f"{rate:g}/s {statistics.median(ratios):.2f}{each} [{per_change:.1f} ms]")
        print(f"{name:<18} " + "  ".join(summary))


async def _statements(cluster: Cluster, sql: str) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(cluster.dsn(DATABASE))
    try:
        return list(await connection.fetch(sql))
    finally:
        await connection.close()


def _per_change(
    used: dict[tuple[str, float, int], tuple[float, int, int]], name: str, rate: float, round_: int
) -> float:
    base_cpu, base_requests, _ = used[name, 0.0, round_]
    cpu, requests, writes = used[name, rate, round_]
    return (cpu - base_cpu / max(1, base_requests) * requests) * 1000 / max(1, writes)


if __name__ == "__main__":
    main()
