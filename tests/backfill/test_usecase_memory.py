"""The backfill use-case on the memory store: every dirty case of issue 4 ends as PRODUCT §4 says."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from typing import Any

import pytest

from podium.adapters.memory.backfill_store import MemoryBackfillStore
from podium.domain.backfill import (
    BackfillResult,
    ExistingData,
    Issue,
    Outcome,
    Progress,
    SourceRecord,
    SourceTable,
    Stage,
    TargetTable,
    UserRow,
    placeholder_email,
    plan_backfill,
    row_id,
    run_backfill,
)
from podium.domain.rules import JOIN_CODE_ALPHABET
from podium.testing.record_source import InMemorySource
from podium.testing.synthetic_airtable import SyntheticBase

T = TargetTable
O = Outcome  # noqa: E741


def rec(rec_id: str, created: str = "2024-01-01T00:00:00.000Z", **fields: Any) -> SourceRecord:
    return SourceRecord(rec_id, created, fields)


def base(**tables: list[SourceRecord]) -> dict[SourceTable, list[SourceRecord]]:
    return {table: tables.get(str(table), []) for table in SourceTable}


async def backfill(
    records: Mapping[SourceTable, list[SourceRecord]], store: MemoryBackfillStore | None = None
) -> tuple[BackfillResult, MemoryBackfillStore]:
    store = store or MemoryBackfillStore()
    result = await run_backfill(InMemorySource(records), store)
    return result, store


def issues_of(result: BackfillResult, key: str) -> list[Issue]:
    return [issue for issue in result.issues if issue.airtable_id == key]


@pytest.fixture(scope="module")
async def migrated(small_base: SyntheticBase) -> tuple[BackfillResult, ExistingData]:
    result, store = await backfill(small_base.source_records())
    return result, await store.load_existing()


CASES = [
    # (dirty case, table, outcome, reason)
    ("duplicate_email", T.USERS, O.MERGED, "duplicate_email"),
    ("empty_email", T.USERS, O.ALTERED, "placeholder_email"),
    ("long_city", T.USERS, O.ALTERED, "truncated"),
    ("long_name", T.USERS, O.ALTERED, "truncated"),
    ("unparsable_dob", T.USERS, O.ALTERED, "unparsable_dob"),
    ("duplicate_slug", T.EVENTS, O.ALTERED, "slug_suffixed"),
    ("empty_slug", T.EVENTS, O.ALTERED, "slug_derived"),
    ("long_slug", T.EVENTS, O.ALTERED, "slug_shortened"),
    ("empty_event_join_code", T.EVENTS, O.ALTERED, "join_code_fresh"),
    ("duplicate_event_join_code", T.EVENTS, O.ALTERED, "join_code_fresh"),
    ("event_without_owner", T.EVENTS, O.SKIPPED, "missing_owner"),
    ("event_orphan_owner", T.EVENTS, O.SKIPPED, "orphan_link"),
    ("orphan_attendee", T.EVENT_ATTENDEES, O.SKIPPED, "orphan_link"),
    ("quality_invalid_json", T.PROJECTS, O.ALTERED, "invalid_json"),
    ("empty_project_join_code", T.PROJECTS, O.ALTERED, "join_code_fresh"),
    ("duplicate_project_join_code", T.PROJECTS, O.ALTERED, "join_code_fresh"),
    ("long_project_name", T.PROJECTS, O.ALTERED, "truncated"),
    ("orphan_project_event", T.PROJECTS, O.SKIPPED, "orphan_link"),
    ("orphan_project_owner", T.PROJECTS, O.SKIPPED, "orphan_link"),
    ("project_of_skipped_event", T.PROJECTS, O.SKIPPED, "parent_not_migrated"),
    ("orphan_collaborator", T.PROJECT_COLLABORATORS, O.SKIPPED, "orphan_link"),
    ("orphan_referral", T.REFERRALS, O.SKIPPED, "orphan_link"),
    ("referral_without_event", T.REFERRALS, O.SKIPPED, "missing_event"),
    ("duplicate_vote", T.VOTES, O.MERGED, "duplicate_vote"),
    ("vote_event_mismatch", T.VOTES, O.ALTERED, "vote_event_mismatch"),
    ("orphan_vote_voter", T.VOTES, O.SKIPPED, "orphan_link"),
    ("orphan_vote_project", T.VOTES, O.SKIPPED, "orphan_link"),
    ("vote_of_skipped_project", T.VOTES, O.SKIPPED, "parent_not_migrated"),
]


@pytest.mark.parametrize(("case", "table", "outcome", "reason"), CASES, ids=[c[0] for c in CASES])
async def test_every_dirty_case_is_reported_with_its_outcome(
    migrated: tuple[BackfillResult, ExistingData],
    small_base: SyntheticBase,
    case: str,
    table: TargetTable,
    outcome: Outcome,
    reason: str,
) -> None:
    result, _ = migrated
    keys = small_base.dirty[case]
    assert keys, f"the generator produced no {case}"
    for key in keys:
        found = [(i.table, i.outcome, i.reason) for i in issues_of(result, key)]
        assert (table, outcome, reason) in found, (key, found)


async def test_tallies_add_up_to_the_source_counts(migrated: tuple[BackfillResult, ExistingData]) -> None:
    result, existing = migrated
    for table, tally in result.tables.items():
        assert (
            tally.source == tally.created + tally.updated + tally.unchanged + tally.merged + tally.skipped
        ), table
    assert result.tables[T.USERS].stored == len(existing.users)
    assert result.tables[T.VOTES].stored == len(existing.votes)
    assert result.exit_status == 3


async def test_a_rerun_tells_new_problems_from_the_ones_reported_before() -> None:
    records = base(
        users=[rec("recU1", email="a@example.com", first_name="Ada")],
        events=[rec("recE1", name="No owner")],
    )
    store = MemoryBackfillStore()
    dry = await run_backfill(InMemorySource(records), store, dry_run=True)
    assert dry.exit_status == 3  # a dry run compares, remembers nothing
    first, _ = await backfill(records, store)
    assert first.exit_status == 3
    assert [issue.airtable_id for issue in first.new_for_review] == ["recE1"]
    again, _ = await backfill(records, store)
    assert again.exit_status == 4  # the same skip as last time: nothing new
    assert again.new_for_review == []
    assert again.to_json()["reported_before"] == 1
    records[SourceTable.EVENTS].append(rec("recE2", name="Also no owner"))
    third, _ = await backfill(records, store)
    assert third.exit_status == 3
    assert [issue.airtable_id for issue in third.new_for_review] == ["recE2"]


async def test_clean_data_exits_zero() -> None:
    result, _ = await backfill(
        base(users=[rec("recU1", email="a@example.com", first_name="Ada")]),
    )
    assert result.exit_status == 0
    assert result.issues == []


async def test_duplicate_emails_merge_into_the_richest_record_and_links_follow() -> None:
    records = base(
        users=[
            rec("recStub", "2024-01-01T00:00:00.000Z", email=" Ada@Example.com "),
            rec(
                "recFull",
                "2024-01-02T00:00:00.000Z",
                email="ada@example.com",
                first_name="Ada",
                city="London",
            ),
        ],
        events=[
            rec(
                "recEv",
                name="Hack",
                slug="hack",
                join_code="ABCD",
                owner=["recStub"],
                attendees=["recStub", "recFull"],
            )
        ],
    )
    result, store = await backfill(records)
    existing = await store.load_existing()
    (user,) = existing.users
    assert (user.airtable_id, user.email, user.first_name, user.city) == (
        "recFull",
        "ada@example.com",
        "Ada",
        "London",
    )
    assert existing.events[0].owner_id == user.id
    assert [(a.event_id, a.user_id) for a in existing.attendees] == [(existing.events[0].id, user.id)]
    assert [(i.airtable_id, i.reason) for i in result.issues] == [
        ("recStub", "duplicate_email"),
        ("recEv/recFull", "duplicate_link"),
    ]


async def test_users_without_email_are_never_merged() -> None:
    records = base(users=[rec("recA", first_name="A"), rec("recB", email="   ", first_name="B")])
    result, store = await backfill(records)
    emails = sorted(u.email for u in (await store.load_existing()).users)
    assert emails == [placeholder_email("recA"), placeholder_email("recB")]
    assert {i.reason for i in result.issues} == {"placeholder_email"}
    assert result.exit_status == 0


async def test_user_fields_are_cut_to_the_column_sizes_and_bad_dob_is_null() -> None:
    records = base(users=[rec("recA", email="a@x.io", city="c" * 150, phone="1" * 30, dob="31/02/2001")])
    result, store = await backfill(records)
    (user,) = (await store.load_existing()).users
    assert (len(user.city), len(user.phone), user.dob) == (100, 20, None)
    assert Counter(i.reason for i in result.issues) == {"truncated": 2, "unparsable_dob": 1}


def _events(*fields: dict[str, Any]) -> dict[SourceTable, list[SourceRecord]]:
    users = [rec("recOwner", email="o@x.io")]
    return base(
        users=users,
        events=[
            rec(f"recE{i}", f"2024-01-0{i + 1}T00:00:00.000Z", owner=["recOwner"], **f)
            for i, f in enumerate(fields)
        ],
    )


async def test_slugs_derived_shortened_and_suffixed_deterministically() -> None:
    long_slug = "-".join(["word"] * 15)
    records = _events(
        {"name": "Hack Club", "slug": "hack-club", "join_code": "A1"},
        {"name": "Other", "slug": "hack-club", "join_code": "A2"},
        {"name": "Café Über", "slug": "", "join_code": "A3"},
        {"name": "Long", "slug": long_slug, "join_code": "A4"},
        {"name": "!!!", "join_code": "A5"},
    )
    result, store = await backfill(records)
    slugs = {e.airtable_id: e.slug for e in (await store.load_existing()).events}
    assert slugs["recE0"] == "hack-club"
    assert slugs["recE1"] == "hack-club-2"
    assert slugs["recE2"] == "cafe-uber"
    assert len(slugs["recE3"]) <= 50
    assert slugs["recE3"].startswith("word-word")
    assert not slugs["recE3"].endswith("-")
    assert slugs["recE4"] == "event-rece4"
    assert all(len(s) <= 50 for s in slugs.values())
    again, _ = await backfill(records)
    assert again.issues == result.issues


async def test_a_suffix_never_takes_a_slug_another_record_owns() -> None:
    records = _events(
        {"name": "a", "slug": "hack", "join_code": "C1"},
        {"name": "b", "slug": "hack", "join_code": "C2"},
        {"name": "c", "slug": "hack-2", "join_code": "C3"},
    )
    _, store = await backfill(records)
    slugs = {e.airtable_id: e.slug for e in (await store.load_existing()).events}
    assert slugs == {"recE0": "hack", "recE1": "hack-3", "recE2": "hack-2"}


async def test_empty_and_duplicate_join_codes_get_fresh_deterministic_codes() -> None:
    records = _events(
        {"name": "a", "join_code": "ab-1"},
        {"name": "b", "join_code": " AB-1 "},
        {"name": "c"},
    )
    result, store = await backfill(records)
    codes = {e.airtable_id: e.join_code for e in (await store.load_existing()).events}
    assert codes["recE0"] == "AB-1"
    for fresh in (codes["recE1"], codes["recE2"]):
        assert len(fresh) == 6
        assert set(fresh) <= set(JOIN_CODE_ALPHABET)
    assert len(set(codes.values())) == 3
    _, other_store = await backfill(records)
    assert {e.airtable_id: e.join_code for e in (await other_store.load_existing()).events} == codes
    assert Counter(i.reason for i in result.issues) == {"join_code_fresh": 2, "slug_derived": 3}


async def test_feature_flags_read_from_csv_or_list() -> None:
    records = _events(
        {"name": "a", "join_code": "F1", "feature_flags_csv": "daydream, scrapyard"},
        {"name": "b", "join_code": "F2", "feature_flags_csv": ["daydream", " summer "]},
        {"name": "c", "join_code": "F3"},
    )
    _, store = await backfill(records)
    flags = {e.airtable_id: e.feature_flags_csv for e in (await store.load_existing()).events}
    assert flags == {"recE0": "daydream, scrapyard", "recE1": "daydream,summer", "recE2": ""}


def _project_base(**project: Any) -> dict[SourceTable, list[SourceRecord]]:
    records = _events({"name": "a", "slug": "a", "join_code": "E1"})
    records[SourceTable.PROJECTS] = [
        rec("recP", name="P", join_code="P1", event=["recE0"], owner=["recOwner"], **project)
    ]
    return records


@pytest.mark.parametrize(
    ("raw", "stored", "reported"),
    [
        (
            '{"valid": true, "demo_result": {"quality_percent": 87.5}}',
            {"valid": True, "demo_result": {"quality_percent": 87.5}},
            False,
        ),
        ('{"valid": tru', None, True),
        ("[1, 2]", None, True),
        ('{"x": NaN}', None, True),
        ("", None, False),
        ({"valid": False}, {"valid": False}, False),
    ],
)
async def test_cached_auto_quality_strings_are_parsed(raw: Any, stored: Any, reported: bool) -> None:
    result, store = await backfill(_project_base(cached_auto_quality=raw))
    (project,) = (await store.load_existing()).projects
    assert project.cached_auto_quality == stored
    assert any(i.reason == "invalid_json" for i in result.issues) is reported


async def test_legacy_points_are_airtable_points_minus_migrated_votes() -> None:
    records = _project_base(points=5)
    records[SourceTable.USERS] += [rec("recV1", email="v1@x.io"), rec("recV2", email="v2@x.io")]
    records[SourceTable.VOTES] = [
        rec("recVote1", voter=["recV1"], project=["recP"], event=["recE0"]),
        rec("recVote2", voter=["recV2"], project=["recP"], event=["recOther"]),
        rec("recVote3", "2024-02-01T00:00:00.000Z", voter=["recV2"], project=["recP"], event=["recE0"]),
    ]
    result, store = await backfill(records)
    existing = await store.load_existing()
    assert existing.projects[0].legacy_points == 3
    assert {v.airtable_id for v in existing.votes} == {"recVote1", "recVote2"}
    assert all(v.event_id == existing.events[0].id for v in existing.votes)
    assert [(i.airtable_id, i.reason) for i in result.issues] == [
        ("recVote2", "vote_event_mismatch"),
        ("recVote3", "duplicate_vote"),
    ]


async def test_legacy_points_never_go_below_zero() -> None:
    records = _project_base(points=0)
    records[SourceTable.VOTES] = [rec("recVote", voter=["recOwner"], project=["recP"], event=["recE0"])]
    _, store = await backfill(records)
    assert (await store.load_existing()).projects[0].legacy_points == 0


async def test_second_run_changes_nothing(small_base: SyntheticBase) -> None:
    first, store = await backfill(small_base.source_records())
    before = await store.load_existing()
    writes = len(store.calls)
    second, _ = await backfill(small_base.source_records(), store)
    assert await store.load_existing() == before
    assert len(store.calls) == writes, "a second run wrote something"
    for table, tally in second.tables.items():
        assert tally.created == tally.updated == 0, table
        assert tally.unchanged == first.tables[table].created
    assert second.issues == first.issues


async def test_dry_run_reports_the_same_and_writes_nothing(small_base: SyntheticBase) -> None:
    store = MemoryBackfillStore()
    dry = await run_backfill(InMemorySource(small_base.source_records()), store, dry_run=True)
    assert store.calls == []
    assert all(count == 0 for count in (await store.count_rows()).values())
    real, _ = await backfill(small_base.source_records())
    assert dry.issues == real.issues
    assert {t: (o.created, o.skipped) for t, o in dry.tables.items()} == {
        t: (o.created, o.skipped) for t, o in real.tables.items()
    }
    assert dry.to_json()["dry_run"] is True


async def test_changed_airtable_record_updates_its_row() -> None:
    records = base(users=[rec("recA", email="a@x.io", first_name="Ada")])
    _, store = await backfill(records)
    records = base(users=[rec("recA", email="a@x.io", first_name="Adah")])
    result, _ = await backfill(records, store)
    assert result.tables[T.USERS].updated == 1
    assert (await store.load_existing()).users[0].first_name == "Adah"


async def test_an_existing_v2_user_with_the_same_email_is_adopted_not_duplicated() -> None:
    store = MemoryBackfillStore()
    v2_id = row_id(T.USERS, "created-in-v2")
    await store.save_users([UserRow(id=v2_id, airtable_id=None, email="ada@x.io", first_name="Ada")])
    result, _ = await backfill(base(users=[rec("recA", email="ADA@x.io", first_name="Ada")]), store)
    (user,) = (await store.load_existing()).users
    assert (user.id, user.airtable_id) == (v2_id, "recA")
    assert result.tables[T.USERS].updated == 1


async def test_new_rows_get_ids_derived_from_their_airtable_id() -> None:
    plan = plan_backfill(base(users=[rec("recA", email="a@x.io")]), ExistingData())
    assert plan.users[0].id == row_id(T.USERS, "recA")


async def test_progress_reports_table_records_rate_and_eta(small_base: SyntheticBase) -> None:
    ticks: list[Progress] = []
    times = iter(range(10_000))
    await run_backfill(
        InMemorySource(small_base.source_records(), page_size=50),
        MemoryBackfillStore(),
        progress=ticks.append,
        clock=lambda: float(next(times)),
    )
    reads = [t for t in ticks if t.stage is Stage.READ and t.table == "users"]
    assert reads[0].done == 50
    assert reads[0].total == len(small_base.records[SourceTable.USERS])
    assert reads[0].rate > 0
    assert reads[0].eta_seconds is not None
    assert reads[-1].finished
    assert {t.table for t in ticks if t.stage is Stage.WRITE and t.finished} == {str(t) for t in TargetTable}


def test_report_is_json_serialisable(migrated: tuple[BackfillResult, ExistingData]) -> None:
    payload = json.loads(json.dumps(migrated[0].to_json()))
    assert payload["exit_status"] == 3
    assert payload["tables"]["users"]["airtable"] == 160
    assert {"table", "airtable_id", "outcome", "reason", "detail"} <= payload["issues"][0].keys()


async def test_an_email_taken_by_a_v2_user_is_not_stolen_on_a_rerun() -> None:
    store = MemoryBackfillStore()
    await backfill(base(users=[rec("recA", email="old@x.io")]), store)
    await store.save_users([UserRow(id=row_id(T.USERS, "v2"), airtable_id=None, email="new@x.io")])
    result, _ = await backfill(base(users=[rec("recA", email="new@x.io")]), store)
    assert [(i.airtable_id, i.reason) for i in result.issues] == [("recA", "email_conflict")]
    emails = {u.airtable_id: u.email for u in (await store.load_existing()).users}
    assert emails == {"recA": "old@x.io", None: "new@x.io"}


async def test_legacy_scale_run_is_consistent_and_idempotent() -> None:
    from podium.testing.synthetic_airtable import generate

    records = generate().source_records()
    first, store = await backfill(records)
    for table, tally in first.tables.items():
        assert tally.source == tally.created + tally.merged + tally.skipped, table
    assert first.tables[T.EVENT_ATTENDEES].source == 4078
    before = await store.load_existing()
    second, _ = await backfill(records, store)
    assert await store.load_existing() == before
    assert all(t.created == t.updated == 0 for t in second.tables.values())
