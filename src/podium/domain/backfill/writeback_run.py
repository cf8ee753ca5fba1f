"""The write-back use-case: perform :func:`~.writeback.plan_write_back`'s operations against the v1 base,
10 records a request, recording after every request what Airtable now holds, so that a second run
writes nothing and a killed run resumes where it stopped."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any, Protocol
from uuid import UUID

from podium.domain.backfill.model import ExistingData, Progress, SourceTable, Stage, TargetTable
from podium.domain.backfill.writeback import ORDER, Operation, WriteBackPlan, plan_write_back

BATCH = 10  # Airtable's limit of records per create, update or delete request
SOURCE_OF = dict(ORDER)


class AirtableWriter(Protocol):
    """The v1 base, written: one request per call, at most 10 records (a separate adapter from the
    backfill's read-only source)."""

    def create(self, table: SourceTable, records: Sequence[Mapping[str, Any]]) -> list[str]:
        """Create records with these fields; their new record ids, in order."""
        ...

    def update(self, table: SourceTable, records: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
        """Set these fields of these records (other fields are left alone)."""
        ...

    def delete(self, table: SourceTable, record_ids: Sequence[str]) -> None:
        """Delete these records."""
        ...

    def list_records(self, table: SourceTable) -> list[dict[str, Any]]:
        """Every record of the table (only after a run was killed mid-create, to find what it created)."""
        ...


class WriteBackStore(Protocol):
    async def load_existing(self) -> ExistingData: ...

    async def record_created(
        self, table: TargetTable, created: Sequence[tuple[UUID, str, Mapping[str, Any]]]
    ) -> None:
        """Store each new record id on its row and record what was written, in one transaction."""
        ...

    async def save_written(
        self, table: TargetTable, entries: Sequence[tuple[UUID, Mapping[str, Any]]]
    ) -> None: ...

    async def forget_written(self, table: TargetTable, row_ids: Sequence[UUID]) -> None:
        """Forget what was written to these rows (their records were deleted)."""
        ...

    async def mark_pending(
        self, table: TargetTable, entries: Sequence[tuple[UUID, Mapping[str, Any]]]
    ) -> None:
        """Note the fields about to be sent to create records for these rows (cleared by record_created)."""
        ...

    async def clear_pending(self, table: TargetTable, row_ids: Sequence[UUID]) -> None: ...

    async def load_pending(self) -> dict[TargetTable, dict[UUID, dict[str, Any]]]: ...


class WriteBackError(Exception):
    """A request was refused; everything before it is written and recorded, so a new run resumes."""


@dataclass(slots=True)
class WriteBackResult:
    dry_run: bool
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    requests: int = 0
    operations: list[dict[str, Any]] = field(default_factory=list)
    unknown: int = 0
    elapsed_seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "requests": self.requests,
            "elapsed_seconds": round(self.elapsed_seconds, 3),
            "counts": self.counts,
            "not_compared": self.unknown,
            "operations": self.operations,
        }


def _sent(record_fields: Mapping[str, Any], sent: Mapping[str, Any]) -> bool:
    """Whether a record holds what was sent to create it (Airtable drops empty values)."""
    return all(
        record_fields.get(name) == value for name, value in sent.items() if value not in ("", [], None, False)
    )


async def _recover(
    store: WriteBackStore,
    writer: AirtableWriter,
    existing: ExistingData,
    pending: Mapping[TargetTable, Mapping[UUID, Mapping[str, Any]]],
    run: Callable[..., Any],
) -> None:
    """Adopt the records a killed run created but did not record; forget the ones it never created."""
    from podium.domain.backfill.written import written_values

    rows = {row.id: row for table in (existing.users, existing.events, existing.projects, existing.referrals,
                                      existing.votes) for row in table}  # fmt: skip
    for table, entries in pending.items():
        records = await run(writer.list_records, SOURCE_OF[table])
        known = {row.airtable_id for row in rows.values() if row.airtable_id}
        adopted: list[tuple[UUID, str, Mapping[str, Any]]] = []
        missing: list[UUID] = []
        for row_id, sent in entries.items():
            match = next(
                (r for r in records if r["id"] not in known and _sent(r.get("fields", {}), sent)), None
            )
            if match is None:
                missing.append(row_id)
                continue
            known.add(match["id"])
            row = rows.get(row_id)
            values = written_values(row) if row is not None else {}
            adopted.append((row_id, match["id"], {**values, "airtable_id": match["id"]}))
        if adopted:
            await store.record_created(table, adopted)
        if missing:
            await store.clear_pending(table, missing)


def _batches(operations: Sequence[Operation]) -> Iterator[list[Operation]]:
    """Consecutive operations of one table and action, 10 at a time."""
    for _, group in groupby(operations, key=lambda op: (op.table, op.action)):
        items = list(group)
        for start in range(0, len(items), BATCH):
            yield items[start : start + BATCH]


def _resolve(value: Any, ids: Mapping[UUID, str]) -> Any:
    if isinstance(value, UUID):
        return ids[value]
    if isinstance(value, list):
        return [_resolve(item, ids) for item in value]
    if isinstance(value, dict):
        return {name: _resolve(item, ids) for name, item in value.items()}
    return value


async def run_write_back(
    store: WriteBackStore,
    writer: AirtableWriter,
    *,
    dry_run: bool = False,
    call: Callable[..., Any] | None = None,
    clock: Callable[[], float] = time.monotonic,
    progress: Callable[[Progress], None] | None = None,
) -> WriteBackResult:
    """Copy into Airtable what v2 created, changed or deleted since the backfill (or the last write-back).

    ``call`` runs a blocking writer method (default: in a worker thread); ``progress`` hears after every
    request how far each table's creates, updates or deletes have got.
    """
    import asyncio

    started = clock()
    run = call or (lambda function, *args: asyncio.to_thread(function, *args))
    existing = await store.load_existing()
    pending = await store.load_pending()
    if pending and not dry_run:
        # The last run was killed between asking Airtable to create records and storing their ids.
        await _recover(store, writer, existing, pending, run)
        existing = await store.load_existing()
    plan: WriteBackPlan = plan_write_back(existing)
    result = WriteBackResult(dry_run=dry_run, unknown=len(plan.unknown))
    result.counts = {table: dict(counter) for table, counter in plan.counts().items()}
    result.operations = [operation.describe() for operation in plan.operations]
    if dry_run:
        result.requests = sum(1 for _ in _batches(plan.operations))
        result.elapsed_seconds = clock() - started
        return result
    totals = Counter((op.table, op.action) for op in plan.operations)
    done: Counter[tuple[TargetTable, str]] = Counter()
    begun: dict[tuple[TargetTable, str], float] = {}
    ids: dict[UUID, str] = {}
    for rows in (existing.users, existing.events, existing.projects, existing.referrals, existing.votes):
        ids.update((row.id, row.airtable_id) for row in rows if row.airtable_id)
    for batch in _batches(plan.operations):
        table, action = batch[0].table, batch[0].action
        begun.setdefault((table, action), clock())
        source = SOURCE_OF[table]
        try:
            if action == "create":
                fields = [_resolve(op.fields, ids) for op in batch]
                await store.mark_pending(
                    table, [(op.row_id, sent) for op, sent in zip(batch, fields, strict=True)]
                )
                new_ids = await run(writer.create, source, fields)
            elif action == "update":
                await run(writer.update, source, [(op.airtable_id, _resolve(op.fields, ids)) for op in batch])
            else:
                await run(writer.delete, source, [op.airtable_id for op in batch])
        except KeyError as exc:
            raise WriteBackError(f"{table}: a linked row has no Airtable record ({exc})") from exc
        result.requests += 1
        if action == "create":
            created = []
            for op, record_id in zip(batch, new_ids, strict=True):
                ids[op.row_id] = record_id
                created.append((op.row_id, record_id, {**(op.values or {}), "airtable_id": record_id}))
            await store.record_created(table, created)
        elif action == "update":
            await store.save_written(table, [(op.row_id, op.values or {}) for op in batch])
        else:
            await store.forget_written(table, [op.row_id for op in batch])
        for op in batch:
            for link_table, (keep, forget) in op.links.items():
                if forget:
                    await store.forget_written(link_table, forget)
                if keep:
                    await store.save_written(link_table, keep)
        if progress is not None:
            key = (table, action)
            done[key] += len(batch)
            progress(Progress(Stage.WRITE, f"{table} {action}", done[key], totals[key],
                              clock() - begun[key], finished=done[key] == totals[key]))  # fmt: skip
    result.elapsed_seconds = clock() - started
    return result
