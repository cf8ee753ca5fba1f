"""``podium db upgrade|downgrade|current|backup|restore``: schema migrations (alembic) and backups."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import click

from podium.cli.common import database, direct_setting, load_settings, one_run_at_a_time, reachable
from podium.cli.output import refuse_if_committable
from podium.logging import configure_logging


def _migrate(command: str, migrate: Callable[[str, str], None], revision: str) -> None:
    """Run an alembic migration holding the bulk-write lock (never beside a backfill or a restore)."""
    from podium.adapters.postgres.run_lock import bulk_write_lock

    settings = load_settings()
    configure_logging(settings.log_level, "console")
    with one_run_at_a_time(), database(settings, migrate=False) as url:

        async def locked() -> None:
            async with bulk_write_lock(settings, url, command):
                await asyncio.to_thread(migrate, url, revision)

        asyncio.run(locked())


@click.group()
def db() -> None:
    """Schema migrations (alembic)."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Migrate the schema up to REVISION (default: head)."""
    from podium.adapters.postgres.database import upgrade

    _migrate("db upgrade", upgrade, revision)


@db.command("downgrade")
@click.argument("revision")
@click.option(
    "--yes",
    is_flag=True,
    help="Confirm: a downgrade drops what later migrations added (tables, columns) with their data.",
)
def db_downgrade(revision: str, yes: bool) -> None:
    """Migrate the schema down to REVISION (``base`` removes every table, with every row). Needs --yes."""
    from podium.adapters.postgres.database import downgrade

    if not yes:
        dropped = (
            "every table and every row in them"
            if revision == "base"
            else ("the tables and columns that later migrations added, with their data")
        )
        raise click.UsageError(
            f"Downgrading to {revision} drops {dropped}. Back up first (`uv run podium db backup "
            "FILE`), then add --yes."
        )
    _migrate("db downgrade", downgrade, revision)


@db.command("current")
def db_current() -> None:
    """Show the schema revision the database is at."""
    from podium.adapters.postgres.database import current

    settings = load_settings()
    configure_logging(settings.log_level, "console")
    with database(settings, migrate=False) as url:
        click.echo(current(url))


@db.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace FILE if it exists (default: refuse).")
def db_backup(file: Path, force: bool) -> None:
    """Back the whole database up into FILE (PostgreSQL's custom format, for `podium db restore`).

    The file is created readable by its owner only (it holds users' personal data); an existing FILE
    is never replaced without --force.
    """
    from podium.adapters.postgres.backup import BackupError, backup

    settings = load_settings()
    refuse_if_committable(
        file, "The backup", "Choose a file outside the repository or under PODIUM_DATA_DIR."
    )
    if file.exists() and not force:
        raise click.UsageError(
            f"{file} exists ({file.stat().st_size} bytes): choose a new name (e.g. with the date and "
            "time), or add --force to replace it."
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
    """Restore a `podium db backup` FILE. Refuses a database holding rows unless --force, and warns
    when the API is still connected to it."""
    from podium.adapters.postgres.backup import BackupError, restore, rows_held
    from podium.adapters.postgres.database import create_engine
    from podium.adapters.postgres.run_lock import bulk_write_lock, serving_sessions

    settings = load_settings()
    with one_run_at_a_time(), database(settings, migrate=False) as url:

        async def held() -> dict[str, int]:
            engine = create_engine(settings, url)
            try:
                return await rows_held(engine)
            finally:
                await engine.dispose()

        async def locked() -> None:
            async with bulk_write_lock(settings, url, "db restore"):
                counts = await held()
                busy = {table: count for table, count in counts.items() if count}
                if busy and not force:
                    listed = ", ".join(f"{count} {table}" for table, count in sorted(busy.items()))
                    raise click.UsageError(
                        f"The database is not empty ({listed}); add --force to replace it with {file}."
                    )
                if serving := await serving_sessions(settings, url):
                    click.echo(
                        f"Warning: the Podium API has {serving} connection{'s' if serving > 1 else ''} "
                        "open on this database: it is still serving, and its users' changes from now on "
                        "will be lost. Stop it (or put up the maintenance page) first.",
                        err=True,
                    )
                await asyncio.to_thread(
                    restore, url, file, replace=bool(counts), setting=direct_setting(settings)
                )

        try:
            asyncio.run(locked())
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
