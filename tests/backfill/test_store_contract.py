"""One contract, two stores: the memory fake and Postgres behave the same for every backfill write."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from podium.domain.backfill import (
    AttendeeLink,
    BackfillStore,
    BackfillWriteError,
    CollaboratorLink,
    EventRow,
    ExistingData,
    ProjectRow,
    ReferralRow,
    TargetTable,
    UserRow,
    VoteRow,
    row_id,
)
from podium.domain.limits import (
    AIRTABLE_ID_MAX,
    EMAIL_MAX,
    FEATURE_FLAGS_MAX,
    JOIN_CODE_MAX,
    NAME_MAX,
    SLUG_MAX,
    USER_FIELD_LIMITS,
)

T = TargetTable
OWNER = UserRow(
    id=row_id(T.USERS, "recOwner"),
    airtable_id="recOwner",
    email="owner@x.io",
    first_name="Olive",
    city="Paris",
    dob=dt.date(2001, 2, 3),
)
VOTER = UserRow(id=row_id(T.USERS, "recVoter"), airtable_id="recVoter", email="voter@x.io")
EVENT = EventRow(
    id=row_id(T.EVENTS, "recEvent"),
    airtable_id="recEvent",
    name="Hack",
    slug="hack",
    join_code="AB-1",
    owner_id=OWNER.id,
    votable=True,
    feature_flags_csv="daydream",
)
PROJECT = ProjectRow(
    id=row_id(T.PROJECTS, "recProject"),
    airtable_id="recProject",
    name="P",
    join_code="PQ",
    owner_id=OWNER.id,
    event_id=EVENT.id,
    legacy_points=4,
    cached_auto_quality={"valid": True, "demo_result": {"quality_percent": 87.5}},
)
VOTE = VoteRow(
    id=row_id(T.VOTES, "recVote"),
    airtable_id="recVote",
    voter_id=VOTER.id,
    project_id=PROJECT.id,
    event_id=EVENT.id,
)
REFERRAL = ReferralRow(
    id=row_id(T.REFERRALS, "recRef"),
    airtable_id="recRef",
    user_id=VOTER.id,
    event_id=EVENT.id,
    content="friend",
)
ATTENDEE = AttendeeLink(row_id(T.EVENT_ATTENDEES, EVENT.id, VOTER.id), EVENT.id, VOTER.id)
COLLABORATOR = CollaboratorLink(row_id(T.PROJECT_COLLABORATORS, PROJECT.id, VOTER.id), PROJECT.id, VOTER.id)


async def fill(store: BackfillStore) -> None:
    await store.save_users([OWNER, VOTER])
    await store.save_events([EVENT])
    await store.add_attendees([ATTENDEE])
    await store.save_projects([PROJECT])
    await store.add_collaborators([COLLABORATOR])
    await store.save_referrals([REFERRAL])
    await store.save_votes([VOTE])


async def test_an_empty_store_holds_nothing(store: BackfillStore) -> None:
    assert await store.load_existing() == ExistingData(
        users=[], events=[], projects=[], referrals=[], votes=[], attendees=[], collaborators=[]
    )
    assert set((await store.count_rows()).values()) == {0}


async def test_reported_issues_are_remembered_once(store: BackfillStore) -> None:
    assert await store.reported_issues() == set()
    skipped = ("events", "recE1", "skipped", "missing_owner")
    conflict = ("users", "recU1", "conflict", "changed_in_v2")
    await store.remember_reported([skipped])
    await store.remember_reported([skipped, conflict])
    assert await store.reported_issues() == {skipped, conflict}


async def test_rows_read_back_exactly_as_written(store: BackfillStore) -> None:
    await fill(store)
    existing = await store.load_existing()
    assert sorted(existing.users, key=lambda u: u.email) == [OWNER, VOTER]
    assert list(existing.events) == [EVENT]
    assert list(existing.projects) == [PROJECT]
    assert list(existing.votes) == [VOTE]
    assert list(existing.referrals) == [REFERRAL]
    assert list(existing.attendees) == [ATTENDEE]
    assert list(existing.collaborators) == [COLLABORATOR]
    assert await store.count_rows() == dict.fromkeys(TargetTable, 1) | {T.USERS: 2}


async def test_saving_a_row_again_updates_it_in_place(store: BackfillStore) -> None:
    await fill(store)
    renamed = dataclasses.replace(OWNER, first_name="Olivia", dob=None, airtable_id="recOwner2")
    await store.save_users([renamed])
    await store.save_projects([dataclasses.replace(PROJECT, cached_auto_quality=None, legacy_points=0)])
    existing = await store.load_existing()
    assert renamed in existing.users
    assert existing.projects[0].cached_auto_quality is None
    assert (await store.count_rows())[T.USERS] == 2


async def test_an_existing_link_pair_is_left_alone(store: BackfillStore) -> None:
    await fill(store)
    await store.add_attendees([dataclasses.replace(ATTENDEE, id=row_id(T.EVENT_ATTENDEES, "other"))])
    await store.add_collaborators([COLLABORATOR])
    existing = await store.load_existing()
    assert list(existing.attendees) == [ATTENDEE]
    assert list(existing.collaborators) == [COLLABORATOR]


@pytest.mark.parametrize(
    "bad_batch",
    [
        pytest.param(
            lambda s: s.save_users(
                [VOTER, dataclasses.replace(OWNER, id=row_id(T.USERS, "x"), airtable_id="x")]
            ),
            id="duplicate-email",
        ),
        pytest.param(
            lambda s: s.save_events(
                [dataclasses.replace(EVENT, id=row_id(T.EVENTS, "x"), airtable_id="x", join_code="NEW")]
            ),
            id="duplicate-slug",
        ),
        pytest.param(
            lambda s: s.save_votes([dataclasses.replace(VOTE, airtable_id="other", id=row_id(T.VOTES, "x"))]),
            id="duplicate-vote-pair",
        ),
        pytest.param(
            lambda s: s.save_votes(
                [
                    dataclasses.replace(
                        VOTE,
                        id=row_id(T.VOTES, "y"),
                        airtable_id="y",
                        voter_id=OWNER.id,
                        event_id=row_id(T.EVENTS, "elsewhere"),
                    )
                ]
            ),
            id="vote-event-not-the-projects",
        ),
        pytest.param(
            lambda s: s.add_attendees(
                [AttendeeLink(row_id(T.EVENT_ATTENDEES, "z"), EVENT.id, row_id(T.USERS, "ghost"))]
            ),
            id="unknown-user",
        ),
    ],
)
async def test_a_batch_that_breaks_a_constraint_is_refused_whole(store: BackfillStore, bad_batch) -> None:  # type: ignore[no-untyped-def]
    await fill(store)
    before = await store.load_existing()
    extra = UserRow(id=row_id(T.USERS, "recExtra"), airtable_id="recExtra", email="extra@x.io")
    with pytest.raises(BackfillWriteError):
        await store.save_users(
            [extra, dataclasses.replace(VOTER, id=row_id(T.USERS, "dup"), airtable_id="dup")]
        )
    with pytest.raises(BackfillWriteError):
        await bad_batch(store)
    assert await store.load_existing() == before


async def test_the_migrated_database_has_the_column_sizes_of_the_limits(engine: AsyncEngine) -> None:
    """podium.domain.limits is the one definition of column sizes; the migrations wrote them as literals
    (history), so the database they build must agree with it."""
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT table_name, column_name, character_maximum_length FROM information_schema.columns "
                "WHERE table_schema = 'public' AND character_maximum_length IS NOT NULL"
            )
        )
        sizes = {(row.table_name, row.column_name): row.character_maximum_length for row in rows}
    expected = {("users", name): size for name, size in USER_FIELD_LIMITS.items()} | {
        ("users", "email"): EMAIL_MAX,
        ("events", "name"): NAME_MAX,
        ("projects", "name"): NAME_MAX,
        ("events", "slug"): SLUG_MAX,
        ("events", "join_code"): JOIN_CODE_MAX,
        ("projects", "join_code"): JOIN_CODE_MAX,
        ("events", "feature_flags_csv"): FEATURE_FLAGS_MAX,
        **{
            (table, "airtable_id"): AIRTABLE_ID_MAX
            for table in ("users", "events", "projects", "referrals", "votes")
        },
    }
    assert {key: sizes.get(key) for key in expected} == expected


@pytest.mark.postgres
async def test_postgres_stores_a_missing_review_as_sql_null(clean_database: AsyncEngine) -> None:
    from podium.adapters.postgres.backfill_store import PostgresBackfillStore

    store = PostgresBackfillStore(clean_database)
    await fill(store)
    await store.save_projects([dataclasses.replace(PROJECT, cached_auto_quality=None)])
    async with clean_database.connect() as connection:
        nulls = await connection.scalar(
            text("SELECT count(*) FROM projects WHERE cached_auto_quality IS NULL")
        )
    assert nulls == 1


async def _versions(engine: AsyncEngine) -> dict[Any, int]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT e.id, coalesce(sum(v.version), 0) FROM events e"
                " LEFT JOIN event_listing_versions v ON v.event_id = e.id GROUP BY e.id"
            )
        )
        return {row[0]: row[1] for row in rows}


@pytest.mark.postgres
async def test_a_rerun_moves_the_version_of_every_event_whose_lists_it_changes(
    clean_database: AsyncEngine,
) -> None:
    """The schema's triggers do it (migration 0004): the store itself carries no cache bookkeeping."""
    from podium.adapters.postgres.backfill_store import PostgresBackfillStore

    store = PostgresBackfillStore(clean_database)
    await fill(store)
    other = dataclasses.replace(
        EVENT, id=row_id(T.EVENTS, "recOther"), airtable_id="recOther", slug="other", join_code="CD-2"
    )
    moving = dataclasses.replace(
        PROJECT, id=row_id(T.PROJECTS, "recMoving"), airtable_id="recMoving", join_code="MV"
    )
    await store.save_events([other])
    await store.save_projects([moving])
    start = await _versions(clean_database)

    await fill(store)  # a re-run with nothing new changes no list
    assert await _versions(clean_database) == start

    await store.save_users([dataclasses.replace(VOTER, display_name="Renamed")])  # a collaborator in EVENT
    renamed = await _versions(clean_database)
    assert renamed[EVENT.id] > start[EVENT.id]
    assert renamed[other.id] == start[other.id]

    await store.save_projects([dataclasses.replace(moving, event_id=other.id)])
    moved = await _versions(clean_database)
    assert moved[EVENT.id] > renamed[EVENT.id]  # it left this event's lists
    assert moved[other.id] > renamed[other.id]  # and joined these
