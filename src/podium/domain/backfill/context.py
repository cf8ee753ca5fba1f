"""What every planning step shares: the source records, the store's rows, the plan being built, the
report, and the field readers that note each alteration they make."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from podium.domain.backfill import cells
from podium.domain.backfill.model import (
    AttendeeLink,
    BackfillResult,
    CollaboratorLink,
    EventRow,
    ExistingData,
    Issue,
    Outcome,
    ProjectRow,
    ReferralRow,
    SourceRecord,
    SourceTable,
    TargetTable,
    UserRow,
    VoteRow,
)
from podium.domain.limits import INT_MAX, INT_MIN

if TYPE_CHECKING:
    from podium.domain.backfill.projects import ProjectDraft

R = TypeVar("R")


@dataclass(slots=True)
class Plan:
    """Every row the backfill wants to exist, and which of them must be written (new or changed)."""

    result: BackfillResult
    users: list[UserRow] = field(default_factory=list)
    events: list[EventRow] = field(default_factory=list)
    attendees: list[AttendeeLink] = field(default_factory=list)
    projects: list[ProjectRow] = field(default_factory=list)
    collaborators: list[CollaboratorLink] = field(default_factory=list)
    referrals: list[ReferralRow] = field(default_factory=list)
    votes: list[VoteRow] = field(default_factory=list)
    writes: dict[TargetTable, list[Any]] = field(default_factory=dict)
    #: What to record as written (row id → values) once a table's writes are in: rows written now, and
    #: unchanged rows whose record lags (:mod:`.reconcile`).
    written: dict[TargetTable, list[tuple[UUID, dict[str, Any]]]] = field(default_factory=dict)
    #: ``--prune``: rows whose Airtable record is gone, to delete with what hangs off them.
    prune: dict[TargetTable, list[UUID]] = field(default_factory=dict)


class PlanContext:
    """The state one planning run threads through its steps (users → events → … → votes)."""

    def __init__(
        self,
        records: Mapping[SourceTable, Sequence[SourceRecord]],
        existing: ExistingData,
        dry_run: bool,
        *,
        overwrite_v2: bool = False,
        prune: bool = False,
    ) -> None:
        self.overwrite_v2 = overwrite_v2
        self.prune = prune
        # Each table's planned and existing rows, reconciled once every table is planned (.reconcile).
        self.pending: dict[TargetTable, tuple[Sequence[Any], Sequence[Any]]] = {}
        # A record listed twice (a hand-edited snapshot) is read once.
        self.records = {
            table: sorted(
                {record.id: record for record in reversed(records.get(table, ()))}.values(),
                key=cells.record_order,
            )
            for table in SourceTable
        }
        self.ids = {table: {record.id for record in self.records[table]} for table in SourceTable}
        self.existing = existing
        self.result = BackfillResult(dry_run=dry_run)
        self.plan = Plan(result=self.result)
        # Airtable record id → the row it landed in.
        self.user_map: dict[str, UUID] = {}
        self.event_map: dict[str, UUID] = {}
        self.project_map: dict[str, ProjectDraft] = {}

    # -- the report ------------------------------------------------------------------------------------

    def issue(
        self,
        table: TargetTable,
        airtable_id: str,
        outcome: Outcome,
        reason: str,
        detail: str,
        *,
        v2: Mapping[str, Any] | None = None,
        airtable: Mapping[str, Any] | None = None,
    ) -> None:
        self.result.add(Issue(table, airtable_id, outcome, reason, detail, v2=v2, airtable=airtable))

    # -- fields, with every alteration reported ----------------------------------------------------------

    def text(self, table: TargetTable, record: SourceRecord, name: str, limit: int | None = None) -> str:
        value = cells.text(record.fields.get(name))
        if "\x00" in value:
            # PostgreSQL text cannot hold NUL; Airtable can.
            value = value.replace("\x00", "")
            self.issue(table, record.id, Outcome.ALTERED, "nul_removed", f"{name}: NUL characters removed")
        if limit is not None and len(value) > limit:
            self.issue(
                table,
                record.id,
                Outcome.ALTERED,
                "truncated",
                f"{name}: {len(value)} characters cut to the column size {limit}",
            )
            value = value[:limit]
        return value

    def integer(self, table: TargetTable, record: SourceRecord, name: str) -> int:
        raw = record.fields.get(name)
        if raw is None or raw == "":
            return 0
        try:
            value = (
                int(float(raw)) if isinstance(raw, str | int | float) and not isinstance(raw, bool) else None
            )
        except (ValueError, OverflowError):
            value = None
        if value is None:
            self.issue(
                table, record.id, Outcome.ALTERED, "invalid_number", f"{name}: {raw!r} is not a number; 0"
            )
            return 0
        if not INT_MIN <= value <= INT_MAX:
            clamped = min(max(value, INT_MIN), INT_MAX)
            self.issue(
                table, record.id, Outcome.ALTERED, "out_of_range", f"{name}: {value} stored as {clamped}"
            )
            return clamped
        return value

    # -- links to rows planned earlier -----------------------------------------------------------------

    def user_ref(
        self, table: TargetTable, record: SourceRecord, field_name: str, what: str
    ) -> tuple[str, UUID] | None:
        ref = cells.first_link(record.fields.get(field_name))
        if ref is None:
            self.issue(table, record.id, Outcome.SKIPPED, f"missing_{what}", f"no {field_name} link")
            return None
        user = self.user_map.get(ref)
        if user is None:
            self.issue(table, record.id, Outcome.SKIPPED, "orphan_link", f"{field_name} {ref} is not a user")
            return None
        return ref, user

    def event_ref(self, table: TargetTable, record: SourceRecord) -> tuple[str, UUID] | None:
        ref = cells.first_link(record.fields.get("event"))
        if ref is None:
            self.issue(table, record.id, Outcome.SKIPPED, "missing_event", "no event link")
            return None
        event = self.event_map.get(ref)
        if event is None:
            if ref in self.ids[SourceTable.EVENTS]:
                self.issue(
                    table, record.id, Outcome.SKIPPED, "parent_not_migrated", f"event {ref} was not migrated"
                )
            else:
                self.issue(table, record.id, Outcome.SKIPPED, "orphan_link", f"event {ref} does not exist")
            return None
        return ref, event

    # -- what must be written ----------------------------------------------------------------------------

    def diff(self, table: TargetTable, planned: Sequence[R], existing: Iterable[Any]) -> None:
        """Hand the planned rows of ``table`` to :func:`~.reconcile.reconcile` (new, changed, v2's)."""
        self.pending[table] = (planned, list(existing))

    def links_diff(self, table: TargetTable, planned: Sequence[R], existing: Iterable[Any]) -> None:
        """Link rows are never updated: a pair is there already, or it is created (or v2 removed it)."""
        self.pending[table] = (planned, list(existing))
