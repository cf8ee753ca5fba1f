"""Shared fixtures: one embedded PostgreSQL server per test session, migrated once.

Integration and API tests talk to this real server. Each test that writes starts from empty tables
(``clean_database`` truncates them all, which takes a few milliseconds).
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from podium.adapters.postgres.database import create_engine, upgrade
from podium.adapters.postgres.embedded import EmbeddedPostgres
from podium.adapters.postgres.models import Base
from podium.config import Settings

TEST_SECRET = "test-secret-for-podium-tests-only-0123456789"


@dataclass
class PostgresForTests:
    server: EmbeddedPostgres
    _names: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def create_database(self, name: str | None = None, *, migrate: bool = True) -> str:
        """A fresh database (migrated to head unless told otherwise); returns its asyncpg URL."""
        name = name or f"podium_t{next(self._names)}"
        self.server.drop_database(name)
        self.server.create_database(name)
        url = self.server.url(name)
        if migrate:
            upgrade(url)
        return url


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresForTests]:
    # Not under pytest's tmp_path: pytest keeps its base folder private (0700) to the current user, and
    # when tests run as root the server runs as another user that must reach its data directory.
    root = Path(tempfile.mkdtemp(prefix="podium-test-pg-"))
    server = EmbeddedPostgres(root / "data")
    server.start()
    try:
        yield PostgresForTests(server)
    finally:
        server.stop(mode="immediate")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def database_url(pg_server: PostgresForTests) -> str:
    return pg_server.create_database("podium_test")


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    base = Settings.from_env({"PODIUM_JWT_SECRET": TEST_SECRET, "PODIUM_LOG_LEVEL": "WARNING"})
    return replace(base, database_url=database_url)


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings)
    yield engine
    await engine.dispose()


TABLES = ", ".join(table.name for table in Base.metadata.sorted_tables)


async def empty_tables(settings: Settings) -> None:
    """Empty every table of ``settings``' database, on an engine of its own (disposed of afterwards)."""
    engine = create_engine(settings)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
    finally:
        await engine.dispose()


@pytest.fixture
async def clean_database(engine: AsyncEngine) -> AsyncEngine:
    """Empty every table before the test; returns the engine."""
    async with engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
    return engine
