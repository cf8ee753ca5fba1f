"""Peak memory of the organiser's CSV exports (issue 15) at the 1× and the 10× benchmark dataset.

Starts a throw-away PostgreSQL cluster (``bench/pg.py``), and per scale a database migrated to head and
seeded by ``bench/seed.py``. Each export of the big event then runs in a fresh Python process, through the
same code the route runs (``ExportService`` and the streamed CSV body), dropping each chunk; that process
prints its peak RSS before and after the export. Flat memory from 1× to 10× means the export streams.

    uv run python -m bench.export_bench                # 1× and 10×, every export
    uv run python -m bench.export_bench --scale 1 --kinds leaderboard
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from uuid import UUID

KINDS = ("leaderboard", "votes", "attendees", "projects", "ysws")


def _peak_rss_mb() -> float:
    """This process's own peak resident set (``VmHWM``). Not ``getrusage``'s ``ru_maxrss``: Linux carries
    that over from the parent through fork and exec, and the parent here has just seeded the dataset."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _measure(url: str, event_id: str, kind: str) -> dict[str, object]:
    from podium.adapters.postgres.database import create_engine
    from podium.adapters.postgres.exports import PostgresExports
    from podium.adapters.postgres.uow import SqlAlchemyUnitOfWorkFactory
    from podium.config import Settings
    from podium.domain.models import User
    from podium.domain.services.exports import ExportService
    from podium.http.csv_stream import csv_chunks

    engine = create_engine(Settings(database_url=url, jwt_secret="bench"), url)
    service = ExportService(SqlAlchemyUnitOfWorkFactory(engine), PostgresExports(engine))
    admin = User(email="bench@bench.podium.invalid", first_name="B", is_superadmin=True)
    # Everything imported and the pool warmed: what the export itself adds comes after this.
    async with engine.connect():
        pass
    before = _peak_rss_mb()
    started = time.perf_counter()
    if kind == "ysws":
        export = await service.ysws_export(admin, UUID(event_id), None)
    else:
        export = await service.event_export(admin, UUID(event_id), kind)  # type: ignore[arg-type]
    size = lines = 0
    async for chunk in csv_chunks(export):  # each chunk is dropped once counted, as a socket would send it
        size += len(chunk)
        lines += chunk.count(b"\r\n")
    seconds = time.perf_counter() - started
    await engine.dispose()
    return {
        "kind": kind,
        "rows": lines - 1,
        "mb": round(size / 1e6, 2),
        "seconds": round(seconds, 2),
        "rss_before_mb": round(before, 1),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
    }


def _run_one(url: str, event_id: str, kind: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.export_bench", "--measure", url, event_id, kind],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scale", type=int, nargs="+", default=[1, 10])
    p.add_argument("--kinds", default=",".join(KINDS))
    p.add_argument("--measure", nargs=3, metavar=("URL", "EVENT_ID", "KIND"), help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.measure:
        print(json.dumps(asyncio.run(_measure(*a.measure))))
        return

    from bench.pg import throwaway_cluster
    from bench.seed import seed
    from podium.adapters.postgres.database import upgrade

    kinds = [k for k in a.kinds.split(",") if k]
    print(f"{'scale':>5} {'export':<12} {'rows':>8} {'MB':>7} {'s':>6} {'RSS before':>11} {'peak RSS':>9}")
    with throwaway_cluster() as cluster, tempfile.TemporaryDirectory() as tmp:
        for scale in a.scale:
            name = f"exports{scale}"
            cluster.create_database(name)
            upgrade(cluster.sqlalchemy_url(name))
            info = asyncio.run(
                seed(cluster.dsn(name), scale=scale, attend_pool=0, out=Path(tmp) / name, secret="bench")
            )
            for kind in kinds:
                r = _run_one(cluster.sqlalchemy_url(name), info["event_id"], kind)
                print(
                    f"{scale:>4}× {kind:<12} {r['rows']:>8} {r['mb']:>7} {r['seconds']:>6}"
                    f" {r['rss_before_mb']:>9} MB {r['peak_rss_mb']:>6} MB",
                    flush=True,
                )


if __name__ == "__main__":
    main()
