"""The Postgres side of the backfill: bulk upserts, one transaction per phase.

Rows go in with ``INSERT … ON CONFLICT`` statements executed for a whole batch at once (asyncpg's
pipelined ``executemany``), never one round trip per row. Each ``save_*``/``add_*`` call runs in a single
transaction, so a process killed anywhere leaves whole phases behind; the use-case's deterministic plan
makes the next run finish the job. The schema's triggers move the listing versions of the events whose
lists a phase changed, as for every other writer (migration 0004).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import Table, bindparam, func, select, tuple_
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from podium.adapters.postgres.backfill_written import (
    clear_pending,
    forget_written,
    load_pending,
    load_written,
    mark_pending,
    record_written,
    set_airtable_ids,
)
from podium.adapters.postgres.backfill_written import prune as prune_rows
from podium.adapters.postgres.models import (
    BackfillReportedModel,
    EventAttendeeModel,
    EventModel,
    ProjectCollaboratorModel,
    ProjectModel,
    ReferralModel,
    UserModel,
    VoteModel,
)
from podium.domain.backfill import (
    AttendeeLink,
    BackfillWriteError,
    CollaboratorLink,
    EventRow,
    ExistingData,
    IssueKey,
    ProjectRow,
    PrunedRow,
    ReferralRow,
    TargetTable,
    UserRow,
    VoteRow,
)

T = TypeVar("T")
REPORTED: Table = BackfillReportedModel.__table__  # type: ignore[assignment]

USERS: Table = UserModel.__table__  # type: ignore[assignment]
EVENTS: Table = EventModel.__table__  # type: ignore[assignment]
PROJECTS: Table = ProjectModel.__table__  # type: ignore[assignment]
REFERRALS: Table = ReferralModel.__table__  # type: ignore[assignment]
VOTES: Table = VoteModel.__table__  # type: ignore[assignment]
ATTENDEES: Table = EventAttendeeModel.__table__  # type: ignore[assignment]
COLLABORATORS: Table = ProjectCollaboratorModel.__table__  # type: ignore[assignment]

TABLES: Mapping[TargetTable, Table] = {
    TargetTable.USERS: USERS,
    TargetTable.EVENTS: EVENTS,
    TargetTable.EVENT_ATTENDEES: ATTENDEES,
    TargetTable.PROJECTS: PROJECTS,
    TargetTable.PROJECT_COLLABORATORS: COLLABORATORS,
    TargetTable.REFERRALS: REFERRALS,
    TargetTable.VOTES: VOTES,
}


def _columns(row_type: type[Any]) -> list[str]:
    return [f.name for f in dataclasses.fields(row_type)]


def _batches(rows: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _bind(table: Table, name: str) -> Any:
    column = table.c[name]
    # The models' JSONB writes Python None as the JSON value ``null``; the backfill means SQL NULL.
    type_ = JSONB(none_as_null=True) if isinstance(column.type, JSONB) else column.type
    return bindparam(name, type_=type_)


def _upsert(table: Table, row_type: type[Any]) -> Any:
    """``INSERT … ON CONFLICT (id) DO UPDATE`` that leaves rows already equal untouched."""
    names = _columns(row_type)
    statement = insert(table).values({name: _bind(table, name) for name in names})
    changing = [name for name in names if name != "id"]
    assignments: dict[str, Any] = {name: statement.excluded[name] for name in changing}
    return statement.on_conflict_do_update(
        index_elements=[table.c.id],
        set_=assignments,
        where=tuple_(*(table.c[name] for name in changing)).is_distinct_from(
            tuple_(*(statement.excluded[name] for name in changing))
        ),
    )


def _insert_links(table: Table, row_type: type[Any], pair: tuple[str, str]) -> Any:
    names = _columns(row_type)
    return (
        insert(table)
        .values({name: _bind(table, name) for name in names})
        .on_conflict_do_nothing(index_elements=[table.c[pair[0]], table.c[pair[1]]])
    )


class PostgresBackfillStore:
    """:class:`~podium.domain.backfill.BackfillStore` on the runtime Postgres schema."""

    def __init__(self, engine: AsyncEngine, *, batch_size: int = 2000) -> None:
        self._engine = engine
        self.batch_size = batch_size

    async def load_existing(self) -> ExistingData:
        async with self._engine.connect() as connection:
            return ExistingData(
                users=await self._load(connection, USERS, UserRow),
                events=await self._load(connection, EVENTS, EventRow),
                projects=await self._load(connection, PROJECTS, ProjectRow),
                referrals=await self._load(connection, REFERRALS, ReferralRow),
                votes=await self._load(connection, VOTES, VoteRow),
                attendees=await self._load(connection, ATTENDEES, AttendeeLink),
                collaborators=await self._load(connection, COLLABORATORS, CollaboratorLink),
                written=await load_written(connection),
                deleted_events=await self._event_ids(connection, EVENTS.c.deleted_at.is_not(None)),
                draft_events=await self._event_ids(connection, EVENTS.c.phase == "draft"),
            )

    @staticmethod
    async def _event_ids(connection: AsyncConnection, condition: Any) -> frozenset[UUID]:
        return frozenset((await connection.execute(select(EVENTS.c.id).where(condition))).scalars())

    @staticmethod
    async def _load(connection: AsyncConnection, table: Table, row_type: type[T]) -> list[T]:
        names = _columns(row_type)
        result = await connection.execute(select(*(table.c[name] for name in names)))
        return [row_type(**row._mapping) for row in result]

    async def save_users(self, rows: Sequence[UserRow]) -> None:
        await self._write(TargetTable.USERS, _upsert(USERS, UserRow), rows)

    async def save_events(self, rows: Sequence[EventRow]) -> None:
        await self._write(TargetTable.EVENTS, _upsert(EVENTS, EventRow), rows)

    async def add_attendees(self, links: Sequence[AttendeeLink]) -> None:
        statement = _insert_links(ATTENDEES, AttendeeLink, ("event_id", "user_id"))
        await self._write(TargetTable.EVENT_ATTENDEES, statement, links)

    async def save_projects(self, rows: Sequence[ProjectRow]) -> None:
        await self._write(TargetTable.PROJECTS, _upsert(PROJECTS, ProjectRow), rows)

    async def add_collaborators(self, links: Sequence[CollaboratorLink]) -> None:
        statement = _insert_links(COLLABORATORS, CollaboratorLink, ("project_id", "user_id"))
        await self._write(TargetTable.PROJECT_COLLABORATORS, statement, links)

    async def save_referrals(self, rows: Sequence[ReferralRow]) -> None:
        await self._write(TargetTable.REFERRALS, _upsert(REFERRALS, ReferralRow), rows)

    async def save_votes(self, rows: Sequence[VoteRow]) -> None:
        await self._write(TargetTable.VOTES, _upsert(VOTES, VoteRow), rows)

    async def _write(self, table: TargetTable, statement: Any, rows: Sequence[Any]) -> None:
        if not rows:
            return
        names = _columns(type(rows[0]))
        async with self._transaction(f"writing {table} failed, nothing of it was kept") as connection:
            for batch in _batches(rows, self.batch_size):
                await self._execute_batch(
                    connection, statement, [{name: getattr(row, name) for name in names} for row in batch]
                )

    async def _execute_batch(
        self, connection: AsyncConnection, statement: Any, parameters: list[dict[str, Any]]
    ) -> None:
        """One batch, one pipelined round trip (a seam the crash-safety tests break on purpose)."""
        await connection.execute(statement, parameters)

    @asynccontextmanager
    async def _transaction(self, failure: str) -> AsyncIterator[AsyncConnection]:
        """One transaction; the database refusing it is a :class:`BackfillWriteError` saying ``failure``
        (one line for the operator, never a traceback), and nothing of it is kept."""
        try:
            async with self._engine.begin() as connection:
                yield connection
        except (DBAPIError, SQLAlchemyError, OSError) as exc:
            detail = getattr(exc, "orig", None) or exc
            raise BackfillWriteError(f"{failure}: {detail}") from exc

    async def save_written(
        self, table: TargetTable, entries: Sequence[tuple[UUID, Mapping[str, Any]]]
    ) -> None:
        async with self._transaction(f"recording what was written to {table} failed") as connection:
            await record_written(connection, table, entries)

    async def record_created(
        self, table: TargetTable, created: Sequence[tuple[UUID, str, Mapping[str, Any]]]
    ) -> None:
        async with self._transaction(f"recording the {table} records created failed") as connection:
            await set_airtable_ids(
                connection, table, [(row_id, record_id) for row_id, record_id, _ in created]
            )
            await record_written(connection, table, [(row_id, values) for row_id, _, values in created])
            await clear_pending(connection, table, [row_id for row_id, _, _ in created])

    async def mark_pending(
        self, table: TargetTable, entries: Sequence[tuple[UUID, Mapping[str, Any]]]
    ) -> None:
        async with self._transaction(f"noting the {table} records to create failed") as connection:
            await mark_pending(connection, table, entries)

    async def clear_pending(self, table: TargetTable, row_ids: Sequence[UUID]) -> None:
        async with self._transaction(f"clearing the {table} records noted failed") as connection:
            await clear_pending(connection, table, row_ids)

    async def load_pending(self) -> dict[TargetTable, dict[UUID, dict[str, Any]]]:
        async with self._engine.connect() as connection:
            return await load_pending(connection)

    async def forget_written(self, table: TargetTable, row_ids: Sequence[UUID]) -> None:
        async with self._transaction(f"forgetting the {table} records deleted failed") as connection:
            await forget_written(connection, table, row_ids)

    async def prune(self, targets: Mapping[TargetTable, Sequence[UUID]]) -> list[PrunedRow]:
        async with self._transaction("pruning failed, nothing was deleted") as connection:
            return await prune_rows(connection, targets)

    async def reported_issues(self) -> set[IssueKey]:
        columns = (REPORTED.c.table_name, REPORTED.c.airtable_id, REPORTED.c.outcome, REPORTED.c.reason)
        async with self._engine.connect() as connection:
            rows = await connection.execute(select(*columns))
            return {(row[0], row[1], row[2], row[3]) for row in rows}

    async def remember_reported(self, keys: Sequence[IssueKey]) -> None:
        rows = [
            dict(zip(("table_name", "airtable_id", "outcome", "reason"), key, strict=True)) for key in keys
        ]
        async with self._transaction("recording the issues reported failed") as connection:
            await connection.execute(insert(REPORTED).on_conflict_do_nothing(), rows)

    async def count_rows(self) -> Mapping[TargetTable, int]:
        statement = select(
            *(
                select(func.count()).select_from(table).scalar_subquery().label(str(name))
                for name, table in TABLES.items()
            )
        )
        async with self._engine.connect() as connection:
            row = (await connection.execute(statement)).one()
        return {name: int(row._mapping[str(name)]) for name in TABLES}
