"""Step 2, events and their attendees: slugs and join codes made unique, feature flags read from the v1
field, attendee links de-duplicated."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from podium.domain.backfill import cells
from podium.domain.backfill.allocation import allocate_codes, allocate_unique, suffixed_slug, wanted_code
from podium.domain.backfill.context import PlanContext
from podium.domain.backfill.links import LinkWords, plan_links
from podium.domain.backfill.model import (
    AttendeeLink,
    EventRow,
    Outcome,
    SourceRecord,
    SourceTable,
    TargetTable,
    row_id,
)
from podium.domain.limits import FEATURE_FLAGS_MAX, NAME_MAX, SLUG_MAX
from podium.domain.rules import slug_for, truncate_at_dash


@dataclass(slots=True)
class _EventDraft:
    record: SourceRecord
    id: UUID
    owner_id: UUID
    name: str
    slug: str
    join_code: str | None
    description: str
    flags: str


def plan_events(ctx: PlanContext) -> None:
    table = TargetTable.EVENTS
    by_airtable = {row.airtable_id: row.id for row in ctx.existing.events if row.airtable_id}
    drafts: list[_EventDraft] = []
    for record in ctx.records[SourceTable.EVENTS]:
        owner = ctx.user_ref(table, record, "owner", "owner")
        if owner is None:
            continue
        name = ctx.text(table, record, "name", NAME_MAX)
        event_id = by_airtable.get(record.id) or row_id(table, record.id)
        ctx.event_map[record.id] = event_id
        drafts.append(
            _EventDraft(
                record=record,
                id=event_id,
                owner_id=owner[1],
                name=name,
                slug=_wanted_slug(ctx, record, name),
                join_code=wanted_code(ctx, table, record),
                description=ctx.text(table, record, "description"),
                flags=_feature_flags(ctx, record),
            )
        )

    ours = set(ctx.event_map.values())
    foreign = [row for row in ctx.existing.events if row.id not in ours]
    slugs = allocate_unique(
        [(draft.record.id, draft.slug) for draft in drafts],
        (row.slug for row in foreign),
        lambda _key, wanted, attempt: suffixed_slug(wanted or "event", attempt),
    )
    codes = allocate_codes(ctx, table, drafts, (row.join_code for row in foreign))
    planned: list[EventRow] = []
    for draft in drafts:
        record = draft.record
        slug = slugs[record.id]
        if slug != draft.slug:
            ctx.issue(
                table, record.id, Outcome.ALTERED, "slug_suffixed", f"slug {draft.slug!r} taken; now {slug!r}"
            )
        fields = record.fields
        planned.append(
            EventRow(
                id=draft.id,
                airtable_id=record.id,
                name=draft.name,
                slug=slug,
                join_code=codes[record.id],
                owner_id=draft.owner_id,
                description=draft.description,
                votable=cells.flag(fields.get("votable")),
                leaderboard_enabled=cells.flag(fields.get("leaderboard_enabled")),
                demo_links_optional=cells.flag(fields.get("demo_links_optional")),
                ysws_checks_enabled=cells.flag(fields.get("ysws_checks_enabled")),
                feature_flags_csv=draft.flags,
            )
        )
    ctx.plan.events = planned
    ctx.diff(table, planned, ctx.existing.events)


def _wanted_slug(ctx: PlanContext, record: SourceRecord, name: str) -> str:
    slug = cells.text(record.fields.get("slug")).strip()
    if not slug:
        slug = slug_for(name) or slug_for(f"event {record.id}")
        ctx.issue(
            TargetTable.EVENTS, record.id, Outcome.ALTERED, "slug_derived", f"empty slug; derived {slug!r}"
        )
    elif len(slug) > SLUG_MAX:
        cut = truncate_at_dash(slug, SLUG_MAX) or slug[:SLUG_MAX]
        ctx.issue(
            TargetTable.EVENTS,
            record.id,
            Outcome.ALTERED,
            "slug_shortened",
            f"slug {slug!r} cut at a dash to {cut!r}",
        )
        slug = cut
    return slug


def _feature_flags(ctx: PlanContext, record: SourceRecord) -> str:
    # The v1 field is ``feature_flags_csv`` (legacy §5.2 read ``feature_flags`` and lost every flag);
    # it is text, but a multiple-select exported as a list is accepted too.
    raw = record.fields.get("feature_flags_csv", record.fields.get("feature_flags"))
    if isinstance(raw, list):
        csv = ",".join(flag for flag in (cells.text(item).strip() for item in raw) if flag)
    else:
        csv = cells.text(raw)
    if len(csv) > FEATURE_FLAGS_MAX:
        cut = csv[:FEATURE_FLAGS_MAX]
        # Cut at a comma so no flag is left half-written.
        cut = cut[: cut.rindex(",")] if "," in cut and csv[FEATURE_FLAGS_MAX] != "," else cut
        ctx.issue(
            TargetTable.EVENTS,
            record.id,
            Outcome.ALTERED,
            "truncated",
            f"feature_flags_csv: {len(csv)} characters cut to {len(cut)} (column size {FEATURE_FLAGS_MAX})",
        )
        csv = cut
    return csv


def plan_attendees(ctx: PlanContext) -> None:
    table = TargetTable.EVENT_ATTENDEES
    ctx.plan.attendees = planned = plan_links(
        ctx,
        table,
        ((record, ctx.event_map.get(record.id)) for record in ctx.records[SourceTable.EVENTS]),
        LinkWords(field="attendees", parent="event", member="attendee", verb="attends"),
        lambda event, user: AttendeeLink(row_id(table, event, user), event, user),
    )
    ctx.links_diff(table, planned, ctx.existing.attendees)
