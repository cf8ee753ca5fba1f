"""``podium db upgrade|downgrade|current|backup|restore``: schema migrations (alembic) and backups."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

import click

from podium.cli.common import database, direct_setting, load_settings, reachable
from podium.cli.output import refuse_if_committable
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


@db.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def db_backup(file: Path) -> None:
    """Back the whole database up into FILE (PostgreSQL's custom format, for `podium db restore`)."""
    from podium.adapters.postgres.backup import BackupError, backup

    settings = load_settings()
    refuse_if_committable(
        file, "The backup", "Choose a file outside the repository or under PODIUM_DATA_DIR."
    )
    with database(settings, migrate=False) as url:
        reachable(settings, url)  # a connection failure in the same words as every other command's
        try:
            backup(url, file, setting=direct_setting(settings))
        except BackupError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"Backed up to {file} ({file.stat().st_size} bytes)")


@db.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--force", is_flag=True, help="Replace a database that holds rows (its tables are dropped first)."
)
def db_restore(file: Path, force: bool) -> None:
    """Restore a `podium db backup` FILE. Refuses a database holding rows unless --force."""
    import asyncio

    from podium.adapters.postgres.backup import BackupError, restore, rows_held
    from podium.adapters.postgres.database import create_engine

    settings = load_settings()
    with database(settings, migrate=False) as url:

        async def held() -> dict[str, int]:
            engine = create_engine(settings, url)
            try:
                return await rows_held(engine)
            finally:
                await engine.dispose()

        counts = asyncio.run(held())
        busy = {table: count for table, count in counts.items() if count}
        if busy and not force:
            listed = ", ".join(f"{count} {table}" for table, count in sorted(busy.items()))
            raise click.UsageError(
                f"The database is not empty ({listed}); add --force to replace it with {file}."
            )
        try:
            restore(url, file, replace=bool(counts), setting=direct_setting(settings))
        except BackupError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"Restored {file}")


@db.command("create-admin-role")
@click.argument("name")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    envvar="PODIUM_ADMIN_ROLE_PASSWORD",
    help="The role's password: asked for, or read from PODIUM_ADMIN_ROLE_PASSWORD in scripts (given as "
    "an option it is visible to every user of the machine in the process list).",
)
def db_create_admin_role(name: str, password: str) -> None:
    """Create a least-privilege role NAME for the admin UI and operators (run again after migrations).

    It reads and writes users, events, projects, votes, referrals, attendees and collaborators, but never
    users.is_superadmin nor events.feature_flags_csv; it cannot read consumed magic links, rate-limit
    counters or the migration and backfill bookkeeping, nor call any function (docs/cutover.md).
    """
    import asyncio

    from podium.adapters.postgres.admin_role import AdminRoleError, create_admin_role
    from podium.adapters.postgres.database import create_engine

    settings = load_settings()
    with database(settings, migrate=True) as url:

        async def go() -> bool:
            engine = create_engine(settings, url)
            try:
                return await create_admin_role(engine, name, password)
            finally:
                await engine.dispose()

        try:
            created = asyncio.run(go())
        except AdminRoleError as exc:
            raise click.UsageError(str(exc)) from exc
    click.echo(f"Role {name} {'created' if created else 'updated'}: read/write on the data tables only.")
