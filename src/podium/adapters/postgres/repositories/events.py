"""Events (lookups, locks, edits, the organiser's and attendee's lists, listing versions) and attendance."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any
from uuid import UUID

from sqlalchemy import Uuid, any_, bindparam, delete, exists, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from podium.adapters.postgres.models import (
    EventAttendeeModel,
    EventListingVersionModel,
    EventModel,
    ProjectModel,
    UserModel,
)
from podium.adapters.postgres.repositories.marks import (
    ATTENDEES,
    ONLY_CHANGED,
    keyed_list_changes,
    since,
)
from podium.adapters.postgres.repositories.rows import (
    EventRepository,
    OrmSession,
    columns_of,
    constraint_of,
    fields_of,
    mapper,
    one,
    values_of,
)
from podium.adapters.postgres.repositories.users import USER_COLUMNS, USER_FIELDS, to_user
from podium.domain.models import Event, EventView, ListingState, User
from podium.domain.ports import Changes, JoinCodeTaken, LockPurpose, SlugTaken
from podium.domain.rules import QUOTA_PROJECTS_COUNTED_TO

EVENT_FIELDS = fields_of(Event)
EVENTS = EventModel.__table__
EVENT_COLUMNS = columns_of(EVENTS, Event)
to_event = mapper(Event, EVENT_FIELDS)

# A soft-deleted event (issue 15) is gone for every path but the superadmin's (``adapters/postgres/superadmin``).
LIVE = EVENTS.c.deleted_at.is_(None)
LIVE_EVENT_OF_PROJECT = "EXISTS (SELECT 1 FROM events e WHERE e.id = p.event_id AND e.deleted_at IS NULL)"
_EVENT_BY_ID = select(*EVENT_COLUMNS).where(EVENTS.c.id == bindparam("key"), LIVE)
_EVENT_BY_JOIN_CODE = select(*EVENT_COLUMNS).where(EVENTS.c.join_code == bindparam("key"), LIVE)
# Writers lock what they read before acting on it, so racing writers are decided one after another: a
# delete that waited for another finds nothing left (never a second "deleted", nor a 500).
_EVENT_LOCKED: dict[LockPurpose, Any] = {
    "delete": _EVENT_BY_ID.with_for_update(),
    "change": _EVENT_BY_ID.with_for_update(key_share=True),  # FOR NO KEY UPDATE
    "keep": _EVENT_BY_ID.with_for_update(read=True, key_share=True),
}
_EVENT_BY_JOIN_CODE_LOCKED = _EVENT_BY_JOIN_CODE.with_for_update(read=True, key_share=True)

# Only as far as any quota needs (rules.QUOTA_PROJECTS_COUNTED_TO): an event's view does not count every
# project of a large event.
_PROJECT_COUNT = (
    select(func.count())
    .select_from(
        select(ProjectModel.id)
        .where(ProjectModel.event_id == EventModel.id)
        .limit(QUOTA_PROJECTS_COUNTED_TO)
        .correlate(EventModel)
        .subquery()
    )
    .scalar_subquery()
)


def _event_views(condition: Any) -> Any:
    return (
        select(*EVENT_COLUMNS, _PROJECT_COUNT.label("project_count"))
        .where(condition, LIVE)
        .order_by(EventModel.name.collate("C"), EventModel.id)
    )


_EVENT_VIEW_BY_ID = _event_views(EventModel.id == bindparam("key"))
_EVENT_VIEWS_OWNED = _event_views(EventModel.owner_id == bindparam("key"))
_EVENT_VIEWS_ATTENDED = _event_views(
    exists().where(
        EventAttendeeModel.event_id == EventModel.id, EventAttendeeModel.user_id == bindparam("key")
    )
)
_LISTING_STATES = select(
    EventModel.id,
    # The triggers of migration 0004 move these counters with every change to what the lists show.
    select(func.coalesce(func.sum(EventListingVersionModel.version), 0))
    .where(EventListingVersionModel.event_id == EventModel.id)
    .scalar_subquery()
    .label("version"),
    EventModel.leaderboard_enabled,
    EventModel.owner_id,
    EventModel.phase,
).where(EventModel.id == any_(bindparam("keys", type_=ARRAY(Uuid))), LIVE)


class PostgresEvents:
    def __init__(self, connection: AsyncConnection, orm: OrmSession | None = None) -> None:
        self._orm = orm or OrmSession(connection)
        self._db = connection

    async def get(self, event_id: UUID) -> Event | None:
        row = await one(self._db, _EVENT_BY_ID, event_id)
        return None if row is None else to_event(row)

    async def lock(self, event_id: UUID, purpose: LockPurpose) -> Event | None:
        row = await one(self._db, _EVENT_LOCKED[purpose], event_id)
        return None if row is None else to_event(row)

    async def view(self, event_id: UUID) -> EventView | None:
        views = await self._views(_EVENT_VIEW_BY_ID, event_id)
        return views[0] if views else None

    async def id_for_slug(self, slug: str) -> UUID | None:
        event_id: UUID | None = await self._db.scalar(
            select(EventModel.id).where(EventModel.slug == slug, LIVE)
        )
        return event_id

    async def get_by_join_code(self, join_code: str) -> Event | None:
        row = await one(self._db, _EVENT_BY_JOIN_CODE, join_code)
        return None if row is None else to_event(row)

    async def lock_by_join_code(self, join_code: str) -> Event | None:
        row = await one(self._db, _EVENT_BY_JOIN_CODE_LOCKED, join_code)
        return None if row is None else to_event(row)

    async def add(self, event: Event) -> None:
        try:
            async with self._db.begin_nested():
                await self._db.execute(insert(EventModel).values(values_of(event, EVENT_FIELDS)))
        except IntegrityError as exc:
            constraint = constraint_of(exc)
            if "slug" in constraint:
                raise SlugTaken(event.slug) from exc
            if "join_code" in constraint:
                raise JoinCodeTaken(event.join_code) from exc
            raise

    async def update(self, event: Event) -> None:
        repository = await self._orm.repository(EventRepository)
        await repository.update(EventModel(**values_of(event, EVENT_FIELDS)), auto_refresh=False)

    async def delete(self, event_id: UUID) -> None:
        # Projects, votes, referrals and attendance go with it (ON DELETE CASCADE).
        repository = await self._orm.repository(EventRepository)
        await repository.delete(event_id)

    async def owned_by(self, user_id: UUID) -> list[EventView]:
        return await self._views(_EVENT_VIEWS_OWNED, user_id)

    async def attended_by(self, user_id: UUID) -> list[EventView]:
        return await self._views(_EVENT_VIEWS_ATTENDED, user_id)

    async def listing_states(self, event_ids: Collection[UUID]) -> dict[UUID, ListingState]:
        rows = await self._db.execute(_LISTING_STATES, {"keys": list(event_ids)})
        return {
            row.id: ListingState(row.version, row.leaderboard_enabled, row.owner_id, row.phase)
            for row in rows
        }

    async def _views(self, statement: Any, key: UUID) -> list[EventView]:
        rows = (await self._db.execute(statement, {"key": key})).all()
        return [EventView(to_event(row), row.project_count) for row in rows]


_ATTENDEE = (EventAttendeeModel.event_id == bindparam("event_id")) & (
    EventAttendeeModel.user_id == bindparam("user_id")
)
# The event (locked against deletion) and then its attendee's row (locked) in one round trip: the
# attendee's lock is only taken if the event exists, and after the event's, the order every writer takes
# (an event delete racing a vote waits for it or is waited for, never both).
_LOCKED_EVENT = (
    select(*EVENT_COLUMNS)
    .where(EventModel.id == bindparam("event_id"), LIVE)
    .with_for_update(read=True, key_share=True)
    .cte("locked_event")
)
_LOCKED_ATTENDEE = (
    select(EventAttendeeModel.id)
    .where(_ATTENDEE, exists(select(_LOCKED_EVENT.c.id)))
    .with_for_update()
    .cte("locked_attendee")
)
_EVENT_WITH_LOCKED_ATTENDEE = select(
    *_LOCKED_EVENT.c, exists(select(_LOCKED_ATTENDEE.c.id)).label("attending")
)
_ADD_ATTENDEE = (
    pg_insert(EventAttendeeModel)
    .values(event_id=bindparam("event_id"), user_id=bindparam("user_id"))
    .on_conflict_do_nothing(index_elements=["event_id", "user_id"])
    .returning(EventAttendeeModel.id)
)

# Each attendee is its own subject (migration 0018).
_ATTENDEES_SINCE = since(
    f"SELECT {', '.join(f'u.{name}' for name in USER_FIELDS)} FROM public.users u"
    f" JOIN public.event_attendees a ON a.user_id = u.id WHERE a.event_id = :key {ONLY_CHANGED}",
    "u.id",
    "r.id",
)


class PostgresAttendance:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    def _pair(self, event_id: UUID, user_id: UUID) -> Any:
        return (EventAttendeeModel.event_id == event_id) & (EventAttendeeModel.user_id == user_id)

    @staticmethod
    def _params(event_id: UUID, user_id: UUID) -> dict[str, UUID]:
        return {"event_id": event_id, "user_id": user_id}

    async def is_attending(self, event_id: UUID, user_id: UUID) -> bool:
        return bool(await self._db.scalar(select(exists().where(self._pair(event_id, user_id)))))

    async def lock_with_event(self, event_id: UUID, user_id: UUID) -> tuple[Event | None, bool]:
        params = self._params(event_id, user_id)
        row = (await self._db.execute(_EVENT_WITH_LOCKED_ATTENDEE, params)).first()
        return (None, False) if row is None else (to_event(row), row.attending)

    async def add(self, event_id: UUID, user_id: UUID) -> bool:
        return (await self._db.execute(_ADD_ATTENDEE, self._params(event_id, user_id))).first() is not None

    async def remove(self, event_id: UUID, user_id: UUID) -> None:
        await self._db.execute(delete(EventAttendeeModel).where(self._pair(event_id, user_id)))

    async def attendees(self, event_id: UUID) -> list[User]:
        statement = (
            select(*USER_COLUMNS)
            .join(EventAttendeeModel, EventAttendeeModel.user_id == UserModel.id)
            .where(EventAttendeeModel.event_id == event_id)
            .order_by(UserModel.id)
        )
        return [to_user(row) for row in (await self._db.execute(statement)).all()]

    async def attendees_since(self, event_id: UUID, since: str | None) -> Changes[User]:
        return await keyed_list_changes(self._db, _ATTENDEES_SINCE, event_id, since, to_user, ATTENDEES)
