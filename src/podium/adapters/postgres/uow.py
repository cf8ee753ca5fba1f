"""The Postgres unit of work: one session, one transaction, rolled back unless committed.

A read-only unit of work runs its statements in autocommit mode: no BEGIN and no ROLLBACK round trips
for the reads that make up most requests."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from podium.adapters.postgres.database import create_session_factory
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
    def __init__(self, session_factory: async_sessionmaker[AsyncSession], *, read_only: bool = False) -> None:
        self._session_factory = session_factory
        self._read_only = read_only

    async def __aenter__(self) -> Self:
        self.session = session = self._session_factory()
        self.users = PostgresUsers(session)
        self.events = PostgresEvents(session)
        self.attendance = PostgresAttendance(session)
        self.projects = PostgresProjects(session)
        self.votes = PostgresVotes(session)
        self.referrals = PostgresReferrals(session)
        self.magic_links = PostgresMagicLinks(session)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            await self.session.rollback()
        finally:
            await self.session.close()

    async def commit(self) -> None:
        if self._read_only:
            raise RuntimeError("a read-only unit of work cannot commit")
        await self.session.commit()


class SqlAlchemyUnitOfWorkFactory:
    def __init__(self, engine: AsyncEngine) -> None:
        self._read_write = create_session_factory(engine)
        self._read_only = create_session_factory(engine.execution_options(isolation_level="AUTOCOMMIT"))

    def __call__(self, *, read_only: bool = False) -> SqlAlchemyUnitOfWork:
        if read_only:
            return SqlAlchemyUnitOfWork(self._read_only, read_only=True)
        return SqlAlchemyUnitOfWork(self._read_write)
