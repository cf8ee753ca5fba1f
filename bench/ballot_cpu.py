"""What one ballot costs PostgreSQL, with no app: the backend's CPU per cast statement (issue 26, goal 1).

    uv run python -m bench.ballot_cpu                     # 6 interleaved rounds of 500 casts, one connection
    uv run python -m bench.ballot_cpu --connections 8 --rounds 8 --casts 1000

A throw-away PostgreSQL (initdb's defaults) seeded with ``bench/seed.py`` (1×: 300 projects in the event),
then ``--casts`` ballots of one vote, each by a voter of the seed's pool who has not voted, through
``--connections`` connections in autocommit. The modes run one after the other in each round, in reverse
order every other round, so a busy machine slows each alike. Printed: each mode's backend CPU per cast, the
median of the rounds; then counting every project − as migrated and as migrated − floor, each taken within
a round, the median of the rounds and each round's difference. The modes:

* ``as migrated``: ``podium_cast_ballot_on_terms`` at head, the event's projects counted up to the
  domain's ``QUOTA_PROJECTS_COUNTED_TO`` (migration 0017);
* ``counting every project``: the same function with migration 0013's count of all the event's projects;
* ``floor``: ``bench/floor.py``'s one-statement vote (the voter by email, no re-check after the lock).

CPU is read from ``/proc`` for the benchmark's own backends (utime + stime), so nothing else running on
the machine is counted; the wall time per cast is printed beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from bench.floor import VOTE_SQL
from bench.pg import throwaway_cluster
from bench.run import JWT_SECRET, cpu_seconds, migrate
from bench.seed import seed
from podium.domain.rules import QUOTA_PROJECTS_COUNTED_TO, fewest_projects_by_cast

DATABASE = "podium_ballots"
CAST = "SELECT * FROM public.podium_cast_ballot_on_terms($1, $2, $3, $4, $5, $6)"
SIGNATURE = "public.podium_cast_ballot_on_terms(uuid, uuid, uuid[], uuid[], integer[], integer)"
CAPPED_COUNT = """(SELECT count(*) FROM (
               SELECT FROM public.projects q WHERE q.event_id = p_event LIMIT p_count_projects_to
           ) AS counted)"""
EVERY_PROJECT = "(SELECT count(*) FROM public.projects q WHERE q.event_id = p_event)"


async def _measure(
    dsn: str, calls: list[tuple[str, tuple[Any, ...]]], connections: int
) -> tuple[float, float]:
    """Backend CPU and wall seconds per call, ``calls`` spread over ``connections`` connections."""
    pool = [await asyncpg.connect(dsn) for _ in range(connections)]
    try:
        pids = [await connection.fetchval("SELECT pg_backend_pid()") for connection in pool]
        queue = list(reversed(calls))

        async def work(connection: asyncpg.Connection) -> None:
            while queue:
                sql, args = queue.pop()
                await connection.fetchrow(sql, *args)

        before = sum(map(cpu_seconds, pids))
        started = time.perf_counter()
        await asyncio.gather(*map(work, pool))
        wall = time.perf_counter() - started
        return (sum(map(cpu_seconds, pids)) - before) / len(calls), wall / len(calls)
    finally:
        for connection in pool:
            await connection.close()


async def _run(dsn: str, args: argparse.Namespace) -> None:
    modes = ("as migrated", "counting every project", "floor")
    needed = args.casts * args.rounds * len(modes)
    with tempfile.TemporaryDirectory(prefix="podium-ballot-bench-") as out:
        info = await seed(dsn, scale=1, attend_pool=10, out=Path(out), secret=JWT_SECRET, vote_pool=needed)
    connection = await asyncpg.connect(dsn)
    try:
        event: UUID = UUID(info["event_id"])
        voters = [UUID(v) for v in info["pool_user_ids"]["voters"]][:needed]
        if len(voters) < needed:
            raise SystemExit(f"the seed has {len(voters)} voters without votes; {needed} are needed")
        emails = dict(await connection.fetch("SELECT id, email FROM users WHERE id = any($1)", voters))
        projects = [
            row[0] for row in await connection.fetch("SELECT id FROM projects WHERE event_id = $1", event)
        ]
        migrated = await connection.fetchval(f"SELECT pg_get_functiondef('{SIGNATURE}'::regprocedure)")
        if CAPPED_COUNT not in migrated:
            raise SystemExit(
                "the ballot function no longer counts projects as migration 0017 does: update me"
            )
        definitions = {
            "as migrated": migrated,
            "counting every project": migrated.replace(CAPPED_COUNT, EVERY_PROJECT),
        }
        fewest = list(fewest_projects_by_cast(1))
        voter = iter(voters)

        def ballots(mode: str) -> Iterator[tuple[str, tuple[Any, ...]]]:
            for i, v in zip(range(args.casts), voter, strict=False):
                project = projects[i % len(projects)]
                if mode == "floor":
                    yield VOTE_SQL, (emails[v], event, [project])
                else:
                    yield CAST, (event, v, [project], [uuid4()], fewest, QUOTA_PROJECTS_COUNTED_TO)

        figures: dict[str, list[float]] = {mode: [] for mode in modes}
        for round_ in range(args.rounds):
            for mode in modes if round_ % 2 == 0 else reversed(modes):
                if mode in definitions:
                    await connection.execute(definitions[mode])
                cpu, wall = await _measure(dsn, list(ballots(mode)), args.connections)
                figures[mode].append(cpu)
                print(
                    f"round {round_ + 1} {mode:24s} backend CPU {cpu * 1000:.3f} ms per cast, "
                    f"wall {wall * 1000:.3f} ms",
                    flush=True,
                )
        await connection.execute(migrated)
    finally:
        await connection.close()
    print(f"\n{args.connections} connection(s), {args.casts} casts a run, median of {args.rounds} rounds:")
    for mode, values in figures.items():
        print(f"  {mode:24s} {statistics.median(values) * 1000:.3f} ms of backend CPU per cast")
    print("differences within a round, median of the rounds (each round's):")
    for more, less in (("counting every project", "as migrated"), ("as migrated", "floor")):
        differences = [(a - b) * 1000 for a, b in zip(figures[more], figures[less], strict=True)]
        each = ", ".join(f"{difference:+.3f}" for difference in differences)
        print(f"  {more} − {less}: {statistics.median(differences):+.3f} ms ({each})")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--casts", type=int, default=500, help="ballots per mode and round")
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--pg", choices=("auto", "pg15", "embedded"), default="auto")
    args = parser.parse_args()
    with throwaway_cluster(args.pg, tuned=False) as cluster:
        cluster.create_database(DATABASE)
        migrate(cluster, DATABASE)
        asyncio.run(_run(cluster.dsn(DATABASE), args))


if __name__ == "__main__":
    main()
