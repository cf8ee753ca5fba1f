"""Issue 23: the service behind a transaction-mode pooler (Debian's PgBouncer, default settings): nothing
refused at connect, no prepared statement relied on across transactions, LISTEN on the direct URL. The
API, votes under concurrency, the exact leaderboard and the live lists all work through it."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from bench.pg import free_port
from click.testing import CliRunner
from litestar.testing import AsyncTestClient
from sqlalchemy import text

from podium.adapters.postgres.database import create_engine
from podium.cli import main
from podium.http.app import create_app
from tests.api.conftest import Person, SignUp, attend, submit
from tests.api.live_support import stream
from tests.hosted.conftest import Hosted, pooled_settings, settings_for
from tests.support.served import served

VOTERS = 16


async def test_votes_under_concurrency_give_the_exact_leaderboard_live_through_the_pooler(
    client: AsyncTestClient[Any], hosted: Hosted, sign_up: SignUp, create_event: Any
) -> None:
    owner = await sign_up("Olive")
    event = await create_event(owner, "Pooled Jam", votable=True, leaderboard_enabled=True)
    await attend(client, owner, event)
    names = ["Alpha", "Beta", "Gamma"]
    ids = {name: (await submit(client, owner, event, name))["id"] for name in names}
    voters: list[Person] = []
    for n in range(VOTERS):
        voter = await sign_up(f"Voter{n}")
        await attend(client, voter, event)
        voters.append(voter)
    choices = {voter.id: names[(n * n) % 3] for n, voter in enumerate(voters)}
    expected = Counter(choices.values())

    # Another instance, over real HTTP: concurrent requests, and its own LISTEN on the direct URL.
    async with served(create_app(pooled_settings(hosted))) as base, stream(base, event.id) as live:
        _, board = await live.next_list()
        assert board == [(name, 0) for name in names]
        limits = httpx.Limits(max_connections=VOTERS)
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as http:
            responses = await asyncio.gather(
                *(
                    http.post(
                        "/events/vote",
                        json={"event": event.id, "projects": [ids[choices[voter.id]]]},
                        headers=voter.headers,
                    )
                    for voter in voters
                )
            )
        assert [response.status_code for response in responses] == [200] * VOTERS
        want = sorted(
            ((name, expected[name]) for name in names), key=lambda row: (-row[1], names.index(row[0]))
        )
        while board != want:  # changes may be coalesced into fewer messages
            _, board = await live.next_list()

    leaderboard = await client.get(f"/events/{event.id}/projects", params={"leaderboard": "true"})
    assert [(p["name"], p["points"]) for p in leaderboard.json()] == want
    admin = await client.get(f"/events/admin/{event.id}/leaderboard", headers=owner.headers)
    assert admin.status_code == 200, admin.text


async def test_the_statement_limit_holds_through_the_pooler(hosted: Hosted) -> None:
    settings = pooled_settings(hosted, PODIUM_DB_STATEMENT_TIMEOUT_MS="300")
    engine = create_engine(settings, pooled=True)
    try:
        with pytest.raises(TimeoutError):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT pg_sleep(5)"))
        async with engine.connect() as connection:  # the pool and the pooler are fine afterwards
            assert (await connection.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        await engine.dispose()


async def test_without_pooler_mode_the_service_answers_503_and_says_what_to_set(
    hosted: Hosted, clean: None, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(hosted.pooled, PODIUM_DATABASE_POOLER="none")
    with caplog.at_level(logging.ERROR, logger="podium"):
        async with AsyncTestClient(app=create_app(settings)) as client:
            assert (await client.get("/health")).status_code == 503
            response = await client.get("/events/official")
            assert response.status_code == 503
            assert response.json() == {
                "detail": "The service is temporarily unavailable, please retry shortly"
            }
    said = [record.getMessage() for record in caplog.records]
    assert any("Set PODIUM_DATABASE_POOLER=transaction" in line for line in said), said


def test_commands_use_the_direct_url(hosted: Hosted, tmp_path: Path) -> None:
    """Migrations, backups and the other commands need a session: they never go through the pooler (here
    a pooler URL where nothing listens, so a command that used it would fail)."""
    env = {
        "PODIUM_DATABASE_URL": f"postgresql://podium:pw@127.0.0.1:{free_port()}/podium",
        "PODIUM_DATABASE_DIRECT_URL": hosted.verified(),
        "PODIUM_DATA_DIR": str(tmp_path),
    }
    for command in (["db", "upgrade"], ["db", "current"], ["db", "backup", str(tmp_path / "x.dump")]):
        if command[1] == "backup":
            env["PODIUM_PG_BIN"] = "/usr/lib/postgresql/15/bin"
        result = CliRunner().invoke(main, command, env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
