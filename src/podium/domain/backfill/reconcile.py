"""The last planning step: the planned rows against the store's rows *and* against what the backfill last
wrote to each of them, so a re-run after go-live never undoes v2.

For each planned row, with ``current`` the row in the store and ``written`` what the backfill last wrote
there (:func:`~podium.domain.backfill.model.written_values`, kept by the store):

* ``current == planned``: unchanged (``written`` is brought up to date if it lags);
* no ``current``: created, unless ``written`` exists: then v2 deleted the row, and it stays deleted
  (a **conflict**), unless ``--overwrite-v2-changes``;
* ``current != planned``: updated when v2 has not touched the row (``written`` is absent or equals
  ``current``); otherwise v2 changed it since: it is left as v2 has it and reported as a **conflict**
  with both values, unless ``--overwrite-v2-changes``;
* a row whose parent (owner, event, project, voter) v2 deleted — or soft-deleted, for an event — is not
  written (``parent_deleted_in_v2``).

Rows the backfill wrote earlier but no longer plans are **gone** from Airtable: reported, and with
``--prune`` deleted (the store deletes what hangs off them too and reports every row it deleted).

Tables are reconciled parents first, so a child knows which parents will exist.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any
from uuid import UUID

from podium.domain.backfill.context import PlanContext
from podium.domain.backfill.model import Outcome, SourceTable, TargetTable
from podium.domain.backfill.written import written_values

T = TargetTable
#: Each table's foreign keys: column → the table it points at.
PARENTS: Mapping[TargetTable, Mapping[str, TargetTable]] = {
    T.USERS: {},
    T.EVENTS: {"owner_id": T.USERS},
    T.EVENT_ATTENDEES: {"event_id": T.EVENTS, "user_id": T.USERS},
    T.PROJECTS: {"owner_id": T.USERS, "event_id": T.EVENTS},
    T.PROJECT_COLLABORATORS: {"project_id": T.PROJECTS, "user_id": T.USERS},
    T.REFERRALS: {"user_id": T.USERS, "event_id": T.EVENTS},
    T.VOTES: {"voter_id": T.USERS, "project_id": T.PROJECTS, "event_id": T.EVENTS},
}
#: Link tables: rows are matched on their pair, never updated.
LINK_PAIRS: Mapping[TargetTable, tuple[str, str]] = {
    T.EVENT_ATTENDEES: ("event_id", "user_id"),
    T.PROJECT_COLLABORATORS: ("project_id", "user_id"),
}
SOURCE_OF: Mapping[TargetTable, SourceTable] = {
    T.USERS: SourceTable.USERS,
    T.EVENTS: SourceTable.EVENTS,
    T.PROJECTS: SourceTable.PROJECTS,
    T.REFERRALS: SourceTable.REFERRALS,
    T.VOTES: SourceTable.VOTES,
}


def reconcile(ctx: PlanContext) -> None:
    """Decide, table by table (parents first), what to write, what to leave to v2 and what is gone."""
    alive: dict[TargetTable, set[UUID]] = {}
    names = _names(ctx)
    for table in TargetTable:
        planned, existing = ctx.pending.get(table, ([], []))
        if table in LINK_PAIRS:
            _reconcile_links(ctx, table, planned, existing, alive, names)
        else:
            alive[table] = _reconcile_rows(ctx, table, planned, existing, alive)
            if table is T.EVENTS:
                # A soft-deleted event is still a row, but nothing may be added to or changed under it
                # (the schema refuses it): for its children it is deleted in v2.
                alive[table] -= ctx.existing.deleted_events


def _names(ctx: PlanContext) -> dict[UUID, str]:
    """Row id → Airtable id, to name link rows in the report."""
    names: dict[UUID, str] = {}
    for table in (T.USERS, T.EVENTS, T.PROJECTS):
        planned, existing = ctx.pending.get(table, ([], []))
        for row in [*existing, *planned]:
            if getattr(row, "airtable_id", None):
                names[row.id] = row.airtable_id
    return names


def _missing_parent(table: TargetTable, row: Any, alive: Mapping[TargetTable, set[UUID]]) -> str | None:
    for column, parent in PARENTS[table].items():
        if getattr(row, column) not in alive.get(parent, set()):
            return f"{column} {getattr(row, column)}"
    return None


def _differences(v2: Mapping[str, Any], airtable: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    columns = [name for name in airtable if v2.get(name) != airtable[name]]
    return {name: v2.get(name) for name in columns}, {name: airtable[name] for name in columns}


def _describe(v2: Mapping[str, Any], airtable: Mapping[str, Any]) -> str:
    return "; ".join(f"{name}: v2 {v2[name]!r}, Airtable {airtable[name]!r}" for name in airtable)


def _reconcile_rows(
    ctx: PlanContext,
    table: TargetTable,
    planned: Sequence[Any],
    existing: Sequence[Any],
    alive: Mapping[TargetTable, set[UUID]],
) -> set[UUID]:
    before = {row.id: row for row in existing}
    written = ctx.existing.written.get(table, {})
    tally = ctx.result.tables[table]
    writes: list[Any] = []
    records: list[tuple[UUID, dict[str, Any]]] = []
    live = set(before)
    for row in planned:
        values = written_values(row)
        current = before.get(row.id)
        base = written.get(row.id)
        key = row.airtable_id or str(row.id)
        if current is not None and current == row:
            tally.unchanged += 1
            if base != values:
                records.append((row.id, values))
            continue
        missing = _missing_parent(table, row, alive)
        if current is None:
            if base is not None and not ctx.overwrite_v2:
                ctx.issue(table, key, Outcome.CONFLICT, "deleted_in_v2",
                          "deleted in v2 since the backfill wrote it; left deleted", v2=None, airtable=values)  # fmt: skip
                continue
            if missing is not None:
                ctx.issue(table, key, Outcome.SKIPPED, "parent_deleted_in_v2", f"{missing} was deleted in v2")
                continue
            if base is not None:
                ctx.issue(table, key, Outcome.ALTERED, "v2_change_overwritten",
                          "deleted in v2; recreated (--overwrite-v2-changes)", v2=None, airtable=values)  # fmt: skip
            tally.created += 1
        else:
            now = written_values(current)
            v2, airtable = _differences(now, values)
            changed_in_v2 = base is not None and base != now
            if changed_in_v2 and not ctx.overwrite_v2:
                reason = "changed_in_v2" if base == values else "changed_in_both"
                ctx.issue(table, key, Outcome.CONFLICT, reason,
                          f"kept as v2 has it: {_describe(v2, airtable)}", v2=v2, airtable=airtable)  # fmt: skip
                continue
            if missing is not None:
                ctx.issue(table, key, Outcome.SKIPPED, "parent_deleted_in_v2",
                          f"not updated: {missing} was deleted in v2")  # fmt: skip
                continue
            if changed_in_v2:
                ctx.issue(table, key, Outcome.ALTERED, "v2_change_overwritten",
                          f"overwritten (--overwrite-v2-changes): {_describe(v2, airtable)}", v2=v2, airtable=airtable)  # fmt: skip
            tally.updated += 1
        writes.append(row)
        records.append((row.id, values))
        live.add(row.id)
    ctx.plan.writes[table] = writes
    ctx.plan.written[table] = records
    planned_ids = {row.id for row in planned}
    for row_id, base in written.items():
        if row_id in planned_ids or row_id not in before:
            continue
        airtable_id = str(base.get("airtable_id") or row_id)
        deleted = airtable_id not in ctx.ids[SOURCE_OF[table]]
        _gone(ctx, table, row_id, airtable_id, deleted)
    return live


def _reconcile_links(
    ctx: PlanContext,
    table: TargetTable,
    planned: Sequence[Any],
    existing: Sequence[Any],
    alive: Mapping[TargetTable, set[UUID]],
    names: Mapping[UUID, str],
) -> None:
    first, second = LINK_PAIRS[table]
    pair_of: Callable[[Any], tuple[UUID, UUID]] = lambda link: (getattr(link, first), getattr(link, second))  # noqa: E731
    present = {pair_of(link): link for link in existing}
    written = ctx.existing.written.get(table, {})
    tally = ctx.result.tables[table]
    writes: list[Any] = []
    records: list[tuple[UUID, dict[str, Any]]] = []
    for link in planned:
        values = written_values(link)
        base = written.get(link.id)
        a, b = pair_of(link)
        key = f"{names.get(a, a)}/{names.get(b, b)}"
        if (a, b) in present:
            tally.unchanged += 1
            if base != values:
                records.append((link.id, values))
            continue
        if base is not None and not ctx.overwrite_v2:
            ctx.issue(table, key, Outcome.CONFLICT, "deleted_in_v2",
                      "link removed in v2 since the backfill wrote it; left removed", v2=None, airtable=values)  # fmt: skip
            continue
        missing = _missing_parent(table, link, alive)
        if missing is not None:
            ctx.issue(table, key, Outcome.SKIPPED, "parent_deleted_in_v2", f"{missing} was deleted in v2")
            continue
        if base is not None:
            ctx.issue(table, key, Outcome.ALTERED, "v2_change_overwritten",
                      "removed in v2; added again (--overwrite-v2-changes)", v2=None, airtable=values)  # fmt: skip
        tally.created += 1
        writes.append(link)
        records.append((link.id, values))
    ctx.plan.writes[table] = writes
    ctx.plan.written[table] = records
    planned_ids = {link.id for link in planned}
    for link_id, base in written.items():
        if link_id in planned_ids:
            continue
        pair = (UUID(str(base[first])), UUID(str(base[second])))
        holder = present.get(pair)
        if holder is None:
            continue
        key = f"{names.get(pair[0], pair[0])}/{names.get(pair[1], pair[1])}"
        _gone(ctx, table, holder.id, key, True)


def _gone(ctx: PlanContext, table: TargetTable, row_id: UUID, airtable_id: str, deleted: bool) -> None:
    """A row an earlier run wrote whose record is no longer migrated: reported, or pruned."""
    if deleted and ctx.prune:
        ctx.plan.prune.setdefault(table, []).append(row_id)
        if ctx.result.dry_run:
            ctx.issue(table, airtable_id, Outcome.PRUNED, "deleted_in_airtable",
                      "gone from Airtable; --prune would delete it and what hangs off it")  # fmt: skip
        return
    if deleted:
        reason, detail = (
            "deleted_in_airtable",
            "gone from Airtable since the last run; kept (--prune deletes it)",
        )
    else:
        reason, detail = (
            "no_longer_migrated",
            "still in Airtable but no longer migrates (see its other issues); kept",
        )
    ctx.issue(table, airtable_id, Outcome.GONE, reason, detail)
