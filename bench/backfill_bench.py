"""Backfill benchmark: legacy-scale synthetic Airtable data, fake Airtable server, real PostgreSQL.

    uv run python bench/backfill_bench.py            # both scenarios on a throw-away embedded PostgreSQL
    uv run python bench/backfill_bench.py --database-url postgresql+asyncpg://…   # an existing (empty) DB

(a) rate limit ON (the fake server enforces 5 requests/second per base, the client throttles itself):
    wall time of the whole backfill vs the floor = total pages ÷ 5 s⁻¹. Target ≤ 1.15×.
(b) rate limit OFF: the whole backfill, verification report included. Target < 10 s. Then a second run
    (nothing to do), and the peak RSS of this whole process so far (ru_maxrss), not of the backfill
    alone: it includes the generated data set, the in-process fake Airtable (its threads and the records
    it serves) and both runs; PostgreSQL, a separate process, is not in it.
It prints the numbers; it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import resource
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from sqlalchemy import text

from podium.adapters.airtable.source import AirtableSource
from podium.adapters.postgres.backfill_store import TABLES, PostgresBackfillStore
from podium.adapters.postgres.database import create_engine, upgrade
from podium.adapters.postgres.embedded import EmbeddedPostgres
from podium.cli.output import verification_table
from podium.config import Settings
from podium.domain.backfill import BackfillResult, Progress, Stage, run_backfill
from podium.testing.fake_airtable import FakeAirtable
from podium.testing.synthetic_airtable import DEFAULT_BASE_ID, DEFAULT_TABLE_IDS, LEGACY_SCALE, generate


def peak_rss_mib() -> float:
    """The peak RSS of this whole process so far (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


READ_DONE: list[float] = []


def note_read_end(progress: Progress) -> None:
    """Remember when the last table was read: the rest of the run is planning and writing."""
    if progress.stage is Stage.READ and progress.finished:
        READ_DONE.append(time.perf_counter())


async def backfill_once(url: str, fake: FakeAirtable, limit: int | None) -> tuple[BackfillResult, float, str]:
    settings = replace(Settings.from_env({}), database_url=url, db_statement_timeout_ms=60_000)
    engine = create_engine(settings)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(f"TRUNCATE {', '.join(str(t) for t in TABLES)} CASCADE"))
        source = AirtableSource(
            token=fake.token,
            base_id=DEFAULT_BASE_ID,
            table_ids=DEFAULT_TABLE_IDS,
            endpoint_url=fake.url,
            requests_per_second=limit,
        )
        started = time.perf_counter()
        READ_DONE[:] = [started]
        result = await run_backfill(source, PostgresBackfillStore(engine), progress=note_read_end)
        report = verification_table(result) + "\n" + json.dumps(result.to_json())
        return result, time.perf_counter() - started, report
    finally:
        await engine.dispose()


async def rerun(url: str, fake: FakeAirtable) -> float:
    settings = replace(Settings.from_env({}), database_url=url)
    engine = create_engine(settings)
    try:
        source = AirtableSource(
            token=fake.token,
            base_id=DEFAULT_BASE_ID,
            table_ids=DEFAULT_TABLE_IDS,
            endpoint_url=fake.url,
            requests_per_second=None,
        )
        started = time.perf_counter()
        result = await run_backfill(source, PostgresBackfillStore(engine))
        elapsed = time.perf_counter() - started
        assert all(t.created == t.updated == 0 for t in result.tables.values())
        return elapsed
    finally:
        await engine.dispose()


def run(url: str, seed: int, skip_limited: bool) -> None:
    started = time.perf_counter()
    base = generate(seed=seed, scale=LEGACY_SCALE)
    generated = time.perf_counter() - started
    pages = sum(math.ceil(len(rows) / 100) for rows in base.records.values())
    counts = ", ".join(f"{len(rows)} {table}" for table, rows in base.records.items())
    print(f"data: {counts}; {pages} pages of 100 (generated in {generated:.2f} s)")

    with FakeAirtable({DEFAULT_BASE_ID: base.by_table_id()}) as fake:
        result, elapsed, report = asyncio.run(backfill_once(url, fake, None))
        again = asyncio.run(rerun(url, fake))
        requests = fake.count()
    print()
    print(verification_table(result))
    print()
    print("(b) rate limit OFF")
    print(
        f"    whole backfill incl. report : {elapsed:6.2f} s   (target < 10 s)   exit status {result.exit_status}"
    )
    print(f"    second run (nothing to do)  : {again:6.2f} s")
    print(f"    requests                    : {requests} ({requests // 2} per run)")
    print(f"    report                      : {len(report) / 1024:.0f} KiB, {len(result.issues)} issues")
    print(
        f"    process peak RSS so far     : {peak_rss_mib():6.1f} MiB"
        "   (data set + fake Airtable + both runs, not the backfill alone)"
    )

    if skip_limited:
        return
    with FakeAirtable({DEFAULT_BASE_ID: base.by_table_id()}, rate_limit=5, rate_limit_retry_after=30) as fake:
        _, limited, _ = asyncio.run(backfill_once(url, fake, 5))
        throttled = fake.count(429)
        served = fake.count()
        arrivals = sorted(request.at for request in fake.requests)
    # The most requests the server counted in any 1-second window (Airtable allows 5).
    busiest = max(
        (sum(1 for t in arrivals[i:] if t - start < 1.0) for i, start in enumerate(arrivals)), default=0
    )
    floor = pages / 5
    print()
    print("(a) rate limit ON (server enforces 5 req/s per base; client throttles to 5 req/s)")
    print(f"    wall time                   : {limited:6.2f} s")
    print(f"    floor (pages / 5 per s)     : {floor:6.2f} s")
    print(f"    ratio                       : {limited / floor:6.3f}   (target <= 1.15)")
    read = READ_DONE[-1] - READ_DONE[0]
    print(
        f"    of which reading Airtable   : {read:6.2f} s   ({read / floor:.3f} x floor; the rest: plan + write)"
    )
    print(f"    requests / 429 answers      : {served} / {throttled}")
    print(f"    most arrivals in any 1 s    : {busiest}   (Airtable allows 5)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url", help="an existing, migrated database (its backfill tables are emptied)"
    )
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--skip-limited", action="store_true", help="only scenario (b)")
    args = parser.parse_args()
    if args.database_url:
        run(args.database_url, args.seed, args.skip_limited)
        return
    with tempfile.TemporaryDirectory(prefix="podium-backfill-bench-") as directory:
        server = EmbeddedPostgres(Path(directory) / "data")
        server.start()
        try:
            server.create_database("backfill_bench")
            url = server.url("backfill_bench")
            upgrade(url)
            run(url, args.seed, args.skip_limited)
        finally:
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
