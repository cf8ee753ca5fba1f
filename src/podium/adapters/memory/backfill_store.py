"""In-memory backfill store for unit tests: the same contract as the Postgres one, constraints included.

Each call works on a copy and swaps it in only when the whole batch passed every check, which is what a
Postgres transaction gives the real store.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from uuid import UUID

from podium.domain.backfill.model import (
    AttendeeLink,
    CollaboratorLink,
    EventRow,
    ExistingData,
    IssueKey,
    ProjectRow,
    ReferralRow,
    TargetTable,
    UserRow,
    VoteRow,
)
from podium.domain.backfill.ports import BackfillWriteError
from podium.domain.backfill.written import PrunedRow
from podium.domain.limits import EMAIL_MAX, JOIN_CODE_MAX, NAME_MAX, SLUG_MAX, USER_FIELD_LIMITS

T = TargetTable
Row = TypeVar("Row", UserRow, EventRow, ProjectRow, ReferralRow, VoteRow)


@dataclass
class _Tables:
    users: dict[UUID, UserRow] = field(default_factory=dict)
    events: dict[UUID, EventRow] = field(default_factory=dict)
    projects: dict[UUID, ProjectRow] = field(default_factory=dict)
    referrals: dict[UUID, ReferralRow] = field(default_factory=dict)
    votes: dict[UUID, VoteRow] = field(default_factory=dict)
    attendees: dict[tuple[UUID, UUID], AttendeeLink] = field(default_factory=dict)
    collaborators: dict[tuple[UUID, UUID], CollaboratorLink] = field(default_factory=dict)


def _unique(rows: Iterable[Any], what: str, key: Callable[[Any], Hashable | None]) -> None:
    seen: set[Hashable] = set()
    for row in rows:
        value = key(row)
        if value is None:
            continue
        if value in seen:
            raise BackfillWriteError(f"duplicate key value violates unique constraint on {what}: {value!r}")
        seen.add(value)


def _references(
    rows: Iterable[Any], what: str, key: Callable[[Any], Hashable], targets: Iterable[Hashable]
) -> None:
    present = set(targets)
    for row in rows:
        if key(row) not in present:
            raise BackfillWriteError(f"foreign key violation: {what} {key(row)!r} does not exist")


class MemoryBackfillStore:
    """A dict-backed :class:`~podium.domain.backfill.BackfillStore` enforcing the schema's constraints."""

    def __init__(self) -> None:
        self._tables = _Tables()
        self.calls: list[tuple[TargetTable, int]] = []
        self.written: dict[TargetTable, dict[UUID, Mapping[str, Any]]] = {}
        self.reported: set[IssueKey] = set()

    async def reported_issues(self) -> set[IssueKey]:
        return set(self.reported)

    async def remember_reported(self, keys: Sequence[IssueKey]) -> None:
        self.reported.update(keys)

    async def load_existing(self) -> ExistingData:
        t = self._tables
        return ExistingData(
            users=list(t.users.values()),
            events=list(t.events.values()),
            projects=list(t.projects.values()),
            referrals=list(t.referrals.values()),
            votes=list(t.votes.values()),
            attendees=list(t.attendees.values()),
            collaborators=list(t.collaborators.values()),
            written={table: dict(rows) for table, rows in self.written.items() if rows},
        )

    def _commit(self, table: TargetTable, size: int, change: Callable[[_Tables], None]) -> None:
        draft = copy.copy(self._tables)
        for name in ("users", "events", "projects", "referrals", "votes", "attendees", "collaborators"):
            setattr(draft, name, dict(getattr(self._tables, name)))
        change(draft)
        _check(draft)
        self._tables = draft
        self.calls.append((table, size))

    async def save_users(self, rows: Sequence[UserRow]) -> None:
        self._commit(TargetTable.USERS, len(rows), lambda t: _upsert(t.users, rows))

    async def save_events(self, rows: Sequence[EventRow]) -> None:
        self._commit(TargetTable.EVENTS, len(rows), lambda t: _upsert(t.events, rows))

    async def add_attendees(self, links: Sequence[AttendeeLink]) -> None:
        def change(t: _Tables) -> None:
            for link in links:
                t.attendees.setdefault((link.event_id, link.user_id), link)

        self._commit(TargetTable.EVENT_ATTENDEES, len(links), change)

    async def save_projects(self, rows: Sequence[ProjectRow]) -> None:
        self._commit(TargetTable.PROJECTS, len(rows), lambda t: _upsert(t.projects, rows))

    async def add_collaborators(self, links: Sequence[CollaboratorLink]) -> None:
        def change(t: _Tables) -> None:
            for link in links:
                t.collaborators.setdefault((link.project_id, link.user_id), link)

        self._commit(TargetTable.PROJECT_COLLABORATORS, len(links), change)

    async def save_referrals(self, rows: Sequence[ReferralRow]) -> None:
        self._commit(TargetTable.REFERRALS, len(rows), lambda t: _upsert(t.referrals, rows))

    async def save_votes(self, rows: Sequence[VoteRow]) -> None:
        self._commit(TargetTable.VOTES, len(rows), lambda t: _upsert(t.votes, rows))

    async def save_written(
        self, table: TargetTable, entries: Sequence[tuple[UUID, Mapping[str, Any]]]
    ) -> None:
        self.written.setdefault(table, {}).update((row_id, dict(values)) for row_id, values in entries)

    async def prune(self, targets: Mapping[TargetTable, Sequence[UUID]]) -> list[PrunedRow]:
        t = self._tables
        asked = {table: set(targets.get(table, ())) for table in TargetTable}
        users = asked[T.USERS]
        events = asked[T.EVENTS] | {e.id for e in t.events.values() if e.owner_id in users}
        projects = asked[T.PROJECTS] | {
            p.id for p in t.projects.values() if p.event_id in events or p.owner_id in users
        }
        doomed: dict[TargetTable, list[Any]] = {
            T.VOTES: [v for v in t.votes.values() if v.id in asked[T.VOTES] or v.project_id in projects
                      or v.event_id in events or v.voter_id in users],
            T.REFERRALS: [r for r in t.referrals.values() if r.id in asked[T.REFERRALS] or r.event_id in events
                          or r.user_id in users],
            T.PROJECT_COLLABORATORS: [c for c in t.collaborators.values() if c.id in asked[T.PROJECT_COLLABORATORS]
                                      or c.project_id in projects or c.user_id in users],
            T.EVENT_ATTENDEES: [a for a in t.attendees.values() if a.id in asked[T.EVENT_ATTENDEES]
                                or a.event_id in events or a.user_id in users],
            T.PROJECTS: [p for p in t.projects.values() if p.id in projects],
            T.EVENTS: [e for e in t.events.values() if e.id in events],
            T.USERS: [u for u in t.users.values() if u.id in users],
        }  # fmt: skip
        gone = {table: {row.id for row in rows} for table, rows in doomed.items()}

        def change(d: _Tables) -> None:
            d.votes = {k: v for k, v in d.votes.items() if k not in gone[T.VOTES]}
            d.referrals = {k: v for k, v in d.referrals.items() if k not in gone[T.REFERRALS]}
            d.collaborators = {
                k: v for k, v in d.collaborators.items() if v.id not in gone[T.PROJECT_COLLABORATORS]
            }
            d.attendees = {k: v for k, v in d.attendees.items() if v.id not in gone[T.EVENT_ATTENDEES]}
            d.projects = {k: v for k, v in d.projects.items() if k not in gone[T.PROJECTS]}
            d.events = {k: v for k, v in d.events.items() if k not in gone[T.EVENTS]}
            d.users = {k: v for k, v in d.users.items() if k not in gone[T.USERS]}

        self._commit(T.USERS, 0, change)
        for table, ids in gone.items():
            for row_id in ids:
                self.written.get(table, {}).pop(row_id, None)
        return [
            PrunedRow(table, row.id, getattr(row, "airtable_id", None),
                      "deleted_in_airtable" if row.id in asked[table] else "depends_on_pruned")
            for table, rows in doomed.items()
            for row in rows
        ]  # fmt: skip

    async def count_rows(self) -> Mapping[TargetTable, int]:
        t = self._tables
        return {
            TargetTable.USERS: len(t.users),
            TargetTable.EVENTS: len(t.events),
            TargetTable.EVENT_ATTENDEES: len(t.attendees),
            TargetTable.PROJECTS: len(t.projects),
            TargetTable.PROJECT_COLLABORATORS: len(t.collaborators),
            TargetTable.REFERRALS: len(t.referrals),
            TargetTable.VOTES: len(t.votes),
        }


def _upsert(table: dict[UUID, Row], rows: Sequence[Row]) -> None:
    _unique(rows, "id", lambda row: row.id)
    for row in rows:
        table[row.id] = row


def _check(t: _Tables) -> None:
    """The constraints of the Postgres schema that a backfill batch could break."""
    _unique(t.users.values(), "users.email", lambda r: r.email)
    _unique(t.users.values(), "users.airtable_id", lambda r: r.airtable_id)
    _unique(t.events.values(), "events.slug", lambda r: r.slug)
    _unique(t.events.values(), "events.join_code", lambda r: r.join_code)
    _unique(t.events.values(), "events.airtable_id", lambda r: r.airtable_id)
    _unique(t.projects.values(), "projects.join_code", lambda r: r.join_code)
    _unique(t.projects.values(), "projects.airtable_id", lambda r: r.airtable_id)
    _unique(t.referrals.values(), "referrals.airtable_id", lambda r: r.airtable_id)
    _unique(t.votes.values(), "votes.airtable_id", lambda r: r.airtable_id)
    _unique(t.votes.values(), "votes (voter_id, project_id)", lambda r: (r.voter_id, r.project_id))
    _unique(t.attendees.values(), "event_attendees.id", lambda r: r.id)
    _unique(t.collaborators.values(), "project_collaborators.id", lambda r: r.id)
    for row in t.users.values():
        for name, limit in {"email": EMAIL_MAX, **USER_FIELD_LIMITS}.items():
            if len(getattr(row, name)) > limit:
                raise BackfillWriteError(f"value too long for users.{name}")
    for event in t.events.values():
        if len(event.slug) > SLUG_MAX or len(event.join_code) > JOIN_CODE_MAX or len(event.name) > NAME_MAX:
            raise BackfillWriteError(f"value too long in events row {event.id}")
    _references(t.events.values(), "events.owner_id", lambda r: r.owner_id, t.users)
    _references(t.projects.values(), "projects.owner_id", lambda r: r.owner_id, t.users)
    _references(t.projects.values(), "projects.event_id", lambda r: r.event_id, t.events)
    _references(t.referrals.values(), "referrals.user_id", lambda r: r.user_id, t.users)
    _references(t.referrals.values(), "referrals.event_id", lambda r: r.event_id, t.events)
    _references(t.votes.values(), "votes.voter_id", lambda r: r.voter_id, t.users)
    _references(
        t.votes.values(),
        "votes (project_id, event_id)",
        lambda r: (r.project_id, r.event_id),
        ((p.id, p.event_id) for p in t.projects.values()),
    )
    _references(t.attendees.values(), "event_attendees.event_id", lambda r: r.event_id, t.events)
    _references(t.attendees.values(), "event_attendees.user_id", lambda r: r.user_id, t.users)
    _references(
        t.collaborators.values(), "project_collaborators.project_id", lambda r: r.project_id, t.projects
    )
    _references(t.collaborators.values(), "project_collaborators.user_id", lambda r: r.user_id, t.users)
    for project in t.projects.values():
        if project.legacy_points < 0:
            raise BackfillWriteError("projects.legacy_points must not be negative")
