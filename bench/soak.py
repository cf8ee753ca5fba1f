"""Prove nothing leaks: mixed traffic on ``podium serve --workers 2`` for a long while, the database
restarted once in the middle.

    uv run python -m bench.soak                  # 20 minutes (the issue's soak)
    uv run python -m bench.soak --minutes 3      # a quick look

Traffic, all on 127.0.0.1: ``--readers`` clients reading back to back (closed loop, so the reads never
outrun the box) over the public leaderboard and listing, the event, the current user and the organiser's
leaderboard and votes, each on a new connection every ``READS_PER_CONNECTION`` reads; votes and attends at
``--write-rate`` per second each, every one on a connection of its own (every vote a new voter/project
pair, every attend a new user from its own address); logins (magic links verified) at one per second.
Midway, ``pg_ctl restart -m fast``. New connections are what spread the traffic over the workers (the
kernel hands each to one of them): until they were used, a reader's one kept-alive connection could tie
all the reads to one worker for the whole run, and the other's RSS measured an idle process.

The votes are kept, so the event grows all along (from 6,000 to ~34,800 votes in two hours at 1×), and the
cached lists, which carry every vote (PRODUCT §3.15), grow with it. ``--steady SECONDS`` withdraws each
acknowledged vote that long after it (the API's ``DELETE /events/{id}/votes/{project}``): the same voting,
refreshing and re-encoding on an event whose size stays put, so what still grows is not the data — the leak
test of issue 26's goal 3:

    uv run python -m bench.soak --minutes 120 --workers 2 --readers 2 --every 20 --steady 10 --memwatch

Reported: each worker's RSS, its open connections to PostgreSQL and its CPU time after warm-up
(``--warmup``), just before the restart and at the end, and every ``--every`` minutes, with the growth from
warm-up to the end and over the second half (from before the restart: the last hour of a 2-hour run)
(issue 26's goal: within +3 % of the warm-up figure, and no longer growing in the last hour); every answer
by status (goal: no 500; 503s are expected while the database is down); and **acknowledged writes lost**:
every vote and attend answered 200 is looked up in the database at the end, and every withdrawal answered
200 must have left no vote (goal: 0). Results: stdout and ``bench/results/soak-<time>.json``.

``--memwatch`` also says where the memory is: each serving process records its RSS, Python's live blocks
and arenas, glibc's bytes in use and free, and its tracked objects every 30 s (bench/memwatch/), and the
summary shows the lowest of each per ``--every`` window — live data growing, or fragmentation left by peaks.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.load import RESULTS, client_address
from bench.pg import Cluster, free_port, run_pg, throwaway_cluster
from bench.run import JWT_SECRET, cpu_seconds, migrate, podium_command, server
from bench.seed import seed

MEMWATCH = Path(__file__).parent / "memwatch"
# The reads of the mix, by the names ``--skip-reads`` takes.
READ_NAMES = ("leaderboard", "listing", "event", "user", "admin_leaderboard", "admin_votes")
# A reader's reads on one connection before it opens a new one (a second or two of reading).
READS_PER_CONNECTION = 500
# The figures bench/memwatch/sitecustomize.py records, and their unit (RSS is in kB, the rest in bytes).
MEMWATCH_FIGURES = {
    "rss_kb": 1024,
    "py_live": 2**20,
    "py_arenas": 1,
    "c_in_use": 2**20,
    "c_free": 2**20,
    "c_heap": 2**20,
}


@dataclass
class Tally:
    statuses: Counter[str] = field(default_factory=Counter)  # "read 200", "vote 503", …
    acked_votes: list[tuple[str, str]] = field(default_factory=list)  # (voter id, project id)
    acked_withdrawals: set[tuple[str, str]] = field(default_factory=set)  # (voter id, project id)
    acked_attends: list[str] = field(default_factory=list)  # user ids
    acked_logins: int = 0


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    found.append(int(entry.name))
    return sorted(found)


def _rss_mb(pid: int) -> float | None:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return None


def _connections_to(pid: int, port: int) -> int:
    """Established TCP connections of ``pid`` whose remote port is ``port`` (the database's)."""
    inodes = set()
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
    count = 0
    for table in ("tcp", "tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
                parts = line.split()
                remote_port = int(parts[2].rsplit(":", 1)[1], 16)
                if remote_port == port and parts[3] == "01" and parts[9] in inodes:  # 01: ESTABLISHED
                    count += 1
    return count


def _is_worker(pid: int) -> bool:
    """uvicorn's workers are spawned processes; the supervisor's other child is multiprocessing's tracker."""
    with contextlib.suppress(OSError):
        return b"multiprocessing.spawn" in Path(f"/proc/{pid}/cmdline").read_bytes()
    return False


def snapshot(supervisor: int, db_port: int) -> dict[str, Any]:
    # ``--workers 1`` serves in the supervisor's own process: then it is the one worker.
    workers = [pid for pid in _children(supervisor) if _is_worker(pid)] or [supervisor]
    return {
        "t": round(time.monotonic(), 1),
        "workers": {
            str(pid): {
                "rss_mb": _rss_mb(pid),
                "db_connections": _connections_to(pid, db_port),
                "cpu_s": round(cpu_seconds(pid), 1),  # a worker that served little shows here
            }
            for pid in workers
        },
    }


class Traffic:
    def __init__(
        self,
        base: str,
        info: dict[str, Any],
        tally: Tally,
        *,
        hold: float = 0.0,
        skip: frozenset[str] = frozenset(),
    ) -> None:
        self.base, self.info, self.tally = base, info, tally
        self.hold = hold  # seconds before an acknowledged vote is withdrawn (0: never)
        tokens = {pool: Path(path).read_text().split() for pool, path in info["token_files"].items()}
        self.readers, self.admin = tokens["readers"], tokens["admin"][0]
        event = info["event_id"]
        reads = {
            "leaderboard": (f"/events/{event}/projects?leaderboard=true", None),
            "listing": (f"/events/{event}/projects?leaderboard=false", None),
            "event": (f"/events/{event}", None),
            "user": ("/users/current", "reader"),
            "admin_leaderboard": (f"/events/admin/{event}/leaderboard", "admin"),
            "admin_votes": (f"/events/admin/{event}/votes", "admin"),
        }
        assert set(reads) == set(READ_NAMES)
        self.reads = [read for name, read in reads.items() if name not in skip]
        # Each voter votes for up to three different projects (the quota at this size), one request each.
        projects = info["project_ids"]
        rng = random.Random(7)
        voters = list(zip(tokens["voters"], info["pool_user_ids"]["voters"], strict=True))
        self.votes = [
            (token, user_id, project) for token, user_id in voters for project in rng.sample(projects, 3)
        ]
        joiners = list(zip(tokens["joiners"], info["pool_user_ids"]["joiners"], strict=True))
        links = Path(info["magic_link_file"]).read_text().split()
        # Attends take joiners from the front, logins magic links from the back: no overlap.
        self.attends = joiners
        self.logins = list(reversed(links))
        # Every write on a connection of its own, as from many clients: whichever worker accepts it
        # answers it, so every worker writes (a kept-alive pool would tie the writes to the workers that
        # accepted its first few connections). Reads have their own connections (``reader``).
        self.client = httpx.AsyncClient(
            base_url=base, timeout=30.0, limits=httpx.Limits(max_connections=64, max_keepalive_connections=0)
        )

    async def _send(
        self,
        kind: str,
        method: str,
        path: str,
        token: str | None,
        client: httpx.AsyncClient | None = None,
        **kw: Any,
    ) -> int:
        headers = dict(kw.pop("headers", {}))
        if token:
            headers["Authorization"] = f"Bearer {token}"
        client = client or self.client
        try:
            response = await client.request(method, path, headers=headers, **kw)
            status = str(response.status_code)
        except httpx.HTTPError as exc:
            status = type(exc).__name__
        self.tally.statuses[f"{kind} {status}"] += 1
        return int(status) if status.isdigit() else 0

    async def paced(self, rate: float, until: float, one: Any) -> None:
        """Start ``one(i)`` ``rate`` times a second (open loop: a slow answer does not slow the arrivals)."""
        pending: set[asyncio.Task[Any]] = set()
        i, start = 0, time.monotonic()
        while time.monotonic() < until:
            task = asyncio.create_task(one(i))
            pending.add(task)
            task.add_done_callback(pending.discard)
            i += 1
            await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
        if pending:
            await asyncio.wait(pending, timeout=60)

    async def read(self, i: int, client: httpx.AsyncClient) -> None:
        path, who = self.reads[i % len(self.reads)]
        token = self.admin if who == "admin" else self.readers[i % len(self.readers)] if who else None
        await self._send("read", "GET", path, token, client)

    async def reader(self, n: int, until: float) -> None:
        """One client reading back to back until ``until``, on a new connection every
        ``READS_PER_CONNECTION`` reads: one connection kept for the whole run would tie the reader to the
        worker that accepted it, and leave another worker idle (and its memory unmeasured)."""
        i = n
        while time.monotonic() < until:
            async with httpx.AsyncClient(base_url=self.base, timeout=30.0) as client:
                for _ in range(READS_PER_CONNECTION):
                    if time.monotonic() >= until:
                        break
                    await self.read(i, client)
                    i += 7  # readers walk the mix out of step with each other

    async def close(self) -> None:
        await self.client.aclose()

    async def vote(self, i: int) -> None:
        if i >= len(self.votes):
            return
        token, user_id, project = self.votes[i]
        body = {"projects": [project], "event": self.info["event_id"]}
        if await self._send("vote", "POST", "/events/vote", token, json=body) != 200:
            return
        self.tally.acked_votes.append((user_id, project))
        if self.hold > 0:
            await asyncio.sleep(self.hold)
            path = f"/events/{self.info['event_id']}/votes/{project}"
            if await self._send("withdraw", "DELETE", path, token) == 200:
                self.tally.acked_withdrawals.add((user_id, project))

    async def attend(self, i: int) -> None:
        if i >= len(self.attends):
            return
        token, user_id = self.attends[i]
        path = f"/events/attend?join_code={self.info['event_join_code']}&referral=soak"
        headers = {"X-Forwarded-For": client_address(i)}
        if await self._send("attend", "POST", path, token, headers=headers) == 200:
            self.tally.acked_attends.append(user_id)

    async def login(self, i: int) -> None:
        if i >= len(self.logins):
            return
        headers = {"X-Forwarded-For": client_address(100_000 + i)}
        if await self._send("login", "GET", f"/verify?token={self.logins[i]}", None, headers=headers) == 200:
            self.tally.acked_logins += 1


def restart_database(cluster: Cluster) -> float:
    as_user = "postgres" if os.geteuid() == 0 else None
    t0 = time.monotonic()
    cmd = [
        str(cluster.bin_dir / "pg_ctl"),
        "-D",
        str(cluster.data_dir),
        # The server's output goes to its log, as at its first start (not to our pipe, which would stay open).
        "-l",
        str(cluster.data_dir.parent / "server.log"),
        "-m",
        "fast",
        "-w",
        "-t",
        "60",
        "restart",
    ]
    run_pg(cmd, as_user=as_user, cwd=cluster.data_dir.parent)
    return time.monotonic() - t0


async def lost_writes(dsn: str, event_id: str, tally: Tally) -> dict[str, int]:
    connection = await asyncpg.connect(dsn)
    try:
        votes = {
            (str(r["voter_id"]), str(r["project_id"]))
            for r in await connection.fetch(
                "SELECT voter_id, project_id FROM votes WHERE event_id = $1", event_id
            )
        }
        attendees = {
            str(r["user_id"])
            for r in await connection.fetch(
                "SELECT user_id FROM event_attendees WHERE event_id = $1", event_id
            )
        }
    finally:
        await connection.close()
    kept = [pair for pair in tally.acked_votes if pair not in tally.acked_withdrawals]
    return {
        "votes_acknowledged": len(tally.acked_votes),
        "votes_lost": sum(1 for pair in kept if pair not in votes),
        "withdrawals_acknowledged": len(tally.acked_withdrawals),
        "withdrawals_lost": sum(1 for pair in tally.acked_withdrawals if pair in votes),
        "attends_acknowledged": len(tally.acked_attends),
        "attends_lost": sum(1 for user in tally.acked_attends if user not in attendees),
    }


async def soak(
    args: argparse.Namespace, cluster: Cluster, database: str, info: dict[str, Any]
) -> dict[str, Any]:
    port = free_port()
    env = {
        **os.environ,
        "PODIUM_DATABASE_URL": cluster.sqlalchemy_url(database),
        "PODIUM_JWT_SECRET": JWT_SECRET,
        "PODIUM_LOG_LEVEL": "WARNING",
        "PODIUM_ENV": "production",
        "PODIUM_MAILER": "console",
        "PODIUM_PRODUCTION_URL": "https://bench.podium.invalid",
        # Logins come from many addresses (X-Forwarded-For); keep the per-email limit out of the way.
    }
    if args.memwatch:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(MEMWATCH), os.environ.get("PYTHONPATH")]))
        env["PODIUM_MEMWATCH"] = str(args.memwatch_prefix)
    cmd = [
        *podium_command(),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(args.workers),
    ]
    tally = Tally()
    report: dict[str, Any] = {
        "minutes": args.minutes,
        "workers": args.workers,
        "readers": args.readers,
        "write_rate": args.write_rate,
        "steady_hold_s": args.steady,
        "snapshots": {},
    }
    with server(cmd, env, "soak", port) as (base, supervisor):
        traffic = Traffic(base, info, tally, hold=args.steady, skip=args.skip_reads)
        duration = args.minutes * 60
        start = time.monotonic()
        end = start + duration
        warm = start + (args.warmup * 60 if args.warmup is not None else min(60.0, duration * 0.1))
        middle = start + duration / 2

        async def observer() -> None:
            await asyncio.sleep(max(0.0, warm - time.monotonic()))
            report["snapshots"]["after_warmup"] = snapshot(supervisor, cluster.port)
            print("after warm-up:", report["snapshots"]["after_warmup"], flush=True)
            await asyncio.sleep(max(0.0, middle - time.monotonic()))
            report["snapshots"]["middle"] = snapshot(supervisor, cluster.port)
            print("middle, before the restart:", report["snapshots"]["middle"], flush=True)
            report["restart_s"] = round(await asyncio.to_thread(restart_database, cluster), 2)
            print(f"database restarted in {report['restart_s']} s", flush=True)

        async def periodic() -> None:
            """RSS every ``--every`` minutes after the warm-up, to see whether growth has stopped."""
            if args.every <= 0:
                return
            tick = warm + args.every * 60
            while tick < end - 5:
                await asyncio.sleep(max(0.0, tick - time.monotonic()))
                label = f"at {round((tick - start) / 60, 1):g} min"  # one decimal: --every under a minute
                report["snapshots"][label] = snapshot(supervisor, cluster.port)
                print(f"{label}:", report["snapshots"][label], flush=True)
                tick += args.every * 60

        async def progress() -> None:
            while time.monotonic() < end:
                await asyncio.sleep(30)
                done = int(time.monotonic() - start)
                print(f"{done:>5} s  {dict(sorted(tally.statuses.items()))}", flush=True)

        await asyncio.gather(
            *(traffic.reader(n, end) for n in range(args.readers)),
            traffic.paced(args.write_rate, end, traffic.vote),
            traffic.paced(args.write_rate, end, traffic.attend),
            traffic.paced(1.0, end, traffic.login),
            observer(),
            periodic(),
            progress(),
        )
        await asyncio.sleep(2)  # let the pool settle after the last answers
        report["snapshots"]["end"] = snapshot(supervisor, cluster.port)
        await traffic.close()
    report["statuses"] = dict(sorted(tally.statuses.items()))
    report["logins_acknowledged"] = tally.acked_logins
    report["writes"] = await lost_writes(cluster.dsn(database), info["event_id"], tally)
    if args.memwatch:
        report["memwatch"] = memwatch_windows(args.memwatch_prefix, args.every or 10.0)
    return report


def memwatch_windows(prefix: Path, minutes: float) -> dict[str, list[dict[str, float]]]:
    """Per serving process that took traffic, per window of ``minutes``: the lowest of each figure (between
    two list builds, so transient peaks do not hide a trend), in MB."""
    found: dict[str, list[dict[str, float]]] = {}
    for path in sorted(prefix.parent.glob(prefix.name + ".*")):
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        windows: dict[int, list[dict[str, Any]]] = {}
        for row in rows:
            windows.setdefault(int(row["t"] // (minutes * 60)), []).append(row)
        found[path.suffix[1:]] = [
            {
                "from_min": key * minutes,
                **{
                    name: round(min(row.get(name, 0) for row in group) / scale, 1)
                    for name, scale in MEMWATCH_FIGURES.items()
                },
                "objects": min(row["objects"] for row in group),
            }
            for key, group in sorted(windows.items())
        ]
    return found


def summary(report: dict[str, Any]) -> str:
    lines = [
        f"soak: {report['minutes']} min, serve --workers {report['workers']}, {report['readers']} readers, "
        f"{report['write_rate']} votes/s + attends/s, database restarted midway "
        f"({report.get('restart_s', '?')} s)",
        f"each acknowledged vote withdrawn {report['steady_hold_s']} s later: the event's votes stay flat"
        if report.get("steady_hold_s")
        else "votes kept: the event grows all along",
    ]
    snaps = report["snapshots"]
    base = snaps.get("after_warmup", {}).get("workers", {})
    lines.append(
        f"{'worker':>8} {'RSS MB warm':>12} {'middle':>8} {'end':>8} {'growth':>7} {'2nd half':>8}"
        "   DB conns warm/middle/end   CPU s after warm-up"
    )
    for pid, first in base.items():
        middle = snaps.get("middle", {}).get("workers", {}).get(pid, {})
        last = snaps.get("end", {}).get("workers", {}).get(pid, {})
        # From warm-up to the end, and over the run's second half (the goal's "stopped growing").
        growth, second_half = (
            f"{(last['rss_mb'] / since['rss_mb'] - 1) * 100:+.1f}%"
            if last.get("rss_mb") and since.get("rss_mb")
            else "gone"
            for since in (first, middle)
        )
        lines.append(
            f"{pid:>8} {first['rss_mb']:>12.1f} {middle.get('rss_mb') or 0:>8.1f} {last.get('rss_mb') or 0:>8.1f} "
            f"{growth:>7} {second_half:>8}"
            f"   {first['db_connections']}/{middle.get('db_connections', '-')}/{last.get('db_connections', '-')}"
            + (f"   {last['cpu_s'] - first['cpu_s']:.0f}" if "cpu_s" in first and "cpu_s" in last else "")
        )
    periodic = [label for label in snaps if label.startswith("at ")]
    if periodic:
        lines.append("RSS MB over time: " + ", ".join(["warm-up", *periodic, "end"]))
        for pid, first in base.items():
            series = [first["rss_mb"]] + [
                snaps[label].get("workers", {}).get(pid, {}).get("rss_mb") for label in [*periodic, "end"]
            ]
            lines.append(f"{pid:>8} " + " ".join(f"{v:>7.1f}" if v else "   gone" for v in series))
    replaced = set(snaps.get("end", {}).get("workers", {})) - set(base)
    if replaced:
        lines.append(f"workers started during the soak (a worker died): {sorted(replaced)}")
    lines.append("answers: " + ", ".join(f"{key}: {value}" for key, value in report["statuses"].items()))
    w = report["writes"]
    lines.append(
        f"acknowledged writes lost: {w['votes_lost']} of {w['votes_acknowledged']} votes, "
        f"{w['withdrawals_lost']} of {w['withdrawals_acknowledged']} withdrawals, "
        f"{w['attends_lost']} of {w['attends_acknowledged']} attends; logins answered 200: "
        f"{report['logins_acknowledged']}"
    )
    fives = sum(v for k, v in report["statuses"].items() if k.endswith(" 500"))
    lines.append(f"500s: {fives}")
    for pid, windows in report.get("memwatch", {}).items():
        lines.append(
            f"memwatch {pid} (lowest per window, MB): from min / RSS / Python live / Python arenas / "
            "C in use / C free / C heap"
        )
        for w in windows:
            lines.append(
                f"{w['from_min']:>8.0f} "
                + " ".join(f"{w[name]:>9.1f}" for name in MEMWATCH_FIGURES)
                + f"  objects {w['objects']}"
            )
    return "\n".join(lines)


@contextlib.contextmanager
def _dataset(args: argparse.Namespace) -> Iterator[tuple[Cluster, str, dict[str, Any]]]:
    with throwaway_cluster(args.pg) as cluster:
        database = "podium_soak"
        cluster.create_database(database)
        migrate(cluster, database)
        needed = int(args.write_rate * args.minutes * 60 * 1.2) + 100
        info = asyncio.run(
            seed(
                cluster.dsn(database),
                scale=args.scale,
                attend_pool=max(needed, 2_000),
                # Fresh voters (three votes each) for the whole run: the event keeps growing to the end.
                vote_pool=needed // 3 + 1,
                out=RESULTS / "seed-soak",
                secret=JWT_SECRET,
            )
        )
        yield cluster, database, info


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=20.0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--every", type=float, default=10.0, help="minutes between RSS snapshots (0: none)")
    p.add_argument(
        "--skip-reads",
        default="",
        help=f"reads left out of the mix, comma-separated, from: {', '.join(READ_NAMES)} (to find which one a"
        " growth follows)",
    )
    p.add_argument(
        "--warmup",
        type=float,
        default=None,
        help="minutes before the warm-up snapshot, the base of the growth (default: 1, or a tenth of a"
        " shorter run); each worker fills its caches when it first serves each list",
    )
    p.add_argument("--readers", type=int, default=4, help="clients reading back to back")
    p.add_argument("--write-rate", type=float, default=4.0, help="votes per second, and attends per second")
    p.add_argument("--scale", type=int, default=1)
    p.add_argument(
        "--steady",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="withdraw each acknowledged vote this long after it (the API's DELETE): steady voting on an "
        "event that does not grow; 0 (the default): votes are kept and the event grows all along",
    )
    p.add_argument("--pg", choices=["auto", "pg15", "embedded"], default="auto")
    p.add_argument(
        "--memwatch",
        action="store_true",
        help="each serving process records where its memory is (bench/memwatch/sitecustomize.py)",
    )
    args = p.parse_args(argv)
    args.skip_reads = frozenset(args.skip_reads.split(",")) - {""}
    if unknown := sorted(args.skip_reads - set(READ_NAMES)):
        p.error(f"--skip-reads: unknown {unknown}; known: {', '.join(READ_NAMES)}")
    if args.warmup is not None and not 0 <= args.warmup < args.minutes / 2:
        p.error("--warmup: from 0 to under half of --minutes (the middle snapshot comes after it)")
    args.memwatch_prefix = RESULTS / f"memwatch-{time.strftime('%Y%m%d-%H%M%S')}" / "process"
    if args.memwatch:
        args.memwatch_prefix.parent.mkdir(parents=True, exist_ok=True)
    with _dataset(args) as (cluster, database, info):
        votes_possible = 3 * len(info["pool_user_ids"]["voters"])
        if votes_possible < args.write_rate * args.minutes * 60:
            print(
                f"note: only {votes_possible} distinct votes are possible at this scale; vote traffic stops then"
            )
        report = asyncio.run(soak(args, cluster, database, info))
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"soak-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(report, indent=1))
    print(summary(report))
    print(f"JSON: {path}")


if __name__ == "__main__":
    main()
