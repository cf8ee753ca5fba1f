"""Fixtures of the backfill tests: synthetic bases, both stores, and a row-by-row dump of Postgres."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from podium.adapters.memory.backfill_store import MemoryBackfillStore
from podium.adapters.postgres.backfill_store import TABLES, PostgresBackfillStore
from podium.domain.backfill import BackfillStore
from podium.testing.synthetic_airtable import SMALL_SCALE, SyntheticBase, generate

Dump = dict[str, list[tuple[Any, ...]]]


@pytest.fixture(scope="session")
def small_base() -> SyntheticBase:
    """Every dirty case, at a size that keeps each test well under a second."""
    return generate(seed=7, scale=SMALL_SCALE)


@pytest.fixture
async def pg_store(clean_database: AsyncEngine) -> PostgresBackfillStore:
    return PostgresBackfillStore(clean_database)


@pytest.fixture(params=["memory", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest) -> BackfillStore:
    """Each store implementation in turn, empty."""
    # A plain fixture: an async one cannot set up another async fixture on demand.
    if request.param == "memory":
        return MemoryBackfillStore()
    engine: AsyncEngine = request.getfixturevalue("clean_database")
    return PostgresBackfillStore(engine)


async def dump_database(engine: AsyncEngine) -> Dump:
    """Every row of every table the backfill writes, every column but the write time, in id order."""
    dump: Dump = {}
    async with engine.connect() as connection:
        for name, table in TABLES.items():
            # ``created_at`` says when a row was written, which differs from run to run by design.
            columns = [column for column in table.c if column.name != "created_at"]
            rows = await connection.execute(select(*columns).order_by(table.c.id))
            dump[str(name)] = [tuple(row) for row in rows]
    return dump
