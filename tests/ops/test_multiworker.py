"""Issue 5.6: ``podium serve --workers 2`` — two processes on one database keep the vote quota over real
HTTP, and ``/metrics`` sums both workers. Also: a streamed body over the limit is cut off with 413."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable

import asyncpg
import httpx
from prometheus_client.parser import text_string_to_metric_families

from podium.domain.rules import max_votes_per_user
from tests.api.conftest import mint
from tests.conftest import PostgresForTests
from tests.ops.conftest import StartServe
from tests.ops.test_observability import sample

PROJECTS = 5
VOTE_REQUESTS = 32


async def _user(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    created = await client.post("/users/", json={"email": email, "first_name": "W"})
    assert created.status_code == 200, created.text
    return {"Authorization": f"Bearer {mint(email)}"}


async def _ok(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 200, response.text
    body: dict[str, str] = response.json()
    return body


async def _metrics_until(client: httpx.AsyncClient, ready: Callable[[str], bool]) -> str:
    """Scrape until ``ready`` (a worker counts a request just after answering it; both workers must have
    started), at most 30 s."""
    deadline = time.monotonic() + 30
    text = ""
    while True:
        with contextlib.suppress(httpx.TransportError):  # a kept-alive connection to a killed worker
            text = (await client.get("/metrics")).text
        if ready(text) or time.monotonic() > deadline:
            return text
        await asyncio.sleep(0.25)


def _votes_counted(text: str) -> float:
    route = {"method": "POST", "route": "/events/vote"}
    return sum(sample(text, "podium_http_requests_total", **route, status=s) for s in ("2xx", "4xx", "5xx"))


async def test_two_workers_share_one_database_and_never_exceed_the_vote_quota(
    pg_server: PostgresForTests, serve_factory: StartServe
) -> None:
    url = pg_server.create_database()
    serve = serve_factory({"PODIUM_DATABASE_URL": url, "PODIUM_MAX_REQUEST_BODY_BYTES": "2048"}, workers=2)
    await asyncio.to_thread(serve.wait_healthy)
    async with httpx.AsyncClient(base_url=serve.base_url, timeout=30) as client:
        metrics = await _metrics_until(client, lambda text: sample(text, "podium_workers") == 2)
        assert sample(metrics, "podium_workers") == 2
        assert len(re.findall(r"^podium_worker_start_time_seconds\{", metrics, re.MULTILINE)) == 2

        owner = await _user(client, "mw-owner@example.com")
        voter = await _user(client, "mw-voter@example.com")
        event = await _ok(await client.post("/events/", json={"name": "Two Workers"}, headers=owner))
        for person in (owner, voter):
            await _ok(
                await client.post(
                    "/events/attend", params={"join_code": event["join_code"], "referral": ""}, headers=person
                )
            )
        projects = []
        for i in range(PROJECTS):
            body = {"name": f"P{i}", "repo": "https://g/x", "image_url": "https://i/x.png", "demo": "https://d",
                    "event_id": event["id"]}  # fmt: skip
            projects.append((await _ok(await client.post("/projects/", json=body, headers=owner)))["id"])
        await _ok(await client.put(f"/events/{event['id']}", json={"votable": True}, headers=owner))

        votes = await asyncio.gather(
            *(
                client.post(
                    "/events/vote",
                    json={"event": event["id"], "projects": [projects[i % PROJECTS]]},
                    headers=voter,
                )
                for i in range(VOTE_REQUESTS)
            )
        )
        statuses = Counter(response.status_code for response in votes)
        metrics = await _metrics_until(client, lambda text: _votes_counted(text) >= VOTE_REQUESTS)

        async def body() -> AsyncIterator[bytes]:
            for _ in range(8):
                yield b" " * 1024

        streamed = await client.post("/users/", content=body(), headers={"content-type": "application/json"})

    quota = max_votes_per_user(PROJECTS)
    assert set(statuses) <= {200, 400}, statuses
    assert 1 <= statuses[200] <= quota
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        stored = await connection.fetch(
            "SELECT project_id FROM votes WHERE voter_id = (SELECT id FROM users WHERE email = $1)",
            "mw-voter@example.com",
        )
    finally:
        await connection.close()
    assert len(stored) == statuses[200]
    assert len({row["project_id"] for row in stored}) == len(stored)
    # Both workers' counters are in one scrape.
    assert _votes_counted(metrics) == VOTE_REQUESTS
    assert streamed.status_code == 413
    assert streamed.json() == {"detail": "Request Entity Too Large"}
    assert "Traceback" not in serve.log()


async def test_a_project_renamed_in_sql_shows_on_every_worker_at_the_next_read(
    pg_server: PostgresForTests, serve_factory: StartServe
) -> None:
    url = pg_server.create_database()
    serve = serve_factory({"PODIUM_DATABASE_URL": url}, workers=2)
    await asyncio.to_thread(serve.wait_healthy)
    async with httpx.AsyncClient(base_url=serve.base_url, timeout=30) as client:
        owner = await _user(client, "mw-sql@example.com")
        event = await _ok(await client.post("/events/", json={"name": "SQL Edits"}, headers=owner))
        await _ok(
            await client.post(
                "/events/attend", params={"join_code": event["join_code"], "referral": ""}, headers=owner
            )
        )
        body = {"name": "Before", "repo": "https://g/x", "image_url": "https://i/x.png", "demo": "https://d",
                "event_id": event["id"]}  # fmt: skip
        await _ok(await client.post("/projects/", json=body, headers=owner))
        await _ok(
            await client.put(f"/events/{event['id']}", json={"leaderboard_enabled": True}, headers=owner)
        )
        path = f"/events/{event['id']}/projects?leaderboard=true"

        async def names() -> set[str]:
            # Many concurrent reads, so both workers answer some and hold the list in their caches.
            boards = await asyncio.gather(*(client.get(path) for _ in range(24)))
            return {project["name"] for board in boards for project in board.json()}

        assert await names() == {"Before"}
        connection = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        try:
            await connection.execute("UPDATE projects SET name = 'After'")
        finally:
            await connection.close()
        assert await names() == {"After"}


def _live_workers(text: str) -> set[str]:
    return {
        found.labels["worker"]
        for family in text_string_to_metric_families(text)
        if family.name == "podium_worker_start_time_seconds"
        for found in family.samples
    }


async def test_killed_workers_leave_the_live_gauges_and_their_counts_stay(
    pg_server: PostgresForTests, serve_factory: StartServe
) -> None:
    """A SIGKILLed worker runs no clean-up: the next scrape drops its gauges, uvicorn replaces it, and
    the requests it had answered stay in the sum (counters never go backwards)."""
    serve = serve_factory({"PODIUM_DATABASE_URL": pg_server.create_database()}, workers=2)
    await asyncio.to_thread(serve.wait_healthy)
    health = {"method": "GET", "route": "/health"}
    async with httpx.AsyncClient(base_url=serve.base_url, timeout=30) as client:
        text = await _metrics_until(client, lambda text: len(_live_workers(text)) == 2)
        first = _live_workers(text)
        assert len(first) == 2
        await asyncio.gather(*(client.get("/health") for _ in range(20)))
        text = await _metrics_until(
            client, lambda text: sample(text, "podium_http_requests_total", **health, status="2xx") >= 21
        )
        answered = sample(text, "podium_http_requests_total", **health, status="2xx")

        for pid in first:  # both original workers, one after the other
            os.kill(int(pid), signal.SIGKILL)
            text = await _metrics_until(
                client, lambda text, pid=pid: pid not in _live_workers(text) and len(_live_workers(text)) == 2
            )
        assert sample(text, "podium_workers") == 2
        assert _live_workers(text).isdisjoint(first)
        assert sample(text, "podium_http_requests_total", **health, status="2xx") == answered
