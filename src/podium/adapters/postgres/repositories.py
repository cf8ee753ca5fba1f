"""Postgres implementations of the domain's ports.

The listing queries are hand-written so that each answers in one round trip whatever the size of the
event (points, vote ids and team names aggregated in SQL, never loaded row by row).

The hot paths (every lookup, votes, attendance, listings, rate limits) run Core statements on the unit
of work's ``AsyncConnection``: an ORM session, its identity map and Advanced Alchemy's statement building
cost ~1 ms of CPU per request there, more than the queries themselves (issue 6, measured with bench/).
Those statements are built once at import, so each execution hits SQLAlchemy's compiled cache. The
occasional entity edits — profile and event updates, project edits, deletes — go through Advanced
Alchemy's ``SQLAlchemyAsyncRepository`` on an ORM session opened lazily on the same connection and
inside the same transaction (``OrmSession``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any, TypeVar
from uuid import UUID

from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from sqlalchemy import Text, Uuid, any_, bindparam, delete, exists, func, insert, select, text, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from podium.adapters.postgres.models import (
    ConsumedMagicLinkModel,
    EventAttendeeModel,
    EventListingVersionModel,
    EventModel,
    ProjectCollaboratorModel,
    ProjectModel,
    ReferralModel,
    UserModel,
    VoteModel,
)
from podium.adapters.postgres.statements import compiled_once
from podium.domain.models import (
    Ballot,
    Event,
    EventView,
    ListingState,
    Project,
    ProjectView,
    Referral,
    User,
    Vote,
    VoteCandidate,
    VoteQuotaUse,
)
from podium.domain.ports import JoinCodeTaken, LockPurpose, SlugTaken

USER_FIELDS = (
    "id", "email", "display_name", "first_name", "last_name", "phone", "street_1", "street_2", "city", "state",
    "zip_code", "country", "dob", "is_superadmin",
)  # fmt: skip
EVENT_FIELDS = (
    "id", "name", "slug", "join_code", "owner_id", "description", "votable", "leaderboard_enabled",
    "demo_links_optional", "ysws_checks_enabled", "feature_flags_csv", "phase", "require_ysws_pii", "deleted_at",
)  # fmt: skip
PROJECT_FIELDS = (
    "id", "name", "repo", "image_url", "demo", "description", "join_code", "hours_spent", "legacy_points",
    "cached_auto_quality", "owner_id", "event_id",
)  # fmt: skip


# The repositories raise SQLAlchemy's own errors: the HTTP layer maps those in one place (a pool timeout or
# a lost connection is a 503, never a 500).

_USERS = UserModel.__table__
_EVENTS = EventModel.__table__
_PROJECTS = ProjectModel.__table__


def _init_order(cls: type, names: Sequence[str]) -> list[str]:
    """``names`` in the order of ``cls``'s constructor arguments, so a row builds it positionally."""
    order = [f.name for f in dataclasses.fields(cls) if f.init]
    assert sorted(order) == sorted(names), (cls, order, names)
    return order


_USER_ORDER = _init_order(User, USER_FIELDS)
_EVENT_ORDER = _init_order(Event, EVENT_FIELDS)
_PROJECT_ORDER = _init_order(Project, PROJECT_FIELDS)
_USER_COLUMNS = [_USERS.c[name] for name in _USER_ORDER]
_EVENT_COLUMNS = [_EVENTS.c[name] for name in _EVENT_ORDER]
_PROJECT_COLUMNS = [_PROJECTS.c[name] for name in _PROJECT_ORDER]

_USER_BY_ID = select(*_USER_COLUMNS).where(_USERS.c.id == bindparam("key"))
_USER_BY_EMAIL = select(*_USER_COLUMNS).where(_USERS.c.email == bindparam("key"))
_USERS_BY_EMAIL = select(*_USER_COLUMNS).where(_USERS.c.email == any_(bindparam("keys", type_=ARRAY(Text))))
# A soft-deleted event (issue 15) is gone for every path but the superadmin's (``adapters/postgres/superadmin``).
_LIVE = _EVENTS.c.deleted_at.is_(None)
_LIVE_EVENT_OF_PROJECT = "EXISTS (SELECT 1 FROM events e WHERE e.id = p.event_id AND e.deleted_at IS NULL)"
_EVENT_BY_ID = select(*_EVENT_COLUMNS).where(_EVENTS.c.id == bindparam("key"), _LIVE)
_EVENT_BY_JOIN_CODE = select(*_EVENT_COLUMNS).where(_EVENTS.c.join_code == bindparam("key"), _LIVE)
_PROJECT_BY_ID = select(*_PROJECT_COLUMNS).where(
    _PROJECTS.c.id == bindparam("key"),
    exists().where(_EVENTS.c.id == _PROJECTS.c.event_id, _LIVE),
)
_PROJECT_BY_JOIN_CODE = select(*_PROJECT_COLUMNS).where(_PROJECTS.c.join_code == bindparam("key"))
# Writers lock what they read before acting on it, so racing writers are decided one after another: a
# delete that waited for another finds nothing left (never a second "deleted", nor a 500). A project's
# event is locked (against deletion) before the project, in one round trip: the order every writer takes.
_EVENT_LOCKED: dict[LockPurpose, Any] = {
    "delete": _EVENT_BY_ID.with_for_update(),
    "change": _EVENT_BY_ID.with_for_update(key_share=True),  # FOR NO KEY UPDATE
    "keep": _EVENT_BY_ID.with_for_update(read=True, key_share=True),
}
_EVENT_BY_JOIN_CODE_LOCKED = _EVENT_BY_JOIN_CODE.with_for_update(read=True, key_share=True)
_PROJECT_LOCKED = (
    f"SELECT {', '.join(f'p.{name}' for name in _PROJECT_ORDER)} FROM projects p WHERE p.{{key}} = :key"
    " AND EXISTS (SELECT 1 FROM events e WHERE e.id = p.event_id AND e.deleted_at IS NULL FOR KEY SHARE OF e)"
    " FOR {lock} OF p"
)
_PROJECT_LOCKED_BY_ID: dict[LockPurpose, Any] = {
    "delete": text(_PROJECT_LOCKED.format(key="id", lock="UPDATE")),
    "change": text(_PROJECT_LOCKED.format(key="id", lock="NO KEY UPDATE")),
    "keep": text(_PROJECT_LOCKED.format(key="id", lock="KEY SHARE")),
}
_PROJECT_BY_JOIN_CODE_LOCKED = text(_PROJECT_LOCKED.format(key="join_code", lock="KEY SHARE"))


# Rows of the statements above (and of the listing query) start with the fields in constructor order.
def _user(row: Any) -> User:
    return User(*row[: len(_USER_ORDER)])


def _event(row: Any) -> Event:
    return Event(*row[: len(_EVENT_ORDER)])


def _project(row: Any) -> Project:
    return Project(*row[: len(_PROJECT_ORDER)])


async def _one(connection: AsyncConnection, statement: Any, key: object) -> Any:
    return (await connection.execute(statement, {"key": key})).first()


def _values(entity: object, names: Sequence[str]) -> dict[str, Any]:
    return {name: getattr(entity, name) for name in names}


def _constraint(exc: IntegrityError) -> str:
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


class PostgresUsers:
    def __init__(self, connection: AsyncConnection, orm: OrmSession | None = None) -> None:
        self._orm = orm or OrmSession(connection)
        self._db = connection

    async def get(self, user_id: UUID) -> User | None:
        row = await _one(self._db, _USER_BY_ID, user_id)
        return None if row is None else _user(row)

    async def get_by_email(self, email: str) -> User | None:
        row = await _one(self._db, _USER_BY_EMAIL, email)
        return None if row is None else _user(row)

    async def get_many_by_email(self, emails: Collection[str]) -> dict[str, User]:
        rows = await self._db.execute(_USERS_BY_EMAIL, {"keys": list(emails)})
        return {user.email: user for user in map(_user, rows)}

    async def add(self, user: User) -> bool:
        return (await self._db.execute(_ADD_USER, _values(user, USER_FIELDS))).first() is not None

    async def update(self, user: User) -> None:
        repository = await self._orm.repository(UserRepository)
        values = _values(user, USER_FIELDS)
        values.pop("email")  # the login identity never changes
        values.pop("is_superadmin")  # granted and revoked only from the command line
        await repository.update(UserModel(**values), auto_refresh=False)


_ADD_USER = compiled_once(
    pg_insert(UserModel)
    .values({name: bindparam(name) for name in USER_FIELDS})
    .on_conflict_do_nothing(index_elements=["email"])
    .returning(UserModel.id)
)
_PROJECT_COUNT = (
    select(func.count())
    .select_from(ProjectModel)
    .where(ProjectModel.event_id == EventModel.id)
    .scalar_subquery()
)


def _event_views(condition: Any) -> Any:
    return (
        select(*_EVENT_COLUMNS, _PROJECT_COUNT.label("project_count"))
        .where(condition, _LIVE)
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
).where(EventModel.id == any_(bindparam("keys", type_=ARRAY(Uuid))), _LIVE)


class PostgresEvents:
    def __init__(self, connection: AsyncConnection, orm: OrmSession | None = None) -> None:
        self._orm = orm or OrmSession(connection)
        self._db = connection

    async def get(self, event_id: UUID) -> Event | None:
        row = await _one(self._db, _EVENT_BY_ID, event_id)
        return None if row is None else _event(row)

    async def lock(self, event_id: UUID, purpose: LockPurpose) -> Event | None:
        row = await _one(self._db, _EVENT_LOCKED[purpose], event_id)
        return None if row is None else _event(row)

    async def view(self, event_id: UUID) -> EventView | None:
        views = await self._views(_EVENT_VIEW_BY_ID, event_id)
        return views[0] if views else None

    async def id_for_slug(self, slug: str) -> UUID | None:
        event_id: UUID | None = await self._db.scalar(
            select(EventModel.id).where(EventModel.slug == slug, _LIVE)
        )
        return event_id

    async def get_by_join_code(self, join_code: str) -> Event | None:
        row = await _one(self._db, _EVENT_BY_JOIN_CODE, join_code)
        return None if row is None else _event(row)

    async def lock_by_join_code(self, join_code: str) -> Event | None:
        row = await _one(self._db, _EVENT_BY_JOIN_CODE_LOCKED, join_code)
        return None if row is None else _event(row)

    async def add(self, event: Event) -> None:
        try:
            async with self._db.begin_nested():
                await self._db.execute(insert(EventModel).values(_values(event, EVENT_FIELDS)))
        except IntegrityError as exc:
            constraint = _constraint(exc)
            if "slug" in constraint:
                raise SlugTaken(event.slug) from exc
            if "join_code" in constraint:
                raise JoinCodeTaken(event.join_code) from exc
            raise

    async def update(self, event: Event) -> None:
        repository = await self._orm.repository(EventRepository)
        await repository.update(EventModel(**_values(event, EVENT_FIELDS)), auto_refresh=False)

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
        return [EventView(_event(row), row.project_count) for row in rows]


_ATTENDEE = (EventAttendeeModel.event_id == bindparam("event_id")) & (
    EventAttendeeModel.user_id == bindparam("user_id")
)
# The event (locked against deletion) and then its attendee's row (locked) in one round trip: the
# attendee's lock is only taken if the event exists, and after the event's, the order every writer takes
# (an event delete racing a vote waits for it or is waited for, never both).
_LOCKED_EVENT = (
    select(*_EVENT_COLUMNS)
    .where(EventModel.id == bindparam("event_id"), _LIVE)
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
_ADD_ATTENDEE = compiled_once(
    pg_insert(EventAttendeeModel)
    .values(event_id=bindparam("event_id"), user_id=bindparam("user_id"))
    .on_conflict_do_nothing(index_elements=["event_id", "user_id"])
    .returning(EventAttendeeModel.id)
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
        return (None, False) if row is None else (_event(row), row.attending)

    async def add(self, event_id: UUID, user_id: UUID) -> bool:
        return (await self._db.execute(_ADD_ATTENDEE, self._params(event_id, user_id))).first() is not None

    async def remove(self, event_id: UUID, user_id: UUID) -> None:
        await self._db.execute(delete(EventAttendeeModel).where(self._pair(event_id, user_id)))

    async def attendees(self, event_id: UUID) -> list[User]:
        statement = (
            select(*_USER_COLUMNS)
            .join(EventAttendeeModel, EventAttendeeModel.user_id == UserModel.id)
            .where(EventAttendeeModel.event_id == event_id)
            .order_by(UserModel.id)
        )
        return [_user(row) for row in (await self._db.execute(statement)).all()]


# One statement per listing: points, vote ids and the team's display names come aggregated from SQL.
_PROJECT_VIEWS = """
SELECT {columns},
       coalesce(v.ids, '{{}}') AS vote_ids,
       -- A scalar subquery (a primary-key lookup per project), which the planner cannot turn into a
       -- hash join over every user.
       (SELECT users.display_name FROM users WHERE users.id = p.owner_id) AS owner_display_name,
       coalesce(c.names, '{{}}') AS collaborator_display_names
FROM projects p
LEFT JOIN LATERAL (
    -- As text: thousands of ids per leaderboard, only ever shown, so the driver builds no UUID objects.
    SELECT array_agg(votes.id::text ORDER BY votes.id) AS ids FROM votes WHERE votes.project_id = p.id
) v ON true
LEFT JOIN LATERAL (
    SELECT array_agg(u.display_name ORDER BY u.display_name COLLATE "C", u.id) AS names
    FROM project_collaborators pc JOIN users u ON u.id = pc.user_id
    WHERE pc.project_id = p.id
) c ON true
WHERE {where}
ORDER BY {order}
"""
_PROJECT_VIEW_COLUMNS = ", ".join(f"p.{name}" for name in _PROJECT_ORDER)
_LEADERBOARD_ORDER = 'coalesce(cardinality(v.ids), 0) + p.legacy_points DESC, p.name COLLATE "C", p.id'


def _project_views(where: str, order: str) -> Any:
    return text(_PROJECT_VIEWS.format(columns=_PROJECT_VIEW_COLUMNS, where=where, order=order))


_PROJECT_VIEW = _project_views(f"p.id = :key AND {_LIVE_EVENT_OF_PROJECT}", "p.id")
_PROJECT_VIEWS_IN_EVENT = _project_views("p.event_id = :key", _LEADERBOARD_ORDER)
_PROJECT_VIEWS_OF_MEMBER = _project_views(
    "(p.owner_id = :key OR p.id IN (SELECT project_id FROM project_collaborators WHERE user_id = :key))"
    f" AND {_LIVE_EVENT_OF_PROJECT}",
    '(p.owner_id = :key) DESC, p.name COLLATE "C", p.id',
)


def _project_view(row: Any) -> ProjectView:
    # Positional: this runs once per project of a listing, and a Row's attribute lookup costs more.
    *fields, vote_ids, owner_display_name, collaborator_display_names = row
    return ProjectView(Project(*fields), vote_ids, owner_display_name, collaborator_display_names)


class PostgresProjects:
    def __init__(self, connection: AsyncConnection, orm: OrmSession | None = None) -> None:
        self._orm = orm or OrmSession(connection)
        self._db = connection

    async def get(self, project_id: UUID) -> Project | None:
        row = await _one(self._db, _PROJECT_BY_ID, project_id)
        return None if row is None else _project(row)

    async def lock(self, project_id: UUID, purpose: LockPurpose) -> Project | None:
        row = await _one(self._db, _PROJECT_LOCKED_BY_ID[purpose], project_id)
        return None if row is None else _project(row)

    async def view(self, project_id: UUID) -> ProjectView | None:
        views = await self._views(_PROJECT_VIEW, project_id)
        return views[0] if views else None

    async def get_by_join_code(self, join_code: str) -> Project | None:
        row = await _one(self._db, _PROJECT_BY_JOIN_CODE, join_code)
        return None if row is None else _project(row)

    async def lock_by_join_code(self, join_code: str) -> Project | None:
        row = await _one(self._db, _PROJECT_BY_JOIN_CODE_LOCKED, join_code)
        return None if row is None else _project(row)

    async def add(self, project: Project) -> None:
        try:
            async with self._db.begin_nested():
                await self._db.execute(insert(ProjectModel).values(_values(project, PROJECT_FIELDS)))
        except IntegrityError as exc:
            if "join_code" in _constraint(exc):
                raise JoinCodeTaken(project.join_code) from exc
            raise

    async def update(self, project: Project) -> None:
        repository = await self._orm.repository(ProjectRepository)
        values = _values(project, ("id", "name", "repo", "image_url", "demo", "description", "hours_spent"))
        await repository.update(ProjectModel(**values), auto_refresh=False)

    async def delete(self, project_id: UUID) -> None:
        # Votes and collaborator links go with it (ON DELETE CASCADE).
        repository = await self._orm.repository(ProjectRepository)
        await repository.delete(project_id)

    async def in_event(self, event_id: UUID) -> list[ProjectView]:
        return await self._views(_PROJECT_VIEWS_IN_EVENT, event_id)

    async def mine(self, user_id: UUID) -> list[ProjectView]:
        return await self._views(_PROJECT_VIEWS_OF_MEMBER, user_id)

    async def collaborator_ids(self, project_id: UUID) -> set[UUID]:
        statement = select(ProjectCollaboratorModel.user_id).where(
            ProjectCollaboratorModel.project_id == project_id
        )
        return set((await self._db.scalars(statement)).all())

    async def add_collaborator(self, project_id: UUID, user_id: UUID) -> bool:
        params = {"project_id": project_id, "user_id": user_id}
        return (await self._db.execute(_ADD_COLLABORATOR, params)).first() is not None

    async def _views(self, statement: Any, key: UUID) -> list[ProjectView]:
        return [_project_view(row) for row in (await self._db.execute(statement, {"key": key})).all()]


_ADD_COLLABORATOR = compiled_once(
    pg_insert(ProjectCollaboratorModel)
    .values(project_id=bindparam("project_id"), user_id=bindparam("user_id"))
    .on_conflict_do_nothing(index_elements=["project_id", "user_id"])
    .returning(ProjectCollaboratorModel.id)
)


# The vote's checks in two statements whatever the number of projects asked for (issue 6).
_QUOTA_USE = select(
    select(func.count())
    .select_from(VoteModel)
    .where(VoteModel.event_id == bindparam("event_id"), VoteModel.voter_id == bindparam("voter_id"))
    .scalar_subquery()
    .label("cast"),
    select(func.count())
    .select_from(ProjectModel)
    .where(ProjectModel.event_id == bindparam("event_id"))
    .scalar_subquery()
    .label("project_count"),
)
_CANDIDATES = select(
    ProjectModel.id,
    ProjectModel.event_id,
    exists()
    .where(VoteModel.project_id == ProjectModel.id, VoteModel.voter_id == bindparam("voter_id"))
    .label("already_voted"),
    (
        (ProjectModel.owner_id == bindparam("voter_id"))
        | exists().where(
            ProjectCollaboratorModel.project_id == ProjectModel.id,
            ProjectCollaboratorModel.user_id == bindparam("voter_id"),
        )
    ).label("is_member"),
).where(ProjectModel.id == any_(bindparam("project_ids", type_=ARRAY(Uuid))))
# Against deletion, as the vote's own foreign key would lock them, but before the checks: a vote racing a
# project's delete waits for it and finds the project gone (404), rather than failing at the insert.
_CANDIDATES = _CANDIDATES.with_for_update(read=True, key_share=True, of=ProjectModel)
# Quota and candidates in one round trip: the quota row, joined with one row per candidate (if any).
_QUOTA = _QUOTA_USE.subquery("quota")
_CANDIDATE_ROWS = _CANDIDATES.subquery("candidate")
_BALLOT = select(_QUOTA, _CANDIDATE_ROWS).select_from(_QUOTA.outerjoin(_CANDIDATE_ROWS, true()))
_ADD_VOTE = insert(VoteModel).values(
    id=bindparam("id"),
    voter_id=bindparam("voter_id"),
    project_id=bindparam("project_id"),
    event_id=bindparam("event_id"),
)
_VOTE_IDS_OF_VOTER = select(VoteModel.id).where(VoteModel.voter_id == bindparam("key")).order_by(VoteModel.id)
_VOTE_IDS_OF_VOTERS = (
    select(VoteModel.voter_id, VoteModel.id)
    .where(VoteModel.voter_id == any_(bindparam("keys", type_=ARRAY(Uuid))))
    .order_by(VoteModel.voter_id, VoteModel.id)
)


class PostgresVotes:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def ballot(self, event_id: UUID, voter_id: UUID, project_ids: Sequence[UUID]) -> Ballot:
        params = {"event_id": event_id, "voter_id": voter_id, "project_ids": list(project_ids)}
        rows = (await self._db.execute(_BALLOT, params)).all()
        candidates = {
            row.id: VoteCandidate(row.event_id, row.already_voted, row.is_member)
            for row in rows
            if row.id is not None
        }
        return Ballot(VoteQuotaUse(cast=rows[0].cast, project_count=rows[0].project_count), candidates)

    async def add_many(self, votes: Sequence[Vote]) -> None:
        rows = [_values(v, ("id", "voter_id", "project_id", "event_id")) for v in votes]
        if len(rows) == 1:
            await self._db.execute(_ADD_VOTE, rows[0])
        elif rows:
            await self._db.execute(insert(VoteModel).values(rows))

    async def withdraw(self, event_id: UUID, voter_id: UUID, project_id: UUID) -> bool:
        statement = (
            delete(VoteModel)
            .where(
                VoteModel.event_id == event_id,
                VoteModel.voter_id == voter_id,
                VoteModel.project_id == project_id,
            )
            .returning(VoteModel.id)
        )
        return (await self._db.execute(statement)).first() is not None

    async def in_event(self, event_id: UUID) -> list[Vote]:
        statement = (
            select(VoteModel.id, VoteModel.voter_id, VoteModel.project_id, VoteModel.event_id)
            .where(VoteModel.event_id == event_id)
            .order_by(VoteModel.id)
        )
        rows = (await self._db.execute(statement)).all()
        return [
            Vote(id=r.id, voter_id=r.voter_id, project_id=r.project_id, event_id=r.event_id) for r in rows
        ]

    async def ids_by_voter(self, voter_id: UUID) -> list[UUID]:
        return list((await self._db.scalars(_VOTE_IDS_OF_VOTER, {"key": voter_id})).all())

    async def ids_by_voters(self, voter_ids: Collection[UUID]) -> dict[UUID, list[UUID]]:
        by_voter: dict[UUID, list[UUID]] = {}
        for voter_id, vote_id in await self._db.execute(_VOTE_IDS_OF_VOTERS, {"keys": list(voter_ids)}):
            by_voter.setdefault(voter_id, []).append(vote_id)
        return by_voter


_ADD_REFERRAL = insert(ReferralModel).values(
    id=bindparam("id"),
    content=bindparam("content"),
    user_id=bindparam("user_id"),
    event_id=bindparam("event_id"),
)


class PostgresReferrals:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def add(self, referral: Referral) -> None:
        await self._db.execute(_ADD_REFERRAL, _values(referral, ("id", "content", "user_id", "event_id")))

    async def in_event(self, event_id: UUID) -> list[Referral]:
        statement = (
            select(ReferralModel.id, ReferralModel.content, ReferralModel.user_id, ReferralModel.event_id)
            .where(ReferralModel.event_id == event_id)
            .order_by(ReferralModel.id)
        )
        rows = (await self._db.execute(statement)).all()
        return [Referral(id=r.id, content=r.content, user_id=r.user_id, event_id=r.event_id) for r in rows]


class PostgresMagicLinks:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def consume(self, token_hash: str, expires_at: dt.datetime) -> bool:
        # Links past their expiry are rejected by their signature check anyway; forget them.
        await self._db.execute(
            delete(ConsumedMagicLinkModel).where(ConsumedMagicLinkModel.expires_at < func.now())
        )
        params = {"token_hash": token_hash, "expires_at": expires_at}
        return (await self._db.execute(_CONSUME_MAGIC_LINK, params)).first() is not None


_CONSUME_MAGIC_LINK = compiled_once(
    pg_insert(ConsumedMagicLinkModel)
    .values(token_hash=bindparam("token_hash"), expires_at=bindparam("expires_at"))
    .on_conflict_do_nothing(index_elements=["token_hash"])
    .returning(ConsumedMagicLinkModel.token_hash)
)
