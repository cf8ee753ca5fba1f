"""Ports of the backfill: a read-only Airtable-shaped source, and the store the rows land in."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Protocol
from uuid import UUID

from podium.domain.backfill.model import (
    AttendeeLink,
    CollaboratorLink,
    EventRow,
    ExistingData,
    IssueKey,
    ProjectRow,
    ReferralRow,
    SourceRecord,
    SourceTable,
    TargetTable,
    UserRow,
    VoteRow,
)
from podium.domain.backfill.written import PrunedRow


class SourceError(Exception):
    """The source cannot be read (bad credentials, unknown table, unreadable snapshot, …).

    The message is meant for the operator and says what to fix.
    """


class BackfillWriteError(Exception):
    """The store refused a batch (a constraint, a lost connection); nothing of that batch was kept."""


class RecordSource(Protocol):
    """The v1 Airtable base, read-only: every record of a table, a page at a time."""

    def pages(self, table: SourceTable) -> AsyncIterator[Sequence[SourceRecord]]:
        """Yield the records of ``table`` in pages, in the source's own order, until all are read."""
        ...

    def expected_count(self, table: SourceTable) -> int | None:
        """How many records ``table`` holds, when the source knows it up front (for the ETA)."""
        ...


class SnapshotSink(Protocol):
    """Where ``podium airtable export`` puts the raw records (the cutover's backup step)."""

    def write_table(self, table: SourceTable, records: Sequence[SourceRecord]) -> None:
        """Store every record of ``table``; replaces what an earlier export wrote for it."""
        ...

    def finish(self, counts: Mapping[SourceTable, int]) -> None:
        """Mark the snapshot complete; a snapshot without this is refused when read back."""
        ...


class BackfillStore(Protocol):
    """The Postgres side of the backfill, in bulk.

    Every ``save_*``/``add_*`` call is one transaction: it writes the whole batch or nothing, so a
    process killed at any point leaves whole phases behind, never half of one.
    """

    async def load_existing(self) -> ExistingData:
        """Every row the backfill may match, diff against or collide with."""
        ...

    async def save_users(self, rows: Sequence[UserRow]) -> None:
        """Insert new users and update existing ones (matched on ``id``), in one transaction."""
        ...

    async def save_events(self, rows: Sequence[EventRow]) -> None:
        """Insert or update events (matched on ``id``), in one transaction."""
        ...

    async def add_attendees(self, links: Sequence[AttendeeLink]) -> None:
        """Insert attendance links; a pair that already exists is left as it is."""
        ...

    async def save_projects(self, rows: Sequence[ProjectRow]) -> None:
        """Insert or update projects (matched on ``id``), in one transaction."""
        ...

    async def add_collaborators(self, links: Sequence[CollaboratorLink]) -> None:
        """Insert collaborator links; a pair that already exists is left as it is."""
        ...

    async def save_referrals(self, rows: Sequence[ReferralRow]) -> None:
        """Insert or update referrals (matched on ``id``), in one transaction."""
        ...

    async def save_votes(self, rows: Sequence[VoteRow]) -> None:
        """Insert or update votes (matched on ``id``), in one transaction."""
        ...

    async def save_written(
        self, table: TargetTable, entries: Sequence[tuple[UUID, Mapping[str, Any]]]
    ) -> None:
        """Record what the backfill wrote to these rows of ``table`` (row id → values), replacing older records.

        Called after the table's rows are in; if the process dies in between, the next run finds the rows
        equal to its plan and records them then.
        """
        ...

    async def prune(self, targets: Mapping[TargetTable, Sequence[UUID]]) -> list[PrunedRow]:
        """Delete these rows and every row that hangs off them (an owner's events and projects, an event's
        projects, links, referrals and votes, …), in one transaction; return each row deleted."""
        ...

    async def reported_issues(self) -> set[IssueKey]:
        """The issues earlier real runs reported for review (see :attr:`Issue.key`)."""
        ...

    async def remember_reported(self, keys: Sequence[IssueKey]) -> None:
        """Remember these issues as reported (keys already remembered are kept as they are)."""
        ...

    async def count_rows(self) -> Mapping[TargetTable, int]:
        """How many rows each target table holds now (the verification table's Postgres column)."""
        ...
