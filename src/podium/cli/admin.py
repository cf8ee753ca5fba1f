"""``podium admin grant|revoke EMAIL``: superadmins are made and unmade here, never over HTTP (issue 15)."""

from __future__ import annotations

import asyncio

import click

from podium.cli.common import database, load_settings
from podium.logging import configure_logging


@click.group()
def admin() -> None:
    """Superadmins: users who pass every event-owner check and reach the /superadmin routes."""


def _set(email: str, granted: bool) -> None:
    from podium.bootstrap import superadmin_service

    settings = load_settings()
    configure_logging(settings.log_level, "console")

    async def run(url: str) -> bool:
        async with superadmin_service(settings, url) as service:
            return await service.set_superadmin(email, granted)

    with database(settings, migrate=True) as url:
        found = asyncio.run(run(url))
    if not found:
        raise click.ClickException(
            f"No user with the email {email.strip().lower()!r}: they must sign up first"
        )
    click.echo(f"{email.strip().lower()} is {'now' if granted else 'no longer'} a superadmin")


@admin.command("grant")
@click.argument("email")
def grant(email: str) -> None:
    """Make the user with EMAIL a superadmin."""
    _set(email, True)


@admin.command("revoke")
@click.argument("email")
def revoke(email: str) -> None:
    """Take the superadmin flag away from the user with EMAIL."""
    _set(email, False)
