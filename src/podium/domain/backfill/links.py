"""Link tables (event attendees, project collaborators): one row per (parent, user) pair named in a link
field of the parent's record; pairs whose parent or user was not migrated are skipped, repeats merged."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar
from uuid import UUID

from podium.domain.backfill import cells
from podium.domain.backfill.context import PlanContext
from podium.domain.backfill.model import Outcome, SourceRecord, TargetTable

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class LinkWords:
    """How the report names a link: its Airtable field, the parent, the linked user and what they do."""

    field: str
    parent: str
    member: str
    verb: str


def plan_links(
    ctx: PlanContext,
    table: TargetTable,
    parents: Iterable[tuple[SourceRecord, UUID | None]],
    words: LinkWords,
    make: Callable[[UUID, UUID], T],
) -> list[T]:
    """``table``'s rows from each parent record (with the row it landed in, or None), issues reported."""
    tally = ctx.result.tables[table]
    planned: list[T] = []
    seen: set[tuple[UUID, UUID]] = set()
    for record, parent in parents:
        for ref in cells.links(record.fields.get(words.field)):
            tally.source += 1
            key = f"{record.id}/{ref}"
            if parent is None:
                detail = f"{words.parent} {record.id} was not migrated"
                ctx.issue(table, key, Outcome.SKIPPED, "parent_not_migrated", detail)
                continue
            user = ctx.user_map.get(ref)
            if user is None:
                ctx.issue(table, key, Outcome.SKIPPED, "orphan_link", f"{words.member} {ref} is not a user")
                continue
            if (parent, user) in seen:
                detail = f"user already {words.verb} (merged duplicate)"
                ctx.issue(table, key, Outcome.MERGED, "duplicate_link", detail)
                continue
            seen.add((parent, user))
            planned.append(make(parent, user))
    return planned
