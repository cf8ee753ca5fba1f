"""The Postgres unit of work: one connection, one transaction, rolled back unless committed.

A read-only unit of work runs its statements in autocommit mode: no BEGIN and no ROLLBACK round trips
for the reads that make up most requests. The repositories run Core statements on the connection; no ORM
session is involved (see ``repositories``)."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncEngine

from podium.adapters.postgres.repositories import (
    PostgresAttendance,
    PostgresEvents,
    PostgresMagicLinks,
    PostgresProjects,
    PostgresReferrals,
    PostgresUsers,
    PostgresVotes,
)


class SqlAlchemyUnitOfWork:
    def __init__(self, engine: AsyncEngine, *, read_only: bool = False) -> None:
        self._engine = engine
        self._read_only = read_only

    async def __aenter__(self) -> Self:
        self.connection = connection = await self._engine.connect()
        self.users = PostgresUsers(connection)
        self.events = PostgresEvents(connection)
        self.attendance = PostgresAttendance(connection)
        self.projects = PostgresProjects(connection)
        self.votes = PostgresVotes(connection)
        self.referrals = PostgresReferrals(connection)
        self.magic_links = PostgresMagicLinks(connection)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # Closing returns the connection to the pool, rolling back whatever was not committed.
        await self.connection.close()

    async def commit(self) -> None:
        if self._read_only:
            raise RuntimeError("a read-only unit of work cannot commit")
        await self.connection.commit()


class SqlAlchemyUnitOfWorkFactory:
    def __init__(self, engine: AsyncEngine) -> None:
        self._read_write = engine
        self._read_only = engine.execution_options(isolation_level="AUTOCOMMIT")

    def __call__(self, *, read_only: bool = False) -> SqlAlchemyUnitOfWork:
        if read_only:
            return SqlAlchemyUnitOfWork(self._read_only, read_only=True)
        return SqlAlchemyUnitOfWork(self._read_write)
