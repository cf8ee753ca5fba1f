"""Listing endpoints cost a constant number of SQL round trips, however big the event (no N+1)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import event

from podium.bootstrap import Container
from podium.config import Settings
from podium.http.app import create_app
from tests.api.conftest import Person, SignUp, attend, submit


class StatementCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *_: Any) -> None:
        self.count += 1


@pytest.fixture
def counter() -> StatementCounter:
    return StatementCounter()


@pytest.fixture
async def client(
    settings: Settings, clean_database: object, counter: StatementCounter
) -> AsyncIterator[AsyncTestClient[Any]]:
    """This module's client counts every statement its app sends to PostgreSQL."""
    async with AsyncTestClient(app=create_app(settings)) as client:
        container: Container = client.app.state.container
        event.listen(container.engine.sync_engine, "before_cursor_execute", counter)
        yield client


async def _statements(
    client: AsyncTestClient[Any], counter: StatementCounter, path: str, person: Person, **params: str
) -> int:
    before = counter.count
    response = await client.get(path, headers=person.headers, params=params)
    assert response.status_code == 200, response.text
    return counter.count - before


async def test_listings_use_the_same_number_of_statements_for_3_and_30_projects(
    client: AsyncTestClient[Any], counter: StatementCounter, sign_up: SignUp, create_event: Any
) -> None:
    owner = await sign_up("Olive")
    voter = await sign_up("Vera")
    costs: dict[int, dict[str, int]] = {}
    for size in (3, 30):
        setup = await create_event(owner, leaderboard_enabled=True, votable=True)
        await attend(client, owner, setup)
        await attend(client, voter, setup)
        ids = [(await submit(client, owner, setup, f"P{i}"))["id"] for i in range(size)]
        await client.post(
            "/events/vote", json={"event": setup.id, "projects": ids[:1]}, headers=voter.headers
        )
        count = lambda path, **params: _statements(client, counter, path, owner, **params)  # noqa: E731
        costs[size] = {
            "leaderboard": await count(f"/events/{setup.id}/projects", leaderboard="true"),
            "listing": await count(f"/events/{setup.id}/projects", leaderboard="false"),
            "event": await count(f"/events/{setup.id}"),
            "admin leaderboard": await count(f"/events/admin/{setup.id}/leaderboard"),
            "admin votes": await count(f"/events/admin/{setup.id}/votes"),
            "my events": await count("/events/"),
            "my projects": await count("/projects/mine"),
            "current user": await count("/users/current"),
        }
    assert costs[3] == costs[30]
    print("SQL statements per request:", costs[30])
