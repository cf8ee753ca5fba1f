"""`podium airtable write-back --dry-run` touches, read-only, everything the real run would: the database
(reachable, migrated) and Airtable (token, base, five tables, over real HTTP); a failure reads as a dry
run's, not as a run to resume."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.ext.asyncio import AsyncEngine

from podium.cli import main
from podium.testing.fake_airtable import FakeAirtable
from podium.testing.synthetic_airtable import DEFAULT_BASE_ID, SyntheticBase
from tests.backfill.test_cli import environment
from tests.conftest import PostgresForTests

pytestmark = pytest.mark.postgres

DRY_RUN = ["airtable", "write-back", "--dry-run"]


@pytest.fixture(scope="module")
def fake(small_base: SyntheticBase) -> Iterator[FakeAirtable]:
    with FakeAirtable({DEFAULT_BASE_ID: small_base.by_table_id()}, rate_limit=5) as server:
        yield server


def test_a_dry_run_reads_airtable_and_writes_nothing(
    fake: FakeAirtable, clean_database: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    fake.reset_log()
    done = CliRunner().invoke(main, DRY_RUN, env=environment(fake, database_url, tmp_path))
    assert done.exit_code == 0, done.output
    assert "Dry run: nothing was written." in done.stdout
    assert {request.method for request in fake.requests} == {"GET"}
    asked = {request.table for request in fake.requests}
    assert len(asked) == 6  # the five tables and the token's scopes
    assert fake.writes == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"PODIUM_AIRTABLE_TOKEN": "pat-wrong"}, "check PODIUM_AIRTABLE_TOKEN"),
        ({"PODIUM_AIRTABLE_VOTES_TABLE_ID": "tblNoSuchTable"}, "check PODIUM_AIRTABLE_VOTES_TABLE_ID"),
        ({"PODIUM_AIRTABLE_ENDPOINT_URL": "http://127.0.0.1:1"}, "cannot reach Airtable"),
        (
            {"PODIUM_DATABASE_URL": "postgresql+asyncpg://podium@127.0.0.1:1/podium"},
            "PODIUM_DATABASE_URL: 127.0.0.1:1/podium: connection refused",
        ),
        ("unmigrated", "has no Podium schema: run `podium db upgrade`"),
        ("read-only token", "lacks the data.records:write scope"),
    ],
)
def test_a_dry_run_fails_on_what_the_real_run_would_fail_on(
    fake: FakeAirtable,
    clean_database: AsyncEngine,
    database_url: str,
    pg_server: PostgresForTests,
    tmp_path: Path,
    change: dict[str, str] | str,
    expected: str,
) -> None:
    env = environment(fake, database_url, tmp_path)
    if change == "unmigrated":
        env["PODIUM_DATABASE_URL"] = pg_server.create_database("podium_dry_unmigrated", migrate=False)
    elif change == "read-only token":
        fake.token_scopes = ["data.records:read"]
    else:
        assert isinstance(change, dict)
        env.update(change)
    try:
        failed = CliRunner().invoke(main, DRY_RUN, env=env)
    finally:
        fake.token_scopes = ["data.records:read", "data.records:write"]
    assert failed.exit_code == 1, failed.output
    assert expected in failed.stderr
    assert "Dry run: nothing was written. Fix the cause and run the dry run again." in failed.stderr
    assert "resume" not in failed.stderr
    assert "Traceback" not in failed.output
    assert fake.writes == []
