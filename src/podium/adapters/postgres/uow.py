"""The Postgres unit of work: one session, one transaction, rolled back unless committed."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

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
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory

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
        await self.session.commit()


class SqlAlchemyUnitOfWorkFactory:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory

    def __call__(self) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self._session_factory)
