"""``podium db upgrade|downgrade|current``: schema migrations (alembic)."""

from __future__ import annotations

from contextlib import AbstractContextManager

import click

from podium.cli.common import database, load_settings
from podium.logging import configure_logging


def _database_url_for_migrations() -> AbstractContextManager[str]:
    settings = load_settings()
    configure_logging(settings.log_level, "console")
    return database(settings, migrate=False)


@click.group()
def db() -> None:
    """Schema migrations (alembic)."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Migrate the schema up to REVISION (default: head)."""
    from podium.adapters.postgres.database import upgrade

    with _database_url_for_migrations() as url:
        upgrade(url, revision)


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Migrate the schema down to REVISION (``base`` removes every table)."""
    from podium.adapters.postgres.database import downgrade

    with _database_url_for_migrations() as url:
        downgrade(url, revision)


@db.command("current")
def db_current() -> None:
    """Show the schema revision the database is at."""
    from podium.adapters.postgres.database import current

    with _database_url_for_migrations() as url:
        click.echo(current(url))
