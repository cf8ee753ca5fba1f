"""The superadmin's views of the store (issue 15): every event, soft-deleted ones included, every user, and
the official events of a series. Plain Core statements on the unit of work's connection."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import Boolean, bindparam, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from podium.adapters.postgres.models import EventModel, ProjectModel, UserModel
from podium.adapters.postgres.repositories.events import EVENT_COLUMNS, EVENT_FIELDS, to_event
from podium.adapters.postgres.repositories.rows import values_of
from podium.adapters.postgres.repositories.users import USER_COLUMNS, to_user
from podium.domain.models import Event, EventView, User

_EVENTS = EventModel.__table__
_USERS = UserModel.__table__
_PROJECT_COUNT = (
    select(func.count()).select_from(ProjectModel).where(ProjectModel.event_id == EventModel.id)
).scalar_subquery()


def _contains(column: Any, query: str) -> Any:
    """Case-insensitive substring match with no pattern characters to escape."""
    return func.strpos(func.lower(column), literal(query.lower())) > 0


def _event_search(query: str) -> Any:
    return (_contains(EventModel.name, query) | _contains(EventModel.slug, query)) if query else literal(True)


def _user_search(query: str) -> Any:
    if not query:
        return literal(True)
    return _contains(UserModel.email, query) | _contains(UserModel.display_name, query)


_EVENT_FOR_CHANGE = (
    select(*EVENT_COLUMNS).where(EventModel.id == bindparam("key")).with_for_update(key_share=True)
)
_EVENT_VIEW = select(*EVENT_COLUMNS, _PROJECT_COUNT.label("project_count")).where(
    EventModel.id == bindparam("key")
)
_SET_SUPERADMIN = (
    update(UserModel)
    .where(UserModel.email == bindparam("key"))
    .values(is_superadmin=bindparam("granted", type_=Boolean))
    .returning(UserModel.id)
)


class PostgresDirectory:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def events_page(self, query: str, offset: int, limit: int) -> tuple[list[EventView], int]:
        condition = _event_search(query)
        total = await self._db.scalar(select(func.count()).select_from(EventModel).where(condition))
        statement = (
            select(*EVENT_COLUMNS, _PROJECT_COUNT.label("project_count"))
            .where(condition)
            .order_by(EventModel.created_at, EventModel.id)
            .offset(offset)
            .limit(limit)
        )
        rows = (await self._db.execute(statement)).all()
        return [EventView(to_event(row), row.project_count) for row in rows], int(total or 0)

    async def users_page(self, query: str, offset: int, limit: int) -> tuple[list[User], int]:
        condition = _user_search(query)
        total = await self._db.scalar(select(func.count()).select_from(UserModel).where(condition))
        statement = (
            select(*USER_COLUMNS)
            .where(condition)
            .order_by(UserModel.created_at, UserModel.id)
            .offset(offset)
            .limit(limit)
        )
        return [to_user(row) for row in (await self._db.execute(statement)).all()], int(total or 0)

    async def event(self, event_id: UUID) -> Event | None:
        row = (await self._db.execute(_EVENT_FOR_CHANGE, {"key": event_id})).first()
        return None if row is None else to_event(row)

    async def view(self, event_id: UUID) -> EventView | None:
        row = (await self._db.execute(_EVENT_VIEW, {"key": event_id})).first()
        return None if row is None else EventView(to_event(row), row.project_count)

    async def save(self, event: Event) -> None:
        values = values_of(event, EVENT_FIELDS)
        event_id = values.pop("id")
        await self._db.execute(update(EventModel).where(EventModel.id == event_id).values(values))

    async def flagged(self, flag: str) -> list[EventView]:
        statement = (
            select(*EVENT_COLUMNS, _PROJECT_COUNT.label("project_count"))
            .where(_contains(EventModel.feature_flags_csv, flag), EventModel.deleted_at.is_(None))
            .order_by(EventModel.name.collate("C"), EventModel.id)
        )
        rows = (await self._db.execute(statement)).all()
        return [EventView(to_event(row), row.project_count) for row in rows]

    async def set_superadmin(self, email: str, granted: bool) -> bool:
        result = await self._db.execute(_SET_SUPERADMIN, {"key": email, "granted": granted})
        return result.first() is not None
