"""The organiser's CSV exports (issue 15), read as a stream: a server-side cursor fetched a batch at a time,
so an export's memory stays flat whatever the size of the event (``bench/export_bench.py`` measures it).

Each export is one statement; its rows come out in the order they are written, already aggregated in SQL
(points, team names, referrals), and as plain text values."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from podium.adapters.postgres.uow import release_shared_connection
from podium.domain.ports import ExportKind

#: Rows per fetch from the cursor: what a stalled client's export holds besides its chunk (a project row
#: is at most a few ``DESCRIPTION_MAX`` long), so small.
BATCH = 50

_TEAM = """
    (SELECT u.display_name FROM users u WHERE u.id = p.owner_id) AS owner,
    coalesce((SELECT string_agg(u.display_name, ', ' ORDER BY u.display_name COLLATE "C", u.id)
              FROM project_collaborators pc JOIN users u ON u.id = pc.user_id
              WHERE pc.project_id = p.id), '') AS collaborators
"""
_STATEMENTS: dict[ExportKind, str] = {
    "leaderboard": f"""
        SELECT rank() OVER (ORDER BY s.votes + s.legacy_points DESC) AS rank,
               s.name, s.votes + s.legacy_points AS points, s.votes, s.legacy_points, s.owner, s.collaborators
        FROM (
            SELECT p.id, p.name, p.legacy_points,
                   (SELECT count(*) FROM votes v WHERE v.project_id = p.id) AS votes, {_TEAM}
            FROM projects p WHERE p.event_id = :event_id
        ) s
        ORDER BY points DESC, s.name COLLATE "C", s.id
    """,
    "votes": """
        SELECT u.display_name, p.name, v.created_at
        FROM votes v JOIN users u ON u.id = v.voter_id JOIN projects p ON p.id = v.project_id
        WHERE v.event_id = :event_id
        ORDER BY v.created_at, v.id
    """,
    "attendees": """
        SELECT u.display_name, u.email,
               coalesce((SELECT string_agg(r.content, '; ' ORDER BY r.id) FROM referrals r
                         WHERE r.event_id = a.event_id AND r.user_id = a.user_id), '') AS referral
        FROM event_attendees a JOIN users u ON u.id = a.user_id
        WHERE a.event_id = :event_id
        ORDER BY u.display_name COLLATE "C", u.id
    """,
    "projects": f"""
        SELECT p.name, p.description, p.repo, p.demo, p.image_url, p.hours_spent,
               (SELECT count(*) FROM votes v WHERE v.project_id = p.id) + p.legacy_points AS points,
               {_TEAM}
        FROM projects p WHERE p.event_id = :event_id
        ORDER BY p.name COLLATE "C", p.id
    """,
}
# Podium HEAD's YSWS export: one row per project with its owner's details, of one event or of every live
# event whose feature flags name a series.
_YSWS = """
    SELECT u.first_name, u.last_name, u.email, p.demo, p.repo, p.image_url, p.description,
           coalesce((regexp_match(p.repo, '^https?://(www\\.)?github\\.com/([A-Za-z0-9-]+)', 'i'))[2], ''),
           u.street_1, u.street_2, u.city, u.state, u.country, u.zip_code,
           coalesce(to_char(u.dob, 'YYYY-MM-DD'), ''), p.hours_spent
    FROM projects p JOIN users u ON u.id = p.owner_id JOIN events e ON e.id = p.event_id
    WHERE e.deleted_at IS NULL AND {condition}
    ORDER BY e.created_at, e.id, p.name COLLATE "C", p.id
"""
_YSWS_OF_EVENT = text(_YSWS.format(condition="e.id = :event_id"))
_YSWS_OF_SERIES = text(
    _YSWS.format(
        condition="e.phase <> 'draft' AND :series = ANY (SELECT btrim(f) FROM"
        " unnest(string_to_array(e.feature_flags_csv, ',')) f)"
    )
)


class PostgresExports:
    """Streams each export's rows on a connection of its own, held only while the rows are read."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    def event_rows(self, kind: ExportKind, event_id: UUID) -> AsyncIterator[Sequence[Any]]:
        return self._stream(text(_STATEMENTS[kind]), {"event_id": event_id})

    def ysws_rows(self, event_id: UUID | None, series: str | None) -> AsyncIterator[Sequence[Any]]:
        if event_id is not None:
            return self._stream(_YSWS_OF_EVENT, {"event_id": event_id})
        return self._stream(_YSWS_OF_SERIES, {"series": series or ""})

    async def _stream(self, statement: Any, params: dict[str, Any]) -> AsyncIterator[Sequence[Any]]:
        # A server-side cursor needs a transaction; it only reads, and is rolled back on close. The request's
        # shared read connection goes back to the pool first: a request never holds two.
        await release_shared_connection()
        async with self._engine.connect() as connection, connection.begin():
            result = await connection.stream(statement.execution_options(yield_per=BATCH), params)
            async for partition in result.partitions(BATCH):
                for row in partition:
                    yield tuple(row)
