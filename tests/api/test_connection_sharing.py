"""No request ever holds two pooled connections: this module's app has a pool of ONE connection, and every
kind of request (reads, point lookups, writes, rate-limited joins, concurrent requests) is still served."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any

import anyio
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import event

from podium.config import Settings
from podium.http.app import create_app
from tests.api.conftest import EventSetup, SignUp, attend, submit


@pytest.fixture
async def client(settings: Settings, clean_database: object) -> AsyncIterator[AsyncTestClient[Any]]:
    tight = replace(settings, db_pool_size=1, db_max_overflow=0, db_pool_timeout=3.0)
    async with AsyncTestClient(app=create_app(tight)) as client:
        yield client


async def test_an_authenticated_read_holds_one_connection_at_a_time(
    client: AsyncTestClient[Any], sign_up: SignUp
) -> None:
    person = await sign_up("Cora")
    pool = client.app.state.container.engine.sync_engine.pool
    held = {"now": 0, "most": 0, "checkouts": 0}

    def checkout(*_: object) -> None:
        held["now"] += 1
        held["checkouts"] += 1
        held["most"] = max(held["most"], held["now"])

    def checkin(*_: object) -> None:
        held["now"] -= 1

    event.listen(pool, "checkout", checkout)
    event.listen(pool, "checkin", checkin)
    for path in ("/users/current", "/events/", "/projects/mine"):
        held.update(most=0, checkouts=0)
        response = await client.get(path, headers=person.headers)
        assert response.status_code == 200, response.text
        # The guard's user lookup (and /users/current's vote ids) may take a connection of their own,
        # released before the next is taken.
        assert 1 <= held["checkouts"] <= 2, path
        assert held["most"] == 1, path


async def test_one_connection_serves_joins_votes_and_concurrent_requests(
    client: AsyncTestClient[Any], sign_up: SignUp, create_event: Callable[..., Awaitable[EventSetup]]
) -> None:
    owner = await sign_up("Olive")
    voter = await sign_up("Vera")
    setup = await create_event(owner, leaderboard_enabled=True, votable=True)
    await attend(client, owner, setup)  # rate-limited: the limiter takes a connection of its own
    await attend(client, voter, setup)
    project = await submit(client, owner, setup, "P")
    voted = await client.post("/events/vote", json={"event": setup.id, "projects": [project["id"]]},
                              headers=voter.headers)  # fmt: skip
    assert voted.status_code == 200, voted.text
    responses = await asyncio.gather(
        *(client.get(path, headers=voter.headers) for path in ("/users/current", "/events/") * 4),
        client.get(f"/events/{setup.id}/projects", params={"leaderboard": "true"}),
    )
    assert [r.status_code for r in responses] == [200] * 9


async def test_the_connection_is_back_in_the_pool_before_the_body_is_sent(
    client: AsyncTestClient[Any], sign_up: SignUp
) -> None:
    """A client that reads its response slowly must not hold the pool's only connection meanwhile.

    The slow request runs in the test client's portal thread, on the event loop the app started on and
    its pool's asyncpg connections belong to. Run from this test's event loop (another thread), it would
    use those connections from two threads at once, which asyncpg does not survive (a segmentation fault
    now and then) and which fails the slow request anyway (a future attached to a different loop)."""
    person = await sign_up("Sol")
    portal = client.blocking_portal
    body_reached = threading.Event()
    drained = portal.call(anyio.Event)
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def slow_reader(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])
        if message["type"] == "http.response.body":
            body_reached.set()
            await drained.wait()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/users/current",
        "raw_path": b"/users/current",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"test"), (b"authorization", f"Bearer {person.token}".encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("test", 80),
        "state": {},
    }
    slow = portal.start_task_soon(client.app, scope, receive, slow_reader)  # type: ignore[arg-type]
    try:
        assert await asyncio.to_thread(body_reached.wait, 5), "the slow request's body never came"
        # Served while the slow request is still sending its body (the pool's wait is 3 s, then a 503).
        response = await client.get("/users/current", headers=person.headers)
        assert response.status_code == 200, response.text
    finally:
        portal.call(drained.set)
        await asyncio.wrap_future(slow)
    assert statuses == [200]
