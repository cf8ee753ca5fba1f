"""`podium db backup FILE` / `podium db restore FILE`: a round trip restores every row exactly, and a
database holding rows is only replaced when told."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from podium.adapters.postgres.backfill_store import PostgresBackfillStore
from podium.adapters.postgres.backup import checksums
from podium.adapters.postgres.database import create_engine
from podium.cli import main
from podium.config import Settings
from podium.domain.backfill import run_backfill
from podium.testing.record_source import InMemorySource
from podium.testing.synthetic_airtable import SMALL_SCALE, generate
from tests.conftest import PostgresForTests
from tests.support.private import assert_private

pytestmark = pytest.mark.postgres


async def _sums(url: str, sql: str | None = None) -> dict[str, tuple[int, str]]:
    engine = create_engine(Settings(), url)
    try:
        if sql:
            async with engine.begin() as connection:
                for statement in sql.split(";"):
                    await connection.execute(text(statement))
        return await checksums(engine)
    finally:
        await engine.dispose()


async def _fill(url: str) -> None:
    engine = create_engine(Settings(), url)
    try:
        await run_backfill(InMemorySource(generate(seed=3, scale=SMALL_SCALE).source_records()),
                           PostgresBackfillStore(engine))  # fmt: skip
    finally:
        await engine.dispose()


def env_for(url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "PODIUM_DATABASE_URL": url,
        "PODIUM_DATA_DIR": str(tmp_path / "data"),
        "PODIUM_LOG_LEVEL": "WARNING",
    }


def test_backup_change_restore_gives_back_every_row(pg_server: PostgresForTests, tmp_path: Path) -> None:
    url = pg_server.create_database("podium_backup_source")
    asyncio.run(_fill(url))
    before = asyncio.run(_sums(url))
    assert before["users"][0] > 100
    assert before["backfill_written"][0] > 0
    runner = CliRunner()
    file = tmp_path / "secure" / "backup.dump"

    done = runner.invoke(main, ["db", "backup", str(file)], env=env_for(url, tmp_path))
    assert done.exit_code == 0, done.output
    assert file.stat().st_size > 0
    assert not list(file.parent.glob("*.partial"))
    assert assert_private(file.parent) == 1  # personal data: 0600, in a folder created 0700

    # The same name again (cutover.md backs up before every step) never silently replaces it.
    kept = file.read_bytes()
    again = runner.invoke(main, ["db", "backup", str(file)], env=env_for(url, tmp_path))
    assert again.exit_code == 2
    assert f"{file} exists" in again.stderr
    assert "--force" in again.stderr
    assert file.read_bytes() == kept
    replaced = runner.invoke(main, ["db", "backup", str(file), "--force"], env=env_for(url, tmp_path))
    assert replaced.exit_code == 0, replaced.output
    assert assert_private(file.parent) == 1

    changed = asyncio.run(_sums(url, "DELETE FROM votes; UPDATE users SET city = 'Changed'"))
    assert changed != before
    refused = runner.invoke(main, ["db", "restore", str(file)], env=env_for(url, tmp_path))
    assert refused.exit_code == 2
    assert "not empty" in refused.stderr
    assert asyncio.run(_sums(url)) == changed

    forced = runner.invoke(main, ["db", "restore", str(file), "--force"], env=env_for(url, tmp_path))
    assert forced.exit_code == 0, forced.output
    assert asyncio.run(_sums(url)) == before
    assert "Warning" not in forced.stderr

    # While the API is connected (its sessions are named `podium`), the restore says so.
    async def restore_while_serving() -> str:
        api = create_engine(Settings(), url)
        try:
            async with api.connect():
                done = await asyncio.to_thread(
                    runner.invoke, main, ["db", "restore", str(file), "--force"], env=env_for(url, tmp_path)
                )
        finally:
            await api.dispose()
        assert done.exit_code == 0, done.output
        return done.stderr

    warned = asyncio.run(restore_while_serving())
    assert "Warning: the Podium API has 1 connection open on this database" in warned

    # Dropping every table takes an explicit --yes.
    dropped = runner.invoke(main, ["db", "downgrade", "base"], env=env_for(url, tmp_path))
    assert dropped.exit_code == 2
    assert "every table" in dropped.stderr
    assert "--yes" in dropped.stderr
    assert asyncio.run(_sums(url)) == before

    # Into an empty database (not even migrated): no --force needed, the schema comes with the rows.
    empty = pg_server.create_database("podium_backup_target", migrate=False)
    fresh = runner.invoke(main, ["db", "restore", str(file)], env=env_for(empty, tmp_path))
    assert fresh.exit_code == 0, fresh.output
    assert asyncio.run(_sums(empty)) == before


def test_the_embedded_default_is_backed_up_too(
    pg_server: PostgresForTests, tmp_path: Path, server_tmp: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    env.update(PODIUM_DATA_DIR=str(server_tmp / "embedded"), PODIUM_LOG_LEVEL="WARNING")
    file = tmp_path / "embedded.dump"
    upgraded = CliRunner().invoke(main, ["db", "upgrade"], env=env)
    assert upgraded.exit_code == 0, upgraded.output
    done = CliRunner().invoke(main, ["db", "backup", str(file)], env=env)
    assert done.exit_code == 0, done.output
    target = pg_server.create_database("podium_backup_from_embedded", migrate=False)
    restored = CliRunner().invoke(main, ["db", "restore", str(file)], env=env_for(target, tmp_path))
    assert restored.exit_code == 0, restored.output
    assert "backfill_written" in asyncio.run(_sums(target))
