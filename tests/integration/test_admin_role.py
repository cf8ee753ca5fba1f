"""The admin UI's database access: `podium db create-admin-role NAME` (least privilege, tested by what the
role can and cannot do) and the compose admin profile's init script creating Mathesar's database."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from podium.adapters.postgres.backfill_store import PostgresBackfillStore
from podium.adapters.postgres.database import create_engine
from podium.adapters.postgres.embedded import bin_dir
from podium.cli import main
from podium.config import Settings
from podium.domain.backfill import run_backfill
from podium.testing.record_source import InMemorySource
from podium.testing.synthetic_airtable import SMALL_SCALE, generate
from tests.conftest import PostgresForTests

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).parents[2]


async def _fill(url: str) -> None:
    engine = create_engine(Settings(), url)
    try:
        records = generate(seed=5, scale=SMALL_SCALE).source_records()
        await run_backfill(InMemorySource(records), PostgresBackfillStore(engine))
        async with engine.begin() as connection:
            await connection.execute(
                text("INSERT INTO consumed_magic_links VALUES ('abc', now() + interval '1 hour')")
            )
    finally:
        await engine.dispose()


async def _as_role(url: str, sql: str) -> int:
    engine = create_engine(Settings(), url)
    try:
        async with engine.begin() as connection:
            return (await connection.execute(text(sql))).rowcount
    finally:
        await engine.dispose()


def test_the_admin_role_edits_data_and_cannot_read_credentials(
    pg_server: PostgresForTests, tmp_path: Path
) -> None:
    url = pg_server.create_database("podium_admin_role")
    asyncio.run(_fill(url))
    env = {"PODIUM_DATABASE_URL": url, "PODIUM_DATA_DIR": str(tmp_path), "PODIUM_LOG_LEVEL": "WARNING"}

    made = CliRunner().invoke(
        main, ["db", "create-admin-role", "mathesar_test", "--password", "s3cret'x"], env=env
    )
    assert made.exit_code == 0, made.output
    assert "created" in made.stdout
    again = CliRunner().invoke(
        main, ["db", "create-admin-role", "mathesar_test", "--password", "other"], env=env
    )
    assert "updated" in again.stdout

    as_admin = url.replace("postgresql+asyncpg://postgres@", "postgresql+asyncpg://mathesar_test@")
    assert as_admin != url
    renamed = asyncio.run(
        _as_role(
            as_admin,
            "UPDATE projects SET name = 'Renamed by an admin' WHERE id = (SELECT min(id::text)::uuid FROM projects)",
        )
    )
    assert renamed == 1
    assert asyncio.run(_as_role(as_admin, "SELECT count(*) FROM votes")) == 1
    for table in ("consumed_magic_links", "rate_limit_hits", "backfill_written"):
        with pytest.raises(DBAPIError, match="permission denied"):
            asyncio.run(_as_role(as_admin, f"SELECT * FROM {table}"))
    with pytest.raises(DBAPIError, match="permission denied"):
        asyncio.run(_as_role(as_admin, "DELETE FROM event_listing_versions"))


def test_a_bad_role_name_is_a_usage_error(pg_server: PostgresForTests, tmp_path: Path) -> None:
    url = pg_server.create_database("podium_admin_role_bad")
    env = {"PODIUM_DATABASE_URL": url, "PODIUM_DATA_DIR": str(tmp_path)}
    result = CliRunner().invoke(main, ["db", "create-admin-role", 'x"; DROP', "--password", "p"], env=env)
    assert result.exit_code == 2
    assert "role name" in result.stderr


def test_the_compose_init_script_gives_mathesar_its_own_database_and_role(
    pg_server: PostgresForTests,
) -> None:
    """docker/admin-init.sh: Mathesar's database, owned by a plain login role (never the superuser), on
    every start; tables an earlier version created as the superuser are handed over; no password, no start."""
    server = pg_server.server
    env = {
        **os.environ,
        "PATH": f"{bin_dir()}:{os.environ['PATH']}",
        "PGHOST": str(server.socket_dir),
        "PGUSER": "postgres",
        "PGDATABASE": "postgres",
        "MATHESAR_DB": "mathesar_django_test",
        "MATHESAR_DB_USER": "mathesar_django_test",
    }

    def sql(query: str, database: str = "postgres", user: str = "postgres") -> str:
        command = [
            str(bin_dir() / "psql"),
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-tAc",
            query,
            "-d",
            database,
            "-U",
            user,
        ]
        return subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout.strip()

    def init(password: str) -> subprocess.CompletedProcess[str]:
        command = ["sh", str(ROOT / "docker" / "admin-init.sh")]
        return subprocess.run(
            command,
            env={**env, "MATHESAR_DB_PASSWORD": password},
            capture_output=True,
            text=True,
            check=False,
        )

    server.drop_database("mathesar_django_test")
    sql("DROP ROLE IF EXISTS mathesar_django_test")
    refused = init("")
    assert refused.returncode != 0
    assert "MATHESAR_DB_PASSWORD" in refused.stderr
    # What an earlier version left: the database and Django's tables, made as the superuser.
    server.create_database("mathesar_django_test")
    sql("CREATE TABLE django_migrations (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, app text);"
        "CREATE SEQUENCE free_counter; CREATE VIEW apps AS SELECT app FROM django_migrations;"
        "CREATE SCHEMA extra; CREATE TABLE extra.kept (id serial PRIMARY KEY)", "mathesar_django_test")  # fmt: skip
    for password in ("first'pw", "second pw"):  # every start: the same database, the password set anew
        done = init(password)
        assert done.returncode == 0, done.stderr
        assert "mathesar_django_test is ready, owned by mathesar_django_test" in done.stdout
    db = role = "mathesar_django_test"
    attributes = sql(
        "SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls,"
        f" rolpassword IS NOT NULL FROM pg_authid WHERE rolname = '{role}'"
    )
    assert attributes == "t|f|f|f|f|f|t"
    assert sql(f"SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '{db}'") == role
    owned = "SELECT DISTINCT pg_get_userbyid(c.relowner) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    assert sql(f"{owned} WHERE n.nspname IN ('public', 'extra')", db) == role
    assert sql("SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'extra'", db) == role
    # The role runs Django's migrations in its database: it creates, writes and reads there; nothing more.
    writes = "CREATE TABLE auth_user (id serial); INSERT INTO django_migrations (app) VALUES ('x'); SELECT count(*) FROM apps"
    assert sql(writes, db, role) == "1"
    with pytest.raises(subprocess.CalledProcessError):
        sql("CREATE DATABASE not_mathesars", db, role)
    server.drop_database("mathesar_django_test")
    sql("DROP ROLE mathesar_django_test")
