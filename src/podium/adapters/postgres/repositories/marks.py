"""Reads of what changed in an event since a cursor, from the marks of migration 0015.

The cursor is the PostgreSQL snapshot (``pg_current_snapshot()``) of the statement that read the rows, as
text. The next read asks for the marks of the transactions that snapshot did not see: a transaction that
committed after it, whatever its id. Marks, cursor and rows come from one statement, hence one snapshot,
so the rows are exactly as of the new cursor (never a torn state, such as a vote moved between two
projects read on one side only).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from podium.domain.ports import Changes

R = TypeVar("R")
# The nil project id marks "anything in the event may have changed" (a TRUNCATE).
EVERYTHING = UUID(int=0)

_SINCE = """
WITH span AS (
    SELECT pg_catalog.pg_current_snapshot()::text AS cursor,
           CASE WHEN CAST(:since AS text) IS NOT NULL THEN ARRAY(
               SELECT DISTINCT m.project_id FROM public.project_listing_marks m
               WHERE m.event_id = :key
                 AND m.xact >= pg_catalog.pg_snapshot_xmin(CAST(:since AS pg_snapshot))::text::bigint
                 AND NOT pg_catalog.pg_visible_in_snapshot(m.xact::text::xid8, CAST(:since AS pg_snapshot))
           ) END AS changed
)
SELECT span.cursor, span.changed, r.* FROM span LEFT JOIN LATERAL ({rows}) r ON true
ORDER BY {order}
"""


def changed_only(project: str) -> str:
    """The condition that keeps the rows of the projects changed since ``:since`` (``project``: the rows'
    project id), for the WHERE clause of a query passed to ``since``."""
    return (
        f"(span.changed IS NULL OR {project} = ANY (span.changed)"
        f" OR '{EVERYTHING}'::uuid = ANY (span.changed))"
    )


def since(rows: str, order: str) -> Any:
    """``rows`` (a query of one event's rows, ``:key`` its id, filtered with ``changed_only``) with the new
    cursor and the changed projects on every row (one row of NULLs when none), ordered by ``order``."""
    return text(_SINCE.format(rows=rows, order=order))


async def changes(
    db: AsyncConnection, statement: Any, event_id: UUID, cursor: str | None, row: Callable[[Any], R]
) -> Changes[R]:
    rows: Sequence[Any] = (await db.execute(statement, {"key": event_id, "since": cursor})).all()
    first = rows[0]
    changed = first.changed
    projects = None if changed is None or EVERYTHING in changed else frozenset(changed)
    return Changes(first.cursor, projects, [row(r) for r in rows if r.id is not None])
