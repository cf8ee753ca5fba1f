"""Issue 5.3: an over-long body → 413; a statement that outlives its timeout and an exhausted pool → 503."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from podium.bootstrap import Container
from podium.config import Settings
from podium.http.app import create_app
from tests.ops.conftest import app_client

UNAVAILABLE = {"detail": "The service is temporarily unavailable, please retry shortly"}


async def test_a_body_over_the_limit_is_413_with_a_detail(settings: Settings, clean_database: object) -> None:
    # A streamed (chunked) body over real HTTP: tests/ops/test_multiworker.py.
    async with app_client(settings, max_request_body_bytes=1024) as client:
        response = await client.post(
            "/users/", content=b"x" * 4096, headers={"content-type": "application/json"}
        )
    assert response.status_code == 413
    assert response.json() == {"detail": "Request Entity Too Large"}


async def test_a_statement_over_the_timeout_is_503_not_a_hang(
    settings: Settings, clean_database: AsyncEngine
) -> None:
    async with (
        app_client(settings, db_statement_timeout_ms=300) as client,
        clean_database.connect() as locker,
    ):
        transaction = await locker.begin()
        await locker.execute(text("LOCK TABLE users IN ACCESS EXCLUSIVE MODE"))
        try:
            response = await asyncio.wait_for(
                client.post("/users/", json={"email": "slow@example.com", "first_name": "Slow"}), 10
            )
        finally:
            await transaction.rollback()
    assert response.status_code == 503
    assert response.json() == UNAVAILABLE
    assert response.headers["retry-after"] == "1"


async def test_an_exhausted_connection_pool_is_503_not_a_hang(
    settings: Settings, clean_database: object
) -> None:
    # The app on this test's event loop (httpx's ASGI transport), so the test can hold its pool's only
    # connection while it serves a request.
    container = Container.build(replace(settings, db_pool_size=1, db_max_overflow=0, db_pool_timeout=0.3))
    app = create_app(container=container)
    app.state.container = container
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://podium"
        ) as client:
            async with container.engine.connect() as held:
                await held.execute(text("SELECT 1"))
                starved = await asyncio.wait_for(client.get("/events/id/some-slug"), 10)
            after = await client.get("/events/id/some-slug")
    finally:
        await container.close()
    assert starved.status_code == 503
    assert starved.json() == UNAVAILABLE
    assert after.status_code == 404
