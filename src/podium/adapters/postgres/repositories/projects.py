"""Projects: lookups, locks, edits, collaborators, and the listings (one round trip per list, whatever
the size of the event: points, vote ids and team names aggregated in SQL, never loaded row by row)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import bindparam, exists, insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from podium.adapters.postgres.models import ProjectCollaboratorModel, ProjectModel
from podium.adapters.postgres.repositories.events import EVENTS, LIVE, LIVE_EVENT_OF_PROJECT
from podium.adapters.postgres.repositories.marks import ONLY_CHANGED, changes, since
from podium.adapters.postgres.repositories.rows import (
    OrmSession,
    ProjectRepository,
    columns_of,
    constraint_of,
    fields_of,
    mapper,
    one,
    values_of,
)
from podium.domain.models import LEADERBOARD_ORDER, Project, ProjectView
from podium.domain.ports import Changes, JoinCodeTaken, LockPurpose

PROJECT_FIELDS = fields_of(Project)
PROJECTS = ProjectModel.__table__
PROJECT_COLUMNS = columns_of(PROJECTS, Project)
to_project = mapper(Project, PROJECT_FIELDS)
# What ``update`` writes: a project's own fields and its validation outcome (never its owner or event).
PROJECT_UPDATABLE = (
    "id",
    "name",
    "repo",
    "image_url",
    "demo",
    "description",
    "hours_spent",
    "validation_status",
    "validation_message",
)

_PROJECT_BY_ID = select(*PROJECT_COLUMNS).where(
    PROJECTS.c.id == bindparam("key"), exists().where(EVENTS.c.id == PROJECTS.c.event_id, LIVE)
)
_PROJECT_BY_JOIN_CODE = select(*PROJECT_COLUMNS).where(PROJECTS.c.join_code == bindparam("key"))
# A project's event is locked (against deletion) before the project, in one round trip: the order every
# writer takes.
_PROJECT_LOCKED = (
    f"SELECT {', '.join(f'p.{name}' for name in PROJECT_FIELDS)} FROM projects p WHERE p.{{key}} = :key"
    " AND EXISTS (SELECT 1 FROM events e WHERE e.id = p.event_id AND e.deleted_at IS NULL FOR KEY SHARE OF e)"
    " FOR {lock} OF p"
)
_PROJECT_LOCKED_BY_ID: dict[LockPurpose, Any] = {
    "delete": text(_PROJECT_LOCKED.format(key="id", lock="UPDATE")),
    "change": text(_PROJECT_LOCKED.format(key="id", lock="NO KEY UPDATE")),
    "keep": text(_PROJECT_LOCKED.format(key="id", lock="KEY SHARE")),
}
_PROJECT_BY_JOIN_CODE_LOCKED = text(_PROJECT_LOCKED.format(key="join_code", lock="KEY SHARE"))

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
_PROJECT_VIEW_COLUMNS = ", ".join(f"p.{name}" for name in PROJECT_FIELDS)
_LEADERBOARD_SQL = {
    "points": "coalesce(cardinality(v.ids), 0) + p.legacy_points",
    "name": 'p.name COLLATE "C"',
    "id": "p.id",
}
_LEADERBOARD_ORDER = ", ".join(
    _LEADERBOARD_SQL[key] + (" DESC" if descending else "") for key, descending in LEADERBOARD_ORDER
)


def _project_views(where: str, order: str) -> Any:
    return text(_PROJECT_VIEWS.format(columns=_PROJECT_VIEW_COLUMNS, where=where, order=order))


_PROJECT_VIEW = _project_views(f"p.id = :key AND {LIVE_EVENT_OF_PROJECT}", "p.id")
_PROJECT_VIEWS_IN_EVENT = _project_views("p.event_id = :key", _LEADERBOARD_ORDER)
_PROJECT_VIEWS_IN_EVENT_SINCE = since(
    _PROJECT_VIEWS.format(
        columns=_PROJECT_VIEW_COLUMNS, where=f"p.event_id = :key {ONLY_CHANGED}", order="p.id"
    ),
    "p.id",
    "r.id",
)
_PROJECT_VIEWS_OF_MEMBER = _project_views(
    "(p.owner_id = :key OR p.id IN (SELECT project_id FROM project_collaborators WHERE user_id = :key))"
    f" AND {LIVE_EVENT_OF_PROJECT}",
    '(p.owner_id = :key) DESC, p.name COLLATE "C", p.id',
)


def _project_view(row: Any) -> ProjectView:
    return ProjectView(to_project(row), row.vote_ids, row.owner_display_name, row.collaborator_display_names)


class PostgresProjects:
    def __init__(self, connection: AsyncConnection, orm: OrmSession | None = None) -> None:
        self._orm = orm or OrmSession(connection)
        self._db = connection

    async def get(self, project_id: UUID) -> Project | None:
        row = await one(self._db, _PROJECT_BY_ID, project_id)
        return None if row is None else to_project(row)

    async def lock(self, project_id: UUID, purpose: LockPurpose) -> Project | None:
        row = await one(self._db, _PROJECT_LOCKED_BY_ID[purpose], project_id)
        return None if row is None else to_project(row)

    async def view(self, project_id: UUID) -> ProjectView | None:
        views = await self._views(_PROJECT_VIEW, project_id)
        return views[0] if views else None

    async def get_by_join_code(self, join_code: str) -> Project | None:
        row = await one(self._db, _PROJECT_BY_JOIN_CODE, join_code)
        return None if row is None else to_project(row)

    async def lock_by_join_code(self, join_code: str) -> Project | None:
        row = await one(self._db, _PROJECT_BY_JOIN_CODE_LOCKED, join_code)
        return None if row is None else to_project(row)

    async def add(self, project: Project) -> None:
        try:
            async with self._db.begin_nested():
                await self._db.execute(insert(ProjectModel).values(values_of(project, PROJECT_FIELDS)))
        except IntegrityError as exc:
            if "join_code" in constraint_of(exc):
                raise JoinCodeTaken(project.join_code) from exc
            raise

    async def update(self, project: Project) -> None:
        repository = await self._orm.repository(ProjectRepository)
        values = values_of(project, PROJECT_UPDATABLE)
        await repository.update(ProjectModel(**values), auto_refresh=False)

    async def delete(self, project_id: UUID) -> None:
        # Votes and collaborator links go with it (ON DELETE CASCADE).
        repository = await self._orm.repository(ProjectRepository)
        await repository.delete(project_id)

    async def in_event(self, event_id: UUID) -> list[ProjectView]:
        return await self._views(_PROJECT_VIEWS_IN_EVENT, event_id)

    async def in_event_since(self, event_id: UUID, since: str | None) -> Changes[ProjectView]:
        return await changes(self._db, _PROJECT_VIEWS_IN_EVENT_SINCE, event_id, since, _project_view)

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


_ADD_COLLABORATOR = (
    pg_insert(ProjectCollaboratorModel)
    .values(project_id=bindparam("project_id"), user_id=bindparam("user_id"))
    .on_conflict_do_nothing(index_elements=["project_id", "user_id"])
    .returning(ProjectCollaboratorModel.id)
)
