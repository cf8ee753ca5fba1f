"""The pure heart of the backfill: Airtable records + what the store holds → the rows to write.

Every choice here is a function of the source data and of the rows that the backfill does *not* own,
never of the clock, a random generator or of the rows an earlier (possibly killed) run wrote. That is
what makes a re-run change nothing and a killed-and-restarted run end where one clean run ends:

* new rows get ids derived from their Airtable id (:func:`row_id`);
* records are processed in ``(createdTime, id)`` order, so "the first" of duplicates is stable;
* slug suffixes and fresh join codes are derived from the Airtable id and avoid only values held by
  rows outside the backfill, plus the values other source records claim.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from uuid import UUID

from podium.domain.backfill.model import (
    EMAIL_MAX,
    FEATURE_FLAGS_MAX,
    INT_MAX,
    INT_MIN,
    JOIN_CODE_MAX,
    NAME_MAX,
    SLUG_MAX,
    USER_FIELD_LIMITS,
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
    row_id,
)
from podium.domain.rules import (
    new_join_code,
    normalize_email,
    normalize_join_code,
    slug_for,
    truncate_at_dash,
)

PLACEHOLDER_EMAIL_DOMAIN = "no-email.invalid"
# The fields that tell a real, active account from a stub when duplicate-email users merge
# (the rule of the pre-cutover clean-up draft, legacy §5.5: most PII wins, then the older record).
_PII_FIELDS = (*USER_FIELD_LIMITS, "dob")

R = TypeVar("R")
K = TypeVar("K")


def placeholder_email(airtable_id: str) -> str:
    """The address of a user who had none: kept (it may own data) but unable to log in."""
    return f"{airtable_id}@{PLACEHOLDER_EMAIL_DOMAIN}"


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


def plan_backfill(
    records: Mapping[SourceTable, Sequence[SourceRecord]], existing: ExistingData, *, dry_run: bool = False
) -> Plan:
    """Validate and map the Airtable records against the store's current rows (PRODUCT §4)."""
    return _Planner(records, existing, dry_run).plan()


# ---------------------------------------------------------------------------------------------------
# Reading Airtable cell values


def _order(record: SourceRecord) -> tuple[str, str]:
    return (record.created_time, record.id)


def _text(value: object) -> str:
    """A cell as text. Lookup fields come as lists; numbers as JSON numbers."""
    if value is None or value is False:
        return ""
    if value is True:
        return "true"
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return ", ".join(part for part in (_text(item) for item in value) if part)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _links(value: object) -> list[str]:
    """A link field: an array of record ids, even when single-valued (legacy §5.1)."""
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list):
        return [item.strip() for item in value if isinstance(item, str) and item.strip()]
    return []


def _first_link(value: object) -> str | None:
    links = _links(value)
    return links[0] if links else None


def _flag(value: object) -> bool:
    """A checkbox: Airtable omits the field when unticked."""
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes", "checked"}
    return bool(value)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON PostgreSQL can store")


def _seeded_choice(seed: str) -> Callable[[str], str]:
    """A ``choice`` for :func:`new_join_code` that always picks the same letters for the same seed."""
    digest = iter(hashlib.sha256(seed.encode()).digest())
    return lambda alphabet: alphabet[next(digest) % len(alphabet)]


def _allocate_unique(
    wanted: Sequence[tuple[K, str | None]],
    taken: Iterable[str],
    alternative: Callable[[K, str | None, int], str],
) -> dict[K, str]:
    """Give each key a value unique among all keys and ``taken``.

    Each key keeps its wanted value when it is the first to want it; every other key gets the first
    free ``alternative(key, wanted, attempt)``. Alternatives avoid every wanted value, so a suffixed
    duplicate never takes the value another record is entitled to.
    """
    reserved = set(taken)
    result: dict[K, str] = {}
    losers: list[tuple[K, str | None]] = []
    for key, value in wanted:
        if value and value not in reserved:
            reserved.add(value)
            result[key] = value
        else:
            losers.append((key, value))
    for key, value in losers:
        attempt = 0
        while (candidate := alternative(key, value, attempt)) in reserved:
            attempt += 1
        reserved.add(candidate)
        result[key] = candidate
    return result


# ---------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _UserCandidate:
    record: SourceRecord
    email: str
    pii: int


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


@dataclass(slots=True)
class _ProjectDraft:
    record: SourceRecord
    id: UUID
    event_id: UUID
    event_ref: str
    owner_id: UUID
    join_code: str | None
    points: int
    values: dict[str, Any]


class _Planner:
    def __init__(
        self, records: Mapping[SourceTable, Sequence[SourceRecord]], existing: ExistingData, dry_run: bool
    ) -> None:
        # A record listed twice (a hand-edited snapshot) is read once.
        self.records = {
            table: sorted(
                {record.id: record for record in reversed(records.get(table, ()))}.values(), key=_order
            )
            for table in SourceTable
        }
        self.ids = {table: {record.id for record in self.records[table]} for table in SourceTable}
        self.existing = existing
        self.result = BackfillResult(dry_run=dry_run)
        self.plan_ = Plan(result=self.result)
        self.user_map: dict[str, UUID] = {}
        self.event_map: dict[str, UUID] = {}
        self.project_map: dict[str, _ProjectDraft] = {}

    # -- reporting -----------------------------------------------------------------------------------

    def _issue(
        self, table: TargetTable, airtable_id: str, outcome: Outcome, reason: str, detail: str
    ) -> None:
        self.result.issues.append(Issue(table, airtable_id, outcome, reason, detail))
        tally = self.result.tables[table]
        if outcome is Outcome.SKIPPED:
            tally.skipped += 1
        elif outcome is Outcome.MERGED:
            tally.merged += 1

    def _field(self, table: TargetTable, record: SourceRecord, name: str, limit: int | None = None) -> str:
        value = _text(record.fields.get(name))
        if "\x00" in value:
            # PostgreSQL text cannot hold NUL; Airtable can.
            value = value.replace("\x00", "")
            self._issue(table, record.id, Outcome.ALTERED, "nul_removed", f"{name}: NUL characters removed")
        if limit is not None and len(value) > limit:
            self._issue(
                table,
                record.id,
                Outcome.ALTERED,
                "truncated",
                f"{name}: {len(value)} characters cut to the column size {limit}",
            )
            value = value[:limit]
        return value

    def _int(self, table: TargetTable, record: SourceRecord, name: str) -> int:
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
            self._issue(
                table, record.id, Outcome.ALTERED, "invalid_number", f"{name}: {raw!r} is not a number; 0"
            )
            return 0
        if not INT_MIN <= value <= INT_MAX:
            clamped = min(max(value, INT_MIN), INT_MAX)
            self._issue(
                table, record.id, Outcome.ALTERED, "out_of_range", f"{name}: {value} stored as {clamped}"
            )
            return clamped
        return value

    def _diff(self, table: TargetTable, planned: Sequence[R], existing: Iterable[Any]) -> list[R]:
        before = {row.id: row for row in existing}
        tally = self.result.tables[table]
        writes: list[R] = []
        for row in planned:
            old = before.get(row.id)  # type: ignore[attr-defined]
            if old is None:
                tally.created += 1
                writes.append(row)
            elif old == row:
                tally.unchanged += 1
            else:
                tally.updated += 1
                writes.append(row)
        self.plan_.writes[table] = writes
        return writes

    def _links_diff(
        self,
        table: TargetTable,
        planned: Sequence[R],
        existing_pairs: set[tuple[UUID, UUID]],
        pair_of: Callable[[R], tuple[UUID, UUID]],
    ) -> None:
        tally = self.result.tables[table]
        writes: list[R] = []
        for link in planned:
            if pair_of(link) in existing_pairs:
                tally.unchanged += 1
            else:
                tally.created += 1
                writes.append(link)
        self.plan_.writes[table] = writes

    # -- phases --------------------------------------------------------------------------------------

    def plan(self) -> Plan:
        for source, target in (
            (SourceTable.USERS, TargetTable.USERS),
            (SourceTable.EVENTS, TargetTable.EVENTS),
            (SourceTable.PROJECTS, TargetTable.PROJECTS),
            (SourceTable.REFERRALS, TargetTable.REFERRALS),
            (SourceTable.VOTES, TargetTable.VOTES),
        ):
            self.result.tables[target].source = len(self.records[source])
        self._users()
        self._events()
        self._attendees()
        drafts = self._projects()
        self._collaborators()
        self._referrals()
        self._votes()
        self._finish_projects(drafts)
        return self.plan_

    def _users(self) -> None:
        table = TargetTable.USERS
        groups: dict[str, list[_UserCandidate]] = {}
        for record in self.records[SourceTable.USERS]:
            email = normalize_email(_text(record.fields.get("email")))
            if not email:
                email = placeholder_email(record.id)
                self._issue(
                    table,
                    record.id,
                    Outcome.ALTERED,
                    "placeholder_email",
                    f"no email; kept as {email} (cannot log in)",
                )
            elif len(email) > EMAIL_MAX:
                self._issue(
                    table,
                    record.id,
                    Outcome.ALTERED,
                    "placeholder_email",
                    f"email longer than {EMAIL_MAX} characters; kept as {placeholder_email(record.id)}",
                )
                email = placeholder_email(record.id)
            pii = sum(1 for name in _PII_FIELDS if _text(record.fields.get(name)).strip())
            groups.setdefault(email, []).append(_UserCandidate(record, email, pii))

        # Most PII first, then the older record: records are already in (createdTime, id) order and
        # sorted() is stable.
        ordered = [sorted(members, key=lambda c: -c.pii) for members in groups.values()]
        ordered.sort(key=lambda members: _order(members[0].record))
        targets = self._match_users(ordered)

        by_id = {row.id: row for row in self.existing.users}
        holders = {normalize_email(row.email): row for row in self.existing.users}
        ours = set(targets)
        planned: list[UserRow] = []
        for members, target in zip(ordered, targets, strict=True):
            canonical = members[0]
            for other in members[1:]:
                self._issue(
                    table,
                    other.record.id,
                    Outcome.MERGED,
                    "duplicate_email",
                    f"same normalised email as {canonical.record.id}; merged into it, links re-pointed",
                )
            for member in members:
                self.user_map[member.record.id] = target
            email = canonical.email
            holder = holders.get(email)
            current = by_id.get(target)
            if holder is not None and holder.id not in ours and current is not None:
                # A user created outside the backfill already has this address: keep ours as it was.
                self._issue(
                    table,
                    canonical.record.id,
                    Outcome.ALTERED,
                    "email_conflict",
                    f"{email} belongs to another user; email left as {current.email}",
                )
                email = current.email
            record = canonical.record
            values = {
                name: self._field(table, record, name, limit) for name, limit in USER_FIELD_LIMITS.items()
            }
            planned.append(
                UserRow(id=target, airtable_id=record.id, email=email, dob=self._dob(record), **values)
            )
        self.plan_.users = planned
        self._diff(table, planned, self.existing.users)

    def _match_users(self, groups: list[list[_UserCandidate]]) -> list[UUID]:
        """The row each merged user lands in: its own (by Airtable id), else one with its email, else new."""
        by_airtable = {row.airtable_id: row.id for row in self.existing.users if row.airtable_id}
        by_email = {normalize_email(row.email): row.id for row in self.existing.users}
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

    def _dob(self, record: SourceRecord) -> dt.date | None:
        raw = _text(record.fields.get("dob")).strip()
        if not raw:
            return None
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            pass
        try:
            return dt.datetime.fromisoformat(raw.replace("Z", "+00:00")).date()
        except ValueError:
            self._issue(
                TargetTable.USERS,
                record.id,
                Outcome.ALTERED,
                "unparsable_dob",
                f"dob {raw!r} is not a date; NULL",
            )
            return None

    def _user_ref(
        self, table: TargetTable, record: SourceRecord, field_name: str, what: str
    ) -> tuple[str, UUID] | None:
        ref = _first_link(record.fields.get(field_name))
        if ref is None:
            self._issue(table, record.id, Outcome.SKIPPED, f"missing_{what}", f"no {field_name} link")
            return None
        user = self.user_map.get(ref)
        if user is None:
            self._issue(table, record.id, Outcome.SKIPPED, "orphan_link", f"{field_name} {ref} is not a user")
            return None
        return ref, user

    def _event_ref(self, table: TargetTable, record: SourceRecord) -> tuple[str, UUID] | None:
        ref = _first_link(record.fields.get("event"))
        if ref is None:
            self._issue(table, record.id, Outcome.SKIPPED, "missing_event", "no event link")
            return None
        event = self.event_map.get(ref)
        if event is None:
            if ref in self.ids[SourceTable.EVENTS]:
                self._issue(
                    table, record.id, Outcome.SKIPPED, "parent_not_migrated", f"event {ref} was not migrated"
                )
            else:
                self._issue(table, record.id, Outcome.SKIPPED, "orphan_link", f"event {ref} does not exist")
            return None
        return ref, event

    def _events(self) -> None:
        table = TargetTable.EVENTS
        by_airtable = {row.airtable_id: row.id for row in self.existing.events if row.airtable_id}
        drafts: list[_EventDraft] = []
        for record in self.records[SourceTable.EVENTS]:
            owner = self._user_ref(table, record, "owner", "owner")
            if owner is None:
                continue
            name = self._field(table, record, "name", NAME_MAX)
            slug = _text(record.fields.get("slug")).strip()
            if not slug:
                slug = slug_for(name) or slug_for(f"event {record.id}")
                self._issue(
                    table, record.id, Outcome.ALTERED, "slug_derived", f"empty slug; derived {slug!r}"
                )
            elif len(slug) > SLUG_MAX:
                cut = truncate_at_dash(slug, SLUG_MAX) or slug[:SLUG_MAX]
                self._issue(
                    table,
                    record.id,
                    Outcome.ALTERED,
                    "slug_shortened",
                    f"slug {slug!r} cut at a dash to {cut!r}",
                )
                slug = cut
            event_id = by_airtable.get(record.id) or row_id(table, record.id)
            self.event_map[record.id] = event_id
            drafts.append(
                _EventDraft(
                    record=record,
                    id=event_id,
                    owner_id=owner[1],
                    name=name,
                    slug=slug,
                    join_code=self._wanted_code(table, record),
                    description=self._field(table, record, "description"),
                    flags=self._feature_flags(record),
                )
            )

        ours = set(self.event_map.values())
        foreign = [row for row in self.existing.events if row.id not in ours]
        slugs = _allocate_unique(
            [(draft.record.id, draft.slug) for draft in drafts],
            (row.slug for row in foreign),
            lambda _key, wanted, attempt: _suffixed(wanted or "event", attempt),
        )
        codes = self._allocate_codes(table, drafts, (row.join_code for row in foreign))
        planned: list[EventRow] = []
        for draft in drafts:
            record = draft.record
            slug = slugs[record.id]
            if slug != draft.slug:
                self._issue(
                    table,
                    record.id,
                    Outcome.ALTERED,
                    "slug_suffixed",
                    f"slug {draft.slug!r} taken; now {slug!r}",
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
                    votable=_flag(fields.get("votable")),
                    leaderboard_enabled=_flag(fields.get("leaderboard_enabled")),
                    demo_links_optional=_flag(fields.get("demo_links_optional")),
                    ysws_checks_enabled=_flag(fields.get("ysws_checks_enabled")),
                    feature_flags_csv=draft.flags,
                )
            )
        self.plan_.events = planned
        self._diff(table, planned, self.existing.events)

    def _feature_flags(self, record: SourceRecord) -> str:
        # The v1 field is ``feature_flags_csv`` (legacy §5.2 read ``feature_flags`` and lost every flag);
        # it is text, but a multiple-select exported as a list is accepted too.
        raw = record.fields.get("feature_flags_csv", record.fields.get("feature_flags"))
        if isinstance(raw, list):
            csv = ",".join(flag for flag in (_text(item).strip() for item in raw) if flag)
        else:
            csv = _text(raw)
        if len(csv) > FEATURE_FLAGS_MAX:
            cut = csv[:FEATURE_FLAGS_MAX]
            # Cut at a comma so no flag is left half-written.
            cut = cut[: cut.rindex(",")] if "," in cut and csv[FEATURE_FLAGS_MAX] != "," else cut
            self._issue(
                TargetTable.EVENTS,
                record.id,
                Outcome.ALTERED,
                "truncated",
                f"feature_flags_csv: {len(csv)} characters cut to {len(cut)} (column size {FEATURE_FLAGS_MAX})",
            )
            csv = cut
        return csv

    def _wanted_code(self, table: TargetTable, record: SourceRecord) -> str | None:
        code = normalize_join_code(_text(record.fields.get("join_code")))
        if not code:
            return None
        if len(code) > JOIN_CODE_MAX:
            self._issue(
                table,
                record.id,
                Outcome.ALTERED,
                "join_code_fresh",
                f"join code {code!r} too long; a fresh code",
            )
            return None
        return code

    def _allocate_codes(
        self, table: TargetTable, drafts: Sequence[_EventDraft | _ProjectDraft], foreign: Iterable[str]
    ) -> dict[str, str]:
        codes = _allocate_unique(
            [(draft.record.id, draft.join_code) for draft in drafts],
            (normalize_join_code(code) for code in foreign),
            lambda key, _wanted, attempt: new_join_code(_seeded_choice(f"{table}:{key}:{attempt}")),
        )
        for draft in drafts:
            code = codes[draft.record.id]
            if draft.join_code is None:
                self._issue(
                    table, draft.record.id, Outcome.ALTERED, "join_code_fresh", f"empty join code; now {code}"
                )
            elif code != draft.join_code:
                self._issue(
                    table,
                    draft.record.id,
                    Outcome.ALTERED,
                    "join_code_fresh",
                    f"join code {draft.join_code} already used; now {code}",
                )
        return codes

    def _attendees(self) -> None:
        table = TargetTable.EVENT_ATTENDEES
        tally = self.result.tables[table]
        planned: list[AttendeeLink] = []
        seen: set[tuple[UUID, UUID]] = set()
        for record in self.records[SourceTable.EVENTS]:
            event = self.event_map.get(record.id)
            for ref in _links(record.fields.get("attendees")):
                tally.source += 1
                key = f"{record.id}/{ref}"
                if event is None:
                    self._issue(
                        table,
                        key,
                        Outcome.SKIPPED,
                        "parent_not_migrated",
                        f"event {record.id} was not migrated",
                    )
                    continue
                user = self.user_map.get(ref)
                if user is None:
                    self._issue(table, key, Outcome.SKIPPED, "orphan_link", f"attendee {ref} is not a user")
                    continue
                if (event, user) in seen:
                    self._issue(
                        table,
                        key,
                        Outcome.MERGED,
                        "duplicate_link",
                        "user already attends (merged duplicate)",
                    )
                    continue
                seen.add((event, user))
                planned.append(AttendeeLink(row_id(table, event, user), event, user))
        self.plan_.attendees = planned
        self._links_diff(
            table,
            planned,
            {(link.event_id, link.user_id) for link in self.existing.attendees},
            lambda link: (link.event_id, link.user_id),
        )

    def _projects(self) -> list[_ProjectDraft]:
        table = TargetTable.PROJECTS
        by_airtable = {row.airtable_id: row.id for row in self.existing.projects if row.airtable_id}
        drafts: list[_ProjectDraft] = []
        for record in self.records[SourceTable.PROJECTS]:
            event = self._event_ref(table, record)
            if event is None:
                continue
            owner = self._user_ref(table, record, "owner", "owner")
            if owner is None:
                continue
            values: dict[str, Any] = {
                "name": self._field(table, record, "name", NAME_MAX),
                "repo": self._field(table, record, "repo"),
                "image_url": self._field(table, record, "image_url"),
                "demo": self._field(table, record, "demo"),
                "description": self._field(table, record, "description"),
                "hours_spent": self._int(table, record, "hours_spent"),
                "cached_auto_quality": self._quality(record),
            }
            draft = _ProjectDraft(
                record=record,
                id=by_airtable.get(record.id) or row_id(table, record.id),
                event_id=event[1],
                event_ref=event[0],
                owner_id=owner[1],
                join_code=self._wanted_code(table, record),
                points=self._int(table, record, "points"),
                values=values,
            )
            drafts.append(draft)
            self.project_map[record.id] = draft
        return drafts

    def _quality(self, record: SourceRecord) -> dict[str, Any] | None:
        raw = record.fields.get("cached_auto_quality")
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        value: object = raw
        if isinstance(raw, str):
            # v1 stored the review result as a JSON *string*; the legacy script copied the string and
            # ProjectPrivate then failed to serialise it (legacy §5.2).
            try:
                value = json.loads(raw, parse_constant=_reject_constant)
            except ValueError as exc:
                self._issue(
                    TargetTable.PROJECTS,
                    record.id,
                    Outcome.ALTERED,
                    "invalid_json",
                    f"cached_auto_quality is not valid JSON ({exc}); NULL",
                )
                return None
        if not isinstance(value, dict):
            self._issue(
                TargetTable.PROJECTS,
                record.id,
                Outcome.ALTERED,
                "invalid_json",
                f"cached_auto_quality is a JSON {type(value).__name__}, not an object; NULL",
            )
            return None
        if "\\u0000" in json.dumps(value):
            self._issue(
                TargetTable.PROJECTS,
                record.id,
                Outcome.ALTERED,
                "invalid_json",
                "cached_auto_quality holds a NUL character PostgreSQL cannot store; NULL",
            )
            return None
        return value

    def _collaborators(self) -> None:
        table = TargetTable.PROJECT_COLLABORATORS
        tally = self.result.tables[table]
        planned: list[CollaboratorLink] = []
        seen: set[tuple[UUID, UUID]] = set()
        for record in self.records[SourceTable.PROJECTS]:
            project = self.project_map.get(record.id)
            for ref in _links(record.fields.get("collaborators")):
                tally.source += 1
                key = f"{record.id}/{ref}"
                if project is None:
                    self._issue(
                        table,
                        key,
                        Outcome.SKIPPED,
                        "parent_not_migrated",
                        f"project {record.id} was not migrated",
                    )
                    continue
                user = self.user_map.get(ref)
                if user is None:
                    self._issue(
                        table, key, Outcome.SKIPPED, "orphan_link", f"collaborator {ref} is not a user"
                    )
                    continue
                if (project.id, user) in seen:
                    self._issue(
                        table,
                        key,
                        Outcome.MERGED,
                        "duplicate_link",
                        "user already collaborates (merged duplicate)",
                    )
                    continue
                seen.add((project.id, user))
                planned.append(CollaboratorLink(row_id(table, project.id, user), project.id, user))
        self.plan_.collaborators = planned
        self._links_diff(
            table,
            planned,
            {(link.project_id, link.user_id) for link in self.existing.collaborators},
            lambda link: (link.project_id, link.user_id),
        )

    def _referrals(self) -> None:
        table = TargetTable.REFERRALS
        by_airtable = {row.airtable_id: row.id for row in self.existing.referrals if row.airtable_id}
        planned: list[ReferralRow] = []
        for record in self.records[SourceTable.REFERRALS]:
            user = self._user_ref(table, record, "user", "user")
            if user is None:
                continue
            event = self._event_ref(table, record)
            if event is None:
                continue
            planned.append(
                ReferralRow(
                    id=by_airtable.get(record.id) or row_id(table, record.id),
                    airtable_id=record.id,
                    user_id=user[1],
                    event_id=event[1],
                    content=self._field(table, record, "content"),
                )
            )
        self.plan_.referrals = planned
        self._diff(table, planned, self.existing.referrals)

    def _votes(self) -> None:
        table = TargetTable.VOTES
        by_airtable = {row.airtable_id: row for row in self.existing.votes if row.airtable_id}
        by_pair = {(row.voter_id, row.project_id): row for row in self.existing.votes}
        planned: list[VoteRow] = []
        first_of_pair: dict[tuple[UUID, UUID], str] = {}
        for record in self.records[SourceTable.VOTES]:
            voter = self._user_ref(table, record, "voter", "voter")
            if voter is None:
                continue
            project_ref = _first_link(record.fields.get("project"))
            if project_ref is None:
                self._issue(table, record.id, Outcome.SKIPPED, "missing_project", "no project link")
                continue
            project = self.project_map.get(project_ref)
            if project is None:
                if project_ref in self.ids[SourceTable.PROJECTS]:
                    self._issue(
                        table,
                        record.id,
                        Outcome.SKIPPED,
                        "parent_not_migrated",
                        f"project {project_ref} was not migrated",
                    )
                else:
                    self._issue(
                        table,
                        record.id,
                        Outcome.SKIPPED,
                        "orphan_link",
                        f"project {project_ref} does not exist",
                    )
                continue
            pair = (voter[1], project.id)
            if pair in first_of_pair:
                self._issue(
                    table,
                    record.id,
                    Outcome.MERGED,
                    "duplicate_vote",
                    f"same voter and project as {first_of_pair[pair]}; counted once",
                )
                continue
            # The vote's event is its project's event; the legacy script trusted the vote's own link.
            own_event = _first_link(record.fields.get("event"))
            if own_event != project.event_ref:
                self._issue(
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
                self._issue(
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
        self.plan_.votes = planned

    def _finish_projects(self, drafts: list[_ProjectDraft]) -> None:
        table = TargetTable.PROJECTS
        ours = {draft.id for draft in drafts}
        foreign = (row.join_code for row in self.existing.projects if row.id not in ours)
        codes = self._allocate_codes(table, drafts, foreign)
        votes_per_project = Counter(vote.project_id for vote in self.plan_.votes)
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
        self.plan_.projects = planned
        self._diff(table, planned, self.existing.projects)
        # Votes are diffed after projects so the report lists tables in write order.
        self._diff(TargetTable.VOTES, self.plan_.votes, self.existing.votes)


def _suffixed(slug: str, attempt: int) -> str:
    suffix = f"-{attempt + 2}"
    return slug[: SLUG_MAX - len(suffix)].rstrip("-") + suffix


def iter_writes(plan: Plan) -> Iterator[tuple[TargetTable, list[Any]]]:
    """The rows to write, table by table, in the order foreign keys need."""
    for table in TargetTable:
        yield table, plan.writes.get(table, [])


__all__ = ["Plan", "iter_writes", "placeholder_email", "plan_backfill"]
