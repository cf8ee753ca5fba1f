"""Write-back, the rollback without loss: what v2 created, changed or deleted since the backfill, as the
Airtable operations that copy it into the v1 base (legacy §5.1 schema). Pure planning; see
:mod:`.writeback_run` for the use-case that performs it.

What Airtable holds is known without reading it: ``backfill_written`` records, per row, what the
backfill wrote (and what an earlier write-back wrote back). So, for each table:

* a row without an Airtable id was **created** in v2 → create a record (its links to parents by their
  record ids, created first); its record id is stored on the row;
* a row whose values differ from what was last written was **changed** in v2 → update the changed fields;
* a row recorded as written that is no longer in PostgreSQL was **deleted** in v2 (through the API,
  SQL or the admin UI alike) → delete its record, children first;
* an event's attendees or a project's collaborators that differ from the links last written → the
  record's link field is set to the current list; a project's ``points`` (its ``legacy_points`` plus
  its votes) is updated when either changed.

After each batch the record of what was written is brought up to date, so a second run finds nothing
to do and a killed run resumes where it stopped.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from podium.domain.backfill.model import (
    ExistingData,
    SourceTable,
    TargetTable,
    row_id,
)
from podium.domain.backfill.written import written_values

T = TargetTable
#: Entity tables in the order records are created (parents first); deletes run in reverse.
ORDER: Sequence[tuple[TargetTable, SourceTable]] = (
    (T.USERS, SourceTable.USERS),
    (T.EVENTS, SourceTable.EVENTS),
    (T.PROJECTS, SourceTable.PROJECTS),
    (T.REFERRALS, SourceTable.REFERRALS),
    (T.VOTES, SourceTable.VOTES),
)
#: Postgres column → Airtable field, where the names differ; link columns become one-element lists.
_LINKS: Mapping[TargetTable, Mapping[str, str]] = {
    T.USERS: {},
    T.EVENTS: {"owner_id": "owner"},
    T.PROJECTS: {"owner_id": "owner", "event_id": "event"},
    T.REFERRALS: {"user_id": "user", "event_id": "event"},
    T.VOTES: {"voter_id": "voter", "project_id": "project", "event_id": "event"},
}
#: Link tables written as a field of their parent record: table → (parent column, child column, field).
LINK_FIELDS: Mapping[TargetTable, tuple[TargetTable, str, str, str]] = {
    T.EVENT_ATTENDEES: (T.EVENTS, "event_id", "user_id", "attendees"),
    T.PROJECT_COLLABORATORS: (T.PROJECTS, "project_id", "user_id", "collaborators"),
}
_NOT_WRITTEN = {"airtable_id"}


@dataclass(slots=True)
class Operation:
    """One record to create, update or delete. ``fields`` may hold row ids (UUIDs, alone or in lists),
    replaced by their record ids when the request is built (a parent created earlier in the run)."""

    table: TargetTable
    action: str  # "create" | "update" | "delete"
    row_id: UUID
    airtable_id: str | None
    fields: dict[str, Any] = field(default_factory=dict)
    #: What to record as written once the request succeeded (None for a delete).
    values: dict[str, Any] | None = None
    #: Link rows to record (id → values) and to forget, with this record's link field.
    links: dict[TargetTable, tuple[list[tuple[UUID, dict[str, Any]]], list[UUID]]] = field(
        default_factory=dict
    )

    def describe(self) -> dict[str, Any]:
        return {
            "table": str(self.table),
            "action": self.action,
            "row_id": str(self.row_id),
            "airtable_id": self.airtable_id,
            "fields": sorted(self.fields),
        }


@dataclass(slots=True)
class WriteBackPlan:
    operations: list[Operation] = field(default_factory=list)
    #: Rows with an Airtable id but no record of what was written (backfilled before it was kept).
    unknown: list[tuple[TargetTable, UUID]] = field(default_factory=list)

    def counts(self) -> dict[str, Counter[str]]:
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        for operation in self.operations:
            counts[str(operation.table)][operation.action] += 1
        return counts


def airtable_fields(table: TargetTable, values: Mapping[str, Any]) -> dict[str, Any]:
    """A row's written values (:func:`written_values`) as v1 Airtable fields; links as row ids."""
    links = _LINKS[table]
    fields: dict[str, Any] = {}
    for column, value in values.items():
        if column in _NOT_WRITTEN or column == "legacy_points":
            continue
        if column in links:
            fields[links[column]] = [UUID(str(value))]
        elif column == "cached_auto_quality":
            fields[column] = "" if value is None else json.dumps(value, sort_keys=True)
        elif column == "dob":
            fields[column] = value  # ISO date or None, as v1 wrote it
        else:
            fields[column] = value
    return fields


def visible(existing: ExistingData) -> ExistingData:
    """``existing`` without its hidden events (drafts, soft deletes) and what is in them: v1 shows every
    event it holds, so what v2 keeps private is, for Airtable, not there (a record written earlier is
    deleted)."""
    hidden = existing.deleted_events | existing.draft_events
    if not hidden:
        return existing
    projects = [row for row in existing.projects if row.event_id not in hidden]
    kept_projects = {row.id for row in projects}
    return dataclasses.replace(
        existing,
        events=[row for row in existing.events if row.id not in hidden],
        projects=projects,
        referrals=[row for row in existing.referrals if row.event_id not in hidden],
        votes=[row for row in existing.votes if row.event_id not in hidden],
        attendees=[link for link in existing.attendees if link.event_id not in hidden],
        collaborators=[link for link in existing.collaborators if link.project_id in kept_projects],
        deleted_events=frozenset(),
        draft_events=frozenset(),
    )


def plan_write_back(existing: ExistingData) -> WriteBackPlan:
    """Every operation that makes the v1 base hold what PostgreSQL shows now (drafts and soft-deleted
    events are not shown: :func:`visible`)."""
    plan = WriteBackPlan()
    existing = visible(existing)
    rows: dict[TargetTable, list[Any]] = {
        T.USERS: list(existing.users),
        T.EVENTS: list(existing.events),
        T.PROJECTS: list(existing.projects),
        T.REFERRALS: list(existing.referrals),
        T.VOTES: list(existing.votes),
    }
    written = existing.written
    links_now = {
        T.EVENT_ATTENDEES: [(link.event_id, link.user_id) for link in existing.attendees],
        T.PROJECT_COLLABORATORS: [(link.project_id, link.user_id) for link in existing.collaborators],
    }
    link_changes = {
        table: _link_changes(table, pairs, written.get(table, {})) for table, pairs in links_now.items()
    }
    points_now = _points(existing.projects, (vote.project_id for vote in existing.votes))
    points_then = _points_written(written)
    deletes: list[Operation] = []
    for table, _source in ORDER:
        recorded = written.get(table, {})
        present = set()
        for row in rows[table]:
            present.add(row.id)
            values = written_values(row)
            fields: dict[str, Any]
            if row.airtable_id is None:
                action, fields = "create", airtable_fields(table, values)
            elif row.id not in recorded:
                plan.unknown.append((table, row.id))
                continue
            else:
                before = recorded[row.id]
                changed = {column: value for column, value in values.items() if before.get(column) != value}
                action, fields = "update", airtable_fields(table, changed)
            operation = Operation(table, action, row.id, row.airtable_id, fields, values)
            if table is T.PROJECTS and (
                action == "create" or points_now.get(row.id) != points_then.get(row.id)
            ):
                operation.fields["points"] = points_now.get(row.id, 0)
            for link_table, (parent, _, _, field_name) in LINK_FIELDS.items():
                if parent is not table:
                    continue
                change = link_changes[link_table].get(row.id)
                if change is not None or action == "create":
                    users, keep, forget = change or ([], [], [])
                    operation.fields[field_name] = users
                    operation.links[link_table] = (keep, forget)
            if operation.fields or action == "create":
                plan.operations.append(operation)
        for gone_id, before in recorded.items():
            if gone_id not in present and before.get("airtable_id"):
                operation = Operation(table, "delete", gone_id, str(before["airtable_id"]))
                for link_table, (parent, parent_column, _, _) in LINK_FIELDS.items():
                    if parent is table:
                        forget = [
                            link_id
                            for link_id, values in written.get(link_table, {}).items()
                            if str(values[parent_column]) == str(gone_id)
                        ]
                        operation.links[link_table] = ([], forget)
                deletes.append(operation)
    plan.operations.extend(reversed(deletes))  # children first
    return plan


def _link_changes(
    table: TargetTable, pairs: Iterable[tuple[UUID, UUID]], recorded: Mapping[UUID, Mapping[str, Any]]
) -> dict[UUID, tuple[list[UUID], list[tuple[UUID, dict[str, Any]]], list[UUID]]]:
    """Per parent whose links differ from those last written: (the children now, records to keep, to forget)."""
    _, parent_column, child_column, _ = LINK_FIELDS[table]
    now: dict[UUID, set[UUID]] = defaultdict(set)
    for parent, child in pairs:
        now[parent].add(child)
    then: dict[UUID, dict[UUID, UUID]] = defaultdict(dict)
    for link_id, values in recorded.items():
        then[UUID(str(values[parent_column]))][UUID(str(values[child_column]))] = link_id
    changes: dict[UUID, tuple[list[UUID], list[tuple[UUID, dict[str, Any]]], list[UUID]]] = {}
    for parent in set(now) | set(then):
        if now.get(parent, set()) == set(then.get(parent, {})):
            continue
        children = sorted(now.get(parent, set()))
        keep = [
            (row_id(table, parent, child), {parent_column: str(parent), child_column: str(child)})
            for child in children
        ]
        forget = [
            link_id for child, link_id in then.get(parent, {}).items() if child not in now.get(parent, set())
        ]
        changes[parent] = (children, keep, forget)
    return changes


def _points(projects: Iterable[Any], voted: Iterable[UUID]) -> dict[UUID, int]:
    votes = Counter(voted)
    return {project.id: project.legacy_points + votes[project.id] for project in projects}


def _points_written(written: Mapping[TargetTable, Mapping[UUID, Mapping[str, Any]]]) -> dict[UUID, int]:
    votes = Counter(UUID(str(values["project_id"])) for values in written.get(T.VOTES, {}).values())
    return {
        project: int(values.get("legacy_points", 0)) + votes[project]
        for project, values in written.get(T.PROJECTS, {}).items()
    }
