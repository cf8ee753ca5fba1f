"""The whole benchmark in one command: database, dataset, servers, every scenario, table, JSON, clean-up.

    uv run python -m bench.run                          # 1× dataset, 1 worker, 10 s a scenario
    uv run python -m bench.run --scale 1 10 --workers 1 2 --cache both
    uv run python -m bench.run --scenarios leaderboard,vote --duration 5 --no-ceiling --no-cold-start

Steps: (1) wrk's own ceiling against a canned-response server; (2) a throw-away PostgreSQL cluster
(Debian's 15 if installed, else the embedded wheel's) on a free loopback port in a temp directory;
(3) per scale: a database migrated with ``podium db upgrade`` and seeded by ``bench.seed``; (4) per worker
count and round (``--rounds``), each mode in turn — ``podium serve --workers N`` with ``PODIUM_DATABASE_URL``
(and ``PODIUM_LEADERBOARD_CACHE=false`` for ``--cache off``; triggers off or a mechanism switched off, if
asked) running every API scenario — and ``bench.floor`` under uvicorn with the same worker count, in reverse
order on odd rounds; the vote and attend scenarios' rows are deleted again afterwards (and
the schema's triggers move the event's version, so no cache can keep them), so each scenario sees the seeded dataset;
(5) cold start of ``podium serve`` on the embedded default to ``GET /health`` → 200, with a fresh and then
an existing data directory. Every process it starts is stopped before it exits (also on Ctrl-C).
Results: a table on stdout and ``bench/results/run-<time>.json`` (+ ``latest.json``); server logs in
``bench/results/logs/``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import asyncpg

from bench.load import (
    DEFAULT_ORDER,
    RESULTS,
    SCENARIOS,
    Request,
    Result,
    Scenario,
    ceiling,
    format_table,
    measure,
    probe,
)
from bench.pg import Cluster, free_port, throwaway_cluster
from bench.seed import seed
from podium.mechanisms import MECHANISMS

ROOT = Path(__file__).resolve().parent.parent
LOGS = RESULTS / "logs"
VENV_BIN = Path(sys.executable).parent
JWT_SECRET = "podium-bench-secret-not-for-production-0123456789"


def podium_command() -> list[str]:
    """The command that runs this checkout's ``podium`` CLI (the venv's script, else ``uv run``)."""
    script = VENV_BIN / "podium"
    return [str(script)] if script.exists() else ["uv", "run", "podium"]


def wait_healthy(url: str, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> float | None:
    """Seconds until ``GET url`` answers 200, or None on timeout / process exit."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if proc is not None and proc.poll() is not None:
            return None
        with contextlib.suppress(OSError, urllib.error.URLError), urllib.request.urlopen(url, timeout=1) as r:
            if r.status == 200:
                return time.perf_counter() - t0
        time.sleep(0.01)
    return None


def stop_group(proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """Stop a server started in its own session: SIGTERM its process group, SIGKILL if it lingers."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    # Workers left behind by a dead parent still carry the group id.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


@contextlib.contextmanager
def server(
    cmd: Sequence[str], env: dict[str, str], log_name: str, port: int, cwd: Path = ROOT, timeout: float = 60.0
) -> Iterator[tuple[str, int]]:
    """Start a server in its own session; yield (base URL, session id) once /health answers 200."""
    LOGS.mkdir(parents=True, exist_ok=True)
    log = (LOGS / f"{log_name}.log").open("wb")
    proc = subprocess.Popen(
        list(cmd), env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        if wait_healthy(base + "/health", timeout, proc) is None:
            raise RuntimeError(f"{log_name} did not become healthy; see {LOGS / (log_name + '.log')}")
        yield base, proc.pid
    finally:
        stop_group(proc)
        log.close()


def migrate(cluster: Cluster, database: str) -> str:
    env = {
        **os.environ,
        "PODIUM_DATABASE_URL": cluster.sqlalchemy_url(database),
        "PODIUM_JWT_SECRET": JWT_SECRET,
    }
    r = subprocess.run(
        [*podium_command(), "db", "upgrade"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    if r.returncode != 0:
        raise RuntimeError(f"podium db upgrade failed:\n{r.stdout}\n{r.stderr}")
    return "podium db upgrade"


STATS_SQL = """
select calls, round(total_exec_time::numeric, 1) as total_ms, round(mean_exec_time::numeric, 3) as mean_ms,
       rows, left(regexp_replace(query, '\\s+', ' ', 'g'), 200) as query
from pg_stat_statements
where dbid = (select oid from pg_database where datname = current_database())
  and query not ilike '%pg_stat_statements%'
order by total_exec_time desc
"""


class StatementStats:
    """Counts the statements the server under test sends PostgreSQL during one measurement."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn

    async def _run(self, sql: str) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.dsn)
        try:
            return list(await conn.fetch(sql))
        finally:
            await conn.close()

    def reset(self) -> None:
        asyncio.run(self._run("select pg_stat_statements_reset()"))

    def attach(self, res: Result) -> None:
        rows = asyncio.run(self._run(STATS_SQL))
        calls = sum(int(r["calls"]) for r in rows)
        if res.total_requests:
            res.statements_per_req = round(calls / res.total_requests, 2)
        res.top_statements = [
            {
                "calls_per_req": round(int(r["calls"]) / max(1, res.total_requests), 2),
                "mean_ms": float(r["mean_ms"]),
                "total_ms": float(r["total_ms"]),
                "rows": int(r["rows"]),
                "query": r["query"],
            }
            for r in rows[:6]
        ]


_TICK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def proc_table() -> list[tuple[int, int, int, int, int]]:
    """(pid, ppid, session, utime+stime, cutime+cstime) in ticks for every process, from /proc."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()  # after "pid (comm) "
        out.append(
            (
                int(entry),
                int(fields[1]),
                int(fields[3]),
                int(fields[11]) + int(fields[12]),
                int(fields[13]) + int(fields[14]),
            )
        )
    return out


def cpu_seconds(pid: int | None) -> float:
    """A process's CPU seconds so far (user + system), from /proc (0 once it has exited)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = raw[raw.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def resident_bytes(pid: int) -> int:
    """A process's resident set in bytes, from /proc (0 once it has exited)."""
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE
    except OSError:
        return 0


class CpuMeter:
    """CPU seconds used by the server under test (its session) and by the PostgreSQL cluster."""

    def __init__(self, server_sid: int, cluster: Cluster) -> None:
        self.server_sid = server_sid
        self.postmaster = int((cluster.data_dir / "postmaster.pid").read_text().split()[0])
        self.start: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def _sample(self) -> tuple[float, float, float]:
        server = pg = 0
        for pid, ppid, sid, ticks, reaped in proc_table():
            if sid == self.server_sid:
                server += ticks + reaped
            elif pid == self.postmaster:
                pg += ticks + reaped  # reaped: backends that exited (pool churn) keep counting
            elif ppid == self.postmaster:
                pg += ticks
        children = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk, once it has been waited for
        return server / _TICK, pg / _TICK, children.ru_utime + children.ru_stime

    def reset(self) -> None:
        self.start = self._sample()

    def used(self) -> tuple[float, float, float]:
        """CPU seconds (server, postgres, wrk) since ``reset``."""
        end = self._sample()
        return (end[0] - self.start[0], end[1] - self.start[1], end[2] - self.start[2])

    def attach(self, res: Result) -> None:
        end = self._sample()
        n = max(1, res.total_requests)
        res.cpu_ms_per_req = {
            name: round((b - a) * 1000 / n, 3)
            for name, a, b in zip(("server", "postgres", "wrk"), self.start, end, strict=True)
        }


def _reset_all(stats: StatementStats, cpu: CpuMeter) -> None:
    stats.reset()
    cpu.reset()


async def reset(dsn: str, seed_info: dict[str, Any], scenario: str) -> None:
    """Undo what the vote / attend / verify scenario wrote, in one transaction (the schema's triggers move the event's
    listing version, so no cache keeps the undone rows)."""
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            if scenario == "vote":
                ids = seed_info["pool_user_ids"]["voters"]
                await conn.execute("delete from votes where voter_id = any($1::uuid[])", ids)
            elif scenario == "attend":
                ids = seed_info["pool_user_ids"]["joiners"]
                await conn.execute("delete from referrals where user_id = any($1::uuid[])", ids)
                await conn.execute("delete from event_attendees where user_id = any($1::uuid[])", ids)
                # The join limiter's counters live in the database too; start the next run with none.
                await conn.execute("delete from rate_limit_hits")
            elif scenario == "verify":
                await conn.execute("delete from consumed_magic_links")
                await conn.execute("delete from rate_limit_hits")
    finally:
        await conn.close()


async def expected_leaderboard(dsn: str, event_id: str) -> list[tuple[str, int]]:
    from bench.floor import LEADERBOARD_SQL

    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(LEADERBOARD_SQL, uuid.UUID(event_id))
    finally:
        await conn.close()
    return [(r["id"], r["points"]) for r in rows]


def check_exact(base: str, dsn: str, event_id: str, settle_s: float = 1.0) -> str:
    """Does the API's leaderboard, read now, equal the database's (ids, order and points)?

    Waits ``settle_s`` first (requests wrk abandoned at the end of a run may still be committing), then
    reads the database, the API, and the database again; a verdict needs the two database reads to agree.
    """
    time.sleep(settle_s)
    before = asyncio.run(expected_leaderboard(dsn, event_id))
    status, body, _ = probe(base, Request("GET", f"/events/{event_id}/projects?leaderboard=true"))
    after = asyncio.run(expected_leaderboard(dsn, event_id))
    if status != 200:
        return f"leaderboard answered {status}"
    if before != after:
        return "database still changing: no verdict"
    got = [(str(p["id"]), int(p["points"])) for p in json.loads(body)]
    if got == before:
        return "exact"
    points_got, points_want = dict(got), dict(before)
    wrong = sum(1 for k, v in points_want.items() if points_got.get(k) != v)
    if wrong:
        return f"STALE: {wrong} of {len(before)} projects have wrong points"
    return "points exact, order differs from (points desc, name, id)"


def drain(base: str, event_id: str, timeout: float = 120.0) -> float:
    """Wait until the server has worked off requests wrk abandoned (a DB-backed GET answers 200 in < 1 s).

    Without this a slow scenario's backlog (its requests outlive wrk's run) would be charged to the next
    scenario, or fail its probe. Returns the seconds waited.
    """
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        t = time.perf_counter()
        status, _, _ = probe(base, Request("GET", f"/events/{event_id}"), timeout=timeout)
        if status == 200 and time.perf_counter() - t < 1.0:
            break
        time.sleep(0.5)
    return time.perf_counter() - t0


def run_api(
    cluster: Cluster,
    database: str,
    seed_info: dict[str, Any],
    scenarios: Sequence[str],
    *,
    workers: int,
    cache: str,
    args: argparse.Namespace,
    tag: str,
    without: str = "",
) -> list[Result]:
    port = free_port()
    env = {
        **os.environ,
        # A speed mechanism switched off for this run (podium.mechanisms); empty: everything on.
        "PODIUM_BENCH_WITHOUT": without if without in MECHANISMS else "",
        "PODIUM_DATABASE_URL": cluster.sqlalchemy_url(database),
        "PODIUM_JWT_SECRET": JWT_SECRET,
        "PODIUM_LEADERBOARD_CACHE": "true" if cache == "on" else "false",
        "PODIUM_LOG_LEVEL": "WARNING",
        "PODIUM_ENV": "production",
        # Production refuses to start without a mail provider and a public frontend URL; the bench mails
        # nothing, so it chooses the log on purpose.
        "PODIUM_MAILER": "console",
        "PODIUM_PRODUCTION_URL": "https://bench.podium.invalid",
    }
    cmd = [*podium_command(), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    dsn, event = cluster.dsn(database), seed_info["event_id"]

    def check(base: str, scenario: Scenario, res: Result) -> None:
        """The API's own checks: the server has drained, and the leaderboard it serves is exact."""
        waited = drain(base, event)
        if waited > 2:
            res.note = (res.note + "; " if res.note else "") + f"server busy {waited:.0f} s after the run"
        if scenario.name == "leaderboard" and res.probe_status == 200:
            res.note = "leaderboard: " + check_exact(base, dsn, event)
        if scenario.once:
            after = check_exact(base, dsn, event)
            asyncio.run(reset(dsn, seed_info, scenario.name))
            after_reset = check_exact(base, dsn, event)
            res.note = (res.note + "; " if res.note else "") + (
                f"leaderboard after: {after}, after reset: {after_reset}"
            )

    return _serve_and_measure(
        cluster, database, seed_info, scenarios, cmd, env, f"api-{tag}", port, args, check
    )


def run_floor(
    cluster: Cluster,
    database: str,
    seed_info: dict[str, Any],
    scenarios: Sequence[str],
    *,
    workers: int,
    args: argparse.Namespace,
    tag: str,
) -> list[Result]:
    port = free_port()
    env = {**os.environ, "BENCH_FLOOR_DSN": cluster.dsn(database), "BENCH_FLOOR_JWT_SECRET": JWT_SECRET}
    dsn = cluster.dsn(database)

    def check(base: str, scenario: Scenario, res: Result) -> None:
        """The floor's writes are undone too, so every scenario sees the seeded dataset."""
        if scenario.once:
            asyncio.run(reset(dsn, seed_info, "vote" if scenario.name == "floor_vote" else scenario.name))

    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.floor:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-access-log",
        "--log-level",
        "warning",
        "--loop",
        "uvloop",
        "--http",
        "httptools",
    ]
    return _serve_and_measure(
        cluster, database, seed_info, scenarios, cmd, env, f"floor-{tag}", port, args, check
    )


def _serve_and_measure(
    cluster: Cluster,
    database: str,
    seed_info: dict[str, Any],
    scenarios: Sequence[str],
    cmd: list[str],
    env: dict[str, str],
    label: str,
    port: int,
    args: argparse.Namespace,
    check: Callable[[str, Scenario, Result], None] | None = None,
) -> list[Result]:
    """Start a server, run each scenario against it (with SQL and CPU accounting), then stop it."""
    out: list[Result] = []
    stats = StatementStats(cluster.dsn(database))
    with server(cmd, env, label, port) as (base, sid):
        cpu = CpuMeter(sid, cluster)
        for name in scenarios:
            scenario = SCENARIOS[name]
            res = measure(
                scenario,
                base,
                seed_info,
                duration=args.duration,
                connections=args.connections,
                threads=args.threads,
                warmup=args.warmup,
                repeat=args.repeat,
                before_run=lambda: _reset_all(stats, cpu),
            )
            if res.total_requests:
                cpu.attach(res)
                stats.attach(res)
            if check is not None:
                check(base, scenario, res)
            print(format_table([res]).splitlines()[-1], flush=True)
            out.append(res)
    return out


LISTED_TABLES = (
    "projects",
    "votes",
    "project_collaborators",
    "event_attendees",
    "referrals",
    "users",
    "events",
)


@contextlib.contextmanager
def listing_triggers(cluster: Cluster, database: str, *, enabled: bool) -> Iterator[None]:
    """With ``enabled=False``, the listing triggers (migration 0004) are off for the block: what writes cost
    without them. Caches are not exact meanwhile, which the write scenarios' checks then report."""
    if enabled:
        yield
        return
    switch = "; ".join(f"alter table {t} {{}} trigger user" for t in LISTED_TABLES)
    cluster.psql(database, switch.format(*(["disable"] * len(LISTED_TABLES))))
    try:
        yield
    finally:
        cluster.psql(database, switch.format(*(["enable"] * len(LISTED_TABLES))))


# bench-only: the listing triggers' counter slots (migration 0004), collapsed to one row per event.
VERSION_SLOTS = "version_slots"


@contextlib.contextmanager
def one_version_slot(cluster: Cluster, database: str, *, active: bool) -> Iterator[None]:
    """With ``active``, every bump of an event's listing version goes to one counter row (slot 0) for
    the block, instead of one of 16 chosen by transaction id: what the slots earn under concurrent writes."""
    if not active:
        yield
        return
    definition = cluster.psql(
        database, "select pg_get_functiondef('podium_bump_listings(uuid[])'::regprocedure)"
    ).strip()
    sharded = "(txid_current() % 16)"
    if sharded not in definition:
        raise RuntimeError("podium_bump_listings no longer picks a slot by txid % 16: update bench/run.py")
    cluster.psql(database, definition.replace(sharded, "0"))
    try:
        yield
    finally:
        cluster.psql(database, definition)


def ratios(report: dict[str, Any]) -> list[str]:
    """vote against the vote floor, each write with its triggers against without, and each scenario with
    a speed mechanism against without it, per run group. With ``--rounds`` > 1 every ratio is taken
    within one round and the median of the rounds is printed, with their range: a busy machine slows both
    sides of a round alike, and the order of a round's runs alternates from round to round."""
    rates: dict[tuple[Any, ...], float] = {}
    for run in report["runs"]:
        for res in run["results"]:
            if run.get("without"):
                continue
            key = (run["scale"], run["workers"], run.get("cache"), run.get("triggers"), res["scenario"])
            rates[(*key, run.get("round", 0))] = res["req_s"]
    found: dict[str, list[float]] = {}

    def note(line: str, ratio: float) -> None:
        found.setdefault(line, []).append(ratio)

    for (scale, workers, cache, triggers, scenario, round_), rate in rates.items():
        floor = rates.get((scale, workers, None, None, "floor_vote", round_))
        if scenario == "vote" and triggers == "on" and floor:
            note(f"x{scale} w{workers} cache {cache}: vote / floor_vote", rate / floor)
        without = rates.get((scale, workers, cache, "off", scenario, round_))
        if triggers == "on" and without:
            note(f"x{scale} w{workers} cache {cache}: {scenario} with triggers / without", rate / without)
    for run in report["runs"]:
        for res in run["results"] if run.get("without") else []:
            with_it = (run["scale"], run["workers"], run["cache"], "on", res["scenario"], run.get("round", 0))
            if rates.get(with_it) and res["req_s"]:
                note(
                    f"x{run['scale']} w{run['workers']} cache {run['cache']}: {res['scenario']} with "
                    f"{run['without']} / without",
                    rates[with_it] / res["req_s"],
                )
    lines = []
    for line, values in found.items():
        spread = f" (rounds {min(values):.2f}–{max(values):.2f})" if len(values) > 1 else ""
        lines.append(f"{line} = {statistics.median(values):.2f}{spread}")
    return ["ratios\n" + "\n".join(lines)] if lines else []


def cold_start(timeout: float = 60.0) -> dict[str, Any]:
    """``podium serve`` on the embedded default: seconds to a 200 from /health, fresh then existing data."""
    out: dict[str, Any] = {"command": " ".join([*podium_command(), "serve"])}
    tmp = Path(tempfile.mkdtemp(prefix="podium-bench-cold-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    env |= {"PODIUM_JWT_SECRET": JWT_SECRET, "PODIUM_LOG_LEVEL": "WARNING"}
    try:
        for label in ("fresh_s", "existing_s"):
            port = free_port()
            LOGS.mkdir(parents=True, exist_ok=True)
            with (LOGS / f"cold-start-{label[:-2]}.log").open("wb") as log:
                proc = subprocess.Popen(
                    [*podium_command(), "serve", "--port", str(port)],
                    env=env,
                    cwd=tmp,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
                try:
                    took = wait_healthy(f"http://127.0.0.1:{port}/health", timeout, proc)
                finally:
                    t0 = time.perf_counter()
                    stop_group(proc, timeout=30)
                    out[label.replace("_s", "_stop_s")] = round(time.perf_counter() - t0, 2)
            out[label] = round(took, 2) if took is not None else None
            print(f"cold start ({label[:-2]} data directory): {out[label]} s to healthy", flush=True)
        leftovers = subprocess.run(["pgrep", "-f", str(tmp)], capture_output=True, text=True).stdout.split()
        out["orphans_after_stop"] = len(leftovers)
        for pid in leftovers:  # postgres processes of *this* temp data directory only
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _git_state() -> dict[str, Any]:
    """Which code was measured: the commit, and whether src/ had uncommitted changes."""

    def git(*cmd: str) -> str:
        r = subprocess.run(["git", *cmd], cwd=ROOT, capture_output=True, text=True, check=False)
        return r.stdout.strip()

    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "src_uncommitted_files": len(git("status", "--porcelain", "--", "src").splitlines()),
    }


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scale", type=int, nargs="+", default=[1], help="dataset multiplier(s): 1 = issue 6's")
    p.add_argument("--workers", type=int, nargs="+", default=[1], help="podium serve --workers value(s)")
    p.add_argument(
        "--cache", choices=("on", "off", "both"), default="on", help="off sets PODIUM_LEADERBOARD_CACHE=false"
    )
    p.add_argument(
        "--scenarios",
        default=",".join(DEFAULT_ORDER),
        help="comma-separated, from: " + ",".join(DEFAULT_ORDER),
    )
    p.add_argument("--duration", type=float, default=10.0, help="seconds per scenario")
    p.add_argument("--warmup", type=float, default=2.0, help="seconds of discarded load before a read")
    p.add_argument("--repeat", type=int, default=1, help="runs per read scenario; the median is reported")
    p.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run every API mode (cache, triggers, --without) and the floor this many times, interleaved; "
        "ratios are medians of per-round ratios (robust to a machine that is busy with other work)",
    )
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--threads", type=int, default=2, help="wrk threads")
    p.add_argument("--attend-pool", type=int, default=20_000)
    p.add_argument(
        "--vote-pool",
        type=int,
        default=20_000,
        help="attendees of the event who have not voted, beyond the seed's 3,000 per scale: the vote "
        "scenarios send each voter once, and the floor would run out of 3,000 in about two seconds",
    )
    p.add_argument("--pg", choices=("auto", "pg15", "embedded"), default="auto")
    p.add_argument("--no-ceiling", dest="ceiling", action="store_false")
    p.add_argument("--no-floor", dest="floor", action="store_false")
    p.add_argument(
        "--pg-config",
        choices=("tuned", "default"),
        default="tuned",
        help="default: initdb's settings, as an operator's first install runs (bench/pg.py)",
    )
    p.add_argument(
        "--triggers",
        choices=("on", "off", "both"),
        default="on",
        help="off: the write scenarios again with the listing triggers disabled (what they cost; reads "
        "would be stale, so only writes run that way)",
    )
    p.add_argument(
        "--without",
        default="",
        help="comma-separated speed mechanisms to measure: every API scenario again with each one switched "
        f"off, and the ratio printed; from: {','.join((*MECHANISMS, VERSION_SLOTS))} (podium/mechanisms.py)",
    )
    p.add_argument("--no-cold-start", dest="cold_start", action="store_false")
    p.add_argument("--keep-db", action="store_true", help="keep the throw-away cluster's directory")
    args = p.parse_args(argv)

    chosen = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SCENARIOS]
    if unknown:
        p.error(f"unknown scenarios {unknown}")
    if shutil.which("wrk") is None:
        p.error("wrk is not installed: apt-get install -y wrk")
    # Per mode: the reads, then the writers (each undone afterwards); the floor is a step of its own.
    api_reads = [s for s in chosen if SCENARIOS[s].target == "api" and not SCENARIOS[s].once]
    api_writes = [s for s in chosen if SCENARIOS[s].target == "api" and SCENARIOS[s].once]
    floor_names = [s for s in chosen if SCENARIOS[s].target == "floor"] if args.floor else []
    caches = ["on", "off"] if args.cache == "both" else [args.cache]
    withouts = [m.strip() for m in args.without.split(",") if m.strip()]
    if bad := sorted(set(withouts) - {*MECHANISMS, VERSION_SLOTS}):
        p.error(f"unknown mechanisms {bad}")

    stamp = time.strftime("%Y%m%d-%H%M%S")
    meta: dict[str, Any] = {
        "started": stamp,
        "argv": sys.argv[1:],
        "cpus": os.cpu_count(),
        **_git_state(),
        "connections": args.connections,
        "wrk_threads": args.threads,
        "duration_s": args.duration,
    }
    report: dict[str, Any] = {"meta": meta, "runs": []}
    tables: list[str] = []

    def save() -> Path:
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"run-{stamp}.json"
        path.write_text(json.dumps(report, indent=1))
        shutil.copyfile(path, RESULTS / "latest.json")
        return path

    def on_term(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt  # unwinds every context manager, which stops what it started

    signal.signal(signal.SIGTERM, on_term)

    if args.ceiling:
        print("== wrk ceiling", flush=True)
        res = ceiling(duration=min(args.duration, 5.0), connections=args.connections, threads=args.threads)
        report["ceiling"] = [asdict(r) for r in res]
        tables.append(format_table(res, "wrk's own ceiling (canned responses from bench/echo.py)"))
        print(tables[-1], flush=True)

    if api_reads or api_writes or floor_names:
        with throwaway_cluster(args.pg, keep=args.keep_db, tuned=args.pg_config == "tuned") as cluster:
            meta["pg_config"] = args.pg_config
            meta["postgres"] = cluster.psql("postgres", "show server_version").strip()
            for scale in args.scale:
                database = f"podium_bench_x{scale}"
                cluster.create_database(database)
                how = migrate(cluster, database)
                cluster.psql(database, "create extension if not exists pg_stat_statements")
                t0 = time.perf_counter()
                info = asyncio.run(
                    seed(
                        cluster.dsn(database),
                        scale=scale,
                        attend_pool=args.attend_pool,
                        vote_pool=args.vote_pool,
                        out=RESULTS / f"seed-x{scale}",
                        secret=JWT_SECRET,
                    )
                )
                print(
                    f"== scale {scale}×: migrated ({how}), seeded {info['counts']} in "
                    f"{time.perf_counter() - t0:.1f} s {info['timings_s']}",
                    flush=True,
                )
                modes = [(cache, "on", "") for cache in caches if args.triggers != "off"]
                if args.triggers != "on" and api_writes:
                    modes += [(cache, "off", "") for cache in caches]
                modes += [(caches[0], "on", mechanism) for mechanism in withouts]
                # Each round runs every mode and the floor (``None``), in turn; odd rounds in reverse
                # (A, B, floor, floor, B, A, …), so a machine that drifts during a round favours no side
                # of a ratio over the rounds, and each ratio compares runs of one round.
                steps: list[tuple[str, str, str] | None] = [*(modes if api_reads or api_writes else [])]
                steps += [None] if floor_names else []
                for workers in args.workers:
                    for round_ in range(args.rounds):
                        suffix = f"-round-{round_ + 1}" if args.rounds > 1 else ""
                        heading = f", round {round_ + 1}" if args.rounds > 1 else ""
                        for step in steps if round_ % 2 == 0 else steps[::-1]:
                            if step is None:
                                tag = f"x{scale}-w{workers}{suffix}"
                                print(f"== floor {tag}", flush=True)
                                results = run_floor(
                                    cluster, database, info, floor_names, workers=workers, args=args, tag=tag
                                )
                                run: dict[str, Any] = {"target": "floor"}
                                title = f"floor — scale {scale}×, {workers} worker(s){heading}"
                            else:
                                cache, triggers, without = step
                                tag = (
                                    f"x{scale}-w{workers}-cache-{cache}{suffix}"
                                    + ("-triggers-off" if triggers == "off" else "")
                                    + (f"-without-{without}" if without else "")
                                )
                                print(f"== API {tag}", flush=True)
                                with (
                                    listing_triggers(cluster, database, enabled=triggers == "on"),
                                    one_version_slot(cluster, database, active=without == VERSION_SLOTS),
                                ):
                                    results = run_api(
                                        cluster,
                                        database,
                                        info,
                                        api_reads + api_writes if triggers == "on" else api_writes,
                                        workers=workers,
                                        cache=cache,
                                        args=args,
                                        tag=tag,
                                        without=without,
                                    )
                                run = {
                                    "target": "api",
                                    "cache": cache,
                                    "triggers": triggers,
                                    "without": without,
                                    "seed": {"counts": info["counts"], "timings_s": info["timings_s"]},
                                }
                                title = (
                                    f"API — scale {scale}×, {workers} worker(s), cache {cache}"
                                    + (", TRIGGERS OFF" if triggers == "off" else "")
                                    + (f", WITHOUT {without}" if without else "")
                                    + heading
                                )
                            run |= {"scale": scale, "workers": workers, "round": round_}
                            run["results"] = [asdict(r) for r in results]
                            report["runs"].append(run)
                            tables.append(format_table(results, title))
                            save()

    if args.cold_start:
        print("== cold start of podium serve (embedded PostgreSQL)", flush=True)
        report["cold_start"] = cold_start()
        cs = report["cold_start"]
        tables.append(
            f"cold start to healthy: fresh data dir {cs['fresh_s']} s, existing {cs['existing_s']} s "
            f"(targets ≤ 6 s / ≤ 3 s); orphans after stop: {cs['orphans_after_stop']}"
        )

    tables.extend(ratios(report))
    path = save()
    print()
    print(
        f"code: commit {meta['commit']}, {meta['src_uncommitted_files']} uncommitted file(s) under src/; "
        f"1-minute load average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    )
    print("\n\n".join(tables))
    print(f"\nJSON: {path}")


if __name__ == "__main__":
    main()
