"""`podium smoke BASE_URL` against the app served over real HTTP on real PostgreSQL: it passes, and
nothing it created is left behind, also when a step fails."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from podium.adapters.postgres.models import Base
from podium.cli import main
from tests.api.conftest import SignUp, attend, submit
from tests.conftest import TEST_SECRET

pytestmark = pytest.mark.postgres


async def every_row(engine: AsyncEngine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, sorted: what "nothing left behind" is checked against."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    async with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            result = await connection.execute(table.select())
            rows[table.name] = sorted(
                (tuple(map(str, row)) for row in result if not _per_client(table.name, row)), key=str
            )
    return rows


def _per_client(table: str, row: Any) -> bool:
    """A per-client-address counter: the smoke's requests count for its address like any client's."""
    return table == "rate_limit_hits" and ":client:" in row.key


async def test_the_smoke_test_leaves_other_clients_counters_alone(
    live_url: str, clean_database: AsyncEngine, database_url: str
) -> None:
    """Issue 22 item 10: a counter another client's request created during the run is that client's."""
    other = "request-login:client:203.0.113.7"
    smoke = asyncio.create_task(run_smoke(live_url, database_url))
    async with asyncio.timeout(60), clean_database.connect() as connection:
        # Once the smoke has signed up its organiser, it is past any look at the counters it takes first.
        while not (
            await connection.execute(text("SELECT count(*) FROM users WHERE email LIKE '%@smoke.invalid'"))
        ).scalar_one():
            await connection.commit()
            await asyncio.sleep(0.05)
    async with clean_database.begin() as connection:
        await connection.execute(
            text("INSERT INTO rate_limit_hits VALUES (:key, ARRAY[extract(epoch FROM now())::float8], 1)"),
            {"key": other},
        )
    status, output = await smoke
    assert status == 0, output
    async with clean_database.connect() as connection:
        kept = await connection.execute(
            text("SELECT count(*) FROM rate_limit_hits WHERE key = :key"), {"key": other}
        )
        assert kept.scalar_one() == 1


async def run_smoke(
    url: str, database_url: str | None, secret: str = TEST_SECRET, *, development: bool = True
) -> tuple[int, str]:
    """The smoke test in its own process; the test app runs in development mode, accepted unless told."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    env.update(PODIUM_JWT_SECRET=secret, PODIUM_LOG_LEVEL="WARNING", PODIUM_DATA_DIR="/nonexistent-smoke")
    if database_url:
        env["PODIUM_DATABASE_URL"] = database_url
    flags = ["--allow-development"] if development else []
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "podium", "smoke", url, *flags,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, output.decode()


async def existing_data(client: Any, sign_up: SignUp, create_event: Any) -> None:
    """Someone else's event with a vote, so the smoke test has rows around it to leave alone."""
    owner, voter = await sign_up("Owner"), await sign_up("Voter")
    event = await create_event(owner, "Real Event", votable=True, leaderboard_enabled=True)
    await attend(client, owner, event)
    await attend(client, voter, event)
    project = await submit(client, owner, event, "Real Project")
    voted = await client.post(
        "/events/vote", json={"event": event.id, "projects": [project["id"]]}, headers=voter.headers
    )
    assert voted.status_code == 200, voted.text


async def test_the_smoke_test_passes_and_leaves_no_row_behind(
    live_url: str, client: Any, sign_up: SignUp, create_event: Any, engine: AsyncEngine, database_url: str
) -> None:
    await existing_data(client, sign_up, create_event)
    before = await every_row(engine)

    status, output = await run_smoke(live_url, database_url)

    assert status == 0, output
    lines = output.splitlines()
    for step in ("health", "log in organiser", "create event", "open voting", "attend", "create projects",
                 "vote", "public leaderboard", "admin leaderboard", "clean up: delete event"):  # fmt: skip
        line = next(line for line in lines if line.startswith(f"{step} "))
        assert line.split()[len(step.split())] == "ok", line
        assert " ms" in line
    assert "the vote is counted" in output
    assert "Smoke test PASSED, nothing left behind." in output
    assert await every_row(engine) == before


async def test_a_failed_step_still_removes_everything(
    live_url: str, client: Any, sign_up: SignUp, create_event: Any, engine: AsyncEngine, database_url: str
) -> None:
    await existing_data(client, sign_up, create_event)
    before = await every_row(engine)

    # A wrong secret: the sign-up works, the log-in does not; every later step is skipped.
    status, output = await run_smoke(live_url, database_url, secret="not-the-servers-secret")

    assert status == 1, output
    log_in = next(line for line in output.splitlines() if line.startswith("log in organiser"))
    assert log_in.split()[3] == "FAIL"
    # It names the secret: the server refused the link signed with PODIUM_JWT_SECRET.
    assert "signed with PODIUM_JWT_SECRET: set PODIUM_JWT_SECRET to the server's own secret" in log_in
    assert next(line for line in output.splitlines() if line.startswith("vote ")).split()[1] == "skipped"
    assert "removed 1 users" in output
    assert "Smoke test FAILED" in output
    assert await every_row(engine) == before


async def test_a_server_in_development_mode_fails_the_smoke_test(
    live_url: str, clean_database: AsyncEngine, database_url: str
) -> None:
    status, output = await run_smoke(live_url, database_url, development=False)
    assert status == 1, output
    health = next(line for line in output.splitlines() if line.startswith("health "))
    assert health.split()[1] == "FAIL"
    assert "development mode (PODIUM_ENV is not production" in health
    assert "--allow-development" in health
    assert "Smoke test FAILED, nothing left behind." in output


def test_without_the_secret_a_remote_server_is_refused(tmp_path: Any) -> None:
    (tmp_path / "jwt-secret").write_text("a development secret")
    env = {"PODIUM_DATA_DIR": str(tmp_path), "PODIUM_JWT_SECRET": "", "PODIUM_LOG_LEVEL": "WARNING"}
    refused = CliRunner().invoke(main, ["smoke", "https://podium.example.invalid"], env=env)
    assert refused.exit_code == 2
    assert "PODIUM_JWT_SECRET is not set: set it to the secret of the server at" in refused.stderr


async def test_without_the_database_the_users_left_behind_are_named(
    live_url: str, clean_database: AsyncEngine
) -> None:
    status, output = await run_smoke(live_url, None)

    assert status == 1, output
    assert "clean up: delete event" in output
    assert "users left behind (smoke-" in output
    assert "Set PODIUM_DATABASE_URL" in output
    async with clean_database.connect() as connection:
        left = (await connection.execute(text("SELECT count(*) FROM users"))).scalar_one()
        events = (await connection.execute(text("SELECT count(*) FROM events"))).scalar_one()
    assert (left, events) == (2, 0)


async def test_the_next_run_removes_what_a_killed_run_left(
    live_url: str, clean_database: AsyncEngine, database_url: str
) -> None:
    assert (await run_smoke(live_url, None))[0] == 1  # leaves its two users
    status, output = await run_smoke(live_url, database_url)
    assert status == 0, output
    assert "removed 4 users" in output
    async with clean_database.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM users"))).scalar_one() == 0
