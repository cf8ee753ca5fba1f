"""The ``podium`` command line: a module per command group, all registered on one ``main`` group.

- ``serve``: the API (:mod:`podium.cli.serve`);
- ``db upgrade|downgrade|current``: schema migrations (:mod:`podium.cli.db`);
- ``airtable export|fake-server`` and ``backfill``: the cutover (:mod:`podium.cli.airtable`,
  :mod:`podium.cli.backfill`);
- ``smoke``: the cutover's smoke test against a running deployment (:mod:`podium.cli.smoke`).
- ``admin grant|revoke EMAIL``: superadmins (:mod:`podium.cli.admin`).

Commands take their settings from :func:`podium.cli.common.load_settings` and their adapters from the
composition root (:mod:`podium.bootstrap`).
"""

from __future__ import annotations

import contextlib

import click

from podium.cli.admin import admin
from podium.cli.airtable import airtable
from podium.cli.backfill import backfill
from podium.cli.common import EMBEDDED_DATABASE, direct_setting, told_in_one_line
from podium.cli.db import db
from podium.cli.serve import serve
from podium.cli.smoke import smoke
from podium.config import Settings, SettingsError


class _Podium(click.Group):
    """Database failures that escape a command (connecting outside ``database()``) end in one line."""

    def invoke(self, ctx: click.Context) -> object:
        settings = None
        with contextlib.suppress(SettingsError):  # the command itself reports it, naming the setting
            settings = Settings.from_env()
        if settings is None or not settings.direct_database_url:
            return super().invoke(ctx)
        with told_in_one_line(settings.direct_database_url, direct_setting(settings)):
            return super().invoke(ctx)


@click.group(cls=_Podium)
@click.version_option(package_name="podium")
def main() -> None:
    """Podium v2: the peer-judging backend for hackathons."""


for _command in (serve, db, airtable, backfill, smoke, admin):
    main.add_command(_command)

__all__ = ["EMBEDDED_DATABASE", "main"]
