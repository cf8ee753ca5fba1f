"""Issue 16: live streams through faults — a database restart mid-stream, a client that stops reading,
and SIGTERM on ``podium serve`` with streams open."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
from bench.faults import private_postgres
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from podium.config import Settings
from podium.http.app import create_app
from tests.api.live_support import stream
from tests.conftest import PostgresForTests
from tests.ops.conftest import StartServe, person
from tests.support.served import served

SHUTDOWN_EXIT_CODE = 128 + signal.SIGTERM


async def _public_event(client: Any, projects: int = 1) -> tuple[str, str, list[str]]:
    """An event with a public leaderboard and ``projects`` projects; returns (event id, voter token, ids)."""
    owner = await person(client)
    voter = await person(client)
    created = await client.post(
        "/events/", json={"name": f"Live {uuid.uuid4().hex[:8]}"}, headers=owner.headers
    )
    assert created.status_code == 200, created.text
    event = created.json()
    opened = await client.put(
        f"/events/{event['id']}", json={"leaderboard_enabled": True, "votable": True}, headers=owner.headers
    )
    assert opened.status_code == 200, opened.text
    for who in (owner, voter):
        joined = await client.post(
            "/events/attend", params={"join_code": event["join_code"], "referral": ""}, headers=who.headers
        )
        assert joined.status_code == 200, joined.text
    ids = []
    for n in range(projects):
        body = {"name": f"P{n}", "repo": "https://r", "image_url": "https://i", "demo": "https://d", "event_id": event["id"]}  # fmt: skip
        submitted = await client.post("/projects/", json=body, headers=owner.headers)
        assert submitted.status_code == 200, submitted.text
        ids.append(submitted.json()["id"])
    return event["id"], voter.token, ids


async def test_a_stream_survives_a_database_restart_and_gets_the_lists_after_it(
    settings: Settings, server_tmp: Path
) -> None:
    with private_postgres(server_tmp / "pg", "podium") as server:
        own = replace(settings, database_url=server.url("podium"), live_heartbeat_seconds=0.5)
        async with AsyncTestClient(app=create_app(own)) as api, served(create_app(own)) as base:
            event_id, voter, (project,) = await _public_event(api)
            async with stream(base, event_id) as live:
                version, board = await live.next_list()
                assert board == [("P0", 0)]

                await asyncio.to_thread(server.stop)  # closes every session, the listener's included
                await asyncio.to_thread(server.start)
                # The first writes after the restart may meet a dead pooled connection (503): retry.
                for _ in range(100):
                    voted = await api.post(
                        "/events/vote",
                        json={"event": event_id, "projects": [project]},
                        headers={"Authorization": f"Bearer {voter}"},
                    )
                    if voted.status_code == 200:
                        break
                    assert voted.status_code == 503, voted.text
                    await asyncio.sleep(0.1)
                assert voted.status_code == 200
                # The same stream, never closed, gets the list with the vote.
                newer, board = await live.next_list(within=30)
                assert newer > version
                assert board == [("P0", 1)]


async def test_a_client_that_stops_reading_delays_no_one_and_later_gets_only_the_newest_list(
    client: AsyncTestClient[Any], settings: Settings, engine: AsyncEngine
) -> None:
    event_id, _, ids = await _public_event(client, projects=40)
    # Big lists (~600 KB each), so a client that does not read fills every buffer on the way quickly.
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE projects SET description = repeat('x', 15000) WHERE event_id = :e"), {"e": event_id}
        )
    changes = 30
    fast = replace(settings, live_min_interval_ms=0)
    async with served(create_app(fast)) as base:
        host, port = base.removeprefix("http://").split(":")
        stalled = socket.socket()
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.setblocking(False)
        loop = asyncio.get_running_loop()
        await loop.sock_connect(stalled, (host, int(port)))
        request = f"GET /events/{event_id}/projects/live?leaderboard=true HTTP/1.1\r\nHost: {host}\r\n\r\n"
        await loop.sock_sendall(stalled, request.encode())
        try:
            async with stream(base, event_id) as reader:
                version, _ = await reader.next_list(within=30)
                delivered = [version]
                for n in range(changes):
                    async with engine.begin() as connection:
                        await connection.execute(
                            text("UPDATE projects SET name = :name WHERE id = :id"),
                            {"name": f"v{n}", "id": ids[0]},
                        )
                    # The reading client gets every change while the other one reads nothing.
                    while version < (newest := await _version(engine, event_id)):
                        version, _ = await reader.next_list(within=30)
                        delivered.append(version)
                        assert version <= newest
            # Now the stalled client reads: it gets the newest list, having skipped the ones in between.
            received = await _drain(loop, stalled)
        finally:
            stalled.close()
    ids_seen = [int(line[4:]) for line in received.split(b"\n") if line.startswith(b"id: ")]
    assert ids_seen[-1] == version
    assert set(ids_seen) <= set(delivered)
    # Fewer lists than the reader got: its one-list buffer kept only the newest while it was not reading.
    assert len(ids_seen) < len(delivered) - 5


async def _version(engine: AsyncEngine, event_id: str) -> int:
    async with engine.connect() as connection:
        value = await connection.scalar(
            text("SELECT sum(version) FROM event_listing_versions WHERE event_id = :e"), {"e": event_id}
        )
    return int(value)


async def _drain(loop: asyncio.AbstractEventLoop, sock: socket.socket, quiet: float = 3.0) -> bytes:
    """Everything the socket yields until it has been quiet for ``quiet`` seconds."""
    chunks = []
    while True:
        try:
            async with asyncio.timeout(quiet):
                chunk = await loop.sock_recv(sock, 1 << 20)
        except TimeoutError:
            return b"".join(chunks)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


async def test_sigterm_ends_open_streams_cleanly_and_at_once(
    serve_factory: StartServe, pg_server: PostgresForTests
) -> None:
    # With streams cut only at the shutdown timeout, the stream below would break instead of ending.
    serve = serve_factory(
        {"PODIUM_DATABASE_URL": pg_server.create_database(), "PODIUM_SHUTDOWN_TIMEOUT_SECONDS": "60"}
    )
    await asyncio.to_thread(serve.wait_healthy)
    async with httpx.AsyncClient(base_url=serve.base_url, timeout=30) as api:
        event_id, _, _ = await _public_event(api)
    async with stream(serve.base_url, event_id) as live, stream(serve.base_url, event_id, False) as other:
        await live.next_list()
        await other.next_list()
        serve.process.send_signal(signal.SIGTERM)
        # Each stream ends by itself: a complete chunked body, no broken connection.
        assert await live.next(within=30) is None
        assert await other.next(within=30) is None
        assert "server shutting down, reconnect" in live.comments
    exit_code = await asyncio.to_thread(serve.process.wait, 30)
    assert exit_code == SHUTDOWN_EXIT_CODE
    with contextlib.suppress(Exception):
        serve.ensure_stopped()
