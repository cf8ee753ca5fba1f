"""Issue 12.8: `podium db current` says where the database is, also when it was never migrated."""

from __future__ import annotations

import os
import subprocess
import sys

from podium.adapters.postgres.database import upgrade
from tests.conftest import PostgresForTests


def db_current(url: str) -> str:
    """What `podium db current` prints on stdout (a real process: the CLI rewires logging)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    result = subprocess.run(
        [sys.executable, "-m", "podium", "db", "current"],
        env={**env, "PODIUM_DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_db_current_on_a_fresh_database_says_it_is_not_migrated(pg_server: PostgresForTests) -> None:
    url = pg_server.create_database(migrate=False)
    assert db_current(url) == "(no revision: the database is not migrated; run `uv run podium db upgrade`)"


def test_db_current_after_upgrade_names_the_head_revision(pg_server: PostgresForTests) -> None:
    url = pg_server.create_database(migrate=False)
    upgrade(url)
    assert db_current(url).endswith("(head)")
