"""Step 4, referrals and votes: each needs its user and its event or project planned already; a vote
counts once per voter and project, in its project's event."""

from __future__ import annotations

from uuid import UUID

from podium.domain.backfill import cells
from podium.domain.backfill.context import PlanContext
from podium.domain.backfill.model import Outcome, ReferralRow, SourceTable, TargetTable, VoteRow, row_id


def plan_referrals(ctx: PlanContext) -> None:
    table = TargetTable.REFERRALS
    by_airtable = {row.airtable_id: row.id for row in ctx.existing.referrals if row.airtable_id}
    planned: list[ReferralRow] = []
    for record in ctx.records[SourceTable.REFERRALS]:
        user = ctx.user_ref(table, record, "user", "user")
        if user is None:
            continue
        event = ctx.event_ref(table, record)
        if event is None:
            continue
        planned.append(
            ReferralRow(
                id=by_airtable.get(record.id) or row_id(table, record.id),
                airtable_id=record.id,
                user_id=user[1],
                event_id=event[1],
                content=ctx.text(table, record, "content"),
            )
        )
    ctx.plan.referrals = planned
    ctx.diff(table, planned, ctx.existing.referrals)


def plan_votes(ctx: PlanContext) -> None:
    """The votes to keep; they are diffed with the projects (:func:`~.projects.finish_projects`)."""
    table = TargetTable.VOTES
    by_airtable = {row.airtable_id: row for row in ctx.existing.votes if row.airtable_id}
    by_pair = {(row.voter_id, row.project_id): row for row in ctx.existing.votes}
    planned: list[VoteRow] = []
    first_of_pair: dict[tuple[UUID, UUID], str] = {}
    for record in ctx.records[SourceTable.VOTES]:
        voter = ctx.user_ref(table, record, "voter", "voter")
        if voter is None:
            continue
        project_ref = cells.first_link(record.fields.get("project"))
        if project_ref is None:
            ctx.issue(table, record.id, Outcome.SKIPPED, "missing_project", "no project link")
            continue
        project = ctx.project_map.get(project_ref)
        if project is None:
            if project_ref in ctx.ids[SourceTable.PROJECTS]:
                reason, detail = "parent_not_migrated", f"project {project_ref} was not migrated"
            else:
                reason, detail = "orphan_link", f"project {project_ref} does not exist"
            ctx.issue(table, record.id, Outcome.SKIPPED, reason, detail)
            continue
        pair = (voter[1], project.id)
        if pair in first_of_pair:
            ctx.issue(
                table,
                record.id,
                Outcome.MERGED,
                "duplicate_vote",
                f"same voter and project as {first_of_pair[pair]}; counted once",
            )
            continue
        # The vote's event is its project's event; the legacy script trusted the vote's own link.
        own_event = cells.first_link(record.fields.get("event"))
        if own_event != project.event_ref:
            ctx.issue(
                table,
                record.id,
                Outcome.ALTERED,
                "vote_event_mismatch",
                f"vote's event {own_event or '(none)'} is not its project's event {project.event_ref}; "
                "the project's event is used",
            )
        mine = by_airtable.get(record.id)
        holder = by_pair.get(pair)
        if mine is not None and holder is not None and mine.id != holder.id:
            ctx.issue(
                table,
                record.id,
                Outcome.SKIPPED,
                "vote_conflict",
                f"another vote ({holder.airtable_id or holder.id}) already holds this voter and project",
            )
            continue
        first_of_pair[pair] = record.id
        match = mine or holder
        target = match.id if match is not None else row_id(table, record.id)
        planned.append(
            VoteRow(
                id=target,
                airtable_id=record.id,
                voter_id=voter[1],
                project_id=project.id,
                event_id=project.event_id,
            )
        )
    ctx.plan.votes = planned
