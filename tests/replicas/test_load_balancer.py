"""Instances are interchangeable: two ``podium serve`` behind HAProxy, one killed mid-load (issue 17).

Both instances use the same primary and the same streaming replica. HAProxy (Debian's package, on
127.0.0.1, its config in the test's temp folder) retries **only connection failures** (``retry-on
conn-failure``, redispatched to the other server): a request that reached an instance is never sent twice,
so a write is applied at most once. Every acknowledged sign-up must be in the primary afterwards, and must
be readable at once through the balancer, whichever instance and database server answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import os
import signal
import socket
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from bench.faults import Serve, start_serve
from bench.pg import free_port

from tests.conftest import TEST_SECRET
from tests.replicas.conftest import DATABASE, Replicated
from tests.support.haproxy import haproxy_binary as find_haproxy
from tests.support.haproxy import running_haproxy

WRITES = 300
WRITERS = 6
READERS = 4
KILL_AFTER = 100  # acknowledged writes before one instance is killed

HAPROXY_CONFIG = """\
global
    maxconn 512
    stats socket {socket} mode 600 level admin

defaults
    mode http
    timeout connect 1s
    timeout client 30s
    timeout server 30s
    # Only a connection that could not be made is retried, on the other server: the request never
    # reached an instance, so a retry cannot apply a write twice.
    retries 3
    retry-on conn-failure
    option redispatch 1

frontend api
    bind 127.0.0.1:{port}
    default_backend podium

backend podium
    balance roundrobin
    option httpchk GET /health
    # A slow answer on a busy box is not a dead instance: only a refused or failed check counts.
    timeout check 5s
    default-server inter 300ms fall 2 rise 1
{servers}
"""


@pytest.fixture
def haproxy_binary() -> str:
    return find_haproxy()


@contextlib.contextmanager
def haproxy(binary: str, folder: Path, servers: list[Serve]) -> Iterator[tuple[int, Path]]:
    port, stats = free_port(), folder / "haproxy.sock"
    lines = "\n".join(f"    server i{n} 127.0.0.1:{s.port} check" for n, s in enumerate(servers))
    config = folder / "haproxy.cfg"
    config.write_text(HAPROXY_CONFIG.format(socket=stats, port=port, servers=lines))
    with running_haproxy(binary, config, port):
        yield port, stats


def backend_counters(stats_socket: Path) -> dict[str, int]:
    """HAProxy's own counts for the backend: connection retries, redispatches, errors."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(str(stats_socket))
        sock.sendall(b"show stat\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    rows = csv.DictReader(io.StringIO(data.decode().lstrip("# ")))
    backend = next(row for row in rows if row["pxname"] == "podium" and row["svname"] == "BACKEND")
    return {key: int(backend[key] or 0) for key in ("wretr", "wredis", "econ", "eresp")}


def kill_instance(serve: Serve) -> None:
    """SIGKILL: no graceful shutdown, requests in flight on it are cut off."""
    os.kill(serve.process.pid, signal.SIGKILL)
    serve.process.wait(timeout=10)


async def test_one_instance_killed_mid_load_loses_no_acknowledged_write(
    replicated: Replicated, clean_primary: None, haproxy_binary: str, tmp_path: Path
) -> None:
    env = {
        "PODIUM_JWT_SECRET": TEST_SECRET,
        "PODIUM_DATABASE_URL": replicated.primary_url,
        "PODIUM_DATABASE_REPLICA_URLS": replicated.replica_url,
        "PODIUM_LOG_LEVEL": "WARNING",
        "PODIUM_DATA_DIR": str(tmp_path / "data"),
    }
    instances = [start_serve(tmp_path / f"serve-{n}.log", env) for n in range(2)]
    try:
        for instance in instances:
            instance.wait_healthy()
        with haproxy(haproxy_binary, tmp_path, instances) as (port, stats_socket):
            outcome = await _load(f"http://127.0.0.1:{port}", instances[0])
            counters = backend_counters(stats_socket)
    finally:
        for instance in instances:
            instance.ensure_stopped()

    connection = await asyncpg.connect(replicated.primary.dsn(DATABASE))
    try:
        stored = {row["email"] for row in await connection.fetch("SELECT email FROM users")}
    finally:
        await connection.close()
    acknowledged, writes, reads, stale = outcome
    print(f"\nLB test: writes {dict(writes)}, reads {dict(reads)}, HAProxy {counters}")
    assert len(acknowledged) >= WRITES - WRITERS  # only requests cut off in flight may fail
    assert acknowledged <= stored, "an acknowledged sign-up is missing from the primary"
    assert stale == 0, "a read after an acknowledged write did not show it"
    # What failed is only what was in flight on the killed instance, never retried by HAProxy: a 502 when
    # it died before its answer began, no answer at all (0) when it died after HAProxy had passed the
    # answer's head on (uvicorn writes an answer's head and body separately).
    assert sum(n for status, n in writes.items() if status != 200) <= WRITERS
    assert sum(n for status, n in reads.items() if status != 200) <= READERS + WRITERS
    assert set(writes) | set(reads) <= {200, 502, 0}
    assert counters["wretr"] + counters["wredis"] >= 1, "HAProxy never had to retry a connection"


async def _load(base: str, victim: Serve) -> tuple[set[str], Counter[int], Counter[int], int]:
    acknowledged: set[str] = set()
    writes: Counter[int] = Counter()
    reads: Counter[int] = Counter()
    stale = 0
    emails = iter(f"lb{n}@example.com" for n in range(WRITES))
    killed = asyncio.Event()
    done = asyncio.Event()

    ids: list[str] = []
    examples: list[str] = []

    async def send(method: str, path: str, **kwargs: object) -> httpx.Response | None:
        try:
            response = await client.request(method, path, **kwargs)  # type: ignore[arg-type]
        except httpx.TransportError as error:
            if len(examples) < 3:
                examples.append(f"{method} {path} → no answer: {error!r}")
            return None  # counted as status 0: no HTTP answer at all
        if response.status_code != 200 and len(examples) < 3:
            examples.append(f"{method} {path} → {response.status_code} {response.text[:200]!r}")
        return response

    async def writer() -> None:
        nonlocal stale
        for email in emails:
            response = await send("POST", "/users/", json={"email": email, "first_name": "Lb"})
            writes[response.status_code if response else 0] += 1
            if response is None or response.status_code != 200:
                continue
            acknowledged.add(email)
            ids.append(response.json()["id"])
            # Read it back at once: through the balancer, on whichever instance and database.
            shown = await send("GET", f"/users/{ids[-1]}")
            reads[shown.status_code if shown else 0] += 1
            stale += shown is not None and shown.status_code == 404
            if len(acknowledged) >= KILL_AFTER and not killed.is_set():
                killed.set()
                await asyncio.to_thread(kill_instance, victim)

    async def reader() -> None:
        nonlocal stale
        while not done.is_set():
            if not ids:
                await asyncio.sleep(0.01)
                continue
            shown = await send("GET", f"/users/{ids[-1]}")
            reads[shown.status_code if shown else 0] += 1
            stale += shown is not None and shown.status_code == 404

    limits = httpx.Limits(max_connections=WRITERS + READERS, max_keepalive_connections=0)
    client = httpx.AsyncClient(base_url=base, timeout=30, limits=limits)
    async with client:
        readers = [asyncio.create_task(reader()) for _ in range(READERS)]
        await asyncio.gather(*(writer() for _ in range(WRITERS)))
        done.set()
        await asyncio.gather(*readers)
    assert killed.is_set()
    print("\n".join(examples))
    return acknowledged, writes, reads, stale
