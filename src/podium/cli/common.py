"""What every command shares: settings with a readable error, the database to work on, and database
failures told in one line."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import click

from podium.config import Settings, SettingsError

EMBEDDED_DATABASE = "podium"
# Another run holds the database's bulk-write lock; nothing was done (sysexits' EX_TEMPFAIL: try later).
BUSY = 75


def load_settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc


def direct_setting(settings: Settings) -> str:
    """The name of the setting the commands connect with (they need a session: never a pooler's)."""
    if settings.database_direct_url:
        return "PODIUM_DATABASE_DIRECT_URL"
    return "PODIUM_DATABASE_URL" if settings.database_url else "the embedded server"


@contextmanager
def database(settings: Settings, *, migrate: bool, check_schema: bool = True) -> Iterator[str]:
    """Yield a database URL: ``PODIUM_DATABASE_DIRECT_URL`` (default ``PODIUM_DATABASE_URL``), or an
    embedded server started (and stopped) here. A failure to reach it ends the command with one line.

    The embedded default is migrated to head on every start, so ``podium serve`` is one command. An
    external database is not: with ``migrate``, a schema that is missing or behind stops the command
    (the operator runs ``podium db upgrade``), unless ``check_schema`` is off.
    """
    url = settings.direct_database_url
    if url:
        with told_in_one_line(url, direct_setting(settings)):
            if migrate and check_schema:
                schema_is_current(settings, url)
            yield url
        return
    from podium.adapters.postgres.database import upgrade
    from podium.adapters.postgres.embedded import EmbeddedPostgres

    server = EmbeddedPostgres(settings.data_dir / "postgres")
    click.echo(f"Starting the embedded PostgreSQL server (data in {server.data_dir})", err=True)
    server.start()
    try:
        server.create_database(EMBEDDED_DATABASE)
        url = server.url(EMBEDDED_DATABASE)
        with told_in_one_line(url, "the embedded server"):
            if migrate:
                upgrade(url)
            yield url
    finally:
        server.stop()


@contextmanager
def told_in_one_line(url: str, setting: str) -> Iterator[None]:
    """Within this block, a failure to reach or use the database at ``url`` ends the command with one
    line naming ``setting`` (never the password), instead of a traceback."""
    try:
        yield
    except click.ClickException:
        raise
    except Exception as exc:
        from podium.adapters.postgres.failures import describe
        from podium.adapters.postgres.urls import parse_database_url

        line = describe(exc, parse_database_url(url, setting))
        if line is None:
            raise
        raise click.ClickException(line) from exc


def reachable(settings: Settings, url: str) -> None:
    """Connect once (a failure propagates, for :func:`told_in_one_line` to describe)."""
    from sqlalchemy import text

    from podium.adapters.postgres.database import create_engine

    async def ping() -> None:
        engine = create_engine(settings, url)
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        finally:
            await engine.dispose()

    asyncio.run(ping())


def schema_is_current(settings: Settings, url: str) -> None:
    """Stop with a one-line message when the database's schema is not the one this code needs."""
    from podium.adapters.postgres.database import create_engine
    from podium.adapters.postgres.failures import schema_state

    async def state() -> str:
        engine = create_engine(settings, url)
        try:
            return (await schema_state(engine)).problem()
        finally:
            await engine.dispose()

    problem = asyncio.run(state())
    if problem:
        raise click.ClickException(f"{direct_setting(settings)}: {problem}")


@contextmanager
def one_run_at_a_time() -> Iterator[None]:
    """Turn a refusal of the bulk-write lock (another run holds it) into one line and exit :data:`BUSY`."""
    from podium.adapters.postgres.run_lock import RunInProgress

    try:
        yield
    except RunInProgress as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(BUSY)


@asynccontextmanager
async def exclusive_unless_dry(
    settings: Settings, url: str, command: str, *, dry_run: bool
) -> AsyncIterator[None]:
    """A real run holds the database's bulk-write lock throughout; a dry run (it writes nothing) takes
    none, and says when a run holds it, since that run changes what the dry run sees."""
    from podium.adapters.postgres.run_lock import bulk_write_lock, running_run

    if not dry_run:
        async with bulk_write_lock(settings, url, command):
            yield
        return
    holder = await running_run(settings, url)
    if holder is not None:
        click.echo(
            f"Note: {holder.describe()} is writing to this database; this dry run's numbers may change "
            "while it does.",
            err=True,
        )
    yield
