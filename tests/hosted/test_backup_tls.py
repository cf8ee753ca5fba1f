"""Issue 23 (and 22.10): backups and restores with the provider's URL over TLS, the password never on a
command line; a pg_dump without TLS says what to install."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from podium.adapters.postgres.backup import checksums
from podium.adapters.postgres.database import create_engine
from podium.cli import main
from tests.hosted.conftest import PASSWORD, USER, Hosted, settings_for

DEBIAN_BIN = Path("/usr/lib/postgresql/15/bin")
# Records each call's arguments and whether the password came in the environment, then runs the tool.
RECORDER = """#!/bin/sh
printf '%s\\n' "$*" >> "{log}"
if [ -n "$PGPASSWORD" ]; then echo "PGPASSWORD set" >> "{log}"; fi
exec "{real}" "$@"
"""


async def _checksums(url: str) -> dict[str, tuple[int, str]]:
    engine = create_engine(settings_for(url), url)
    try:
        return await checksums(engine)
    finally:
        await engine.dispose()


@pytest.fixture
def recorded_bin(tmp_path: Path) -> tuple[Path, Path]:
    folder, log = tmp_path / "bin", tmp_path / "calls.log"
    folder.mkdir()
    for tool in ("pg_dump", "pg_restore"):
        script = folder / tool
        script.write_text(RECORDER.format(log=log, real=DEBIAN_BIN / tool))
        script.chmod(0o755)
    return folder, log


def test_a_backup_and_restore_over_verify_full_keep_the_password_off_the_command_line(
    hosted: Hosted, tmp_path: Path, recorded_bin: tuple[Path, Path]
) -> None:
    folder, log = recorded_bin
    source = hosted.verified()
    hosted.cluster.psql("postgres", f"CREATE DATABASE podium_restored OWNER {USER}")
    target = hosted.url(
        database="podium_restored", query=f"sslmode=verify-full&sslrootcert={hosted.certificates.ca}"
    )
    dump = tmp_path / "podium.dump"
    env = {"PODIUM_PG_BIN": str(folder), "PGPASSWORD": "", "PODIUM_DATA_DIR": str(tmp_path)}

    backed_up = CliRunner().invoke(
        main, ["db", "backup", str(dump)], env={**env, "PODIUM_DATABASE_URL": source}
    )
    assert backed_up.exit_code == 0, backed_up.output
    restored = CliRunner().invoke(
        main, ["db", "restore", str(dump)], env={**env, "PODIUM_DATABASE_URL": target}
    )
    assert restored.exit_code == 0, restored.output

    calls = log.read_text().splitlines()
    assert len([line for line in calls if line == "PGPASSWORD set"]) == 2
    assert all(PASSWORD not in line for line in calls)
    assert any("sslmode=verify-full" in line for line in calls)
    sums = [asyncio.run(_checksums(url)) for url in (source, target)]
    assert sums[0] == sums[1]
    assert "alembic_version" not in sums[0]  # the data tables (the schema came with the dump)
    assert sums[1]


def test_a_pg_dump_without_tls_says_what_to_install(hosted: Hosted, tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if k != "PODIUM_PG_BIN"}
    url = hosted.url(query="sslmode=require")
    result = CliRunner().invoke(
        main,
        ["db", "backup", str(tmp_path / "x.dump")],
        env={**environment, "PODIUM_DATABASE_URL": url, "PODIUM_PG_BIN": ""},
    )
    assert result.exit_code == 1
    line = result.output.strip()
    assert "\n" not in line
    assert "has no TLS support, and sslmode=require needs it" in line
    assert "apt-get install postgresql-client" in line
    assert "PODIUM_PG_BIN" in line
    assert not (tmp_path / "x.dump").exists()
