"""The backfill's memory of what it wrote (``backfill_written``), and ``--prune``: deleting rows whose
Airtable record is gone together with everything that hangs off them, each deleted row reported."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import Table, bindparam, select, text
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from podium.adapters.postgres.models import BackfillWrittenModel
from podium.domain.backfill import PrunedRow, TargetTable

#: The tables whose rows carry an Airtable record id (the link tables are fields of their parent record).
ENTITY_TABLES = frozenset(
    {TargetTable.USERS, TargetTable.EVENTS, TargetTable.PROJECTS, TargetTable.REFERRALS, TargetTable.VOTES}
)

WRITTEN: Table = BackfillWrittenModel.__table__  # type: ignore[assignment]

_RECORD = (
    insert(WRITTEN)
    .values(
        table_name=bindparam("table_name"),
        row_id=bindparam("row_id"),
        written=bindparam("written", type_=JSONB),
    )
    .on_conflict_do_update(
        index_elements=[WRITTEN.c.table_name, WRITTEN.c.row_id],
        set_={"written": insert(WRITTEN).excluded.written, "written_at": text("now()")},
    )
)


async def load_written(connection: AsyncConnection) -> dict[TargetTable, dict[UUID, Mapping[str, Any]]]:
    written: dict[TargetTable, dict[UUID, Mapping[str, Any]]] = {}
    result = await connection.execute(select(WRITTEN.c.table_name, WRITTEN.c.row_id, WRITTEN.c.written))
    for table_name, row_id, values in result:
        written.setdefault(TargetTable(table_name), {})[row_id] = values
    return written


async def record_written(
    connection: AsyncConnection, table: TargetTable, entries: Sequence[tuple[UUID, Mapping[str, Any]]]
) -> None:
    parameters = [
        {"table_name": str(table), "row_id": row_id, "written": dict(values)} for row_id, values in entries
    ]
    if parameters:
        await connection.execute(_RECORD, parameters)


# Every row hanging off the rows to delete, parents first, as (table, SQL selecting the ids to delete).
# ``:users``, ``:events``, … are the ids asked for *plus* those found by the statements before.
_CLOSURE: Sequence[tuple[TargetTable, str]] = (
    (TargetTable.EVENTS, "SELECT id FROM events WHERE id = ANY(:events) OR owner_id = ANY(:users)"),
    (
        TargetTable.PROJECTS,
        "SELECT id FROM projects WHERE id = ANY(:projects) OR event_id = ANY(:events) OR owner_id = ANY(:users)",
    ),
)
# Deleted children first, each statement returning what it deleted.
_DELETES: Sequence[tuple[TargetTable, str]] = (
    (
        TargetTable.VOTES,
        "DELETE FROM votes WHERE id = ANY(:votes) OR project_id = ANY(:projects) OR event_id = ANY(:events) "
        "OR voter_id = ANY(:users) RETURNING id, airtable_id",
    ),
    (
        TargetTable.REFERRALS,
        "DELETE FROM referrals WHERE id = ANY(:referrals) OR event_id = ANY(:events) OR user_id = ANY(:users) "
        "RETURNING id, airtable_id",
    ),
    (
        TargetTable.PROJECT_COLLABORATORS,
        "DELETE FROM project_collaborators WHERE id = ANY(:project_collaborators) OR project_id = ANY(:projects) "
        "OR user_id = ANY(:users) RETURNING id, NULL",
    ),
    (
        TargetTable.EVENT_ATTENDEES,
        "DELETE FROM event_attendees WHERE id = ANY(:event_attendees) OR event_id = ANY(:events) "
        "OR user_id = ANY(:users) RETURNING id, NULL",
    ),
    (TargetTable.PROJECTS, "DELETE FROM projects WHERE id = ANY(:projects) RETURNING id, airtable_id"),
    (TargetTable.EVENTS, "DELETE FROM events WHERE id = ANY(:events) RETURNING id, airtable_id"),
    (TargetTable.USERS, "DELETE FROM users WHERE id = ANY(:users) RETURNING id, airtable_id"),
)


async def prune(
    connection: AsyncConnection, targets: Mapping[TargetTable, Sequence[UUID]]
) -> list[PrunedRow]:
    """Delete ``targets`` and their dependents in ``connection``'s transaction; every deleted row, listed."""
    asked = {table: {row_id for row_id in targets.get(table, ())} for table in TargetTable}
    ids = {str(table): list(asked[table]) for table in TargetTable}
    for table, statement in _CLOSURE:
        found = (await connection.execute(text(statement), ids)).scalars()
        ids[str(table)] = list({*ids[str(table)], *found})
    pruned: list[PrunedRow] = []
    for table, statement in _DELETES:
        for row_id, airtable_id in await connection.execute(text(statement), ids):
            reason = "deleted_in_airtable" if row_id in asked[table] else "depends_on_pruned"
            pruned.append(PrunedRow(table, row_id, airtable_id, reason))
    deleted = [(str(row.table), row.id) for row in pruned]
    if deleted:
        await connection.execute(
            text(
                "DELETE FROM backfill_written WHERE (table_name, row_id) IN (SELECT * FROM unnest(CAST(:t AS text[]), CAST(:r AS uuid[])))"
            ),
            {"t": [t for t, _ in deleted], "r": [r for _, r in deleted]},
        )
    return pruned


async def forget_written(connection: AsyncConnection, table: TargetTable, row_ids: Sequence[UUID]) -> None:
    """Their records are gone from Airtable. A row still here (in an event v2 hides: a draft, a soft
    delete) loses its record id too, so a later write-back creates it anew once it is shown again."""
    await connection.execute(
        text("DELETE FROM backfill_written WHERE table_name = :table AND row_id = ANY(:ids)"),
        {"table": str(table), "ids": list(row_ids)},
    )
    if table in ENTITY_TABLES:
        await connection.execute(
            text(f"UPDATE {table} SET airtable_id = NULL WHERE id = ANY(:ids) AND airtable_id IS NOT NULL"),
            {"ids": list(row_ids)},
        )


async def set_airtable_ids(
    connection: AsyncConnection, table: TargetTable, pairs: Sequence[tuple[UUID, str]]
) -> None:
    """Store the record ids Airtable gave rows created in v2 (``table`` is one of the five entity tables)."""
    await connection.execute(
        text(f"UPDATE {table} SET airtable_id = :airtable_id WHERE id = :id"),
        [{"id": row_id, "airtable_id": airtable_id} for row_id, airtable_id in pairs],
    )


async def mark_pending(
    connection: AsyncConnection, table: TargetTable, entries: Sequence[tuple[UUID, Mapping[str, Any]]]
) -> None:
    await connection.execute(
        text(
            "INSERT INTO airtable_pending_creates (table_name, row_id, fields) "
            "VALUES (:table, :row_id, CAST(:fields AS jsonb)) ON CONFLICT (table_name, row_id) "
            "DO UPDATE SET fields = EXCLUDED.fields"
        ),
        [{"table": str(table), "row_id": row_id, "fields": json.dumps(fields)} for row_id, fields in entries],
    )


async def clear_pending(connection: AsyncConnection, table: TargetTable, row_ids: Sequence[UUID]) -> None:
    await connection.execute(
        text("DELETE FROM airtable_pending_creates WHERE table_name = :table AND row_id = ANY(:ids)"),
        {"table": str(table), "ids": list(row_ids)},
    )


async def load_pending(connection: AsyncConnection) -> dict[TargetTable, dict[UUID, dict[str, Any]]]:
    pending: dict[TargetTable, dict[UUID, dict[str, Any]]] = {}
    rows = await connection.execute(text("SELECT table_name, row_id, fields FROM airtable_pending_creates"))
    for table_name, row_id, fields in rows:
        pending.setdefault(TargetTable(table_name), {})[row_id] = fields
    return pending
