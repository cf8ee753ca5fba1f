"""`podium airtable export` and `podium backfill`: exit statuses, verification table, report, progress."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from podium.cli import main
from podium.cli.common import BUSY
from podium.domain.backfill import SourceTable
from podium.testing.fake_airtable import FakeAirtable
from podium.testing.synthetic_airtable import DEFAULT_BASE_ID, DEFAULT_TABLE_IDS, SyntheticBase
from tests.support.private import assert_private

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


def environment(
    fake: FakeAirtable, database_url: str, data_dir: Path, token: str | None = None
) -> dict[str, str]:
    env = {
        "PODIUM_DATABASE_URL": database_url,
        "PODIUM_DATA_DIR": str(data_dir),
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
    env = environment(fake, database_url, tmp_path / "data")

    exported = runner.invoke(main, ["airtable", "export", str(tmp_path / "snap")], env=env)
    assert exported.exit_code == 0, exported.output
    # The same folder again never silently replaces the snapshot (a backfill may have read it).
    manifest = (tmp_path / "snap" / "manifest.json").read_bytes()
    requests = fake.count()
    again = runner.invoke(main, ["airtable", "export", str(tmp_path / "snap")], env=env)
    assert again.exit_code == 2
    assert "already holds a complete snapshot" in again.stderr
    assert "--force" in again.stderr
    assert (tmp_path / "snap" / "manifest.json").read_bytes() == manifest
    assert fake.count() == requests
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
        "conflicts",
        "gone",
        "pruned",
    ]
    table_part = real.stdout.split("\n\n")[0].splitlines()
    lines = {line.split()[0]: line.split() for line in table_part}
    assert lines["event_attendees"][1] == str(
        sum(len(e["fields"].get("attendees", [])) for e in small_base.records[SourceTable.EVENTS])
    )
    assert "could not be migrated" in real.stdout
    payload = json.loads(report.read_text())
    assert payload["exit_status"] == 3
    assert payload["tables"]["users"]["postgres"] == runner_portal(count_users, clean_database)
    assert any(issue["reason"] == "orphan_link" for issue in payload["issues"])
    assert "write users" in real.stderr

    # The same records skipped again: nothing new since the last run, and the status says so.
    again = runner.invoke(main, ["backfill", "--from-snapshot", str(tmp_path / "snap")], env=env)
    assert again.exit_code == 4, again.output
    assert "were reported by an earlier run: nothing new (exit 4)" in again.stdout
    users = next(line.split() for line in again.stdout.splitlines() if line.startswith("users"))
    assert users[3:5] == ["0", "0"], "a second run creates and updates nothing"


def test_the_table_and_the_report_use_the_same_columns_and_reasons_are_counted_on_stdout(
    fake: FakeAirtable, clean_database: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    report = tmp_path / "report.json"
    result = CliRunner().invoke(
        main,
        ["backfill", "--dry-run", "--report", str(report)],
        env=environment(fake, database_url, tmp_path / "data"),
    )
    assert result.exit_code == 3, result.output
    payload = json.loads(report.read_text())
    lines = result.stdout.splitlines()

    header = next(line.split() for line in lines if line.startswith("table  "))
    assert header == ["table", *payload["tables"]["users"].keys()]
    for table, columns in payload["tables"].items():
        row = next(line.split() for line in lines if line.split()[:1] == [table])
        assert row == [table, *("-" if value is None else str(value) for value in columns.values())]

    counts = payload["issue_counts"]
    assert {"skipped", "merged", "altered"} <= {count["outcome"] for count in counts}
    reasons_header = next(line.split() for line in lines if line.startswith("table") and "reason" in line)
    assert reasons_header == list(counts[0].keys())
    shown = [line.split() for line in lines]
    for count in counts:
        assert [str(value) for value in count.values()] in shown, count
    assert sum(count["count"] for count in counts) == len(payload["issues"])


def test_clean_data_exits_zero(clean_database: AsyncEngine, database_url: str, tmp_path: Path) -> None:
    with FakeAirtable(
        {DEFAULT_BASE_ID: {DEFAULT_TABLE_IDS[t]: rows for t, rows in CLEAN_BASE.items()}}
    ) as fake:
        result = CliRunner().invoke(main, ["backfill"], env=environment(fake, database_url, tmp_path))
    assert result.exit_code == 0, result.output
    assert "Every Airtable record was migrated." in result.stdout


def test_a_bad_token_fails_with_a_clear_message(
    fake: FakeAirtable, database_url: str, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        main, ["backfill"], env=environment(fake, database_url, tmp_path, token="pat-wrong")
    )
    assert result.exit_code == 1
    assert "Airtable refused the token (HTTP 401)" in result.stderr


@pytest.mark.parametrize("command", [["backfill"], ["backfill", "--dry-run"], ["airtable", "export"]])
def test_a_wrong_table_id_fails_before_the_long_read(
    fake: FakeAirtable, database_url: str, tmp_path: Path, command: list[str]
) -> None:
    env = environment(fake, database_url, tmp_path / "data")
    env["PODIUM_AIRTABLE_VOTES_TABLE_ID"] = "tblNoSuchVotes"
    result = CliRunner().invoke(main, command, env=env)
    assert result.exit_code == 1
    assert "tblNoSuchVotes" in result.stderr
    assert "PODIUM_AIRTABLE_VOTES_TABLE_ID" in result.stderr
    # One request per table, each for a single record: no page of the long read was asked for.
    asked = [(r.table, r.page_size) for r in fake.requests]
    assert asked == [(env[f"PODIUM_AIRTABLE_{str(t).upper()}_TABLE_ID"], 1) for t in SourceTable]
    assert not (tmp_path / "data" / "airtable-snapshots").exists()


def test_an_incomplete_snapshot_is_refused(fake: FakeAirtable, database_url: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["backfill", "--from-snapshot", str(tmp_path)], env=environment(fake, database_url, tmp_path)
    )
    assert result.exit_code == 1
    assert "not a complete snapshot" in result.stderr


def test_a_missing_snapshot_folder_is_a_usage_error(
    fake: FakeAirtable, database_url: str, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        main,
        ["backfill", "--from-snapshot", str(tmp_path / "nowhere")],
        env=environment(fake, database_url, tmp_path),
    )
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_every_exit_status_is_documented_in_the_runbook() -> None:
    runbook = (Path(__file__).parents[2] / "docs" / "backfill.md").read_text()
    section = runbook.split("## 5. Exit status", 1)[1].split("\n## ", 1)[0]
    documented = {int(line.split("|")[1]) for line in section.splitlines() if line[:3].strip("| ").isdigit()}
    assert documented == {0, 1, 2, 3, 4, BUSY}


def test_snapshots_and_reports_default_to_the_data_directory(
    fake: FakeAirtable, clean_database: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    runner = CliRunner()
    data_dir = tmp_path / "data"
    env = environment(fake, database_url, data_dir)
    exported = runner.invoke(main, ["airtable", "export"], env=env)
    assert exported.exit_code == 0, exported.output
    (snapshot,) = (data_dir / "airtable-snapshots").iterdir()
    assert (snapshot / "manifest.json").is_file()
    assert str(snapshot) in exported.stdout

    dry = runner.invoke(main, ["backfill", "--from-snapshot", str(snapshot), "--dry-run"], env=env)
    assert dry.exit_code == 3, dry.output
    (report,) = (data_dir / "backfill-reports").iterdir()
    assert report.name.endswith("-dry-run.json")
    assert f"Report written to {report}" in dry.stdout
    assert json.loads(report.read_text())["dry_run"] is True
    # Personal data: readable by its owner only, the folders created for it too.
    assert assert_private(data_dir / "airtable-snapshots") == 6
    assert assert_private(data_dir / "backfill-reports") == 1


def git(directory: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(directory), *args], check=True, capture_output=True)


@pytest.mark.parametrize("command", [["airtable", "export", "snap"], ["backfill", "--report", "out.json"]])
def test_personal_data_is_not_written_where_git_add_would_pick_it_up(
    fake: FakeAirtable, database_url: str, tmp_path: Path, command: list[str]
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    target = command[-1]
    command = [*command[:-1], str(repo / target)]
    env = environment(fake, database_url, tmp_path / "data")

    refused = CliRunner().invoke(main, command, env=env)
    assert refused.exit_code == 2, refused.output
    assert "not git-ignored" in refused.stderr
    assert not (repo / target).exists()
    assert fake.count() == 0, "refused before reading anything"

    (repo / ".gitignore").write_text(f"{target}\n")
    allowed = CliRunner().invoke(main, command, env=env)
    assert allowed.exit_code in (0, 3), allowed.output
    assert (repo / target).exists()


def test_the_embedded_database_is_not_put_where_git_add_would_pick_it_up(
    fake: FakeAirtable, database_url: str, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    env = environment(fake, database_url, repo / "data")
    del env["PODIUM_DATABASE_URL"]
    result = CliRunner().invoke(main, ["backfill", "--report", str(tmp_path / "report.json")], env=env)
    assert result.exit_code == 2, result.output
    assert "The embedded database in PODIUM_DATA_DIR" in result.stderr
    assert not (repo / "data").exists()


@pytest.mark.parametrize(
    "path", ["airtable-snapshot-2025-06-01/users.json", "backfill.json", "dry-run.json", ".data/x.json"]
)
def test_the_repository_ignores_backfill_output_written_next_to_the_code(path: str) -> None:
    root = Path(__file__).parents[2]
    ignored = subprocess.run(["git", "-C", str(root), "check-ignore", "-q", path], check=False)
    assert ignored.returncode == 0, f"{path} is not git-ignored"


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
