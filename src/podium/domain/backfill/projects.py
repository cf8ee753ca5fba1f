"""Step 3, projects and their collaborators. Projects are drafted first and finished after the votes
(step 4): their points are split into counted votes plus ``legacy_points``."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from podium.domain.backfill import cells
from podium.domain.backfill.allocation import allocate_codes, wanted_code
from podium.domain.backfill.context import PlanContext
from podium.domain.backfill.links import LinkWords, plan_links
from podium.domain.backfill.model import (
    CollaboratorLink,
    Outcome,
    ProjectRow,
    SourceRecord,
    SourceTable,
    TargetTable,
    row_id,
)
from podium.domain.limits import NAME_MAX


@dataclass(slots=True)
class ProjectDraft:
    record: SourceRecord
    id: UUID
    event_id: UUID
    event_ref: str
    owner_id: UUID
    join_code: str | None
    points: int
    values: dict[str, Any]


def draft_projects(ctx: PlanContext) -> list[ProjectDraft]:
    table = TargetTable.PROJECTS
    by_airtable = {row.airtable_id: row.id for row in ctx.existing.projects if row.airtable_id}
    drafts: list[ProjectDraft] = []
    for record in ctx.records[SourceTable.PROJECTS]:
        event = ctx.event_ref(table, record)
        if event is None:
            continue
        owner = ctx.user_ref(table, record, "owner", "owner")
        if owner is None:
            continue
        values: dict[str, Any] = {
            "name": ctx.text(table, record, "name", NAME_MAX),
            "repo": ctx.text(table, record, "repo"),
            "image_url": ctx.text(table, record, "image_url"),
            "demo": ctx.text(table, record, "demo"),
            "description": ctx.text(table, record, "description"),
            "hours_spent": ctx.integer(table, record, "hours_spent"),
            "cached_auto_quality": _quality(ctx, record),
        }
        draft = ProjectDraft(
            record=record,
            id=by_airtable.get(record.id) or row_id(table, record.id),
            event_id=event[1],
            event_ref=event[0],
            owner_id=owner[1],
            join_code=wanted_code(ctx, table, record),
            points=ctx.integer(table, record, "points"),
            values=values,
        )
        drafts.append(draft)
        ctx.project_map[record.id] = draft
    return drafts


def _quality(ctx: PlanContext, record: SourceRecord) -> dict[str, Any] | None:
    raw = record.fields.get("cached_auto_quality")
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None

    def invalid(detail: str) -> None:
        ctx.issue(TargetTable.PROJECTS, record.id, Outcome.ALTERED, "invalid_json", detail)

    value: object = raw
    if isinstance(raw, str):
        # v1 stored the review result as a JSON *string*; the legacy script copied the string and
        # ProjectPrivate then failed to serialise it (legacy §5.2).
        try:
            value = json.loads(raw, parse_constant=cells.reject_constant)
        except ValueError as exc:
            invalid(f"cached_auto_quality is not valid JSON ({exc}); NULL")
            return None
    if not isinstance(value, dict):
        invalid(f"cached_auto_quality is a JSON {type(value).__name__}, not an object; NULL")
        return None
    if "\\u0000" in json.dumps(value):
        invalid("cached_auto_quality holds a NUL character PostgreSQL cannot store; NULL")
        return None
    return value


def plan_collaborators(ctx: PlanContext) -> None:
    table = TargetTable.PROJECT_COLLABORATORS
    projects = ctx.project_map
    ctx.plan.collaborators = planned = plan_links(
        ctx,
        table,
        (
            (record, projects[record.id].id if record.id in projects else None)
            for record in ctx.records[SourceTable.PROJECTS]
        ),
        LinkWords(field="collaborators", parent="project", member="collaborator", verb="collaborates"),
        lambda project, user: CollaboratorLink(row_id(table, project, user), project, user),
    )
    ctx.links_diff(table, planned, ctx.existing.collaborators)


def finish_projects(ctx: PlanContext, drafts: list[ProjectDraft]) -> None:
    """Join codes and points, once the votes are planned; then projects and votes are diffed."""
    table = TargetTable.PROJECTS
    ours = {draft.id for draft in drafts}
    foreign = (row.join_code for row in ctx.existing.projects if row.id not in ours)
    codes = allocate_codes(ctx, table, drafts, foreign)
    votes_per_project = Counter(vote.project_id for vote in ctx.plan.votes)
    planned = [
        ProjectRow(
            id=draft.id,
            airtable_id=draft.record.id,
            join_code=codes[draft.record.id],
            owner_id=draft.owner_id,
            event_id=draft.event_id,
            # Historical scores survive without inventing votes: points = count(votes) + legacy_points.
            legacy_points=max(0, draft.points - votes_per_project[draft.id]),
            **draft.values,
        )
        for draft in drafts
    ]
    ctx.plan.projects = planned
    ctx.diff(table, planned, ctx.existing.projects)
    # Votes are diffed after projects so the report lists tables in write order.
    ctx.diff(TargetTable.VOTES, ctx.plan.votes, ctx.existing.votes)
