"""What migration 0015's marking triggers cost a vote (issue 26, goal 4).

    uv run python -m bench.marks_cost --rounds 4

A throw-away PostgreSQL seeded with ``bench/seed.py`` (1×), then ``--clients`` connections each casting
``--votes`` votes by SQL, each vote inserted and then deleted in autocommit, with the ``votes`` table's
marking triggers enabled and disabled in alternation, round after round. Printed per run: writes/s and
PostgreSQL's CPU per write; the difference is what the marks cost each write.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg

from bench.pg import throwaway_cluster
from bench.run import JWT_SECRET, CpuMeter, migrate
from bench.seed import seed

DATABASE = "podium_marks"
TRIGGERS = ("votes_insert_marks_lists", "votes_delete_marks_lists", "votes_update_marks_lists")


async def _votes(dsn: str, info: dict[str, Any], clients: int, per_client: int) -> float:
    voters, projects = info["pool_user_ids"]["voters"], info["project_ids"]

    async def client(i: int) -> None:
        connection = await asyncpg.connect(dsn)
        rng = random.Random(i)
        try:
            for k in range(per_client):
                vote = str(uuid4())
                await connection.execute(
                    "INSERT INTO votes (id, voter_id, project_id, event_id) VALUES ($1, $2, $3, $4)",
                    vote,
                    voters[(i * per_client + k) % len(voters)],
                    rng.choice(projects),
                    info["event_id"],
                )
                await connection.execute("DELETE FROM votes WHERE id = $1", vote)
        finally:
            await connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    return clients * per_client * 2 / (time.perf_counter() - started)


async def _run(dsn: str, meter: CpuMeter, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="podium-marks-bench-") as out:
        info = await seed(dsn, scale=1, attend_pool=10, out=Path(out), secret=JWT_SECRET)
    connection = await asyncpg.connect(dsn)
    try:
        for round_ in range(args.rounds):
            for on in (True, False) if round_ % 2 == 0 else (False, True):
                for trigger in TRIGGERS:
                    await connection.execute(
                        f"ALTER TABLE votes {'ENABLE' if on else 'DISABLE'} TRIGGER {trigger}"
                    )
                meter.reset()
                rate = await _votes(dsn, info, args.clients, args.votes)
                _, postgres, _ = meter.used()
                writes = args.clients * args.votes * 2
                print(
                    f"round {round_ + 1} marks {'on ' if on else 'off'}: {rate:7.1f} writes/s, "
                    f"PostgreSQL CPU {postgres * 1000 / writes:.3f} ms per write",
                    flush=True,
                )
    finally:
        await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--votes", type=int, default=400, help="votes per client and run")
    parser.add_argument("--pg", choices=("auto", "pg15", "embedded"), default="auto")
    args = parser.parse_args()
    with throwaway_cluster(args.pg) as cluster:
        cluster.create_database(DATABASE)
        migrate(cluster, DATABASE)
        # No server: the meter counts PostgreSQL's processes only.
        asyncio.run(_run(cluster.dsn(DATABASE), CpuMeter(-1, cluster), args))


if __name__ == "__main__":
    main()
