"""Least privilege in the database (issue 22, PRODUCT §7): the admin UI's role made by
`podium db create-admin-role` edits data and nothing else — it cannot borrow the rights of the functions
that run as their owner, cannot call them, and cannot make anyone an app superadmin."""

from __future__ import annotations

import asyncio

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from podium.adapters.postgres.admin_role import DATA_TABLES, PRIVILEGE_COLUMNS
from podium.adapters.postgres.database import create_engine
from podium.adapters.postgres.models import UserModel
from podium.cli import main
from podium.config import Settings
from tests.conftest import PostgresForTests

pytestmark = pytest.mark.postgres
ROLE = "podium_lp_admin"
_ADMIN_COLUMNS = ", ".join(
    column.name for column in UserModel.__table__.columns if column.name not in PRIVILEGE_COLUMNS["users"]
)


@pytest.fixture(scope="module")
def admin_urls(pg_server: PostgresForTests, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """(the owner's URL, the admin role's URL) of one migrated database."""
    url = pg_server.create_database("podium_least_privilege")
    env = {
        "PODIUM_DATABASE_URL": url,
        "PODIUM_DATA_DIR": str(tmp_path_factory.mktemp("lp")),
        "PODIUM_LOG_LEVEL": "WARNING",
        # From the environment, not the command line (where every user of the machine could read it).
        "PODIUM_ADMIN_ROLE_PASSWORD": "pw",
    }
    made = CliRunner().invoke(main, ["db", "create-admin-role", ROLE], env=env)
    assert made.exit_code == 0, made.output
    as_admin = url.replace("postgresql+asyncpg://postgres@", f"postgresql+asyncpg://{ROLE}@")
    assert as_admin != url
    return url, as_admin


async def _run(url: str, *statements: str) -> list[list[tuple[object, ...]]]:
    """Run ``statements`` in one transaction of one session; the rows each returned."""
    engine = create_engine(Settings(), url)
    try:
        async with engine.begin() as connection:
            results = []
            for statement in statements:
                result = await connection.execute(text(statement))
                results.append([tuple(row) for row in result.fetchall()] if result.returns_rows else [])
            return results
    finally:
        await engine.dispose()


def _is_superuser(owner_url: str) -> bool:
    rows = asyncio.run(_run(owner_url, f"SELECT rolsuper FROM pg_roles WHERE rolname = '{ROLE}'"))
    return bool(rows[0][0][0])


def test_the_admin_role_cannot_make_itself_a_superuser_through_temp_tables(
    admin_urls: tuple[str, str],
) -> None:
    """The escalation of issue 22 item 1, exactly: temp tables named like the ones the SECURITY DEFINER
    listing functions write, a trigger on one that runs ALTER ROLE … SUPERUSER, then any write that fires
    the listing triggers."""
    owner_url, as_admin = admin_urls
    assert not _is_superuser(owner_url)
    # Ignoring the temp tables (the fix) lets every statement through, harmlessly.
    asyncio.run(
        _run(
            as_admin,
            "CREATE TEMP TABLE event_listing_versions"
            " (event_id uuid, slot smallint, version bigint, PRIMARY KEY (event_id, slot))",
            "CREATE TEMP TABLE events (id uuid)",
            "INSERT INTO pg_temp.events VALUES (gen_random_uuid())",
            f"""CREATE FUNCTION pg_temp.escalate() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN ALTER ROLE {ROLE} SUPERUSER; RETURN NULL; END $$""",
            "CREATE TRIGGER escalate AFTER INSERT ON pg_temp.event_listing_versions"
            " FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.escalate()",
            "DELETE FROM public.votes WHERE false",
        )
    )
    escalated = _is_superuser(owner_url)
    if escalated:
        asyncio.run(_run(owner_url, f"ALTER ROLE {ROLE} NOSUPERUSER"))
    assert not escalated


def test_every_security_definer_function_pins_its_search_path_and_is_not_executable_by_others(
    admin_urls: tuple[str, str],
) -> None:
    owner_url, _ = admin_urls
    [rows] = asyncio.run(
        _run(
            owner_url,
            f"""SELECT p.oid::regprocedure::text, p.proconfig,
                       EXISTS (SELECT 1 FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                               WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE'),
                       has_function_privilege('{ROLE}', p.oid, 'EXECUTE')
                FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE p.prosecdef AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                ORDER BY 1""",
        )
    )
    names = {row[0] for row in rows}
    # The walk finds the listing functions (so it cannot pass on an empty schema).
    assert {"podium_bump_listings(uuid[])", "podium_bump_listings_quietly(uuid[])"} <= names
    assert len(rows) >= 10
    for name, config, public_executes, admin_executes in rows:
        assert config is not None, name
        paths = [entry for entry in config if entry.startswith("search_path=")]
        assert len(paths) == 1, name
        schemas = [schema.strip().strip('"') for schema in paths[0].removeprefix("search_path=").split(",")]
        assert schemas[-1] == "pg_temp", (name, schemas)
        assert not public_executes, name
        assert not admin_executes, name


@pytest.mark.parametrize("function", ["podium_bump_listings", "podium_bump_listings_quietly"])
def test_the_admin_role_cannot_call_the_listing_functions(admin_urls: tuple[str, str], function: str) -> None:
    _, as_admin = admin_urls
    with pytest.raises(DBAPIError, match="permission denied"):
        asyncio.run(_run(as_admin, f"SELECT {function}(ARRAY[gen_random_uuid()])"))


def test_the_admin_role_edits_users_but_never_grants_superadmin(admin_urls: tuple[str, str]) -> None:
    owner_url, as_admin = admin_urls
    asyncio.run(
        _run(
            owner_url,
            "INSERT INTO users (id, email, first_name, display_name, last_name, phone, street_1, street_2, city, state, zip_code, country) VALUES (gen_random_uuid(), 'lp@example.com', 'Lp', '', '', '', '', '', '', '', '', '')",
        )
    )
    renamed = asyncio.run(
        _run(
            as_admin,
            "UPDATE users SET first_name = 'Renamed' WHERE email = 'lp@example.com' RETURNING is_superadmin",
        )
    )
    assert renamed == [[(False,)]]  # it reads the column
    for statement in (
        "UPDATE users SET is_superadmin = true WHERE email = 'lp@example.com'",
        "INSERT INTO users (id, email, first_name, is_superadmin) VALUES (gen_random_uuid(), 'lp2@example.com', 'Lp', true)",
    ):
        with pytest.raises(DBAPIError, match="permission denied"):
            asyncio.run(_run(as_admin, statement))
    made = asyncio.run(
        _run(
            as_admin,
            "INSERT INTO users (id, email, first_name, display_name, last_name, phone, street_1, street_2, city, state, zip_code, country) VALUES (gen_random_uuid(), 'lp3@example.com', 'Lp', '', '', '', '', '', '', '', '', '') RETURNING is_superadmin",
        )
    )
    assert made == [[(False,)]]
    asyncio.run(_run(as_admin, "DELETE FROM users WHERE email = 'lp3@example.com'"))


def test_a_table_wide_grant_still_cannot_grant_superadmin(admin_urls: tuple[str, str]) -> None:
    """A role granted the whole table (as create-admin-role did before issue 22) meets the trigger."""
    owner_url, as_admin = admin_urls
    asyncio.run(_run(owner_url, f"GRANT INSERT, UPDATE ON users TO {ROLE}"))
    try:
        asyncio.run(
            _run(
                owner_url,
                "INSERT INTO users (id, email, first_name, display_name, last_name, phone, street_1, street_2, city, state, zip_code, country) VALUES (gen_random_uuid(), 'lp4@example.com', 'Lp', '', '', '', '', '', '', '', '', '') ON CONFLICT DO NOTHING",
            )
        )
        for statement in (
            "UPDATE users SET is_superadmin = true WHERE email = 'lp4@example.com'",
            "INSERT INTO users (id, email, first_name, is_superadmin) VALUES (gen_random_uuid(), 'lp5@example.com', 'Lp', true)",
        ):
            with pytest.raises(DBAPIError, match="only the application grants or revokes superadmin"):
                asyncio.run(_run(as_admin, statement))
        # The owner (`podium admin grant`) still may.
        asyncio.run(_run(owner_url, "UPDATE users SET is_superadmin = true WHERE email = 'lp4@example.com'"))
    finally:
        asyncio.run(_run(owner_url, f"REVOKE INSERT, UPDATE ON users FROM {ROLE}"))
        asyncio.run(
            _run(owner_url, f"GRANT INSERT ({_ADMIN_COLUMNS}), UPDATE ({_ADMIN_COLUMNS}) ON users TO {ROLE}")
        )


def test_the_admin_role_reaches_no_bookkeeping_and_calls_no_function(admin_urls: tuple[str, str]) -> None:
    owner_url, as_admin = admin_urls
    for table in (
        "consumed_magic_links",
        "rate_limit_hits",
        "backfill_written",
        "airtable_pending_creates",
        "alembic_version",
    ):
        with pytest.raises(DBAPIError, match="permission denied"):
            asyncio.run(_run(as_admin, f"SELECT * FROM {table}"))
    for table in DATA_TABLES:
        asyncio.run(_run(as_admin, f"SELECT * FROM {table} LIMIT 1"))
    [rows] = asyncio.run(
        _run(
            owner_url,
            f"""SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname = 'public' AND has_function_privilege('{ROLE}', p.oid, 'EXECUTE')""",
        )
    )
    assert rows == []


def test_the_admin_role_edits_events_but_never_their_series(admin_urls: tuple[str, str]) -> None:
    """Only superadmins put an event into an official series (issue 22 item 3), in the admin UI too."""
    owner_url, as_admin = admin_urls
    asyncio.run(
        _run(
            owner_url,
            "INSERT INTO users (id, email, first_name, display_name, last_name, phone, street_1, street_2,"
            " city, state, zip_code, country) VALUES (gen_random_uuid(), 'org@example.com', 'O', '', '', '',"
            " '', '', '', '', '', '')",
            "INSERT INTO events (id, name, slug, description, join_code, votable, leaderboard_enabled,"
            " demo_links_optional, ysws_checks_enabled, owner_id) SELECT gen_random_uuid(), 'Jam', 'jam-lp',"
            " '', 'JAMLP1', false, false, false, false, id FROM users WHERE email = 'org@example.com'",
        )
    )
    renamed = asyncio.run(
        _run(as_admin, "UPDATE events SET name = 'Jam 2' WHERE slug = 'jam-lp' RETURNING feature_flags_csv")
    )
    assert renamed == [[("",)]]
    with pytest.raises(DBAPIError, match="permission denied"):
        asyncio.run(_run(as_admin, "UPDATE events SET feature_flags_csv = 'fall-2026' WHERE slug = 'jam-lp'"))
