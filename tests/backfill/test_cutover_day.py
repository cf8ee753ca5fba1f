"""The whole cutover day, command by command as docs/cutover.md lists them, on the embedded PostgreSQL
server and the fake Airtable: export (CSV + JSON) → dry run → backup → backfill → serve → smoke (exit 0,
nothing left behind) → v2 changes → re-run (conflicts reported, v2 kept) → write-back → a fresh
backfill equals v2."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from bench.pg import free_port
from click.testing import CliRunner, Result

from podium.adapters.airtable.csv_snapshot import read_csv_tables
from podium.adapters.airtable.snapshot import SnapshotSource
from podium.adapters.postgres.backup import checksums
from podium.adapters.postgres.database import create_engine
from podium.cli import main
from podium.config import Settings
from podium.domain.backfill import read_source
from podium.testing.fake_airtable import FakeAirtable
from podium.testing.synthetic_airtable import DEFAULT_BASE_ID, SyntheticBase
from tests.api.test_smoke_command import every_row
from tests.backfill.test_cli import environment
from tests.backfill.test_write_back import backfill_into, canonical, differences, v2_changes
from tests.conftest import TEST_SECRET, PostgresForTests
from tests.support.served import wait_healthy

pytestmark = pytest.mark.postgres


@pytest.fixture
def fake(small_base: SyntheticBase) -> Iterator[FakeAirtable]:
    with FakeAirtable({DEFAULT_BASE_ID: small_base.by_table_id()}) as server:
        yield server


@pytest.fixture
def served(pg_server: PostgresForTests, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """`podium serve` on a fresh database of the embedded server, as the operator starts it."""
    url = pg_server.create_database("podium_cutover_day")
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")},
           "PODIUM_DATABASE_URL": url, "PODIUM_JWT_SECRET": TEST_SECRET, "PODIUM_PORT": str(port),
           "PODIUM_LOG_LEVEL": "WARNING", "PODIUM_DATA_DIR": str(tmp_path / "serve-data")}  # fmt: skip
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "podium", "serve"], env=env, stdout=log, stderr=log)
    try:
        wait_healthy(f"http://127.0.0.1:{port}/health", process)
        yield url, f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def podium(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


async def _rows(url: str) -> dict[str, Any]:
    engine = create_engine(Settings(), url)
    try:
        return await every_row(engine)
    finally:
        await engine.dispose()


async def _sums(url: str) -> dict[str, tuple[int, str]]:
    engine = create_engine(Settings(), url)
    try:
        return await checksums(engine)
    finally:
        await engine.dispose()


async def _v2_window(base_url: str, url: str) -> dict[str, Any]:
    engine = create_engine(Settings(), url)
    try:
        async with httpx.AsyncClient(base_url=base_url) as client:
            return await v2_changes(client, engine)  # type: ignore[arg-type]
    finally:
        await engine.dispose()


def test_the_cutover_day(
    fake: FakeAirtable, served: tuple[str, str], pg_server: PostgresForTests, tmp_path: Path
) -> None:
    url, base_url = served
    env = {**environment(fake, url, tmp_path / "data"), "PODIUM_JWT_SECRET": TEST_SECRET}
    snapshot = tmp_path / "data" / "snapshot"

    # 1. Export: the JSON the backfill reads and the CSV backup, from one read.
    exported = podium(env, "airtable", "export", str(snapshot), "--format", "json", "--format", "csv")
    assert exported.exit_code == 0, exported.output
    assert read_csv_tables(snapshot) == asyncio.run(read_source(SnapshotSource(snapshot)))

    # 2. Dry run: reports, writes nothing.
    dry = podium(env, "backfill", "--from-snapshot", str(snapshot), "--dry-run")
    assert dry.exit_code == 3, dry.output
    assert asyncio.run(_sums(url))["users"][0] == 0

    # 3. Backup of the (still empty) database, before the backfill writes.
    backup = tmp_path / "data" / "before-backfill.dump"
    assert podium(env, "db", "backup", str(backup)).exit_code == 0

    # 4. Backfill from the snapshot.
    filled = podium(env, "backfill", "--from-snapshot", str(snapshot))
    assert filled.exit_code == 3, filled.output  # the synthetic base has records that cannot migrate
    assert "Every Airtable record was migrated" not in filled.stdout

    # 5. Smoke test of the served app: passes, leaves nothing behind.
    before_smoke = asyncio.run(_rows(url))
    smoke = podium(env, "smoke", base_url, "--allow-development")  # a rehearsal: a development server
    assert smoke.exit_code == 0, smoke.output
    assert "Smoke test PASSED, nothing left behind." in smoke.stdout
    assert asyncio.run(_rows(url)) == before_smoke

    # 6. The v2 window: organisers and attendees use the API.
    asyncio.run(_v2_window(base_url, url))

    # 7. A last-minute re-run from the live (fake) Airtable: v2's changes are kept and reported.
    before_rerun = asyncio.run(_sums(url))
    report = tmp_path / "data" / "rerun.json"
    rerun = podium(env, "backfill", "--report", str(report))
    assert rerun.exit_code == 3, rerun.output
    assert "left as v2 has them" in rerun.stdout
    conflicts = [i for i in json.loads(report.read_text())["issues"] if i["outcome"] == "conflict"]
    renamed = next(i for i in conflicts if i["table"] == "events" and i["reason"] == "changed_in_v2")
    assert renamed["v2"]["name"] == "Renamed in v2"
    assert renamed["v2"]["votable"] is True
    assert {i["reason"] for i in conflicts} >= {"changed_in_v2", "deleted_in_v2"}
    after_rerun = asyncio.run(_sums(url))
    data_tables = (
        "users",
        "events",
        "projects",
        "votes",
        "referrals",
        "event_attendees",
        "project_collaborators",
    )
    assert {t: after_rerun[t] for t in data_tables} == {t: before_rerun[t] for t in data_tables}, "v2 kept"

    # 8. Write-back: everything v2 created, changed or deleted goes to Airtable; a second run sends nothing.
    written = podium(env, "airtable", "write-back")
    assert written.exit_code == 0, written.output
    again = podium(env, "airtable", "write-back")
    assert "took 0 requests" in again.stdout

    # 9. Rollback check: the fake's new state, backfilled into a fresh database, equals v2.
    fresh = pg_server.create_database("podium_cutover_day_fresh")
    asyncio.run(backfill_into(Settings(), fresh, fake))
    assert differences(asyncio.run(canonical(url)), asyncio.run(canonical(fresh))) == []
