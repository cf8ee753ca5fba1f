"""The load driver: Debian's ``wrk`` (C, epoll) driven by ``bench/lua/scenario.lua``, one run per scenario.

Each scenario is a list of fully-formed requests (method, path, bearer token, body) written to a file that
the Lua script pre-formats once per wrk thread, so generating a request costs wrk a table lookup. Read
scenarios cycle over their requests for ``--duration`` seconds (after a short warm-up); the vote and attend
scenarios send every request once — each from a different pre-seeded user with a pre-minted token — and
stop early if the pool runs out, with req/s computed over the time actually spent.

Latencies are wrk's (per request, from write to full response, over all connections). "errors" counts
every response that is not 2xx plus socket errors and timeouts. ``--ceiling`` measures wrk's own ceiling
against ``bench/echo.py`` (a canned-response uvloop server) with a 2-byte and a 160 KB body.

    uv run python -m bench.load --seed bench/results/seed/seed.json --api http://127.0.0.1:8000 \\
        [--floor http://127.0.0.1:8001] [--scenarios leaderboard,vote] [--duration 10]

``bench/run.py`` does all of this (and the database, the servers and the resets) in one command.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

LUA = Path(__file__).with_name("lua") / "scenario.lua"
RESULTS = Path(__file__).with_name("results")


class Request(NamedTuple):
    method: str
    path: str
    token: str | None = None  # sent as "Authorization: Bearer <token>"
    body: str | None = None  # JSON
    headers: tuple[tuple[str, str], ...] = ()


Ok = ("2",)


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    build: Callable[[dict[str, Any]], list[Request]]
    once: bool = False  # each request sent once (mutating scenarios); else cycled for the duration
    target: str = "api"  # "api" or "floor"
    legacy_rps: float | None = None  # issue 6's legacy figures, for the comparison column
    legacy_p99_s: float | None = None
    # Re-send the probe's ETag as If-None-Match (a client that revalidates); 304 then counts as success.
    conditional: bool = False


def comparison_parser(description: str | None) -> argparse.ArgumentParser:
    """The options of a benchmark comparing set-ups in one run: seconds per measurement (at most 10, read
    back with ``min(args.duration, 10.0)``), wrk's connections and threads."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per measurement (at most 10)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    return parser


def _tokens(seed: dict[str, Any], pool: str) -> list[str]:
    return Path(seed["token_files"][pool]).read_text().split()


def _get(path: str) -> Callable[[dict[str, Any]], list[Request]]:
    def build(seed: dict[str, Any]) -> list[Request]:
        return [Request("GET", path.format(event=seed["event_id"]))]

    return build


def _get_as(path: str, pool: str) -> Callable[[dict[str, Any]], list[Request]]:
    def build(seed: dict[str, Any]) -> list[Request]:
        p = path.format(event=seed["event_id"])
        return [Request("GET", p, token) for token in _tokens(seed, pool)]

    return build


def _votes(seed: dict[str, Any]) -> list[Request]:
    rng = random.Random(6)
    projects, event = seed["project_ids"], seed["event_id"]
    return [
        Request(
            "POST", "/events/vote", token, json.dumps({"projects": [rng.choice(projects)], "event": event})
        )
        for token in _tokens(seed, "voters")
    ]


def _attends(seed: dict[str, Any]) -> list[Request]:
    path = f"/events/attend?join_code={seed['event_join_code']}&referral=bench"
    # Each joiner comes from its own address (X-Forwarded-For, which uvicorn trusts from 127.0.0.1), as
    # users on the internet do; from one address the per-client join limit would answer 429.
    return [
        Request("POST", path, token, headers=(("X-Forwarded-For", client_address(i)),))
        for i, token in enumerate(_tokens(seed, "joiners"))
    ]


def _verifies(seed: dict[str, Any]) -> list[Request]:
    # The login path: each magic link once, from its own address (the per-client login limit).
    links = Path(seed["magic_link_file"]).read_text().split()
    return [
        Request("GET", f"/verify?token={link}", headers=(("X-Forwarded-For", client_address(i)),))
        for i, link in enumerate(links)
    ]


def client_address(i: int) -> str:
    """The ``i``-th distinct client address a scenario sends as ``X-Forwarded-For`` (10.x.y.z)."""
    return f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"


LEADERBOARD = "/events/{event}/projects?leaderboard=true"
LISTING = "/events/{event}/projects?leaderboard=false"

SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "leaderboard",
            "GET /events/{id}/projects?leaderboard=true",
            _get(LEADERBOARD),
            legacy_rps=89,
            legacy_p99_s=0.80,
        ),
        Scenario(
            "leaderboard_304",
            "leaderboard with If-None-Match (revalidating client)",
            _get(LEADERBOARD),
            conditional=True,
        ),
        Scenario(
            "listing",
            "GET /events/{id}/projects?leaderboard=false",
            _get(LISTING),
            legacy_rps=88,
            legacy_p99_s=0.86,
        ),
        Scenario("event", "GET /events/{id}", _get("/events/{event}"), legacy_rps=115, legacy_p99_s=0.60),
        Scenario(
            "users_current",
            "GET /users/current",
            _get_as("/users/current", "readers"),
            legacy_rps=502,
            legacy_p99_s=0.22,
        ),
        Scenario(
            "events_mine", "GET /events/", _get_as("/events/", "readers"), legacy_rps=73, legacy_p99_s=0.84
        ),
        Scenario("projects_mine", "GET /projects/mine", _get_as("/projects/mine", "members")),
        Scenario(
            "admin_leaderboard",
            "GET /events/admin/{id}/leaderboard",
            _get_as("/events/admin/{event}/leaderboard", "admin"),
        ),
        Scenario(
            "admin_votes", "GET /events/admin/{id}/votes", _get_as("/events/admin/{event}/votes", "admin")
        ),
        Scenario(
            "admin_attendees",
            "GET /events/admin/{id}/attendees",
            _get_as("/events/admin/{event}/attendees", "admin"),
        ),
        Scenario(
            "floor_leaderboard",
            "floor: leaderboard (raw ASGI + asyncpg + msgspec)",
            _get(LEADERBOARD),
            target="floor",
        ),
        Scenario("floor_listing", "floor: listing (random order)", _get(LISTING), target="floor"),
        Scenario(
            "floor_leaderboard_lean",
            "floor: leaderboard, the 7 legacy fields only",
            _get("/lean" + LEADERBOARD),
            target="floor",
        ),
        Scenario(
            "floor_vote",
            "floor: vote (same checks, lock and insert: one statement, autocommit)",
            _votes,
            once=True,
            target="floor",
        ),
        Scenario(
            "vote",
            "POST /events/vote (fresh voter, 1 project)",
            _votes,
            once=True,
            legacy_rps=4.8,
            legacy_p99_s=10.0,
        ),
        Scenario(
            "attend",
            "POST /events/attend (fresh user, 5,000-attendee event)",
            _attends,
            once=True,
            legacy_rps=9,
        ),
        Scenario("verify", "GET /verify (fresh magic link: login)", _verifies, once=True),
    )
}
DEFAULT_ORDER = tuple(SCENARIOS)


@dataclass
class Result:
    scenario: str
    title: str
    target: str
    requests: int = 0
    duration_s: float = 0.0
    req_s: float = 0.0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    errors: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    socket_errors: dict[str, int] = field(default_factory=dict)
    response_bytes: int = 0
    probe_status: int = 0
    probe_body: str = ""
    exhausted: bool = False
    runs_req_s: list[float] = field(default_factory=list)  # every repetition; the row is the median one
    loadavg_before: float = 0.0  # 1-minute load average before the run: > ~0.5 means the box was busy
    total_requests: int = 0  # over every repetition (the denominator of statements_per_req)
    statements_per_req: float | None = None  # SQL statements (incl. BEGIN/COMMIT) per request, if known
    top_statements: list[dict[str, Any]] = field(default_factory=list)
    # CPU time per request (ms) of the server under test, of PostgreSQL and of wrk, over the measurement.
    cpu_ms_per_req: dict[str, float] = field(default_factory=dict)
    legacy_rps: float | None = None
    legacy_p99_s: float | None = None
    note: str = ""


def probe(
    base: str, req: Request, timeout: float = 30.0, extra: dict[str, str] | None = None
) -> tuple[int, bytes, dict[str, str]]:
    """Send one request with the standard library, to check the scenario works and size its response."""
    u = urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname or "127.0.0.1", u.port or 80, timeout=timeout)
    method, path, token, body, own = req
    headers = {"Content-Type": "application/json"} if body is not None else {"Content-Length": "0"}
    headers |= dict(own) | (extra or {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read(), {k.lower(): v for k, v in resp.getheaders()}
    except OSError as e:
        return 0, str(e).encode(), {}
    finally:
        conn.close()


def _write_requests(reqs: Sequence[Request], path: Path, extra: dict[str, str] | None = None) -> None:
    with path.open("w") as f:
        for method, p, token, body, own in reqs:
            hdrs = "|".join(f"{k}: {v}" for k, v in (*own, *(extra or {}).items())) or "-"
            f.write(f"{method}\t{p}\t{token or '-'}\t{hdrs}\t{body if body is not None else '-'}\n")


def run_wrk(
    base: str,
    reqs: Sequence[Request],
    *,
    once: bool,
    duration: float,
    connections: int,
    threads: int,
    timeout_s: float = 30.0,
    status_detail: bool = True,
    extra: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One wrk run; returns the JSON the Lua ``done()`` printed, plus ``exhausted`` for once-mode runs."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    threads = max(1, min(threads, connections))
    if once:
        threads = min(threads, len(reqs))
    elif len(reqs) < threads:
        reqs = list(reqs) * threads  # every wrk thread needs at least one request to cycle over
    with tempfile.TemporaryDirectory(prefix="podium-bench-") as tmp:
        reqfile = Path(tmp) / "requests.tsv"
        _write_requests(reqs, reqfile, extra)
        cmd = [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(duration))}s",
            f"--timeout={int(timeout_s)}s",
            "-s",
            str(LUA),
            base.rstrip("/"),
            "--",
            str(reqfile),
            "once" if once else "cycle",
            str(threads),
        ]
        env = {**os.environ, "BENCH_STATUS_DETAIL": "1" if status_detail else "0"}
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        exhausted: set[str] = set()
        stderr_lines: list[str] = []

        def watch_stderr() -> None:
            assert proc.stderr is not None
            for line in proc.stderr:
                if line.startswith("BENCH_EXHAUSTED"):
                    exhausted.add(line.split()[1])
                    if len(exhausted) == threads and proc.poll() is None:
                        proc.send_signal(signal.SIGINT)  # wrk then stops and reports the real duration
                else:
                    stderr_lines.append(line)

        watcher = threading.Thread(target=watch_stderr, daemon=True)
        watcher.start()
        # Not communicate(): it would read stderr too, racing the watcher for the exhaustion lines.
        killer = threading.Timer(duration + timeout_s + 30, proc.kill)
        killer.start()
        try:
            assert proc.stdout is not None
            stdout = proc.stdout.read()
            proc.wait()
        finally:
            killer.cancel()
            if proc.poll() is None:  # interrupted (Ctrl-C, SIGTERM): never leave wrk running
                proc.kill()
                proc.wait()
        watcher.join(timeout=5)
    for line in stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            data: dict[str, Any] = json.loads(line[len("BENCH_JSON ") :])
            data["exhausted"] = len(exhausted) == threads
            return data
    raise RuntimeError(f"wrk produced no result: {stdout[-500:]} {''.join(stderr_lines)[-500:]}")


def measure(
    scenario: Scenario,
    base: str,
    seed: dict[str, Any],
    *,
    duration: float,
    connections: int,
    threads: int,
    warmup: float,
    repeat: int = 1,
    before_run: Callable[[], None] | None = None,
) -> Result:
    reqs = scenario.build(seed)
    res = Result(
        scenario.name,
        scenario.title,
        scenario.target,
        legacy_rps=scenario.legacy_rps,
        legacy_p99_s=scenario.legacy_p99_s,
    )
    status, body, headers = probe(base, reqs[0])
    res.probe_status, res.response_bytes = status, len(body)
    extra: dict[str, str] = {}
    ok: tuple[str, ...] = Ok
    if scenario.conditional and 200 <= status < 300:
        if "etag" not in headers:
            res.note = "no ETag header: not measured"
            return res
        extra, ok = {"If-None-Match": headers["etag"]}, ("2", "304")
        status, body, _ = probe(base, reqs[0], extra=extra)
        res.probe_status, res.response_bytes = status, len(body)
    if not (200 <= status < 300 or (extra and status == 304)):
        res.probe_body = body[:300].decode(errors="replace")
        res.note = f"probe answered {status}: not measured"
        return res
    if scenario.once:
        reqs = reqs[1:]  # the probe used the first user of the pool
    elif warmup > 0:
        run_wrk(
            base, reqs, once=False, duration=warmup, connections=connections, threads=threads, extra=extra
        )
    res.loadavg_before = round(os.getloadavg()[0], 2)
    if before_run is not None:
        before_run()
    runs = []
    for _ in range(1 if scenario.once else max(1, repeat)):
        runs.append(
            run_wrk(
                base,
                reqs,
                once=scenario.once,
                duration=duration,
                connections=connections,
                threads=threads,
                extra=extra,
            )
        )
    rates = [r["requests"] / (r["duration_us"] / 1e6) for r in runs]
    res.runs_req_s = [round(r, 1) for r in rates]
    res.total_requests = sum(int(r["requests"]) for r in runs)
    # The median run (of an even count, the slower of the two middle ones), whole: its latencies too.
    data = sorted(zip(rates, range(len(runs)), runs, strict=True))[(len(runs) - 1) // 2][2]
    lat = data["latency_us"]
    res.requests = int(data["requests"])
    res.duration_s = data["duration_us"] / 1e6
    res.req_s = res.requests / res.duration_s if res.duration_s else 0.0
    res.p50_ms, res.p95_ms, res.p99_ms = lat["p50"] / 1e3, lat["p95"] / 1e3, lat["p99"] / 1e3
    res.max_ms = lat["max"] / 1e3
    res.statuses = {k: int(v) for k, v in sorted(data["statuses"].items())}
    res.socket_errors = {k: int(v) for k, v in data["errors"].items() if k != "status" and v}
    non_2xx = (
        sum(v for k, v in res.statuses.items() if not k.startswith(ok))
        if res.statuses
        else int(data["errors"]["status"])
    )
    res.errors = non_2xx + sum(res.socket_errors.values())
    if res.requests == 0:
        res.note = f"no response completed within {duration:g} s"
    res.exhausted = bool(data.get("exhausted"))
    if res.exhausted:
        res.note = f"pool of {len(reqs) + 1} users used up after {res.duration_s:.1f} s"
    return res


@contextlib.contextmanager
def echo_server(size: int, procs: int = 1) -> Iterator[str]:
    from bench.pg import free_port, wait_port

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.echo", "--port", str(port), "--size", str(size), "--procs", str(procs)],
        cwd=Path(__file__).parent.parent,
    )
    try:
        if not wait_port("127.0.0.1", port, 10):
            raise RuntimeError("echo server did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def ceiling(*, duration: float, connections: int, threads: int) -> list[Result]:
    """wrk against a canned-response server: a lower bound on what the generator itself can do."""
    out = []
    for size, name in ((2, "ceiling_small"), (160_000, "ceiling_160kb")):
        with echo_server(size) as base:
            scenario = Scenario(
                name, f"wrk ceiling: canned {size}-byte body (bench/echo.py)", _get("/"), target="echo"
            )
            out.append(
                measure(
                    scenario,
                    base,
                    {"event_id": ""},
                    duration=duration,
                    connections=connections,
                    threads=threads,
                    warmup=1,
                )
            )
    return out


def format_table(results: Sequence[Result], title: str = "") -> str:
    head = (
        f"{'scenario':<19} {'req/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7} "
        f"{'KB/resp':>8} {'SQL/req':>7} {'CPU ms/req app+pg':>17} {'legacy req/s':>12} {'× legacy':>8}  note"
    )
    lines = [title, head, "-" * len(head)] if title else [head, "-" * len(head)]
    for r in results:
        legacy = f"{r.legacy_rps:g}" if r.legacy_rps else ""
        factor = f"{r.req_s / r.legacy_rps:.1f}×" if r.legacy_rps and r.req_s else ""
        note = r.note
        sql = f"{r.statements_per_req:g}" if r.statements_per_req is not None else ""
        c = r.cpu_ms_per_req
        cpu = f"{c['server']:.2f}+{c['postgres']:.2f}" if "server" in c and "postgres" in c else ""
        if r.errors and r.statuses:
            note = (note + " " if note else "") + "statuses " + json.dumps(r.statuses)
        if r.probe_body:
            note += f" body: {r.probe_body[:120]}"
        lines.append(
            f"{r.scenario:<19} {r.req_s:>9.1f} {r.p50_ms:>8.1f} {r.p95_ms:>8.1f} {r.p99_ms:>8.1f} "
            f"{r.errors:>7} {r.response_bytes / 1024:>8.1f} {sql:>7} {cpu:>17} {legacy:>12} {factor:>8}  {note}"
        )
    return "\n".join(lines)


def write_json(results: Sequence[Result], meta: dict[str, Any], name: str) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"meta": meta, "results": [asdict(r) for r in results]}, indent=1))
    return path


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seed", type=Path, help="seed.json written by bench.seed")
    p.add_argument("--api", help="base URL of the API under test")
    p.add_argument("--floor", help="base URL of bench.floor")
    p.add_argument("--scenarios", default=",".join(DEFAULT_ORDER))
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--ceiling", action="store_true", help="measure wrk's own ceiling first")
    a = p.parse_args(argv)
    results: list[Result] = []
    if a.ceiling:
        results += ceiling(duration=a.duration, connections=a.connections, threads=a.threads)
    if a.seed:
        seed = json.loads(a.seed.read_text())
        for name in a.scenarios.split(","):
            s = SCENARIOS[name]
            base = a.api if s.target == "api" else a.floor
            if not base:
                continue
            results.append(
                measure(
                    s,
                    base,
                    seed,
                    duration=a.duration,
                    connections=a.connections,
                    threads=a.threads,
                    warmup=a.warmup,
                )
            )
            print(format_table(results[-1:]), flush=True)
    print(format_table(results))
    print(write_json(results, vars(a) | {"seed": str(a.seed)}, time.strftime("load-%Y%m%d-%H%M%S")))


if __name__ == "__main__":
    main()
