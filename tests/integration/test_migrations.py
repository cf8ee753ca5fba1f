"""The schema comes only from migrations: they round-trip, and the models never drift from them."""

from __future__ import annotations

import asyncio

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from podium.adapters.postgres.database import downgrade, upgrade
from podium.adapters.postgres.models import Base
from tests.conftest import PostgresForTests

LEGACY_TABLES = {
    "users",
    "events",
    "projects",
    "votes",
    "referrals",
    "event_attendees",
    "project_collaborators",
}


async def _differences(url: str) -> list[object]:
    engine = create_async_engine(url)
    async with engine.connect() as connection:
        diff = await connection.run_sync(
            lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"compare_type": True, "compare_server_default": True}),
                Base.metadata,
            )
        )
    await engine.dispose()
    return list(diff)


async def _tables(url: str) -> set[str]:
    engine = create_async_engine(url)
    async with engine.connect() as connection:
        names = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    await engine.dispose()
    return names - {"alembic_version"}


@pytest.fixture
def fresh_url(pg_server: PostgresForTests) -> str:
    return pg_server.create_database(migrate=False)


async def test_upgrade_downgrade_upgrade_round_trips(fresh_url: str) -> None:
    await asyncio.to_thread(upgrade, fresh_url)
    assert await _tables(fresh_url) >= LEGACY_TABLES

    await asyncio.to_thread(downgrade, fresh_url, "base")
    assert await _tables(fresh_url) == set()

    await asyncio.to_thread(upgrade, fresh_url)
    assert await _tables(fresh_url) == {table.name for table in Base.metadata.sorted_tables}


async def test_models_and_migrations_do_not_drift(fresh_url: str) -> None:
    await asyncio.to_thread(upgrade, fresh_url)
    assert await _differences(fresh_url) == []


async def test_legacy_constraint_names_are_kept(database_url: str) -> None:
    engine = create_async_engine(database_url)
    async with engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT conname FROM pg_constraint WHERE conrelid::regclass::text = ANY(:tables)"),
            {"tables": sorted(LEGACY_TABLES)},
        )
        names = {row[0] for row in rows}
    await engine.dispose()
    assert {
        "votes_voter_id_project_id_key",
        "events_join_code_key",
        "projects_join_code_key",
        "event_attendees_event_id_user_id_key",
        "project_collaborators_project_id_user_id_key",
    } <= names


async def test_migration_0008_maps_the_legacy_flags_to_phases(fresh_url: str) -> None:
    """votable → voting (whatever the leaderboard), leaderboard only → closed, else submission."""
    await asyncio.to_thread(upgrade, fresh_url, "0007")
    engine = create_async_engine(fresh_url)
    flags = {"vl": (True, True), "v": (True, False), "l": (False, True), "none": (False, False)}
    async with engine.begin() as connection:
        owner = await connection.scalar(
            text("INSERT INTO users (id, email, display_name, first_name, last_name, phone, street_1, street_2,"
                 " city, state, zip_code, country) VALUES (gen_random_uuid(), 'o@example.com', 'O', 'O', '', '',"
                 " '', '', '', '', '', '') RETURNING id")
        )  # fmt: skip
        for slug, (votable, leaderboard) in flags.items():
            await connection.execute(
                text("INSERT INTO events (id, name, slug, description, join_code, votable, leaderboard_enabled,"
                     " demo_links_optional, ysws_checks_enabled, feature_flags_csv, owner_id) VALUES"
                     " (gen_random_uuid(), :slug, :slug, '', :slug, :v, :l, false, false, '', :owner)"),
                {"slug": slug, "v": votable, "l": leaderboard, "owner": owner},
            )  # fmt: skip
    await engine.dispose()

    await asyncio.to_thread(upgrade, fresh_url)
    engine = create_async_engine(fresh_url)
    async with engine.connect() as connection:
        rows = await connection.execute(text("SELECT slug, phase, votable, leaderboard_enabled FROM events"))
        phases = {row.slug: (row.phase, row.votable, row.leaderboard_enabled) for row in rows}
        superadmins = await connection.scalar(text("SELECT count(*) FROM users WHERE is_superadmin"))
    await engine.dispose()
    assert phases == {
        "vl": ("voting", True, True),
        "v": ("voting", True, False),
        "l": ("closed", False, True),
        "none": ("submission", False, False),
    }
    assert superadmins == 0


async def _function(url: str, signature: str) -> tuple[object, ...] | None:
    """The function's whole definition as PostgreSQL keeps it (body, volatility, security, search path),
    its rights and its owner; None when there is no such function."""
    engine = create_async_engine(url)
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text("SELECT pg_get_functiondef(p.oid), p.proacl::text[], pg_get_userbyid(p.proowner)"
                     " FROM pg_proc p WHERE p.oid = to_regprocedure(:signature)"),
                {"signature": signature},
            )
        ).first()  # fmt: skip
    await engine.dispose()
    return None if row is None else tuple(row)


async def test_migration_0016_drops_the_old_ballot_function_and_its_downgrade_restores_it(
    fresh_url: str,
) -> None:
    """``podium_cast_ballot`` (0012) is gone at the head, and back as 0012 made it below 0016."""
    signature = "public.podium_cast_ballot(uuid, uuid, uuid[], uuid[])"
    await asyncio.to_thread(upgrade, fresh_url, "0015")
    made = await _function(fresh_url, signature)
    assert made is not None
    await asyncio.to_thread(upgrade, fresh_url)
    assert await _function(fresh_url, signature) is None
    await asyncio.to_thread(downgrade, fresh_url, "0015")
    assert await _function(fresh_url, signature) == made


async def test_migration_0017_adds_the_ballot_function_that_counts_as_far_as_the_terms_say(
    fresh_url: str,
) -> None:
    """At the head the ballot function that counts projects as far as the terms say is callable with 0013's
    rights and owner, and 0013's stays as it was for the instances of the release before during a rolling
    restart; below 0017 only 0013's is left."""
    old = "public.podium_cast_ballot_on_terms(uuid, uuid, uuid[], uuid[], integer[])"
    new = "public.podium_cast_ballot_on_terms(uuid, uuid, uuid[], uuid[], integer[], integer)"
    await asyncio.to_thread(upgrade, fresh_url, "0016")
    made = await _function(fresh_url, old)
    assert made is not None
    assert await _function(fresh_url, new) is None
    await asyncio.to_thread(upgrade, fresh_url)
    assert await _function(fresh_url, old) == made
    head = await _function(fresh_url, new)
    assert head is not None
    assert head[1:] == made[1:]  # the same rights and owner
    await asyncio.to_thread(downgrade, fresh_url, "0016")
    assert await _function(fresh_url, new) is None
    assert await _function(fresh_url, old) == made


async def test_migration_0018_marks_attendees_and_referrals_by_row_and_its_downgrade_restores_0015s(
    fresh_url: str,
) -> None:
    """0018 changes only the bodies of the attendee, referral and user marking functions (owner and rights
    kept); its downgrade gives back 0015's definitions exactly."""
    marking = [
        f"public.podium_{table}_{action}_marks()"
        for table, actions in (
            ("event_attendees", ("insert", "update", "delete")),
            ("referrals", ("insert", "update", "delete")),
            ("users", ("update",)),
        )
        for action in actions
    ]
    await asyncio.to_thread(upgrade, fresh_url, "0017")
    before = [await _function(fresh_url, signature) for signature in marking]
    await asyncio.to_thread(upgrade, fresh_url)
    after = [await _function(fresh_url, signature) for signature in marking]
    for old, new in zip(before, after, strict=True):
        assert old is not None
        assert new is not None
        assert new[1:] == old[1:]  # rights and owner
        assert new[0] != old[0]
        assert "00000000-0000-0000-0000-00000000000" not in str(new[0])  # no whole-list subject left
    await asyncio.to_thread(downgrade, fresh_url, "0017")
    assert [await _function(fresh_url, signature) for signature in marking] == before
