"""Throughput through a transaction-mode pooler ÷ direct, in one run (issue 23).

    uv run python -m bench.pooler                 # 3 s per measurement
    uv run python -m bench.pooler --duration 5

A throw-away PostgreSQL (``bench.pg``: Debian's PostgreSQL 15 if installed) gets two identical databases
seeded with the issue-6 dataset (``bench.seed``): votes use up their voters, so each path votes in its own.
Debian's PgBouncer runs in front of it in transaction mode with its defaults (``bench.pg.pgbouncer``).
``podium serve`` (one worker) runs against each database, once directly and once through PgBouncer with
``PODIUM_DATABASE_POOLER=transaction`` (``PODIUM_DATABASE_DIRECT_URL`` the direct URL); wrk drives the
leaderboard (cache on, and off: every request reads the database) and the vote (``bench.load``).
It also measures, on one connection through PgBouncer, what ``SET LOCAL statement_timeout`` at the start
of each transaction would cost against the driver-side limit the service uses instead.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg

from bench.load import SCENARIOS, comparison_parser, measure
from bench.pg import Bouncer, Cluster, free_port, pgbouncer, throwaway_cluster
from bench.run import JWT_SECRET, ROOT, migrate, podium_command, server
from bench.seed import seed

DATABASES = {"direct": "podium_pooler_bench_direct", "pgbouncer": "podium_pooler_bench_pooled"}
PASSWORD = "bench-pooler-pw"
# (scenario, listing cache on?)
PLAN = [("leaderboard", True), ("leaderboard", False), ("vote", True)]


def main() -> None:
    args = comparison_parser(__doc__).parse_args()
    duration = min(args.duration, 10.0)
    with (
        throwaway_cluster(tuned=False) as cluster,
        tempfile.TemporaryDirectory(prefix="podium-pooler-") as tmp,
    ):
        infos = {}
        for path, database in DATABASES.items():
            cluster.create_database(database)
            migrate(cluster, database)
            out = Path(tmp) / path
            out.mkdir()
            infos[path] = asyncio.run(
                seed(cluster.dsn(database), scale=1, attend_pool=100, out=out, secret=JWT_SECRET)
            )
        with pgbouncer(cluster, {cluster.user: PASSWORD}) as bouncer:
            rows = _measure(cluster, bouncer, infos, duration, args)
            set_local = asyncio.run(_set_local_cost(bouncer.url(cluster.user, PASSWORD, DATABASES["direct"])))
    print(f"\nThrough PgBouncer ÷ direct (same run, {duration:g} s each, {args.connections} connections):")
    for scenario, cache in PLAN:
        label = f"{scenario} ({'cache' if cache else 'no cache'})"
        ratio = rows[("pgbouncer", scenario, cache)] / rows[("direct", scenario, cache)]
        print(f"  {label:<24} {ratio:.2f}")
    print(
        f"\nSET LOCAL statement_timeout per transaction, through PgBouncer: {set_local[0]:.0f} transactions/s "
        f"without, {set_local[1]:.0f} with ({set_local[1] / set_local[0]:.2f}×)"
    )


def _measure(
    cluster: Cluster, bouncer: Bouncer, infos: dict[str, Any], duration: float, args: argparse.Namespace
) -> dict[tuple[str, str, bool], float]:
    rates: dict[tuple[str, str, bool], float] = {}
    for cache in (True, False):
        for path, database in DATABASES.items():
            env = {
                **{k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")},
                "PODIUM_DATABASE_URL": cluster.sqlalchemy_url(database),
                "PODIUM_JWT_SECRET": JWT_SECRET,
                "PODIUM_LOG_LEVEL": "WARNING",
                "PODIUM_LOG_FORMAT": "json",
                "PODIUM_LEADERBOARD_CACHE": "true" if cache else "false",
            }
            if path == "pgbouncer":
                env |= {
                    "PODIUM_DATABASE_URL": bouncer.url(cluster.user, PASSWORD, database),
                    "PODIUM_DATABASE_DIRECT_URL": cluster.sqlalchemy_url(database),
                    "PODIUM_DATABASE_POOLER": "transaction",
                }
            port = free_port()
            command = [*podium_command(), "serve", "--port", str(port), "--workers", "1"]
            with server(
                command, env, f"pooler-bench-{path}-{'cache' if cache else 'nocache'}", port, cwd=ROOT
            ) as (
                base,
                _,
            ):
                for scenario, with_cache in PLAN:
                    if with_cache != cache:
                        continue
                    result = measure(
                        SCENARIOS[scenario],
                        base,
                        infos[path],
                        duration=duration,
                        connections=args.connections,
                        threads=args.threads,
                        warmup=0.5,
                    )
                    rates[(path, scenario, cache)] = result.req_s
                    print(
                        f"{path:>9} {scenario:<12} {'cache' if cache else 'no cache':>8} {result.req_s:>8.1f} req/s  "
                        f"p99 {result.p99_ms:>7.1f} ms  errors {result.errors}",
                        flush=True,
                    )
    return rates


async def _set_local_cost(dsn: str, seconds: float = 2.0) -> tuple[float, float]:
    """Transactions per second on one connection through the pooler: a one-row read, without and with a
    ``SET LOCAL statement_timeout`` first (the alternative to the driver-side limit)."""
    connection = await asyncpg.connect(dsn, statement_cache_size=0)
    try:
        rates = []
        for set_local in (False, True):
            done, deadline = 0, time.monotonic() + seconds
            while time.monotonic() < deadline:
                async with connection.transaction():
                    if set_local:
                        await connection.execute("SET LOCAL statement_timeout = 10000")
                    await connection.fetchval("SELECT count(*) FROM events WHERE id = $1::uuid", None)
                done += 1
            rates.append(done / seconds)
        return rates[0], rates[1]
    finally:
        await connection.close()


if __name__ == "__main__":
    main()
