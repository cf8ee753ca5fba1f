"""Issue 23: every database failure is one line, for every command, naming the setting and never the
password; a schema missing or behind says "run `podium db upgrade`", and the service answers 503 (never
500) until it is current."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from bench.pg import free_port
from click.testing import CliRunner
from litestar.testing import AsyncTestClient

from podium.adapters.airtable.snapshot import SnapshotWriter
from podium.adapters.postgres.database import upgrade
from podium.cli import main
from podium.domain.backfill import SourceTable
from podium.http.app import create_app
from tests.conftest import TEST_SECRET
from tests.hosted.conftest import DATABASE, PASSWORD, USER, Hosted, settings_for

COMMANDS = {
    "db current": ["db", "current"],
    "db upgrade": ["db", "upgrade"],
    "db backup": ["db", "backup", "{tmp}/x.dump"],
    "admin grant": ["admin", "grant", "someone@example.com"],
    "backfill": [
        "backfill",
        "--from-snapshot",
        "{tmp}/snapshot",
        "--dry-run",
        "--report",
        "{tmp}/report.json",
    ],
    "write-back": ["airtable", "write-back", "--dry-run", "--report", "{tmp}/report.json"],
    "smoke": ["smoke", "http://127.0.0.1:9"],
}


def _urls(hosted: Hosted) -> dict[str, tuple[str, str]]:
    """Failure class → (URL, what the line must say)."""
    port = hosted.cluster.port
    return {
        "refused": (f"postgres://{USER}:{PASSWORD}@127.0.0.1:{free_port()}/{DATABASE}", "connection refused"),
        "wrong password": (hosted.url(host="127.0.0.1", password="not-" + PASSWORD), "refused the password"),
        "unknown host": (f"postgres://{USER}:{PASSWORD}@db.podium.invalid:{port}/{DATABASE}", "unknown host"),
        "missing database": (
            hosted.url(database="nosuchdb"),
            'database "nosuchdb" does not exist',
        ),
    }


def _podium(args: list[str], tmp: Path, url: str) -> Any:
    if "backfill" in args:  # an empty but complete snapshot: the backfill reads it before the database
        writer = SnapshotWriter(tmp / "snapshot")
        for table in SourceTable:
            writer.write_table(table, [])
        writer.finish(dict.fromkeys(SourceTable, 0))
    env = {"PODIUM_DATABASE_URL": url, "PODIUM_JWT_SECRET": TEST_SECRET, "PODIUM_DATA_DIR": str(tmp)}
    command = [arg.format(tmp=tmp) for arg in args]
    return CliRunner().invoke(main, command, env=env, catch_exceptions=False)


@pytest.mark.parametrize("failure", ["refused", "wrong password", "unknown host", "missing database"])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_database_failure_is_one_line_naming_the_setting(
    hosted: Hosted, tmp_path: Path, command: str, failure: str
) -> None:
    url, says = _urls(hosted)[failure]
    result = _podium(COMMANDS[command], tmp_path, url)
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: PODIUM_DATABASE_URL: "), result.output
    assert says in lines[0]
    assert PASSWORD not in result.output
    assert "Traceback" not in result.output


@pytest.fixture(scope="module")
def unmigrated(hosted: Hosted) -> dict[str, str]:
    """A database with no schema, and one left at the first revision."""
    urls = {}
    for name, revision in (("podium_empty", None), ("podium_0001", "0001")):
        hosted.cluster.psql("postgres", f"CREATE DATABASE {name} OWNER {USER}")
        url = hosted.url(host="127.0.0.1", database=name)
        if revision:
            upgrade(url, revision)
        urls[name] = url
    return urls


@pytest.mark.parametrize(
    ("database", "says"), [("podium_empty", "has no Podium schema"), ("podium_0001", "is at 0001")]
)
@pytest.mark.parametrize("command", ["admin grant", "backfill", "write-back"])
def test_a_schema_missing_or_behind_stops_commands_saying_to_upgrade(
    unmigrated: dict[str, str], tmp_path: Path, command: str, database: str, says: str
) -> None:
    result = _podium(COMMANDS[command], tmp_path, unmigrated[database])
    assert result.exit_code == 1
    # The error line (a dry run adds a line after it: nothing was written).
    [line] = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert says in line
    assert line.endswith("run `podium db upgrade`")


async def test_the_service_answers_503_until_the_schema_is_current(unmigrated: dict[str, str]) -> None:
    url = unmigrated["podium_0001"]
    async with AsyncTestClient(app=create_app(settings_for(url))) as client:
        health = await client.get("/health")
        assert health.status_code == 503
        assert health.json() == {
            "status": "unavailable",
            "database": True,
            "schema_current": False,
            "environment": "development",
        }
        for method, path in (("GET", "/events/official"), ("POST", "/users/")):
            response = await client.request(method, path, json={"email": "a@example.com", "first_name": "A"})
            assert response.status_code == 503, response.text
        upgrade(url)
        for _ in range(40):  # checked again at most once a second
            if (await client.get("/health")).status_code == 200:
                break
            await asyncio.sleep(0.1)
        assert (await client.get("/health")).status_code == 200
        created = await client.post("/users/", json={"email": "a@example.com", "first_name": "A"})
        assert created.status_code == 200, created.text
