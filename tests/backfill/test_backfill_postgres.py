"""The backfill against the real embedded PostgreSQL: outcomes in the tables, idempotence, crash safety,
dry run, and live API ≡ snapshot. Databases are compared row by row, every column."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from podium.adapters.airtable.snapshot import SnapshotSource, SnapshotWriter
from podium.adapters.airtable.source import AirtableSource
from podium.adapters.postgres.backfill_store import PostgresBackfillStore
from podium.adapters.postgres.database import create_engine
from podium.config import Settings
from podium.domain.backfill import (
    BackfillResult,
    SourceRecord,
    SourceTable,
    TargetTable,
    export_snapshot,
    placeholder_email,
    run_backfill,
)
from podium.testing.fake_airtable import FakeAirtable
from podium.testing.record_source import InMemorySource
from podium.testing.synthetic_airtable import DEFAULT_BASE_ID, DEFAULT_TABLE_IDS, SyntheticBase
from tests.backfill.conftest import Dump, dump_database
from tests.conftest import PostgresForTests

pytestmark = pytest.mark.postgres


class Crash(Exception):
    """Stands in for the process dying: nothing after it runs."""


class CrashingStore(PostgresBackfillStore):
    """Dies at one point of one phase: just before it, half-way through its transaction, or just after commit."""

    def __init__(self, engine: AsyncEngine, table: TargetTable, when: str) -> None:
        super().__init__(engine, batch_size=20)
        self.table = table
        self.when = when
        self._current: TargetTable | None = None

    async def _write(self, table: TargetTable, statement: Any, rows: Sequence[Any]) -> None:
        self._current = table
        if table is self.table and self.when == "before":
            raise Crash(table)
        await super()._write(table, statement, rows)
        if table is self.table and self.when == "after_commit":
            raise Crash(table)

    async def _execute_batch(self, connection: Any, statement: Any, parameters: list[dict[str, Any]]) -> None:
        await super()._execute_batch(connection, statement, parameters)
        if self._current is self.table and self.when == "mid_transaction":
            raise Crash(self._current)


class DyingSource(InMemorySource):
    """The Airtable connection drops in the middle of a table."""

    async def pages(self, table: SourceTable) -> AsyncIterator[Sequence[SourceRecord]]:
        async for page in super().pages(table):
            if table is SourceTable.PROJECTS:
                raise Crash("network gone")
            yield page


@pytest.fixture(scope="module")
async def reference(
    pg_server: PostgresForTests, settings: Settings, small_base: SyntheticBase
) -> tuple[BackfillResult, Dump]:
    """One clean run on a fresh database: the state every other run must end in."""
    engine = create_engine(settings, pg_server.create_database("backfill_reference"))
    try:
        result = await run_backfill(
            InMemorySource(small_base.source_records()), PostgresBackfillStore(engine)
        )
        return result, await dump_database(engine)
    finally:
        await engine.dispose()


async def test_reference_run_lands_every_rule_in_the_tables(
    reference: tuple[BackfillResult, Dump], small_base: SyntheticBase, pg_store: PostgresBackfillStore
) -> None:
    result, dump = reference
    assert result.exit_status == 3
    for table, tally in result.tables.items():
        assert tally.stored == len(dump[str(table)]) == tally.created, table

    engine = pg_store._engine
    await run_backfill(InMemorySource(small_base.source_records()), pg_store)
    async with engine.connect() as connection:

        async def scalar(sql: str, **params: Any) -> Any:
            return (await connection.execute(text(sql), params)).scalar_one()

        for rec in small_base.dirty["empty_email"]:
            assert await scalar("SELECT email FROM users WHERE airtable_id = :a", a=rec) == placeholder_email(
                rec
            )
        for rec in small_base.dirty["quality_invalid_json"]:
            assert await scalar(
                "SELECT cached_auto_quality IS NULL FROM projects WHERE airtable_id = :a", a=rec
            )
        for rec in small_base.dirty["quality_json_string"]:
            kind = await scalar(
                "SELECT coalesce(jsonb_typeof(cached_auto_quality), 'absent') FROM projects "
                "RIGHT JOIN (SELECT 1) one ON airtable_id = :a",
                a=rec,
            )
            assert kind in ("object", "absent")  # absent: the project itself was not migrated
        assert (
            await scalar(
                "SELECT count(*) FROM votes v JOIN projects p ON p.id = v.project_id WHERE v.event_id <> p.event_id"
            )
            == 0
        )
        assert await scalar("SELECT max(length(city)) FROM users") <= 100
        for rec in small_base.dirty["points_above_votes"]:
            points = next(
                p["fields"].get("points", 0)
                for p in small_base.records[SourceTable.PROJECTS]
                if p["id"] == rec
            )
            row = (
                await connection.execute(
                    text(
                        "SELECT p.legacy_points, count(v.id) FROM projects p LEFT JOIN votes v ON v.project_id = p.id "
                        "WHERE p.airtable_id = :a GROUP BY p.id"
                    ),
                    {"a": rec},
                )
            ).one_or_none()
            if row is not None:
                assert row[0] == max(0, points - row[1])
                assert row[0] > 0


async def test_second_run_changes_no_row(
    pg_store: PostgresBackfillStore, clean_database: AsyncEngine, small_base: SyntheticBase
) -> None:
    source = InMemorySource(small_base.source_records())
    first = await run_backfill(source, pg_store)
    after_first = await dump_database(clean_database)
    second = await run_backfill(source, pg_store)
    assert await dump_database(clean_database) == after_first
    for table, tally in second.tables.items():
        assert (tally.created, tally.updated, tally.unchanged) == (0, 0, first.tables[table].created), table
    assert second.issues == first.issues


CRASH_POINTS = [
    (TargetTable.USERS, "mid_transaction"),
    (TargetTable.USERS, "after_commit"),
    (TargetTable.EVENTS, "before"),
    (TargetTable.EVENT_ATTENDEES, "after_commit"),
    (TargetTable.PROJECTS, "mid_transaction"),
    (TargetTable.PROJECT_COLLABORATORS, "after_commit"),
    (TargetTable.REFERRALS, "mid_transaction"),
    (TargetTable.VOTES, "mid_transaction"),
    (TargetTable.VOTES, "after_commit"),
]


@pytest.mark.parametrize(("table", "when"), CRASH_POINTS, ids=[f"{t}-{w}" for t, w in CRASH_POINTS])
async def test_a_run_killed_anywhere_then_restarted_ends_like_one_clean_run(
    clean_database: AsyncEngine,
    small_base: SyntheticBase,
    reference: tuple[BackfillResult, Dump],
    table: TargetTable,
    when: str,
) -> None:
    source = InMemorySource(small_base.source_records())
    with pytest.raises(Crash):
        await run_backfill(source, CrashingStore(clean_database, table, when))
    resumed = await run_backfill(source, PostgresBackfillStore(clean_database))
    assert await dump_database(clean_database) == reference[1]
    assert resumed.issues == reference[0].issues


async def test_two_crashes_in_a_row_still_converge(
    clean_database: AsyncEngine, small_base: SyntheticBase, reference: tuple[BackfillResult, Dump]
) -> None:
    records = small_base.source_records()
    with pytest.raises(Crash):
        await run_backfill(DyingSource(records), PostgresBackfillStore(clean_database))
    with pytest.raises(Crash):
        await run_backfill(
            InMemorySource(records), CrashingStore(clean_database, TargetTable.PROJECTS, "after_commit")
        )
    with pytest.raises(Crash):
        await run_backfill(
            InMemorySource(records), CrashingStore(clean_database, TargetTable.VOTES, "mid_transaction")
        )
    await run_backfill(InMemorySource(records), PostgresBackfillStore(clean_database))
    assert await dump_database(clean_database) == reference[1]


async def test_dry_run_writes_nothing(
    pg_store: PostgresBackfillStore, clean_database: AsyncEngine, small_base: SyntheticBase
) -> None:
    records = small_base.source_records()
    empty = await dump_database(clean_database)
    dry = await run_backfill(InMemorySource(records), pg_store, dry_run=True)
    assert await dump_database(clean_database) == empty
    assert dry.tables[TargetTable.USERS].created == len(records[SourceTable.USERS]) - len(
        small_base.dirty["duplicate_email"]
    )

    await run_backfill(InMemorySource(records), pg_store)
    migrated = await dump_database(clean_database)
    first = records[SourceTable.USERS][0]
    records[SourceTable.USERS][0] = SourceRecord(
        first.id, first.created_time, {**first.fields, "last_name": "Changed"}
    )
    dry = await run_backfill(InMemorySource(records), pg_store, dry_run=True)
    assert await dump_database(clean_database) == migrated
    assert dry.tables[TargetTable.USERS].updated == 1


async def test_backfill_from_an_export_equals_backfill_from_the_live_api(
    clean_database: AsyncEngine,
    small_base: SyntheticBase,
    reference: tuple[BackfillResult, Dump],
    tmp_path: Path,
) -> None:
    with FakeAirtable({DEFAULT_BASE_ID: small_base.by_table_id()}) as fake:

        def live() -> AirtableSource:
            return AirtableSource(
                token=fake.token,
                base_id=DEFAULT_BASE_ID,
                table_ids=DEFAULT_TABLE_IDS,
                endpoint_url=fake.url,
                requests_per_second=None,
            )

        await export_snapshot(live(), SnapshotWriter(tmp_path / "snapshot"))
        from_live = await run_backfill(live(), PostgresBackfillStore(clean_database))
    live_dump = await dump_database(clean_database)
    async with clean_database.begin() as connection:
        await connection.execute(text("TRUNCATE users, events, backfill_written CASCADE"))
    from_snapshot = await run_backfill(
        SnapshotSource(tmp_path / "snapshot"), PostgresBackfillStore(clean_database)
    )
    assert await dump_database(clean_database) == live_dump == reference[1]
    assert from_snapshot.issues == from_live.issues == reference[0].issues
