"""Operators' mistakes on cutover day: a second bulk write while one runs is refused at once, naming the
running one; two write-backs started together leave every Airtable record exactly once (the fake Airtable
over real HTTP, its rate limit on)."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from podium.adapters.postgres.database import create_engine
from podium.adapters.postgres.run_lock import bulk_write_lock
from podium.cli import main
from podium.cli.common import BUSY
from podium.config import Settings
from podium.domain.backfill import SourceTable
from podium.testing.fake_airtable import FakeAirtable
from podium.testing.synthetic_airtable import DEFAULT_BASE_ID, DEFAULT_TABLE_IDS, SyntheticBase
from tests.backfill.test_cli import environment
from tests.conftest import PostgresForTests

pytestmark = pytest.mark.postgres

SIGN_UPS = 25


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """A loop the test drives by hand between CLI runs (which start their own with asyncio.run)."""
    manual = asyncio.new_event_loop()
    yield manual
    manual.close()


@pytest.fixture
def rate_limited_fake(small_base: SyntheticBase) -> Iterator[FakeAirtable]:
    with FakeAirtable({DEFAULT_BASE_ID: small_base.by_table_id()}, rate_limit=5) as server:
        yield server


def _sql(loop: asyncio.AbstractEventLoop, url: str, sql: str) -> Any:
    async def go() -> Any:
        engine = create_engine(Settings(), url)
        try:
            async with engine.begin() as connection:
                result = await connection.execute(text(sql))
                return result.all() if result.returns_rows else None
        finally:
            await engine.dispose()

    return loop.run_until_complete(go())


def _sign_ups(loop: asyncio.AbstractEventLoop, url: str) -> None:
    _sql(
        loop,
        url,
        "INSERT INTO users (id, email, first_name, display_name, last_name, phone, street_1, street_2, "
        "city, state, zip_code, country) SELECT gen_random_uuid(), 'signup' || n || '@example.org', "
        f"'Signup' || n, '', '', '', '', '', '', '', '', '' FROM generate_series(1, {SIGN_UPS}) n",
    )


def test_every_bulk_writer_refuses_while_another_holds_the_lock(
    pg_server: PostgresForTests,
    rate_limited_fake: FakeAirtable,
    tmp_path: Path,
    loop: asyncio.AbstractEventLoop,
) -> None:
    url = pg_server.create_database("podium_one_run_lock")
    env = environment(rate_limited_fake, url, tmp_path / "data")
    backup = tmp_path / "before.dump"
    assert CliRunner().invoke(main, ["db", "backup", str(backup)], env=env).exit_code == 0
    held = bulk_write_lock(Settings(), url, "backfill")
    loop.run_until_complete(held.__aenter__())
    try:
        for command in (
            ["airtable", "write-back"],
            ["backfill"],
            ["db", "restore", str(backup), "--force"],
            ["db", "downgrade", "base", "--yes"],
            ["db", "upgrade"],
        ):
            refused = CliRunner().invoke(main, command, env=env)
            assert refused.exit_code == BUSY, (command, refused.output)
            # One line naming the run that holds the lock: its command, pid, user and start.
            line = refused.stderr.strip()
            assert "\n" not in line
            assert f"`podium backfill` (pid {os.getpid()} by " in line, line
            assert "running since" in line
            assert "did nothing" in line
        # Refused before asking Airtable anything: a second run costs the first no request budget.
        assert rate_limited_fake.requests == []
        # A dry run takes no lock: it runs, and says that a run is writing.
        dry = CliRunner().invoke(main, ["airtable", "write-back", "--dry-run"], env=env)
        assert dry.exit_code == 0, dry.output
        assert "`podium backfill`" in dry.stderr
        assert "may change" in dry.stderr
    finally:
        loop.run_until_complete(held.__aexit__(None, None, None))
    assert rate_limited_fake.writes == []
    # Once the first run has ended, the lock is free again.
    assert CliRunner().invoke(main, ["db", "upgrade"], env=env).exit_code == 0


def test_two_write_backs_at_once_leave_every_record_exactly_once(
    pg_server: PostgresForTests,
    rate_limited_fake: FakeAirtable,
    tmp_path: Path,
    loop: asyncio.AbstractEventLoop,
) -> None:
    url = pg_server.create_database("podium_two_write_backs")
    _sign_ups(loop, url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    env.update(environment(rate_limited_fake, url, tmp_path / "data"))
    # The first run waits on the test's lock for as long as the second takes to start on a busy machine.
    env["PODIUM_DB_STATEMENT_TIMEOUT_MS"] = "600000"
    command = [sys.executable, "-m", "podium", "airtable", "write-back"]

    async def hold_users() -> Any:
        # The test holds the users table (reads allowed, writes wait) so the first run is caught
        # mid-way: after its first request to Airtable, before recording it.
        engine = create_engine(Settings(), url)
        connection = await engine.connect()
        # However long the second run takes to start on a busy machine, the server keeps this open.
        await connection.execute(text("SET idle_in_transaction_session_timeout = 0"))
        await connection.execute(text("LOCK TABLE users IN EXCLUSIVE MODE"))
        return engine, connection

    engine, blocker = loop.run_until_complete(hold_users())
    # Airtable rate-limits the first request: the wait is announced, what for and until when.
    rate_limited_fake.fail_next(1, status=429, retry_after=1)
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not _sql(loop, url, "SELECT 1 FROM pg_locks WHERE NOT granted"):
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the first write-back never reached its first record"
            time.sleep(0.05)
        # The second run, in this process (the first is the one that must run beside it).
        second = CliRunner().invoke(main, ["airtable", "write-back"], env=env)
    finally:
        loop.run_until_complete(blocker.rollback())
        loop.run_until_complete(blocker.close())
        loop.run_until_complete(engine.dispose())
    _out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert second.exit_code == BUSY, second.output
    assert f"`podium airtable write-back` (pid {first.pid} by " in second.stderr
    emails = [
        record["fields"].get("email")
        for record in rate_limited_fake.records(DEFAULT_BASE_ID, DEFAULT_TABLE_IDS[SourceTable.USERS])
    ]
    for n in range(1, SIGN_UPS + 1):
        assert emails.count(f"signup{n}@example.org") == 1, n
    assert "Airtable answered 429 (rate limited) to GET users: waiting 1 s, until " in err  # the first check
    assert "then retrying (attempt 2 of 8)" in err
    assert re.search(rf"write users create +{SIGN_UPS} records .* done", err)  # each table's progress
    again = CliRunner().invoke(main, ["airtable", "write-back"], env=env)
    assert again.exit_code == 0, again.output
    assert "the write-back took 0 requests" in again.stdout


def test_a_database_refusing_the_write_back_is_one_line_and_the_next_run_adds_nothing_twice(
    pg_server: PostgresForTests,
    rate_limited_fake: FakeAirtable,
    tmp_path: Path,
    loop: asyncio.AbstractEventLoop,
) -> None:
    url = pg_server.create_database("podium_write_back_refused")
    _sign_ups(loop, url)
    env = environment(rate_limited_fake, url, tmp_path / "data")
    # The database refuses to store the new record ids (as a statement timeout or a lost connection
    # would), after Airtable created the records.
    _sql(loop, url, "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$BEGIN RAISE EXCEPTION 'refused by the test'; END$$")  # fmt: skip
    _sql(
        loop,
        url,
        "CREATE TRIGGER refuse BEFORE UPDATE OF airtable_id ON users FOR EACH ROW EXECUTE FUNCTION refuse()",
    )
    failed = CliRunner().invoke(main, ["airtable", "write-back"], env=env)
    assert failed.exit_code == 1, failed.output
    assert "Error: recording the users records created failed:" in failed.stderr
    assert "refused by the test" in failed.stderr
    assert "run the same command again to resume" in failed.stderr
    assert "Traceback" not in failed.output
    _sql(loop, url, "DROP TRIGGER refuse ON users")
    resumed = CliRunner().invoke(main, ["airtable", "write-back"], env=env)
    assert resumed.exit_code == 0, resumed.output
    emails = [
        record["fields"].get("email")
        for record in rate_limited_fake.records(DEFAULT_BASE_ID, DEFAULT_TABLE_IDS[SourceTable.USERS])
    ]
    assert all(emails.count(f"signup{n}@example.org") == 1 for n in range(1, SIGN_UPS + 1))
