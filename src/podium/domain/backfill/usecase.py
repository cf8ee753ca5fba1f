"""Use-cases of the cutover: back Airtable's records up to a snapshot, and backfill them into the store."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from podium.domain.backfill.model import (
    BackfillResult,
    Issue,
    Outcome,
    Progress,
    SourceRecord,
    SourceTable,
    Stage,
    TargetTable,
)
from podium.domain.backfill.planner import Plan, plan_backfill
from podium.domain.backfill.ports import BackfillStore, RecordSource, SnapshotSink

ProgressCallback = Callable[[Progress], None]
Clock = Callable[[], float]


def _ignore(_: Progress) -> None:
    return None


async def read_source(
    source: RecordSource, progress: ProgressCallback = _ignore, clock: Clock = time.monotonic
) -> dict[SourceTable, list[SourceRecord]]:
    """Every record of the five tables, with a progress tick per page."""
    records: dict[SourceTable, list[SourceRecord]] = {}
    for table in SourceTable:
        started = clock()
        expected = source.expected_count(table)
        rows: list[SourceRecord] = []
        async for page in source.pages(table):
            rows.extend(page)
            progress(Progress(Stage.READ, str(table), len(rows), expected, clock() - started))
        progress(Progress(Stage.READ, str(table), len(rows), len(rows), clock() - started, finished=True))
        records[table] = rows
    return records


async def export_snapshot(
    source: RecordSource,
    sink: SnapshotSink,
    progress: ProgressCallback = _ignore,
    clock: Clock = time.monotonic,
) -> dict[SourceTable, int]:
    """Copy the raw records of every table into ``sink`` (the cutover's backup), unchanged.

    Returns the number of records per table.
    """
    records = await read_source(source, progress, clock)
    for table, rows in records.items():
        sink.write_table(table, rows)
    counts = {table: len(rows) for table, rows in records.items()}
    sink.finish(counts)
    return counts


async def run_backfill(
    source: RecordSource,
    store: BackfillStore,
    *,
    dry_run: bool = False,
    overwrite_v2_changes: bool = False,
    prune: bool = False,
    progress: ProgressCallback = _ignore,
    clock: Clock = time.monotonic,
) -> BackfillResult:
    """Copy the Airtable base into the store, by the rules of PRODUCT §4.

    Reads every table, plans every row against what the store already holds (see
    :mod:`podium.domain.backfill.planner` for why that plan is deterministic), then writes the new and
    changed rows phase by phase: users → events → attendees → projects → collaborators → referrals →
    votes. Each phase is one store transaction, followed by the record of what it wrote. Rows changed
    or deleted in v2 since the last run are left alone (conflicts) unless ``overwrite_v2_changes``;
    rows whose Airtable record is gone are reported, and deleted with ``prune``. A dry run stops after
    planning and writes nothing.

    Raises :class:`SourceError` when the source cannot be read and
    :class:`~podium.domain.backfill.ports.BackfillWriteError` when the store refuses a phase; both
    leave the store with whole phases only, and running again converges.
    """
    started = clock()
    records = await read_source(source, progress, clock)
    existing = await store.load_existing()
    plan = plan_backfill(
        records, existing, dry_run=dry_run, overwrite_v2_changes=overwrite_v2_changes, prune=prune
    )
    result = plan.result
    if not dry_run:
        await write_plan(plan, store, progress, clock)
        if plan.prune:
            for row in await store.prune(plan.prune):
                result.add(
                    Issue(
                        row.table,
                        row.airtable_id or str(row.id),
                        Outcome.PRUNED,
                        row.reason,
                        "deleted: gone from Airtable"
                        if row.reason == "deleted_in_airtable"
                        else "deleted with the row it hung off",
                    )
                )
    # Exit 3 only for what no earlier run reported; a real run remembers what it reports.
    reported = {issue.key for issue in result.needs_review}
    result.known = reported & await store.reported_issues()
    new = reported - result.known
    if not dry_run and new:
        await store.remember_reported(sorted(new))
    for table, count in (await store.count_rows()).items():
        result.tables[table].stored = count
    result.elapsed_seconds = clock() - started
    return result


async def write_plan(
    plan: Plan, store: BackfillStore, progress: ProgressCallback = _ignore, clock: Clock = time.monotonic
) -> None:
    """Write the plan's new and changed rows, one transaction per table, parents before children."""
    writers: Mapping[TargetTable, Callable[[Sequence[Any]], Awaitable[None]]] = {
        TargetTable.USERS: store.save_users,
        TargetTable.EVENTS: store.save_events,
        TargetTable.EVENT_ATTENDEES: store.add_attendees,
        TargetTable.PROJECTS: store.save_projects,
        TargetTable.PROJECT_COLLABORATORS: store.add_collaborators,
        TargetTable.REFERRALS: store.save_referrals,
        TargetTable.VOTES: store.save_votes,
    }
    for table in TargetTable:
        rows = plan.writes.get(table, [])
        started = clock()
        progress(Progress(Stage.WRITE, str(table), 0, len(rows), 0.0))
        if rows:
            await writers[table](rows)
        if plan.written.get(table):
            await store.save_written(table, plan.written[table])
        progress(Progress(Stage.WRITE, str(table), len(rows), len(rows), clock() - started, finished=True))


__all__ = ["ProgressCallback", "export_snapshot", "read_source", "run_backfill", "write_plan"]
