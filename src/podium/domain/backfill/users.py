"""Step 1, users: one row per normalised email (duplicates merged, most PII wins), matched to the rows of
earlier runs by Airtable id, else by email, else new."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from uuid import UUID

from podium.domain.backfill import cells
from podium.domain.backfill.context import PlanContext
from podium.domain.backfill.model import Outcome, SourceRecord, SourceTable, TargetTable, UserRow, row_id
from podium.domain.limits import EMAIL_MAX, USER_FIELD_LIMITS
from podium.domain.rules import normalize_email

PLACEHOLDER_EMAIL_DOMAIN = "no-email.invalid"
# The fields that tell a real, active account from a stub when duplicate-email users merge
# (the rule of the pre-cutover clean-up draft, legacy §5.5: most PII wins, then the older record).
_PII_FIELDS = (*USER_FIELD_LIMITS, "dob")


def placeholder_email(airtable_id: str) -> str:
    """The address of a user who had none: kept (it may own data) but unable to log in."""
    return f"{airtable_id}@{PLACEHOLDER_EMAIL_DOMAIN}"


@dataclass(slots=True)
class _Candidate:
    record: SourceRecord
    email: str
    pii: int


def plan_users(ctx: PlanContext) -> None:
    table = TargetTable.USERS
    groups: dict[str, list[_Candidate]] = {}
    for record in ctx.records[SourceTable.USERS]:
        email = _email(ctx, record)
        pii = sum(1 for name in _PII_FIELDS if cells.text(record.fields.get(name)).strip())
        groups.setdefault(email, []).append(_Candidate(record, email, pii))

    # Most PII first, then the older record: records are already in (createdTime, id) order and
    # sorted() is stable.
    ordered = [sorted(members, key=lambda c: -c.pii) for members in groups.values()]
    ordered.sort(key=lambda members: cells.record_order(members[0].record))
    targets = _match(ctx, ordered)

    by_id = {row.id: row for row in ctx.existing.users}
    holders = {normalize_email(row.email): row for row in ctx.existing.users}
    ours = set(targets)
    planned: list[UserRow] = []
    for members, target in zip(ordered, targets, strict=True):
        canonical = members[0]
        for other in members[1:]:
            ctx.issue(
                table,
                other.record.id,
                Outcome.MERGED,
                "duplicate_email",
                f"same normalised email as {canonical.record.id}; merged into it, links re-pointed",
            )
        for member in members:
            ctx.user_map[member.record.id] = target
        email = canonical.email
        holder = holders.get(email)
        current = by_id.get(target)
        if holder is not None and holder.id not in ours and current is not None:
            # A user created outside the backfill already has this address: keep ours as it was.
            ctx.issue(
                table,
                canonical.record.id,
                Outcome.ALTERED,
                "email_conflict",
                f"{email} belongs to another user; email left as {current.email}",
            )
            email = current.email
        record = canonical.record
        values = {name: ctx.text(table, record, name, limit) for name, limit in USER_FIELD_LIMITS.items()}
        planned.append(
            UserRow(id=target, airtable_id=record.id, email=email, dob=_dob(ctx, record), **values)
        )
    ctx.plan.users = planned
    ctx.diff(table, planned, ctx.existing.users)


def _email(ctx: PlanContext, record: SourceRecord) -> str:
    email = normalize_email(cells.text(record.fields.get("email")))
    if not email:
        email = placeholder_email(record.id)
        ctx.issue(
            TargetTable.USERS,
            record.id,
            Outcome.ALTERED,
            "placeholder_email",
            f"no email; kept as {email} (cannot log in)",
        )
    elif len(email) > EMAIL_MAX:
        ctx.issue(
            TargetTable.USERS,
            record.id,
            Outcome.ALTERED,
            "placeholder_email",
            f"email longer than {EMAIL_MAX} characters; kept as {placeholder_email(record.id)}",
        )
        email = placeholder_email(record.id)
    return email


def _match(ctx: PlanContext, groups: list[list[_Candidate]]) -> list[UUID]:
    """The row each merged user lands in: its own (by Airtable id), else one with its email, else new."""
    by_airtable = {row.airtable_id: row.id for row in ctx.existing.users if row.airtable_id}
    by_email = {normalize_email(row.email): row.id for row in ctx.existing.users}
    claimed: set[UUID] = set()
    targets: list[UUID | None] = []
    for members in groups:
        target = None
        for member in members:
            found = by_airtable.get(member.record.id)
            if found is not None and found not in claimed:
                target = found
                claimed.add(found)
                break
        targets.append(target)
    result: list[UUID] = []
    for members, target in zip(groups, targets, strict=True):
        if target is None:
            found = by_email.get(members[0].email)
            if found is not None and found not in claimed:
                target = found
                claimed.add(found)
            else:
                target = row_id(TargetTable.USERS, members[0].record.id)
        result.append(target)
    return result


def _dob(ctx: PlanContext, record: SourceRecord) -> dt.date | None:
    raw = cells.text(record.fields.get("dob")).strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        pass
    try:
        return dt.datetime.fromisoformat(raw.replace("Z", "+00:00")).date()
    except ValueError:
        ctx.issue(
            TargetTable.USERS,
            record.id,
            Outcome.ALTERED,
            "unparsable_dob",
            f"dob {raw!r} is not a date; NULL",
        )
        return None
