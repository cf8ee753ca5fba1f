"""Live leaderboards at event scale (issue 16): N stream clients, votes arriving at a steady rate.

A throw-away PostgreSQL on 127.0.0.1, one event (``--projects`` projects, a voter per vote), then
``podium serve`` (``--workers``, and ``--instances`` separate servers on the same database). Client
processes open ``--clients`` streams of the public leaderboard (spread over the instances), then votes go
through the API at ``--rate`` per second for ``--seconds``. Printed:

* commit → last client: for each vote, from its HTTP answer (the commit is just before) to the moment
  the *last* client has a list at least as new as the vote (the list's version is read right after the
  answer, so a vote landing meanwhile can only make this longer): p50 / p99 / max; and the same to the
  *first* client (the coalescing window and the read, without the fan-out);
* memory per open stream: the servers' RSS after all streams are open, minus before, divided by the
  streams. Before is taken after a warm-up stream per instance was opened, read to its first bytes and
  closed: the listener it started (in the worker that served it) and the list it cached are in the
  baseline, but no stream is open then (the frames the streams share are built again, once, in the growth);
* CPU per message: the servers' CPU time during the vote phase (votes included) / the messages delivered
  during it, i.e. not counting each stream's first list (it arrives as the stream opens, before the CPU
  is measured); the client processes' CPU time per the same messages too, as they share the machine with
  the servers; and those messages per stream per second of votes;
* bytes per message: the list chunks' bodies as sent (compressed or not), per list delivered (here each
  stream's first list counts, in the bytes and in the lists).

``--encoding deflate`` (the default: browsers accept it) has the clients send ``Accept-Encoding:
deflate``; each list is then a chunk compressed on its own, and a client inflates only its first bytes
(a fresh raw inflater per list, stopped after 64 bytes) to read the version. ``--encoding identity``
sends none: the lists arrive as they are.

Bounded: at most 20,000 clients and 120 s of votes. Example (the figures in docs/benchmarks.md):

    uv run python -m bench.live --clients 2000 --seconds 20 --workers 1
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import statistics
import sys
import time
import uuid
import zlib
from collections.abc import Sequence
from contextlib import ExitStack
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import uvloop

from bench.pg import free_port, throwaway_cluster
from bench.run import JWT_SECRET, cpu_seconds, migrate, podium_command, proc_table, resident_bytes, server
from bench.seed import DESCRIPTION, Dataset, access_token, copy_into, join_code

MAX_CLIENTS = 20_000
MAX_SECONDS = 120.0
_TICK = os.sysconf("SC_CLK_TCK")
_TAIL = 64  # longer than an SSE id line: enough of a chunk to read its id
_DEFLATED_HEAD = 1024  # compressed bytes that hold a list's first _TAIL (its block header comes first)


async def seed(dsn: str, projects: int, voters: int) -> tuple[str, list[str], list[str]]:
    """One public, votable event; returns (event id, project ids, voter tokens)."""
    exp = int(time.time()) + 3600
    users, attendees, project_rows = [], [], []
    tokens = []
    owner = uuid.uuid4()
    users.append((owner, "owner@bench.invalid", "Owner", "Owner", "B", "", "", "", "", "", "", "US", None))
    event_id = uuid.uuid4()
    event = (event_id, "Live Bench", "live-bench", "", join_code("L", 0), True, True, False, False, "", owner)
    for i in range(voters):
        uid, email = uuid.uuid4(), f"voter{i}@bench.invalid"
        users.append((uid, email, f"Voter {i}", "Voter", "B", "", "", "", "", "", "", "US", None))
        attendees.append((uuid.uuid4(), event_id, uid))
        tokens.append(access_token(email, JWT_SECRET, exp))
    ids = []
    for j in range(projects):
        pid = uuid.uuid4()
        ids.append(str(pid))
        project_rows.append(
            (pid, f"Project {j:03d}", f"https://github.com/b/{j}", "https://i.invalid/x.png", "https://d.invalid",
             DESCRIPTION.format(n=j), join_code("Q", j), 10, 0, None, owner, event_id)
        )  # fmt: skip
    await copy_into(dsn, Dataset(users=users, events=[event], projects=project_rows, attendees=attendees))
    return str(event_id), ids, tokens


class _Stream(asyncio.Protocol):
    """One stream client: records (version, monotonic time) of each list as it arrives.

    Cheap, as these processes share the machine with the servers: it follows the chunked framing and
    looks only at the first bytes of each chunk (a list is one chunk starting ``id: <version>``), never
    scanning or copying the (20-60 KB) lists themselves. A compressed stream's lists are each compressed
    on their own (a byte-aligned piece): their first bytes inflate alone."""

    def __init__(self, request: bytes, opened: asyncio.Future[None]) -> None:
        self.request = request
        self.opened = opened
        self.seen: list[tuple[int, float]] = []
        self.pending = b""  # an incomplete response head, chunk-size line or chunk start
        self.in_head = True
        self.deflated = False
        self.zlib_header = 0  # the 2-byte zlib header still to skip (it opens the first chunk)
        self.left = 0  # bytes of the current chunk (and its CRLF) still to skip
        self.closed = False
        self.list_bytes = 0  # the list chunks' bodies, as sent

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        buffer = self.pending + data if self.pending else data
        self.pending = b""
        at, size = 0, len(buffer)
        while at < size:
            if self.left:
                step = min(self.left, size - at)
                self.left -= step
                at += step
                continue
            if self.in_head:
                end = buffer.find(b"\r\n\r\n", at)
                if end < 0:
                    self.pending = buffer[at:]
                    return
                self.in_head = False
                response_head = buffer[at:end].lower()
                if b"transfer-encoding: chunked" not in response_head:
                    self.left = 1 << 62  # not a stream (an error): ignored, it never counts as open
                if b"content-encoding: deflate" in response_head:
                    self.deflated, self.zlib_header = True, 2
                at = end + 4
                continue
            line = buffer.find(b"\r\n", at, at + 16)
            length = int(buffer[at:line], 16) if line >= 0 else 0
            body, head = line + 2, min(length, _DEFLATED_HEAD if self.deflated else _TAIL)
            if line < 0 or size - body < head:  # the size line or the chunk's first bytes are cut
                self.pending = buffer[at:]  # short: a size line and the chunk's first bytes at most
                return
            if self.deflated:
                start, self.zlib_header = body + self.zlib_header, 0
                text = zlib.decompressobj(-15).decompress(buffer[start : body + head], _TAIL)
            else:
                text = buffer[body : body + head]
            newline = text.find(b"\n")
            if text.startswith(b"id: ") and newline > 0:
                version = int(text[4:newline])
                self.list_bytes += length
                if not self.seen or version > self.seen[-1][0]:
                    self.seen.append((version, now))
                    if not self.opened.done():
                        self.opened.set_result(None)
            at = body
            self.left = length + 2  # the chunk and its CRLF

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.opened.done():
            self.opened.set_exception(ConnectionError("stream closed before its first list"))


def _client_process(targets: list[tuple[int, int]], path: str, encoding: str, pipe: Connection) -> None:
    # The server's loop: the clients' share of the CPU stays small.
    uvloop.run(_clients(targets, path, encoding, pipe))


async def _clients(targets: list[tuple[int, int]], path: str, encoding: str, pipe: Connection) -> None:
    """``targets``: (port, count) pairs. Tells the parent when every stream has its first list, then on
    ``stop`` (with the votes' versions) answers, per version, when the last stream had it."""
    loop = asyncio.get_running_loop()
    streams: list[_Stream] = []
    transports = []
    opened = []
    accept = "Accept-Encoding: deflate\r\n" if encoding == "deflate" else ""
    for port, count in targets:
        request = (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n{accept}\r\n"
        ).encode()
        for n in range(count):
            future: asyncio.Future[None] = loop.create_future()
            transport, protocol = await loop.create_connection(
                lambda r=request, f=future: _Stream(r, f),
                "127.0.0.1",
                port,  # type: ignore[misc]
            )
            streams.append(protocol)
            transports.append(transport)
            opened.append(future)
            if n % 100 == 99:
                await asyncio.sleep(0.05)  # within the listen backlog
    results = await asyncio.gather(*opened, return_exceptions=True)
    pipe.send({"open": sum(1 for r in results if r is None)})
    message = await loop.run_in_executor(None, pipe.recv)
    versions: list[int] = message["stop"]
    for transport in transports:
        transport.close()
    last_seen = [0.0] * len(versions)
    first_seen = [float("inf")] * len(versions)
    missing = [0] * len(versions)
    for stream in streams:
        records = stream.seen
        k = 0
        for i, version in enumerate(versions):  # both in increasing order
            while k < len(records) and records[k][0] < version:
                k += 1
            if k == len(records):
                missing[i] += 1
            else:
                last_seen[i] = max(last_seen[i], records[k][1])
                first_seen[i] = min(first_seen[i], records[k][1])
    pipe.send(
        {
            "last_seen": last_seen,
            "first_seen": first_seen,
            "missing": missing,
            "messages": sum(len(s.seen) for s in streams),
            # Each stream's first list came when it opened, before the parent starts measuring CPU; no
            # vote is cast before then, so that is the only list a stream has from before the window.
            "messages_after_open": sum(len(s.seen) - 1 for s in streams if s.seen),
            "list_bytes": sum(s.list_bytes for s in streams),
            "deflated": sum(1 for s in streams if s.deflated),
            "closed_early": sum(1 for s in streams if s.closed),
        }
    )


def _user_sys(pids: Sequence[int]) -> tuple[float, float]:
    """User and system CPU seconds of these processes (the system part is mostly socket writes and reads)."""
    user = system = 0.0
    for pid in pids:
        try:
            raw = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        user += int(fields[11]) / _TICK
        system += int(fields[12]) / _TICK
    return user, system


def _session_usage(sids: Sequence[int]) -> tuple[float, int]:
    """CPU seconds and RSS bytes of every process in the servers' sessions."""
    cpu, rss = 0.0, 0
    for pid, _ppid, sid, ticks, reaped in proc_table():
        if sid in sids:
            cpu += (ticks + reaped) / _TICK
            rss += resident_bytes(pid)
    return cpu, rss


async def _votes(
    ports: list[int],
    event_id: str,
    projects: list[str],
    tokens: list[str],
    rate: float,
    seconds: float,
    dsn: str,
) -> list[tuple[float, int]]:
    """Cast votes at ``rate``/s through the API (spread over the instances): (answered at, version) each."""
    pool = await asyncpg.create_pool(dsn, min_size=2, max_size=8)
    done: list[tuple[float, int]] = []
    failures = 0
    rng = random.Random(16)
    clients = [httpx.AsyncClient(base_url=f"http://127.0.0.1:{p}", timeout=30) for p in ports]

    async def one(n: int) -> None:
        nonlocal failures
        answer = await clients[n % len(clients)].post(
            "/events/vote",
            json={"event": event_id, "projects": [rng.choice(projects)]},
            headers={"Authorization": f"Bearer {tokens[n]}"},
        )
        answered = time.monotonic()
        if answer.status_code != 200:
            failures += 1
            return
        version = await pool.fetchval(
            "SELECT sum(version) FROM event_listing_versions WHERE event_id = $1", uuid.UUID(event_id)
        )
        done.append((answered, int(version)))

    tasks = []
    started = time.monotonic()
    count = int(rate * seconds)
    for n in range(count):
        await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
        tasks.append(asyncio.create_task(one(n)))
    await asyncio.gather(*tasks)
    for client in clients:
        await client.aclose()
    await pool.close()
    if failures:
        print(f"warning: {failures} votes failed")
    return sorted(done, key=lambda item: item[1])


def _box_busy() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine so far, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(args: argparse.Namespace) -> dict[str, Any]:
    clients = min(args.clients, MAX_CLIENTS)
    seconds = min(args.seconds, MAX_SECONDS)
    voters = int(args.rate * seconds) + 10
    with ExitStack() as stack:
        cluster = stack.enter_context(throwaway_cluster())
        cluster.create_database("podium")
        migrate(cluster, "podium")
        event_id, projects, tokens = asyncio.run(seed(cluster.dsn("podium"), args.projects, voters))
        ports, sids = [], []
        for n in range(args.instances):
            port = free_port()
            env = {
                **os.environ,
                "PODIUM_DATABASE_URL": cluster.sqlalchemy_url("podium"),
                "PODIUM_JWT_SECRET": JWT_SECRET,
                "PODIUM_LOG_LEVEL": "WARNING",
                "PODIUM_LIVE_MAX_STREAMS": str(MAX_CLIENTS),
                # Every client comes from 127.0.0.1: without this, all but 20 are refused (429).
                "PODIUM_LIVE_MAX_STREAMS_PER_CLIENT": str(MAX_CLIENTS),
                "PODIUM_LIVE_MIN_INTERVAL_MS": str(args.interval_ms),
            }
            cmd = [*podium_command(), "serve", "--port", str(port), "--workers", str(args.workers)]
            if args.profile:  # one worker, in-process: cProfile writes the file when it exits
                cmd = [
                    sys.executable,
                    "-m",
                    "cProfile",
                    "-o",
                    f"{args.profile}.{n}",
                    "-m",
                    "podium",
                    *cmd[1:],
                ]
            _base, sid = stack.enter_context(server(cmd, env, f"live-{n}", port))
            ports.append(port)
            sids.append(sid)
        path = f"/events/{event_id}/projects/live?leaderboard=true"
        # A warm-up stream per instance: listeners started, the list cached, before the baseline.
        warm = [httpx.Client(base_url=f"http://127.0.0.1:{p}", timeout=10) for p in ports]
        for client in warm:
            with client.stream("GET", path) as response:
                next(response.iter_bytes())
        time.sleep(1.0)
        _, rss_before = _session_usage(sids)

        # Clients spread over the processes, and each process's streams over the instances.
        per_process = [clients // args.client_processes] * args.client_processes
        per_process[0] += clients - sum(per_process)
        processes, pipes = [], []
        for count in per_process:
            targets = [(port, count // len(ports)) for port in ports]
            targets[0] = (ports[0], targets[0][1] + count - sum(c for _, c in targets))
            parent, child = multiprocessing.Pipe()
            process = multiprocessing.Process(
                target=_client_process, args=(targets, path, args.encoding, child), daemon=True
            )
            process.start()
            processes.append(process)
            pipes.append(parent)
        opened = sum(pipe.recv()["open"] for pipe in pipes)
        if opened < clients:  # the figures would describe fewer streams than asked for
            raise SystemExit(f"only {opened} of {clients} streams opened (see the server's log)")
        time.sleep(1.0)
        _, rss_after = _session_usage(sids)
        cpu_before, _ = _session_usage(sids)
        clients_before = sum(cpu_seconds(process.pid) for process in processes)
        server_pids = [pid for pid, _ppid, sid, _t, _r in proc_table() if sid in sids]
        client_pids = [process.pid for process in processes if process.pid is not None]
        split_before = _user_sys(server_pids), _user_sys(client_pids)
        box_before = _box_busy()
        votes = asyncio.run(
            _votes(ports, event_id, projects, tokens, args.rate, seconds, cluster.dsn("podium"))
        )
        time.sleep(2.0)  # the last votes' lists reach everyone
        cpu_after, _ = _session_usage(sids)
        clients_cpu = sum(cpu_seconds(process.pid) for process in processes) - clients_before
        split_after = _user_sys(server_pids), _user_sys(client_pids)
        system_pct = [
            round(100 * (after[1] - before[1]) / max(1e-9, sum(after) - sum(before)), 1)
            for before, after in zip(split_before, split_after, strict=True)
        ]
        box_after = _box_busy()
        versions = [version for _, version in votes]
        for pipe in pipes:
            pipe.send({"stop": versions})
        answers = [pipe.recv() for pipe in pipes]
        for process in processes:
            process.join(timeout=30)
        for client in warm:
            client.close()

    last = [max(answer["last_seen"][i] for answer in answers) for i in range(len(votes))]
    first = [min(answer["first_seen"][i] for answer in answers) for i in range(len(votes))]
    missing = sum(sum(answer["missing"]) for answer in answers)
    latencies = [(seen - answered) * 1000 for (answered, _), seen in zip(votes, last, strict=True) if seen]
    firsts = [
        (seen - answered) * 1000 for (answered, _), seen in zip(votes, first, strict=True) if seen < 1e300
    ]
    messages = sum(answer["messages"] for answer in answers)  # each stream's first list included
    # During the CPU window: without each stream's first list, which came before it opened.
    after_open = sum(answer["messages_after_open"] for answer in answers)
    deflated = sum(answer["deflated"] for answer in answers)
    if deflated != (opened if args.encoding == "deflate" else 0):
        raise SystemExit(f"{deflated} of {opened} streams were compressed, asked for {args.encoding}")
    return {
        "command": f"python -m bench.live --clients {clients} --seconds {seconds:g} --workers {args.workers} "
        f"--instances {args.instances} --rate {args.rate:g} --projects {args.projects} "
        f"--interval-ms {args.interval_ms} --encoding {args.encoding}",
        "streams_open": opened,
        "votes": len(votes),
        "commit_to_last_client_ms": {
            "p50": round(_percentile(latencies, 0.5), 1),
            "p99": round(_percentile(latencies, 0.99), 1),
            "max": round(max(latencies), 1),
            "mean": round(statistics.fmean(latencies), 1),
        },
        # The first client to have it: the coalescing window and the read, before the fan-out's length.
        "commit_to_first_client_ms": {
            "p50": round(_percentile(firsts, 0.5), 1),
            "p99": round(_percentile(firsts, 0.99), 1),
        },
        "stream_misses": missing,
        "closed_early": sum(answer["closed_early"] for answer in answers),
        "messages_delivered": messages,  # each stream's first list included
        "messages_after_open": after_open,  # the same without each stream's first list
        "messages_per_stream_per_s": round(after_open / max(1, opened) / seconds, 2),
        "bytes_per_message": round(sum(answer["list_bytes"] for answer in answers) / max(1, messages)),
        "memory_per_stream_kb": round((rss_after - rss_before) / max(1, opened) / 1024, 1),
        "server_rss_mb": {"before": round(rss_before / 2**20, 1), "after": round(rss_after / 2**20, 1)},
        "server_cpu_s": round(cpu_after - cpu_before, 2),
        "cpu_us_per_message": round((cpu_after - cpu_before) * 1e6 / max(1, after_open), 1),
        "client_processes_cpu_s": round(clients_cpu, 2),
        "client_cpu_us_per_message": round(clients_cpu * 1e6 / max(1, after_open), 1),
        # The kernel's share (system time) of each side's CPU during the vote phase.
        "system_cpu_pct": {"server": system_pct[0], "clients": system_pct[1]},
        # The whole machine during the vote phase: other work on it shows here too.
        "machine_cpu_busy_pct": round(
            100 * (box_after[0] - box_before[0]) / max(1, box_after[1] - box_before[1]), 1
        ),
    }


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", type=int, default=2000, help=f"stream clients (at most {MAX_CLIENTS:,})")
    p.add_argument("--seconds", type=float, default=20.0, help=f"vote phase (at most {MAX_SECONDS:g} s)")
    p.add_argument("--rate", type=float, default=50.0, help="votes per second")
    p.add_argument("--workers", type=int, default=1, help="worker processes per instance")
    p.add_argument("--instances", type=int, default=1, help="separate servers on the same database")
    p.add_argument("--projects", type=int, default=40, help="projects in the event")
    p.add_argument(
        "--interval-ms", type=int, default=100, help="PODIUM_LIVE_MIN_INTERVAL_MS (the server default)"
    )
    p.add_argument("--profile", type=Path, help="write a cProfile of each instance to PROFILE.<n>")
    p.add_argument("--client-processes", type=int, default=2, help="processes running the clients")
    p.add_argument(
        "--encoding",
        choices=("deflate", "identity"),
        default="deflate",
        help="the clients accept deflate (as browsers do) or send no Accept-Encoding",
    )
    args = p.parse_args(argv)
    print(json.dumps(run(args), indent=1))


if __name__ == "__main__":
    main()
