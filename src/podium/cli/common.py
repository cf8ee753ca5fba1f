"""What every command shares: settings with a readable error, and the database to work on."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click

from podium.config import Settings, SettingsError

EMBEDDED_DATABASE = "podium"


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
