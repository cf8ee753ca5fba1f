"""The Postgres unit of work: one connection, one transaction, rolled back unless committed.

A read-only unit of work runs its statements in autocommit mode: no BEGIN and no ROLLBACK round trips
for the reads that make up most requests. The repositories run Core statements on the connection, and the
occasional entity edits go through Advanced Alchemy on an ORM session bound to it (see ``repositories``).

Inside ``shared_reads()`` (one HTTP request) the read-only units of work share one autocommit connection,
checked out on first use: an authenticated request then checks out once, for the guard's user lookup and
the use-case's reads together. A read-write unit of work returns that connection to the pool before it
takes its own, so a request never holds two connections."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from types import TracebackType
from typing import Self, TypeVar

import asyncpg
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from podium.adapters.lookups import BatchedLookups
from podium.adapters.postgres.database import TRANSACTION_POOLER, autocommit
from podium.adapters.postgres.replicas import REPLICA_ERRORS, ReplicaRouter
from podium.adapters.postgres.repositories import (
    OrmSession,
    PostgresAttendance,
    PostgresEvents,
    PostgresMagicLinks,
    PostgresProjects,
    PostgresReferrals,
    PostgresUsers,
    PostgresVotes,
)
from podium.adapters.postgres.repositories.votes import CAST_BALLOT_ON_TERMS, cast_on_terms
from podium.adapters.postgres.superadmin import PostgresDirectory
from podium.domain.models import BallotOutcome, BallotTerms
from podium.mechanisms import enabled

log = logging.getLogger(__name__)
T = TypeVar("T")


class _SharedReads:
    """The connection the read-only units of work of one request share (None until first used)."""

    __slots__ = ("busy", "connection")

    def __init__(self) -> None:
        self.connection: AsyncConnection | None = None
        self.busy = False

    async def release(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            await connection.close()

    async def release_quietly(self) -> None:
        """``release`` once the request has been answered: a failure only costs the pool that connection."""
        try:
            await self.release()
        except SQLAlchemyError:
            log.warning("could not return a shared connection to the pool", exc_info=True)


_shared_reads: ContextVar[_SharedReads | None] = ContextVar("podium_shared_reads", default=None)


async def release_shared_connection() -> None:
    """Return the request's shared read connection to the pool, if it holds one and no unit of work is
    using it: called before checking out another connection, so one request never holds two (32
    requests each holding one and waiting for a second would starve the pool)."""
    shared = _shared_reads.get()
    if shared is not None and not shared.busy:
        await shared.release()


async def release_before_response() -> None:
    """Return the request's shared read connection once its answer is ready, before the body is sent."""
    shared = _shared_reads.get()
    if shared is not None and not shared.busy:
        await shared.release_quietly()


async def _check_out(engine: AsyncEngine, share: bool) -> tuple[AsyncConnection, _SharedReads | None]:
    """A connection of ``engine``: with ``share`` (autocommit work), the request's shared one when it is
    free (checked out on first use, marked busy until given back); else one of its own, after returning
    the request's shared one to the pool."""
    shared = _shared_reads.get()
    if share and shared is not None and not shared.busy:
        # Autocommit: no transaction state survives from one unit of work to the next.
        if shared.connection is None:
            shared.connection = await engine.connect()
        shared.busy = True
        return shared.connection, shared
    await release_shared_connection()
    return await engine.connect(), None


async def _give_back(connection: AsyncConnection, shared: _SharedReads | None) -> None:
    if shared is not None:
        shared.busy = False
        return
    # Closing returns the connection to the pool, rolling back whatever was not committed.
    await connection.close()


class SqlAlchemyUnitOfWork:
    def __init__(self, engine: AsyncEngine, *, read_only: bool = False, share: bool = True) -> None:
        self._engine = engine
        self._read_only = read_only
        self._share = share
        self._shared: _SharedReads | None = None

    async def _connect(self) -> AsyncConnection:
        connection, self._shared = await _check_out(self._engine, self._read_only and self._share)
        return connection

    async def __aenter__(self) -> Self:
        self.connection = connection = await self._connect()
        self._orm = orm = OrmSession(connection)
        self.users = PostgresUsers(connection, orm)
        self.events = PostgresEvents(connection, orm)
        self.attendance = PostgresAttendance(connection)
        self.projects = PostgresProjects(connection, orm)
        self.votes = PostgresVotes(connection)
        self.referrals = PostgresReferrals(connection)
        self.magic_links = PostgresMagicLinks(connection)
        self.directory = PostgresDirectory(connection)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._orm.close()
        shared, self._shared = self._shared, None
        await _give_back(self.connection, shared)

    async def commit(self) -> None:
        if self._read_only:
            raise RuntimeError("a read-only unit of work cannot commit")
        await self.connection.commit()


class PostgresBallots:
    """``Ballots`` on PostgreSQL: ``podium_cast_ballot_on_terms`` on the driver's (asyncpg) connection in
    autocommit — the request's shared connection when it holds one —, so the lock, the facts, the write
    and its commit are one round trip, with no transaction and no ORM machinery around it. Behind a
    transaction-mode pooler, where every statement must run in a transaction, BEGIN and COMMIT wrap it.

    Driver errors are raised as SQLAlchemy's, as every other statement's are (the HTTP layer maps those);
    a connection that broke under the statement is invalidated rather than handed back to the pool."""

    def __init__(self, engine: AsyncEngine, *, share: bool) -> None:
        self._engine = autocommit(engine)
        self._autocommit = not engine.get_execution_options().get(TRANSACTION_POOLER)
        self._share = share and self._autocommit

    async def cast(self, terms: BallotTerms) -> BallotOutcome:
        connection, shared = await _check_out(self._engine, self._share)
        try:
            driver: asyncpg.Connection = (await connection.get_raw_connection()).driver_connection
            if self._autocommit:
                return await cast_on_terms(driver, terms)
            async with driver.transaction():
                return await cast_on_terms(driver, terms)
        except (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError) as exc:
            await connection.invalidate()
            if shared is not None:  # no longer the request's to share: closed below
                shared.connection, shared.busy, shared = None, False, None
            raise DBAPIError(CAST_BALLOT_ON_TERMS, None, exc, connection_invalidated=True) from exc
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise IntegrityError(CAST_BALLOT_ON_TERMS, None, exc) from exc
        except asyncpg.PostgresError as exc:
            raise DBAPIError(CAST_BALLOT_ON_TERMS, None, exc) from exc
        finally:
            await _give_back(connection, shared)


class SqlAlchemyUnitOfWorkFactory:
    def __init__(self, engine: AsyncEngine, replicas: ReplicaRouter | None = None) -> None:
        self._read_write = engine
        self._read_only = autocommit(engine)
        self.lookups = BatchedLookups(self, before_wait=release_shared_connection)
        self._share = enabled("shared_connection")
        self.ballots = PostgresBallots(engine, share=self._share)
        # Streaming replicas for public reads (``replicas``): None when none is configured.
        self.replicas = replicas

    async def read_public(self, read: Callable[[SqlAlchemyUnitOfWork], Awaitable[T]]) -> T:
        """``read`` on a replica that has replayed every change acknowledged before this call, else on the
        primary; a replica that fails mid-read is skipped and ``read`` runs again on the primary."""
        router = self.replicas
        if router is not None:
            await release_shared_connection()  # never hold a primary connection while waiting on a replica
            replica = await router.choose()
            if replica is not None:
                try:
                    async with SqlAlchemyUnitOfWork(replica.engine, read_only=True, share=False) as uow:
                        result = await read(uow)
                except REPLICA_ERRORS as exc:
                    router.replica_failed(replica, exc)
                else:
                    router.served(replica.name)
                    return result
            router.served("primary")
        async with self(read_only=True) as uow:
            return await read(uow)

    @asynccontextmanager
    async def shared_reads(self) -> AsyncIterator[None]:
        """Within this block (one request), read-only units of work share one connection."""
        if not self._share:
            yield
            return
        shared = _SharedReads()
        token = _shared_reads.set(shared)
        try:
            yield
        finally:
            _shared_reads.reset(token)
            await shared.release_quietly()

    def __call__(self, *, read_only: bool = False) -> SqlAlchemyUnitOfWork:
        if read_only:
            return SqlAlchemyUnitOfWork(self._read_only, read_only=True)
        return SqlAlchemyUnitOfWork(self._read_write)
