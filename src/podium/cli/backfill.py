"""``podium backfill``: copy the Airtable base into PostgreSQL, the operator's side of the cutover.

Exit status: 0 when every Airtable record was migrated (alterations are reported), 3 when the run completed
but some records could not be migrated, or rows changed in v2 or gone from Airtable were left alone (each
listed with its reason) and at least one of them was not reported by an earlier run, 4 when every one of
them was (nothing new), 1 on failure (Airtable unreadable, database refused a phase, bad settings), 2 on
wrong usage (click's usage errors: an unknown option, a snapshot folder that does not exist, an output
path git would not ignore), 75 when another bulk write holds the database (nothing done). Runbook:
docs/backfill.md.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path

import click

from podium.adapters.private_files import write_private
from podium.cli.common import database, exclusive_unless_dry, load_settings, one_run_at_a_time
from podium.cli.output import (
    ProgressDisplay,
    announce,
    default_instead,
    refuse_if_committable,
    summary,
    timestamp,
)
from podium.config import Settings
from podium.domain.backfill import BackfillResult, BackfillWriteError, SourceError, run_backfill
from podium.domain.backfill.ports import RecordSource

FAILURE = 1


def _nothing_to_check() -> None:
    """A snapshot was checked against its manifest when it was opened."""


async def _backfill(
    settings: Settings,
    database_url: str,
    source: RecordSource,
    display: ProgressDisplay,
    *,
    check_source: Callable[[], None],
    dry_run: bool,
    overwrite_v2_changes: bool,
    prune: bool,
) -> BackfillResult:
    from podium import bootstrap  # the adapters' imports are heavy: only for this command

    # The lock first: a second run is refused before it asks Airtable anything.
    async with exclusive_unless_dry(settings, database_url, "backfill", dry_run=dry_run), \
            bootstrap.backfill_store(settings, database_url) as store:  # fmt: skip
        await asyncio.to_thread(check_source)
        return await run_backfill(
            source,
            store,
            dry_run=dry_run,
            overwrite_v2_changes=overwrite_v2_changes,
            prune=prune,
            progress=display,
        )


@click.command("backfill")
@click.option(
    "--from-snapshot",
    "snapshot",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Read a directory written by `podium airtable export` instead of the live Airtable API.",
)
@click.option("--dry-run", is_flag=True, help="Read and validate everything and report; write nothing.")
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the full JSON report (every skipped, merged or altered record); default "
    "PODIUM_DATA_DIR/backfill-reports/<UTC time>[-dry-run].json.",
)
@click.option(
    "--overwrite-v2-changes",
    is_flag=True,
    help="Write Airtable's values over rows changed or deleted in v2 since the last run (default: leave "
    "them as v2 has them and report each as a conflict).",
)
@click.option(
    "--prune",
    is_flag=True,
    help="Delete rows whose Airtable record was deleted since the last run, and what hangs off them "
    "(default: report them, delete nothing). Each deleted row is reported.",
)
def backfill(
    snapshot: Path | None, dry_run: bool, report: Path | None, overwrite_v2_changes: bool, prune: bool
) -> None:
    """Copy the Airtable base into PostgreSQL (idempotent: run it again to resume or to catch up).

    A re-run leaves rows changed or deleted in v2 since the last run as v2 has them (reported as
    conflicts, with both values). Exit status: 0 all records migrated, 3 completed but some records
    could not be migrated, or conflicts with v2 or rows gone from Airtable were left for review, some
    new since earlier runs, 4 the same but all reported by an earlier run, 1 failure, 2 wrong usage
    (unknown option, missing snapshot folder, a report path git would not ignore), 75 another bulk
    write holds the database (nothing done).
    """
    from podium import bootstrap  # the adapters' imports are heavy: only for this command

    settings = load_settings()
    if report is None:
        suffix = "-dry-run" if dry_run else ""
        report = settings.data_dir / "backfill-reports" / f"{timestamp()}{suffix}.json"
    refuse_if_committable(report, "The report", default_instead(settings))
    if not settings.database_url:
        # The embedded database receives the same records.
        refuse_if_committable(
            settings.data_dir / "postgres" / "PG_VERSION",
            "The embedded database in PODIUM_DATA_DIR",
            "Point PODIUM_DATA_DIR at a git-ignored folder (the default .data is) or outside the repository.",
        )
    try:
        check_source: Callable[[], None] = _nothing_to_check
        if snapshot is not None:
            source: RecordSource = bootstrap.snapshot_source(snapshot)
        else:
            live = bootstrap.airtable_source(settings, announce)
            # One request per table before the long read: a wrong setting fails in a second.
            check_source = live.check
            source = live
        with one_run_at_a_time(), database(settings, migrate=True) as url:
            result = asyncio.run(
                _backfill(
                    settings,
                    url,
                    source,
                    ProgressDisplay(),
                    check_source=check_source,
                    dry_run=dry_run,
                    overwrite_v2_changes=overwrite_v2_changes,
                    prune=prune,
                )
            )
    except (SourceError, BackfillWriteError) as exc:
        click.echo(f"Error: {exc}", err=True)
        click.echo("Nothing is half-written: run the same command again once the cause is fixed.", err=True)
        sys.exit(FAILURE)
    click.echo(summary(result))
    write_private(report, json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n")
    click.echo(f"Report written to {report}")
    sys.exit(result.exit_status)
