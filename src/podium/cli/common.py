"""What every command shares: settings with a readable error, and the database to work on."""

from __future__ import annotations

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


@contextmanager
def database(settings: Settings, *, migrate: bool) -> Iterator[str]:
    """Yield a database URL: ``PODIUM_DATABASE_URL``, or an embedded server started (and stopped) here.

    The embedded default is migrated to head on every start, so ``podium serve`` is one command.
    """
    if settings.database_url:
        yield settings.database_url
        return
    from podium.adapters.postgres.database import upgrade
    from podium.adapters.postgres.embedded import EmbeddedPostgres

    server = EmbeddedPostgres(settings.data_dir / "postgres")
    click.echo(f"Starting the embedded PostgreSQL server (data in {server.data_dir})", err=True)
    server.start()
    try:
        server.create_database(EMBEDDED_DATABASE)
        url = server.url(EMBEDDED_DATABASE)
        if migrate:
            upgrade(url)
        yield url
    finally:
        server.stop()


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
