"""Issue 15: superadmins are made and unmade from the command line, ``podium admin grant|revoke EMAIL``."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import PostgresForTests


def admin(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    return subprocess.run(
        [sys.executable, "-m", "podium", "admin", *args],
        env={**env, "PODIUM_DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def _sql(url: str, statement: str) -> object:
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        result = await connection.execute(text(statement))
        value = result.scalar() if result.returns_rows else None
    await engine.dispose()
    return value


def test_grant_and_revoke(pg_server: PostgresForTests) -> None:
    url = pg_server.create_database()
    asyncio.run(
        _sql(
            url,
            "INSERT INTO users (id, email, display_name, first_name, last_name, phone, street_1, street_2, city,"
            " state, zip_code, country) VALUES (gen_random_uuid(), 'ada@example.com', 'Ada', 'Ada', '', '', '',"
            " '', '', '', '', '')",
        )
    )
    flag = "SELECT is_superadmin FROM users WHERE email = 'ada@example.com'"

    granted = admin(url, "grant", " Ada@Example.com ")
    assert granted.returncode == 0, granted.stderr
    assert "ada@example.com is now a superadmin" in granted.stdout
    assert asyncio.run(_sql(url, flag)) is True

    revoked = admin(url, "revoke", "ada@example.com")
    assert revoked.returncode == 0, revoked.stderr
    assert asyncio.run(_sql(url, flag)) is False

    unknown = admin(url, "grant", "nobody@example.com")
    assert unknown.returncode == 1
    assert "No user with the email 'nobody@example.com': they must sign up first" in unknown.stderr
