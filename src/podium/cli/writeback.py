"""``podium airtable write-back``: the rollback without loss — copy what v2 created, changed or deleted
since the backfill into the v1 Airtable base, so that redeploying v1 loses nothing (docs/cutover.md).

A real run and its dry run first check, read-only, everything the run touches: the database answers and
is migrated, Airtable accepts the token and has the base and its five tables.

Exit status: 0 everything written (or, with --dry-run, listed), 1 failure (Airtable refused a request,
the database is unreachable: what was written before is recorded, run again to resume), 2 wrong usage,
75 another bulk write (backfill, write-back, restore, migration) holds this database: nothing was done.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import click

from podium import bootstrap
from podium.adapters.private_files import write_private
from podium.cli.common import database, exclusive_unless_dry, load_settings, one_run_at_a_time
from podium.cli.output import ProgressDisplay, announce, default_instead, refuse_if_committable, timestamp
from podium.config import Settings
from podium.domain.backfill import BackfillWriteError, SourceError
from podium.domain.backfill.writeback_run import WriteBackError, WriteBackResult, run_write_back

ACTIONS = ("create", "update", "delete")
DRY_RUN_FAILED = "Dry run: nothing was written. Fix the cause and run the dry run again."


async def _write_back(settings: Settings, url: str, dry_run: bool) -> WriteBackResult:
    # Before anything is planned or sent, everything the run touches answers (read-only): the database,
    # migrated (checked by `database(…, migrate=True)` before this runs); Airtable, with this token, base
    # and five tables. A dry run then proves the real one can. The lock comes before Airtable is asked
    # anything: a second run is refused at once, and its checks never eat into the running one's request
    # budget (Airtable counts per base).
    async with exclusive_unless_dry(settings, url, "airtable write-back", dry_run=dry_run):
        await asyncio.to_thread(bootstrap.airtable_source(settings, announce).check)
        writer = bootstrap.airtable_writer(settings, announce)
        await asyncio.to_thread(writer.check_write_scope)
        async with bootstrap.backfill_store(settings, url) as store:
            return await run_write_back(store, writer, dry_run=dry_run, progress=ProgressDisplay())


def render(result: WriteBackResult) -> str:
    rows = [["table", *ACTIONS]]
    for table in ("users", "events", "projects", "referrals", "votes"):
        counts = result.counts.get(table, {})
        rows.append([table, *(str(counts.get(action, 0)) for action in ACTIONS)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    verb = "would take" if result.dry_run else "took"
    lines.append("")
    lines.append(f"{sum(sum(c.values()) for c in result.counts.values())} records; the write-back {verb} "
                 f"{result.requests} requests (10 records at most each, 5 a second at most).")  # fmt: skip
    if result.unknown:
        lines.append(
            f"{result.unknown} rows have an Airtable id but no record of what was written to Airtable "
            "(backfilled before it was kept): not compared. Run `podium backfill` once to record them."
        )
    if result.dry_run:
        lines.append("Dry run: nothing was written.")
    lines.append(f"Finished in {result.elapsed_seconds:.1f} s.")
    return "\n".join(lines)


@click.command("write-back")
@click.option(
    "--dry-run",
    is_flag=True,
    help="List what would be written and check, read-only, that Airtable and the database answer; "
    "send nothing.",
)
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the JSON report (every record written); default "
    "PODIUM_DATA_DIR/write-back-reports/<UTC time>[-dry-run].json.",
)
def write_back(dry_run: bool, report: Path | None) -> None:
    """Copy what v2 created, changed or deleted since the backfill into the v1 Airtable base.

    Idempotent (a second run writes nothing) and resumable (a killed run continues where it stopped).
    Needs a token with the data.records:write scope. Exit status: 0 done, 1 failure (run again to
    resume), 2 wrong usage, 75 another run holds the database (nothing done).
    """
    settings = load_settings()
    if report is None:
        report = (
            settings.data_dir / "write-back-reports" / f"{timestamp()}{'-dry-run' if dry_run else ''}.json"
        )
    refuse_if_committable(report, "The report", default_instead(settings))
    try:
        with one_run_at_a_time(), database(settings, migrate=True) as url:
            result = asyncio.run(_write_back(settings, url, dry_run))
    except click.ClickException as exc:  # the database unreachable or not migrated: one line
        if not dry_run:
            raise
        exc.show()
        click.echo(DRY_RUN_FAILED, err=True)
        sys.exit(exc.exit_code)
    except (WriteBackError, SourceError, BackfillWriteError) as exc:
        click.echo(f"Error: {exc}", err=True)
        if dry_run:
            click.echo(DRY_RUN_FAILED, err=True)
        else:
            click.echo("What was written before is recorded: run the same command again to resume.", err=True)
        sys.exit(1)
    click.echo(render(result))
    write_private(report, json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n")
    click.echo(f"Report written to {report}")
