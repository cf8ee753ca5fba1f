"""The pure heart of the backfill: Airtable records + what the store holds → the rows to write.

Every choice here is a function of the source data and of the rows that the backfill does *not* own,
never of the clock, a random generator or of the rows an earlier (possibly killed) run wrote. That is
what makes a re-run change nothing and a killed-and-restarted run end where one clean run ends:

* new rows get ids derived from their Airtable id (:func:`~podium.domain.backfill.model.row_id`);
* records are processed in ``(createdTime, id)`` order, so "the first" of duplicates is stable;
* slug suffixes and fresh join codes are derived from the Airtable id and avoid only values held by
  rows outside the backfill, plus the values other source records claim (:mod:`.allocation`).

The steps run in the order foreign keys need, one module each: :mod:`.users`, :mod:`.events` (with
attendees), :mod:`.projects` (drafted, with collaborators), :mod:`.votes` (referrals and votes), then the
projects are finished (their points need the votes), and :mod:`.reconcile` decides, against what the
store holds and what earlier runs wrote, which rows to write and which to leave to v2. Cell values are read by :mod:`.cells`; the shared
state and the report live in :mod:`.context`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from podium.domain.backfill.context import Plan, PlanContext
from podium.domain.backfill.events import plan_attendees, plan_events
from podium.domain.backfill.model import ExistingData, SourceRecord, SourceTable, TargetTable
from podium.domain.backfill.projects import draft_projects, finish_projects, plan_collaborators
from podium.domain.backfill.reconcile import reconcile
from podium.domain.backfill.users import placeholder_email, plan_users
from podium.domain.backfill.votes import plan_referrals, plan_votes

_COUNTED_AS = {
    SourceTable.USERS: TargetTable.USERS,
    SourceTable.EVENTS: TargetTable.EVENTS,
    SourceTable.PROJECTS: TargetTable.PROJECTS,
    SourceTable.REFERRALS: TargetTable.REFERRALS,
    SourceTable.VOTES: TargetTable.VOTES,
}


def plan_backfill(
    records: Mapping[SourceTable, Sequence[SourceRecord]],
    existing: ExistingData,
    *,
    dry_run: bool = False,
    overwrite_v2_changes: bool = False,
    prune: bool = False,
) -> Plan:
    """Validate and map the Airtable records against the store's current rows (PRODUCT §4), leaving
    what v2 changed since the last run alone unless ``overwrite_v2_changes`` (:mod:`.reconcile`)."""
    ctx = PlanContext(records, existing, dry_run, overwrite_v2=overwrite_v2_changes, prune=prune)
    for source, target in _COUNTED_AS.items():
        ctx.result.tables[target].source = len(ctx.records[source])
    plan_users(ctx)
    plan_events(ctx)
    plan_attendees(ctx)
    drafts = draft_projects(ctx)
    plan_collaborators(ctx)
    plan_referrals(ctx)
    plan_votes(ctx)
    finish_projects(ctx, drafts)
    reconcile(ctx)
    return ctx.plan


__all__ = ["Plan", "placeholder_email", "plan_backfill"]
