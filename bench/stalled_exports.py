"""Server memory while clients stall a large CSV export (issue 22 item 7): backpressure, measured.

Starts a throw-away PostgreSQL cluster (``bench/pg.py``) seeded with one event whose projects export is
about ``--megabytes`` MB, then ``podium serve`` as shipped (one worker). ``--clients`` connections on
127.0.0.1 each ask for ``GET /events/admin/{id}/export/projects.csv`` as its organiser and then read
nothing (a small receive buffer, so the kernel holds little on the client's side) for ``--hold`` seconds.
First one export is read in full, which warms the server; its size is printed (the whole HTTP response,
head and chunk framing included). Then the server's RSS (every process of its session): before the
requests, the peak of samples taken every 0.5 s during the hold, and 1 s after the clients closed; the
growth is that peak minus before. Also the bytes waiting unread in the stalled clients' receive buffers
when they closed (``FIONREAD``): what reached them, not counting what was still in the server's kernel
send buffers. Streamed with backpressure, the server holds each client's next chunk or so, not the whole
file: the growth stays far below clients × file size.

    uv run python -m bench.stalled_exports                   # 30 clients, 10 MB, 15 s
    uv run python -m bench.stalled_exports --clients 5 --megabytes 2 --hold 5
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import json
import os
import socket
import struct
import sys
import termios
import time
import uuid
from collections.abc import Sequence
from contextlib import ExitStack
from typing import Any

from bench.pg import free_port, throwaway_cluster
from bench.run import JWT_SECRET, migrate, proc_table, resident_bytes, server
from bench.seed import Dataset, access_token, copy_into, join_code

DESCRIPTION_CHARS = 4000


async def seed(dsn: str, megabytes: float) -> tuple[str, str]:
    """One event whose projects export is about ``megabytes`` MB; returns (event id, owner's token)."""
    owner = uuid.uuid4()
    email = "owner@bench.invalid"
    users = [(owner, email, "Owner", "Owner", "B", "", "", "", "", "", "", "US", None)]
    event_id = uuid.uuid4()
    event = (
        event_id,
        "Export Bench",
        "export-bench",
        "",
        join_code("X", 0),
        False,
        False,
        False,
        False,
        "",
        owner,
    )
    count = int(megabytes * 1_000_000 / (DESCRIPTION_CHARS + 150)) + 1
    body = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 80)[:DESCRIPTION_CHARS]
    projects = [
        (uuid.uuid4(), f"Project {j:05d}", f"https://github.com/b/{j}", "https://i.invalid/x.png",
         "https://d.invalid", body, join_code("E", j), 10, 0, None, owner, event_id)
        for j in range(count)
    ]  # fmt: skip
    await copy_into(dsn, Dataset(users=users, events=[event], projects=projects))
    return str(event_id), access_token(email, JWT_SECRET, int(time.time()) + 3600)


def _session_rss(sid: int) -> int:
    """Resident bytes of every process in the server's session (the supervisor and its workers)."""
    return sum(resident_bytes(pid) for pid, _ppid, session, _ticks, _reaped in proc_table() if session == sid)


def _stalled_client(port: int, request: bytes) -> socket.socket:
    client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: the window stays small
    client.connect(("127.0.0.1", port))
    client.sendall(request)
    return client


def _unread_bytes(client: socket.socket) -> int:
    """Bytes in the socket's receive queue that its reader has not read yet."""
    return int(struct.unpack("i", fcntl.ioctl(client, termios.FIONREAD, b"\0" * 4))[0])


def run(args: argparse.Namespace) -> dict[str, Any]:
    with ExitStack() as stack:
        cluster = stack.enter_context(throwaway_cluster())
        cluster.create_database("podium")
        migrate(cluster, "podium")
        event_id, token = asyncio.run(seed(cluster.dsn("podium"), args.megabytes))
        port = free_port()
        env = {
            **os.environ,
            "PODIUM_DATABASE_URL": cluster.sqlalchemy_url("podium"),
            "PODIUM_JWT_SECRET": JWT_SECRET,
            "PODIUM_LOG_LEVEL": "WARNING",
            "PODIUM_DB_POOL_SIZE": str(args.clients + 5),
        }
        command = [sys.executable, "-m", "podium", "serve", "--port", str(port)]
        base, sid = stack.enter_context(server(command, env, "stalled", port))
        path = f"/events/admin/{event_id}/export/projects.csv"
        request = (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n"
        ).encode()
        # One export read in full first: its response's size, and the server warmed (imports, pool, caches).
        warm = _stalled_client(
            port, request.replace(b"HTTP/1.1\r\n", b"HTTP/1.1\r\nConnection: close\r\n", 1)
        )
        size = 0
        while chunk := warm.recv(1 << 20):
            size += len(chunk)
        warm.close()
        time.sleep(1.0)
        before = _session_rss(sid)
        clients = [_stalled_client(port, request) for _ in range(args.clients)]
        peak = before
        deadline = time.monotonic() + args.hold
        while time.monotonic() < deadline:
            time.sleep(0.5)
            peak = max(peak, _session_rss(sid))
        unread = sum(_unread_bytes(client) for client in clients)
        for client in clients:
            client.close()
        time.sleep(1.0)
        after_close = _session_rss(sid)
    mb = 1 / 2**20
    return {
        "clients": args.clients,
        "export_response_bytes": size,  # one export read in full: head and chunk framing included
        "hold_s": args.hold,
        "unread_bytes_at_clients": unread,  # in the stalled clients' receive buffers when they closed
        "server_rss_mb": {
            "before": round(before * mb, 1),
            "peak_while_stalled": round(peak * mb, 1),
            "after_clients_left": round(after_close * mb, 1),
        },
        "growth_mb": round((peak - before) * mb, 1),  # peak while stalled minus before
        "server": base,
    }


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", type=int, default=30)
    p.add_argument("--megabytes", type=float, default=10.0)
    p.add_argument("--hold", type=float, default=15.0, help="seconds the clients stall (at most 120)")
    args = p.parse_args(argv)
    args.clients = max(1, min(args.clients, 200))
    args.hold = max(1.0, min(args.hold, 120.0))
    print(json.dumps(run(args), indent=2))


if __name__ == "__main__":
    main()
