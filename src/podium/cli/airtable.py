"""``podium airtable export|write-back|fake-server``: read the v1 Airtable base, write v2's changes back
to it (:mod:`podium.cli.writeback`), or rehearse against a fake one."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import click

from podium.adapters.airtable.manifest import MANIFEST
from podium.cli.common import load_settings
from podium.cli.output import ProgressDisplay, announce, default_instead, refuse_if_committable, timestamp
from podium.cli.writeback import write_back
from podium.domain.backfill import SourceError, export_snapshot


@click.group("airtable")
def airtable() -> None:
    """Read the v1 Airtable base (PODIUM_AIRTABLE_* settings), or rehearse against a fake one."""


@airtable.command("export")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--format",
    "formats",
    type=click.Choice(["json", "csv"]),
    multiple=True,
    help="json (default; what the backfill reads) or csv (one spreadsheet-readable file per table); "
    "repeat the option for both from one read.",
)
@click.option("--force", is_flag=True, help="Replace a complete snapshot already in DIRECTORY.")
def export(directory: Path | None, formats: tuple[str, ...], force: bool) -> None:
    """Copy every record of the five Airtable tables, unchanged, into DIRECTORY.

    As JSON files (the default, what `podium backfill --from-snapshot` reads) and/or CSV files, plus a
    manifest.json with the counts and a sha256 per file. Default DIRECTORY:
    PODIUM_DATA_DIR/airtable-snapshots/<UTC time>. A DIRECTORY inside the git work tree that git does
    not ignore is refused (exit 2): the records are personal data. A DIRECTORY already holding a
    complete snapshot (the one a backfill may have read) is refused (exit 2) unless --force.
    """
    from podium import bootstrap  # the adapters' imports are heavy: only for this command

    settings = load_settings()
    if directory is None:
        directory = settings.data_dir / "airtable-snapshots" / timestamp()
    manifest = directory / MANIFEST
    refuse_if_committable(manifest, "The snapshot folder", default_instead(settings))
    if manifest.exists() and not force:
        raise click.UsageError(
            f"{directory} already holds a complete snapshot: choose a new folder (e.g. with the date and "
            "time), or add --force to replace it."
        )
    try:
        source = bootstrap.airtable_source(settings, announce)
        source.check()
        sink = bootstrap.snapshot_writer(directory, settings, formats or ("json",))
        counts = asyncio.run(export_snapshot(source, sink, progress=ProgressDisplay()))
    except SourceError as exc:
        raise click.ClickException(str(exc)) from exc
    listed = ", ".join(f"{count} {table}" for table, count in counts.items())
    written = " and ".join(f.upper() for f in sink.formats)
    click.echo(f"Exported {listed} to {directory} ({written}; sha256 sums in manifest.json)")


airtable.add_command(write_back)


@airtable.command("fake-server")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=0, help="Port on 127.0.0.1 (default: any free one)."
)
@click.option(
    "--scale",
    type=click.Choice(["legacy", "small"]),
    default="legacy",
    show_default=True,
    help="legacy: the size of the v1 base (~90 pages); small: a few pages, every dirty case still there.",
)
@click.option("--seed", type=int, default=2024, show_default=True, help="Seed of the synthetic records.")
@click.option(
    "--rate-limit/--no-rate-limit",
    default=True,
    show_default=True,
    help="Enforce Airtable's 5 requests/second per base (a 429 with Retry-After: 30 beyond it).",
)
def fake_server(port: int, scale: str, seed: int, rate_limit: bool) -> None:
    """Rehearse the cutover: a fake Airtable on 127.0.0.1 serving synthetic, deliberately dirty v1 data.

    Prints the PODIUM_AIRTABLE_* settings that point `podium airtable export` and `podium backfill`
    at it, then serves until Ctrl-C. No production credentials, no personal data.
    """
    from podium.testing.fake_airtable import FakeAirtable
    from podium.testing.synthetic_airtable import (
        DEFAULT_BASE_ID,
        DEFAULT_TABLE_IDS,
        LEGACY_SCALE,
        SMALL_SCALE,
        generate,
    )

    base = generate(seed=seed, scale=LEGACY_SCALE if scale == "legacy" else SMALL_SCALE)
    fake = FakeAirtable(
        {DEFAULT_BASE_ID: base.by_table_id()},
        port=port,
        rate_limit=5 if rate_limit else None,
        rate_limit_retry_after=30,
    )
    fake.start()
    try:
        counts = ", ".join(f"{len(rows)} {table}" for table, rows in base.records.items())
        click.echo(f"Fake Airtable on {fake.url}: synthetic {scale}-scale base ({counts}).")
        click.echo("Point the backfill at it (paste into the operator's shell):")
        click.echo()
        settings = {
            "PODIUM_AIRTABLE_ENDPOINT_URL": fake.url,
            "PODIUM_AIRTABLE_TOKEN": fake.token,
            "PODIUM_AIRTABLE_BASE_ID": DEFAULT_BASE_ID,
            **{
                f"PODIUM_AIRTABLE_{str(t).upper()}_TABLE_ID": table_id
                for t, table_id in DEFAULT_TABLE_IDS.items()
            },
        }
        for name, value in settings.items():
            click.echo(f"export {name}={value}")
        click.echo()
        click.echo("# To rehearse into a scratch database rather than your own, also:")
        click.echo("#   unset PODIUM_DATABASE_URL; export PODIUM_DATA_DIR=.data/rehearsal")
        click.echo("Serving until Ctrl-C.")
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()
