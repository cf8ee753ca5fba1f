"""Reads of what changed in an event since a cursor, from the marks of migration 0015.

The cursor is the PostgreSQL snapshot (``pg_current_snapshot()``) of the statement that read the rows, as
text. The next read asks for the marks of the transactions that snapshot did not see: a transaction that
committed after it, whatever its id. Marks, cursor and rows come from one statement, hence one snapshot,
so the rows are exactly as of the new cursor (never a torn state, such as a vote moved between two
projects read on one side only).

On a streaming replica a snapshot lists no running transaction (PostgreSQL keeps them in a part of the
snapshot ``pg_current_snapshot()`` does not show): its text would claim every transaction below its xmax had
ended, and a change committed later by one of them would never be re-read. There the cursor is cut to
``xmin:xmin:`` — every transaction from the oldest one still running on counts as unseen — so the next read
re-reads a little more, never less.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from podium.domain.models import ListingState
from podium.domain.ports import Changes

R = TypeVar("R")
# The subjects of the marks that are not rows (migration 0015): "anything in the event may have changed"
# (a TRUNCATE), and until migration 0018 the event's attendee list and its referral list (now each
# attendee and each referral is its own subject).
EVERYTHING = UUID(int=0)
ATTENDEES = UUID(int=1)
REFERRALS = UUID(int=2)

# The event's listing state as of the same snapshot (what ``listing_states`` reads; no row for an event
# that is gone): a cache checks who may see the rows with no second round trip.
_STATE = """
state AS MATERIALIZED (
    SELECT (SELECT COALESCE(sum(v.version), 0) FROM public.event_listing_versions v WHERE v.event_id = e.id)
               AS listing_version,
           e.leaderboard_enabled AS listing_leaderboard, e.owner_id AS listing_owner, e.phase AS listing_phase
    FROM public.events e WHERE e.id = :key AND e.deleted_at IS NULL
)"""
# The cursor of this statement's snapshot (``_CURSOR`` in a FROM clause names it ``cursor``).
_CURSOR = """(
    SELECT CASE WHEN pg_catalog.pg_is_in_recovery()
                THEN pg_catalog.pg_snapshot_xmin(s)::text || ':' || pg_catalog.pg_snapshot_xmin(s)::text || ':'
                ELSE s::text END AS cursor
    FROM pg_catalog.pg_current_snapshot() AS s
)"""
_COLUMNS = (
    "span.cursor, span.changed, state.listing_version, state.listing_leaderboard, state.listing_owner,"
    " state.listing_phase, r.*"
)
# Every row, with the cursor of the read.
_ALL = f"""
WITH span AS MATERIALIZED (SELECT c.cursor, NULL::uuid[] AS changed FROM {_CURSOR} c),
{_STATE}
SELECT {_COLUMNS} FROM span LEFT JOIN state ON true LEFT JOIN LATERAL ({{rows}}) r ON true
ORDER BY {{order}}
"""
# The rows of the subjects marked by a transaction the cursor ``:since`` did not see. Every such transaction
# has an id at least the snapshot's xmin (older ones had all ended when it was taken): the index's range.
_CHANGED = f"""
WITH span AS MATERIALIZED (
    SELECT c.cursor, ARRAY(
        SELECT DISTINCT m.subject FROM public.listing_marks m
        WHERE m.event_id = :key
          AND m.xact >= pg_catalog.pg_snapshot_xmin(CAST(:since AS text)::pg_snapshot)::text::bigint
          AND NOT pg_catalog.pg_visible_in_snapshot(m.xact::text::xid8, CAST(:since AS text)::pg_snapshot)
    ) AS changed
    FROM {_CURSOR} c
),
{_STATE}
SELECT {_COLUMNS} FROM span LEFT JOIN state ON true LEFT JOIN LATERAL ({{rows}}) r ON true
ORDER BY {{order}}
"""
# Where a query passed to ``since`` narrows its rows to the changed subjects (a condition after AND).
ONLY_CHANGED = "/* only changed */"


@dataclass(frozen=True, slots=True)
class Since:
    """A read of one event's rows from the cursor ``:since`` on: every row, or the changed subjects' rows."""

    every: Any
    changed: Any


def since(rows: str, subject: str, order: str) -> Since:
    """``rows`` (a query of one event's rows, ``:key`` its id, with ``ONLY_CHANGED`` where its WHERE clause
    can take one more condition) as a ``Since``: ``subject`` is the rows' subject (their project id, or
    their own id), ``order`` sorts them (qualified by ``r.``). Each row also carries the new cursor and
    the changed subjects (one row of NULLs when no row is read)."""
    changed = rows.replace(ONLY_CHANGED, f"AND {subject} = ANY (span.changed)")
    return Since(
        text(_ALL.format(rows=rows.replace(ONLY_CHANGED, ""), order=order)),
        text(_CHANGED.format(rows=changed, order=order)),
    )


async def changes(
    db: AsyncConnection, read: Since, event_id: UUID, cursor: str | None, row: Callable[[Any], R]
) -> Changes[R]:
    if cursor is not None:
        rows: Sequence[Any] = (await db.execute(read.changed, {"key": event_id, "since": cursor})).all()
        changed = rows[0].changed
        if EVERYTHING not in changed:
            return Changes(
                rows[0].cursor,
                frozenset(changed),
                [row(r) for r in rows if r.id is not None],
                _state(rows[0]),
            )
    rows = (await db.execute(read.every, {"key": event_id})).all()
    return Changes(rows[0].cursor, None, [row(r) for r in rows if r.id is not None], _state(rows[0]))


def _state(first: Any) -> ListingState | None:
    if first.listing_version is None:
        return None
    return ListingState(
        first.listing_version, first.listing_leaderboard, first.listing_owner, first.listing_phase
    )


async def keyed_list_changes(
    db: AsyncConnection,
    read: Since,
    event_id: UUID,
    cursor: str | None,
    row: Callable[[Any], R],
    whole: UUID,
) -> Changes[R]:
    """A list whose rows are their own subjects (an event's attendees, its referrals: migration 0018) since
    ``cursor``; read whole when it was marked by ``whole``, its subject before 0018."""
    found = await changes(db, read, event_id, cursor, row)
    if found.projects is not None and whole in found.projects:
        return await changes(db, read, event_id, None, row)
    return found
