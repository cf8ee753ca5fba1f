"""PRODUCT §3.16 proven on real PostgreSQL: one attendee firing many votes at once never exceeds the quota,
never double-votes, and never gets a 5xx."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import httpx
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.conftest import SignUp, attend, submit

CONCURRENT_REQUESTS = 40


async def test_concurrent_votes_by_one_attendee_respect_quota_and_uniqueness(
    client: AsyncTestClient[Any], sign_up: SignUp, create_event: Any, engine: AsyncEngine, live_url: str
) -> None:
    owner = await sign_up("Olive")
    voter = await sign_up("Vera")
    event = await create_event(owner, votable=True)
    await attend(client, owner, event)
    await attend(client, voter, event)
    project_ids = [(await submit(client, owner, event, f"Project {i:02}"))["id"] for i in range(20)]
    assert (await client.get(f"/events/{event.id}")).json()["max_votes_per_user"] == 3

    rng = random.Random(16)
    bodies = [
        {"event": event.id, "projects": rng.sample(project_ids, k=rng.choice([1, 1, 2]))}
        for _ in range(CONCURRENT_REQUESTS)
    ]
    # Over real HTTP, so the requests truly overlap in the server and in the database.
    limits = httpx.Limits(max_connections=CONCURRENT_REQUESTS)
    async with httpx.AsyncClient(base_url=live_url, limits=limits, timeout=30) as http:
        responses = await asyncio.gather(
            *(http.post("/events/vote", json=body, headers=voter.headers) for body in bodies)
        )

    statuses = [r.status_code for r in responses]
    assert all(status < 500 for status in statuses), statuses
    assert set(statuses) <= {200, 400}
    async with engine.connect() as connection:
        rows = (
            await connection.execute(
                text("SELECT project_id FROM votes WHERE voter_id = :voter"), {"voter": voter.id}
            )
        ).all()
    voted = [str(row[0]) for row in rows]
    assert len(voted) == len(set(voted))  # never twice for one project
    assert len(voted) <= 3  # never over the quota
    accepted = [body for body, r in zip(bodies, responses, strict=True) if r.status_code == 200]
    # Every accepted request's votes are stored, and only those.
    assert sorted(voted) == sorted(p for body in accepted for p in body["projects"])
    rejected = {r.json()["detail"] for r in responses if r.status_code == 400}
    assert rejected <= {
        "User has already voted for this project",
        *{
            f"Cannot vote for {n} projects. You have {left} vote(s) remaining."
            for n in (1, 2)
            for left in range(4)
        },
    }


async def test_withdrawals_racing_casts_never_leave_a_voter_over_quota(
    client: AsyncTestClient[Any], sign_up: SignUp, create_event: Any, engine: AsyncEngine, live_url: str
) -> None:
    """Issue 15: withdrawing is decided one after another with the same attendee's casts (same lock)."""
    owner, voter = await sign_up("Olive"), await sign_up("Vera")
    event = await create_event(owner, votable=True)
    await attend(client, owner, event)
    await attend(client, voter, event)
    project_ids = [(await submit(client, owner, event, f"Project {i:02}"))["id"] for i in range(20)]
    first = await client.post(
        "/events/vote", json={"event": event.id, "projects": project_ids[:3]}, headers=voter.headers
    )
    assert first.status_code == 200, first.text

    rng = random.Random(15)
    calls = []
    for _ in range(CONCURRENT_REQUESTS):
        project = rng.choice(project_ids)
        if rng.random() < 0.5:
            calls.append(("DELETE", f"/events/{event.id}/votes/{project}", None))
        else:
            calls.append(("POST", "/events/vote", {"event": event.id, "projects": [project]}))
    limits = httpx.Limits(max_connections=CONCURRENT_REQUESTS)
    async with httpx.AsyncClient(base_url=live_url, limits=limits, timeout=30) as http:
        responses = await asyncio.gather(
            *(http.request(method, url, json=body, headers=voter.headers) for method, url, body in calls)
        )

    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 400, 404}, statuses
    async with engine.connect() as connection:
        rows = (
            await connection.execute(
                text("SELECT project_id FROM votes WHERE voter_id = :v"), {"v": voter.id}
            )
        ).all()
    assert len(rows) <= 3
    assert len({row.project_id for row in rows}) == len(rows)
    # Every withdrawal that answered 200 took away a vote that a cast had made: the books balance.
    withdrawn = sum(1 for (m, _, _), s in zip(calls, statuses, strict=True) if m == "DELETE" and s == 200)
    cast = sum(1 for (m, _, _), s in zip(calls, statuses, strict=True) if m == "POST" and s == 200)
    assert 3 + cast - withdrawn == len(rows)
