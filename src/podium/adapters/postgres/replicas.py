"""Public reads from streaming replicas, only when a replica provably holds what the primary acknowledged.

The rule (PRODUCT §3.19, docs/scaling.md): a read that may go to a replica first learns the primary's
WAL position, ``pg_current_wal_lsn()``, from a query sent after the read began. Every commit acknowledged
before that moment ends at or before that position (a commit is acknowledged after its WAL is written,
with ``synchronous_commit`` at its default). A replica answers only if ``pg_last_wal_replay_lsn()`` has
reached that position; otherwise the primary answers. So the read reflects every change acknowledged
before it began, whichever server answers.

What makes it cheap:

* the primary's position is one query that reads no table, shared by every read that asks while no query
  is being prepared (``coalesce.Batched``: each caller gets a position read after it asked);
* each replica's replay position is kept for ``REPLAY_FRESH_SECONDS`` and shared by every read of the
  process; one that is behind the caller's position is asked again, by one probe shared the same way;
* no replica is usable (down, lagging, not configured) → no position query at all: straight to the primary.

A replica that refuses connections or fails a read is skipped for a backoff that doubles with each failure
(``BACKOFF_SECONDS`` up to ``MAX_BACKOFF_SECONDS``); one whose replay lags more than
``PODIUM_REPLICA_MAX_LAG_MS`` behind is skipped for ``LAG_RECHECK_SECONDS``. The read that found it failing
runs again on the primary, so the client never sees the replica's failure.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import asyncpg
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from podium.adapters.coalesce import Batched
from podium.adapters.postgres.database import autocommit, create_engine
from podium.adapters.postgres.urls import parse_database_url
from podium.config import Settings

log = logging.getLogger(__name__)

# How long a replica's replay position is reused before a read asks again (when it is behind the read's).
REPLAY_FRESH_SECONDS = 0.005
BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 10.0
LAG_RECHECK_SECONDS = 1.0

# What a failing replica raises: refused or broken connections, a server shutting down, a query cancelled
# by a recovery conflict, a timeout. Anything else (a bug in a read) is not the replica's fault.
REPLICA_ERRORS: tuple[type[BaseException], ...] = (
    SQLAlchemyError,
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    TimeoutError,
)

# LSNs as byte positions (bigint), which compare and subtract as plain integers.
_PRIMARY_POSITION = text("SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint AS position")
# NULL replay position: the server is not in recovery (not a replica, or a promoted one). The lag is 0
# while everything received is replayed (an idle primary sends nothing, so the last replayed commit's age
# says nothing then); otherwise the age of the last replayed commit.
_REPLICA_STATE = text(
    """
    SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint AS replayed,
           CASE WHEN pg_last_wal_receive_lsn() IS NULL OR pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn()
                THEN 0
                ELSE coalesce(1000 * extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()), 0)
           END::float8 AS lag_ms
    """
)


def describe(url: str) -> str:
    """A replica's label for logs and metrics: host, port and database, never the credentials."""
    return parse_database_url(url, "PODIUM_DATABASE_REPLICA_URLS").describe()


@dataclass
class ReplicaStats:
    """This process's counters (rendered by ``podium.http.replica_metrics``)."""

    reads: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # database → public reads
    fallbacks: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # reason → reads
    positions: int = 0  # primary position queries sent
    probes: int = 0  # replica state queries sent


class Replica:
    """One streaming replica: its pool, and what the last probe said about it."""

    def __init__(self, name: str, engine: AsyncEngine, max_lag_ms: float, stats: ReplicaStats) -> None:
        self.name = name
        self._pool = engine
        # Reads only: autocommit, no BEGIN/ROLLBACK round trips (as the primary's read-only units of work).
        self.engine = autocommit(engine)
        self.max_lag_ms = max_lag_ms
        self.replayed = -1
        self.lag_ms = 0.0
        self.up = True
        self.checked_at = -float("inf")
        self.skip_until = 0.0
        self.failures = 0
        self._stats = stats
        self._probes: Batched[None, None] = Batched(self._probe)

    def skipped(self, now: float) -> bool:
        return now < self.skip_until

    def skipped_now(self) -> bool:
        return self.skipped(time.monotonic())

    async def replayed_at_least(self, position: int) -> bool:
        """True when this replica has replayed through ``position`` (a recent answer, or a fresh probe)."""
        if time.monotonic() - self.checked_at <= REPLAY_FRESH_SECONDS and self.replayed >= position:
            return True
        await self._probes.submit(None)
        return not self.skipped(time.monotonic()) and self.replayed >= position

    async def _probe(self, callers: list[None]) -> Sequence[None]:
        self._stats.probes += 1
        try:
            async with self.engine.connect() as connection:
                row = (await connection.execute(_REPLICA_STATE)).one()
        except REPLICA_ERRORS as exc:
            self.failed(exc)
            return [None] * len(callers)
        now = time.monotonic()
        if row.replayed is None:
            self.replayed, self.up = -1, False
            self.skip_until = now + MAX_BACKOFF_SECONDS
            log.warning("database replica %s is not in recovery (not a replica): skipped", self.name)
            return [None] * len(callers)
        self.replayed, self.lag_ms, self.checked_at, self.up = row.replayed, row.lag_ms, now, True
        if row.lag_ms > self.max_lag_ms:
            self.skip_until = now + LAG_RECHECK_SECONDS
            log.warning(
                "database replica %s lags %.0f ms (over PODIUM_REPLICA_MAX_LAG_MS): skipped for %.1f s",
                self.name,
                row.lag_ms,
                LAG_RECHECK_SECONDS,
            )
        else:
            self.failures = 0
        return [None] * len(callers)

    async def dispose(self) -> None:
        await self._pool.dispose()

    def failed(self, exc: BaseException) -> None:
        """Skip this replica for a while (longer after each failed retry); forget its position."""
        now = time.monotonic()
        self.up, self.replayed, self.checked_at = False, -1, -float("inf")
        if self.skipped(now):
            return  # another read that was already in flight when it failed: the same outage
        backoff = min(MAX_BACKOFF_SECONDS, BACKOFF_SECONDS * 2**self.failures)
        self.failures += 1
        self.skip_until = now + backoff
        log.warning(
            "database replica %s failed (%s): reads go to the primary for %.1f s",
            self.name,
            type(exc).__name__,
            backoff,
        )


class ReplicaRouter:
    """Chooses, per public read, a replica that provably holds every acknowledged change, or none."""

    def __init__(self, primary: AsyncEngine, replicas: Sequence[tuple[str, AsyncEngine]], max_lag_ms: float):
        self.stats = ReplicaStats()
        self._primary = primary
        self.replicas = [Replica(name, engine, max_lag_ms, self.stats) for name, engine in replicas]
        self._positions: Batched[None, int] = Batched(self._read_positions)
        self._next = 0

    async def choose(self) -> Replica | None:
        """A replica to read from now, or None (the caller reads from the primary; the reason is counted)."""
        now = time.monotonic()
        candidates = [replica for replica in self.replicas if not replica.skipped(now)]
        if not candidates:
            # Every replica is skipped: answering but too far behind, or failing.
            self.stats.fallbacks["lagging" if any(r.up for r in self.replicas) else "down"] += 1
            return None
        position = await self._positions.submit(None)
        # Take turns: each read starts with the next replica, so all of them share the load.
        self._next = (self._next + 1) % len(candidates)
        for replica in candidates[self._next :] + candidates[: self._next]:
            if await replica.replayed_at_least(position):
                return replica
        self.stats.fallbacks["behind"] += 1
        return None

    def served(self, database: str) -> None:
        self.stats.reads[database] += 1

    def replica_failed(self, replica: Replica, exc: BaseException) -> None:
        replica.failed(exc)
        self.stats.fallbacks["error"] += 1

    async def _read_positions(self, callers: list[None]) -> list[int]:
        self.stats.positions += 1
        async with self._primary.connect() as connection:
            position = (await connection.execute(_PRIMARY_POSITION)).scalar_one()
        return [position] * len(callers)

    async def dispose(self) -> None:
        await asyncio.gather(*(replica.dispose() for replica in self.replicas))


def replica_router(settings: Settings, primary: AsyncEngine) -> ReplicaRouter | None:
    """The router over ``PODIUM_DATABASE_REPLICA_URLS`` (each with its own pool), or None without any."""
    if not settings.database_replica_urls:
        return None
    replicas = [
        (
            describe(url),
            create_engine(
                settings, url, setting="PODIUM_DATABASE_REPLICA_URLS", pooled=settings.transaction_pooler
            ),
        )
        for url in settings.database_replica_urls
    ]
    return ReplicaRouter(autocommit(primary), replicas, settings.replica_max_lag_ms)
