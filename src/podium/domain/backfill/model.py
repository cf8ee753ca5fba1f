"""Values of the Airtable → Postgres backfill: source records, target rows, issues and the result.

Plain dataclasses, no framework: the use-case, both stores and both sources speak these.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID


class SourceTable(enum.StrEnum):
    """The five tables of the v1 Airtable base (legacy §5.1)."""

    USERS = "users"
    EVENTS = "events"
    PROJECTS = "projects"
    REFERRALS = "referrals"
    VOTES = "votes"


class TargetTable(enum.StrEnum):
    """The Postgres tables the backfill writes, in the order it writes them."""

    USERS = "users"
    EVENTS = "events"
    EVENT_ATTENDEES = "event_attendees"
    PROJECTS = "projects"
    PROJECT_COLLABORATORS = "project_collaborators"
    REFERRALS = "referrals"
    VOTES = "votes"


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One Airtable record exactly as the list-records API returns it."""

    id: str
    created_time: str
    fields: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "createdTime": self.created_time, "fields": dict(self.fields)}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> SourceRecord:
        return cls(
            id=str(raw["id"]), created_time=str(raw.get("createdTime", "")), fields=raw.get("fields") or {}
        )


# uuid5 namespace of every row the backfill creates: the same Airtable record always gets the same id,
# so a run that was killed and started again ends with exactly the rows of one clean run.
ROW_NAMESPACE = uuid.UUID("6f1c9a52-4d0b-5b8e-9a57-0f1d3c2b7e41")


def row_id(table: TargetTable, *key: object) -> UUID:
    """The deterministic id of a backfilled row, from its table and natural key."""
    return uuid.uuid5(ROW_NAMESPACE, ":".join([str(table), *(str(part) for part in key)]))


@dataclass(frozen=True, slots=True)
class UserRow:
    id: UUID
    airtable_id: str | None
    email: str
    display_name: str = ""
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    street_1: str = ""
    street_2: str = ""
    city: str = ""
    state: str = ""
    zip_code: str = ""
    country: str = ""
    dob: dt.date | None = None


@dataclass(frozen=True, slots=True)
class EventRow:
    id: UUID
    airtable_id: str | None
    name: str
    slug: str
    join_code: str
    owner_id: UUID
    description: str = ""
    votable: bool = False
    leaderboard_enabled: bool = False
    demo_links_optional: bool = False
    ysws_checks_enabled: bool = False
    feature_flags_csv: str = ""


@dataclass(frozen=True, slots=True)
class ProjectRow:
    id: UUID
    airtable_id: str | None
    name: str
    join_code: str
    owner_id: UUID
    event_id: UUID
    repo: str = ""
    image_url: str = ""
    demo: str = ""
    description: str = ""
    hours_spent: int = 0
    legacy_points: int = 0
    cached_auto_quality: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ReferralRow:
    id: UUID
    airtable_id: str | None
    user_id: UUID
    event_id: UUID
    content: str = ""


@dataclass(frozen=True, slots=True)
class VoteRow:
    id: UUID
    airtable_id: str | None
    voter_id: UUID
    project_id: UUID
    event_id: UUID


@dataclass(frozen=True, slots=True)
class AttendeeLink:
    id: UUID
    event_id: UUID
    user_id: UUID


@dataclass(frozen=True, slots=True)
class CollaboratorLink:
    id: UUID
    project_id: UUID
    user_id: UUID


@dataclass(frozen=True, slots=True)
class ExistingData:
    """What the store already holds, as the backfill needs it to match, diff and avoid collisions."""

    users: Sequence[UserRow] = ()
    events: Sequence[EventRow] = ()
    projects: Sequence[ProjectRow] = ()
    referrals: Sequence[ReferralRow] = ()
    votes: Sequence[VoteRow] = ()
    attendees: Sequence[AttendeeLink] = ()
    collaborators: Sequence[CollaboratorLink] = ()
    #: What the backfill last wrote to each row it owns (row id → :func:`written_values`), per table:
    #: a row whose values differ from it now was changed in v2 since.
    written: Mapping[TargetTable, Mapping[UUID, Mapping[str, Any]]] = field(default_factory=dict)
    #: Events soft-deleted in v2: rows still, but nothing may be added to them, and nobody sees them.
    deleted_events: frozenset[UUID] = frozenset()
    #: Events in draft in v2: their organiser's alone.
    draft_events: frozenset[UUID] = frozenset()


class Outcome(enum.StrEnum):
    """What happened to one source record (or link) that did not go through untouched."""

    #: Not migrated at all; the run exits with status 3.
    SKIPPED = "skipped"
    #: Folded into another record (duplicate email, duplicate vote or link); its data lives on there.
    MERGED = "merged"
    #: Migrated with a change (truncated, derived, replaced, parsed, …).
    ALTERED = "altered"
    #: Changed (or deleted) in v2 since the backfill last wrote it: left as v2 has it; exit status 3.
    CONFLICT = "conflict"
    #: Written by an earlier run, but its Airtable record is gone (or no longer migrates): kept; status 3.
    GONE = "gone"
    #: Deleted by ``--prune`` (gone from Airtable, or hanging off a row that is).
    PRUNED = "pruned"


@dataclass(frozen=True, slots=True)
class Issue:
    """One record the backfill could not migrate as-is, and why."""

    table: TargetTable
    airtable_id: str
    outcome: Outcome
    reason: str
    detail: str
    #: For a conflict: the row's values in v2 now, and what Airtable has (only the differing columns).
    v2: Mapping[str, Any] | None = None
    airtable: Mapping[str, Any] | None = None

    @property
    def key(self) -> IssueKey:
        """What identifies the issue across runs (the detail may change: a conflict's values)."""
        return (str(self.table), self.airtable_id, str(self.outcome), self.reason)

    def to_json(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "table": str(self.table),
            "airtable_id": self.airtable_id,
            "outcome": str(self.outcome),
            "reason": self.reason,
            "detail": self.detail,
        }
        if self.v2 is not None or self.airtable is not None:
            payload["v2"] = self.v2
            payload["airtable"] = self.airtable
        return payload


#: (table, Airtable record id, outcome, reason): an issue as earlier runs reported it.
IssueKey = tuple[str, str, str, str]


@dataclass(slots=True)
class TableOutcome:
    """Per-table tally. ``source`` counts Airtable records (or link entries) read."""

    source: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    merged: int = 0
    skipped: int = 0
    conflicts: int = 0
    gone: int = 0
    pruned: int = 0
    stored: int | None = None

    def to_json(self) -> dict[str, int | None]:
        """The columns of the verification table, under the names (and in the order) it shows them."""
        return {
            "airtable": self.source,
            "postgres": self.stored,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "merged": self.merged,
            "skipped": self.skipped,
            "conflicts": self.conflicts,
            "gone": self.gone,
            "pruned": self.pruned,
        }


@dataclass(frozen=True, slots=True)
class ReasonCount:
    """How many records of one table ended with one outcome for one reason."""

    table: TargetTable
    outcome: Outcome
    reason: str
    count: int

    def to_json(self) -> dict[str, str | int]:
        """The columns of the reasons table, under the names (and in the order) it shows them."""
        return {
            "table": str(self.table),
            "outcome": str(self.outcome),
            "reason": self.reason,
            "count": self.count,
        }


_OUTCOME_ORDER = {
    Outcome.SKIPPED: 0,
    Outcome.CONFLICT: 1,
    Outcome.GONE: 2,
    Outcome.PRUNED: 3,
    Outcome.MERGED: 4,
    Outcome.ALTERED: 5,
}
#: Outcomes an operator has to look at: the run exits with status 3 when any is reported.
NEEDS_REVIEW = (Outcome.SKIPPED, Outcome.CONFLICT, Outcome.GONE)


@dataclass(slots=True)
class BackfillResult:
    """The structured report of one run (dry or not)."""

    dry_run: bool
    tables: dict[TargetTable, TableOutcome] = field(
        default_factory=lambda: {table: TableOutcome() for table in TargetTable}
    )
    issues: list[Issue] = field(default_factory=list)
    elapsed_seconds: float = 0.0
    #: Keys of the issues needing review that an earlier real run already reported.
    known: set[IssueKey] = field(default_factory=set)

    def add(self, issue: Issue) -> None:
        """Report ``issue`` and count it in its table's tally."""
        self.issues.append(issue)
        tally = self.tables[issue.table]
        if issue.outcome is Outcome.SKIPPED:
            tally.skipped += 1
        elif issue.outcome is Outcome.MERGED:
            tally.merged += 1
        elif issue.outcome is Outcome.CONFLICT:
            tally.conflicts += 1
        elif issue.outcome is Outcome.GONE:
            tally.gone += 1
        elif issue.outcome is Outcome.PRUNED:
            tally.pruned += 1

    @property
    def unmigrated(self) -> list[Issue]:
        return [issue for issue in self.issues if issue.outcome is Outcome.SKIPPED]

    @property
    def needs_review(self) -> list[Issue]:
        return [issue for issue in self.issues if issue.outcome in NEEDS_REVIEW]

    @property
    def new_for_review(self) -> list[Issue]:
        """The issues needing review that no earlier real run reported."""
        return [issue for issue in self.needs_review if issue.key not in self.known]

    @property
    def exit_status(self) -> int:
        """0 when every source record was migrated (alterations reported) and nothing waits for review;
        3 when a record could not be migrated, or a conflict with v2 or a record gone from Airtable was
        left for the operator, that no earlier run reported; 4 when every such issue is one an earlier
        run already reported (nothing new to look at)."""
        if not self.needs_review:
            return 0
        return 3 if self.new_for_review else 4

    def reason_counts(self) -> list[ReasonCount]:
        """A count per (table, outcome, reason): records not migrated first, then merged, then altered."""
        counts: dict[tuple[TargetTable, Outcome, str], int] = {}
        for issue in self.issues:
            key = (issue.table, issue.outcome, issue.reason)
            counts[key] = counts.get(key, 0) + 1
        tables = list(TargetTable)
        ordered = sorted(counts, key=lambda k: (_OUTCOME_ORDER[k[1]], tables.index(k[0]), k[2]))
        return [
            ReasonCount(table, outcome, reason, counts[table, outcome, reason])
            for table, outcome, reason in ordered
        ]

    def to_json(self) -> dict[str, Any]:
        review, new = self.needs_review, self.new_for_review
        return {
            "dry_run": self.dry_run,
            "exit_status": self.exit_status,
            "new_for_review": len(new),
            "reported_before": len(review) - len(new),
            "elapsed_seconds": round(self.elapsed_seconds, 3),
            "tables": {str(table): outcome.to_json() for table, outcome in self.tables.items()},
            "issue_counts": [count.to_json() for count in self.reason_counts()],
            "issues": [issue.to_json() for issue in self.issues],
        }


class Stage(enum.StrEnum):
    READ = "read"
    WRITE = "write"


@dataclass(frozen=True, slots=True)
class Progress:
    """A progress tick: how far one table has got, how fast, and (when the total is known) how long left."""

    stage: Stage
    table: str
    done: int
    total: int | None
    elapsed_seconds: float
    finished: bool = False

    @property
    def rate(self) -> float:
        """Records per second so far."""
        return self.done / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0

    @property
    def eta_seconds(self) -> float | None:
        if self.total is None or self.rate <= 0:
            return None
        return max(0.0, (self.total - self.done) / self.rate)
