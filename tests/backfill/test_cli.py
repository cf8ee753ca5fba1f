"""`podium airtable export` and `podium backfill`: exit statuses, verification table, report, progress."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from podium.cli import main
from podium.domain.backfill import SourceTable
from podium.testing.fake_airtable import FakeAirtable
from podium.testing.synthetic_airtable import DEFAULT_BASE_ID, DEFAULT_TABLE_IDS, SyntheticBase

pytestmark = pytest.mark.postgres

CLEAN_BASE = {
    SourceTable.USERS: [
        {
            "id": "recUser1",
            "createdTime": "2024-01-01T00:00:00.000Z",
            "fields": {"email": "a@x.io", "first_name": "A"},
        }
    ],
    SourceTable.EVENTS: [
        {
            "id": "recEvent1",
            "createdTime": "2024-01-01T00:00:00.000Z",
            "fields": {"name": "Hack", "slug": "hack", "join_code": "AB12", "owner": ["recUser1"]},
        }
    ],
    SourceTable.PROJECTS: [],
    SourceTable.REFERRALS: [],
    SourceTable.VOTES: [],
}


def environment(fake: FakeAirtable, database_url: str, token: str | None = None) -> dict[str, str]:
    env = {
        "PODIUM_DATABASE_URL": database_url,
        "PODIUM_AIRTABLE_TOKEN": token or fake.token,
        "PODIUM_AIRTABLE_BASE_ID": DEFAULT_BASE_ID,
        "PODIUM_AIRTABLE_ENDPOINT_URL": fake.url,
        "PODIUM_LOG_LEVEL": "WARNING",
    }
    for table, table_id in DEFAULT_TABLE_IDS.items():
        env[f"PODIUM_AIRTABLE_{str(table).upper()}_TABLE_ID"] = table_id
    return env


@pytest.fixture
def fake(small_base: SyntheticBase) -> Iterator[FakeAirtable]:
    with FakeAirtable({DEFAULT_BASE_ID: small_base.by_table_id()}) as server:
        yield server


async def count_users(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(text("SELECT count(*) FROM users"))).scalar_one())


def test_export_dry_run_backfill_and_report(
    fake: FakeAirtable,
    clean_database: AsyncEngine,
    database_url: str,
    small_base: SyntheticBase,
    tmp_path: Path,
) -> None:
    runner = CliRunner()
    env = environment(fake, database_url)

    exported = runner.invoke(main, ["airtable", "export", str(tmp_path / "snap")], env=env)
    assert exported.exit_code == 0, exported.output
    assert "Exported 160 users" in exported.stdout
    assert "read  users" in exported.stderr
    assert "done" in exported.stderr

    dry = runner.invoke(main, ["backfill", "--from-snapshot", str(tmp_path / "snap"), "--dry-run"], env=env)
    assert dry.exit_code == 3, dry.output
    assert "Dry run: nothing was written" in dry.stdout
    assert runner_portal(count_users, clean_database) == 0

    report = tmp_path / "report.json"
    real = runner.invoke(main, ["backfill", "--report", str(report)], env=env)
    assert real.exit_code == 3, real.output
    header = next(line for line in real.stdout.splitlines() if line.startswith("table"))
    assert header.split() == [
        "table",
        "airtable",
        "postgres",
        "created",
        "updated",
        "unchanged",
        "merged",
        "skipped",
    ]
    table_part = real.stdout.split("\n\n")[0].splitlines()
    lines = {line.split()[0]: line.split() for line in table_part}
    assert lines["event_attendees"][1] == str(
        sum(len(e["fields"].get("attendees", [])) for e in small_base.records[SourceTable.EVENTS])
    )
    assert "could not be migrated" in real.stdout
    payload = json.loads(report.read_text())
    assert payload["exit_status"] == 3
    assert payload["tables"]["users"]["stored"] == runner_portal(count_users, clean_database)
    assert any(issue["reason"] == "orphan_link" for issue in payload["issues"])
    assert "write users" in real.stderr

    again = runner.invoke(main, ["backfill", "--from-snapshot", str(tmp_path / "snap")], env=env)
    assert again.exit_code == 3
    users = next(line.split() for line in again.stdout.splitlines() if line.startswith("users"))
    assert users[3:5] == ["0", "0"], "a second run creates and updates nothing"


def test_clean_data_exits_zero(clean_database: AsyncEngine, database_url: str) -> None:
    with FakeAirtable(
        {DEFAULT_BASE_ID: {DEFAULT_TABLE_IDS[t]: rows for t, rows in CLEAN_BASE.items()}}
    ) as fake:
        result = CliRunner().invoke(main, ["backfill"], env=environment(fake, database_url))
    assert result.exit_code == 0, result.output
    assert "Every Airtable record was migrated." in result.stdout


def test_a_bad_token_fails_with_a_clear_message(fake: FakeAirtable, database_url: str) -> None:
    result = CliRunner().invoke(main, ["backfill"], env=environment(fake, database_url, token="pat-wrong"))
    assert result.exit_code == 1
    assert "Airtable refused the token (HTTP 401)" in result.stderr


def test_an_incomplete_snapshot_is_refused(fake: FakeAirtable, database_url: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["backfill", "--from-snapshot", str(tmp_path)], env=environment(fake, database_url)
    )
    assert result.exit_code == 1
    assert "not a complete snapshot" in result.stderr


def runner_portal(function, engine: AsyncEngine) -> int:  # type: ignore[no-untyped-def]
    """Run an async check from this synchronous test (the CLI owns its own event loop)."""
    import asyncio

    async def go() -> int:
        from podium.adapters.postgres.database import create_engine
        from podium.config import Settings

        own = create_engine(Settings(), engine.url.render_as_string(hide_password=False))
        try:
            return await function(own)
        finally:
            await own.dispose()

    return asyncio.run(go())
