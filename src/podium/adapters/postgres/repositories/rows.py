"""What every repository shares: columns and domain objects matched by name, the ORM session for plain
CRUD, and the error helpers.

One style per kind of work: plain CRUD (entity updates and deletes) goes through Advanced Alchemy's
repositories on an :class:`OrmSession`; the hot paths (every lookup, votes, attendance, listings) run Core
statements prebuilt at import on the unit of work's ``AsyncConnection``, so each execution hits
SQLAlchemy's compiled cache — an ORM session, its identity map and Advanced Alchemy's statement building
cost ~1 ms of CPU per request there, more than the queries themselves (issue 6, measured with bench/).
Rows become domain objects **by column name** (:func:`fields_of`, :func:`mapper`): a new column is added
to the model and the domain dataclass, and every statement and mapping here follows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from sqlalchemy import FromClause
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from podium.adapters.postgres.models import EventModel, ProjectModel, ReferralModel, UserModel

T = TypeVar("T")

# The repositories raise SQLAlchemy's own errors: the HTTP layer maps those in one place (a pool timeout or
# a lost connection is a 503, never a 500).


def fields_of(cls: type) -> tuple[str, ...]:
    """The names a domain dataclass is built from: also the names of its table's columns."""
    return tuple(f.name for f in dataclasses.fields(cls) if f.init)


def columns_of(table: FromClause, cls: type) -> list[Any]:
    return [table.c[name] for name in fields_of(cls)]


def mapper(cls: Callable[..., T], names: Sequence[str]) -> Callable[[Any], T]:
    """Build ``cls`` from a row by column name; the row may carry more columns (counts, flags)."""

    def build(row: Any) -> T:
        values = row._mapping
        return cls(**{name: values[name] for name in names})

    return build


async def one(connection: AsyncConnection, statement: Any, key: object) -> Any:
    return (await connection.execute(statement, {"key": key})).first()


def values_of(entity: object, names: Sequence[str]) -> dict[str, Any]:
    return {name: getattr(entity, name) for name in names}


def constraint_of(exc: IntegrityError) -> str:
    orig = exc.orig
    name = getattr(getattr(orig, "__cause__", None), "constraint_name", None)
    return str(name or orig)


class UserRepository(SQLAlchemyAsyncRepository[UserModel]):
    model_type = UserModel


class EventRepository(SQLAlchemyAsyncRepository[EventModel]):
    model_type = EventModel


class ProjectRepository(SQLAlchemyAsyncRepository[ProjectModel]):
    model_type = ProjectModel


class ReferralRepository(SQLAlchemyAsyncRepository[ReferralModel]):
    model_type = ReferralModel


RepositoryT = TypeVar("RepositoryT", bound=SQLAlchemyAsyncRepository[Any])


class OrmSession:
    """An ORM session opened on first use, on the unit of work's own connection and inside its transaction.

    The occasional entity edits (profile and event updates, project edits, deletes, referrals) go through
    Advanced Alchemy's repositories on it; the hot reads and writes stay Core statements. The session
    never commits: the unit of work commits the connection."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection
        self._session: AsyncSession | None = None

    async def repository(self, repository_type: type[RepositoryT]) -> RepositoryT:
        if self._session is None:
            if not self._connection.in_transaction():
                await self._connection.begin()
            self._session = AsyncSession(
                bind=self._connection,
                expire_on_commit=False,
                autoflush=False,
            )
        return repository_type(
            session=self._session, auto_commit=False, auto_expunge=True, wrap_exceptions=False
        )

    async def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()
