"""``podium airtable export DIR`` and ``podium backfill``: the operator's side of the cutover.

Exit status of ``backfill``: 0 when every Airtable record was migrated (alterations are reported),
3 when the run completed but some records could not be migrated (each listed with its reason), 1 on
failure (Airtable unreadable, database refused a phase, bad settings). Runbook: docs/backfill.md.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import TextIO

import click

from podium.config import Settings
from podium.domain.backfill import (
    BackfillResult,
    BackfillWriteError,
    Progress,
    SourceError,
    SourceTable,
    Stage,
    export_snapshot,
    run_backfill,
)
from podium.domain.backfill.ports import RecordSource

FAILURE = 1


class ProgressDisplay:
    """Progress on stderr: table, records, rate and ETA. One live line on a terminal, else a line per table."""

    def __init__(self, stream: TextIO | None = None, *, interval: float = 0.1) -> None:
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.interval = interval
        self._last = 0.0

    def __call__(self, progress: Progress) -> None:
        now = time.monotonic()
        if not progress.finished and (not self.live or now - self._last < self.interval):
            return
        self._last = now
        total = f"/{progress.total}" if progress.total is not None and not progress.finished else ""
        eta = progress.eta_seconds
        eta_text = "done" if progress.finished else ("ETA ?" if eta is None else f"ETA {_duration(eta)}")
        line = (
            f"{progress.stage:<5} {progress.table:<21} {progress.done:>6}{total} records"
            f"  {progress.rate:>8.0f}/s  {eta_text:<10} {_duration(progress.elapsed_seconds)}"
        )
        if self.live:
            self.stream.write("\r\x1b[2K" + line + ("\n" if progress.finished else ""))
        elif progress.finished and (progress.stage is Stage.READ or progress.done):
            self.stream.write(line + "\n")
        self.stream.flush()


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}:{rest:02d}"


def airtable_source(settings: Settings) -> RecordSource:
    from podium.adapters.airtable.source import AirtableSource

    return AirtableSource(
        token=settings.airtable_token,
        base_id=settings.airtable_base_id,
        table_ids={
            SourceTable.USERS: settings.airtable_users_table_id,
            SourceTable.EVENTS: settings.airtable_events_table_id,
            SourceTable.PROJECTS: settings.airtable_projects_table_id,
            SourceTable.REFERRALS: settings.airtable_referrals_table_id,
            SourceTable.VOTES: settings.airtable_votes_table_id,
        },
        endpoint_url=settings.airtable_endpoint_url,
    )


def verification_table(result: BackfillResult) -> str:
    """Airtable count vs Postgres count per table, and what the run did with each record."""
    header = ("table", "airtable", "postgres", "created", "updated", "unchanged", "merged", "skipped")
    rows = [header]
    for table, tally in result.tables.items():
        rows.append(
            (
                str(table),
                str(tally.source),
                "-" if tally.stored is None else str(tally.stored),
                str(tally.created),
                str(tally.updated),
                str(tally.unchanged),
                str(tally.merged),
                str(tally.skipped),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def summary(result: BackfillResult) -> str:
    verb = "would be" if result.dry_run else "were"
    lines = [verification_table(result), ""]
    if result.dry_run:
        lines.append("Dry run: nothing was written; created/updated are what a real run would do.")
    unmigrated = result.unmigrated
    altered = len(result.issues) - len(unmigrated)
    lines.append(f"{altered} records {verb} migrated with a change or merged (see the report for each).")
    if unmigrated:
        lines.append(f"{len(unmigrated)} records could not be migrated:")
        for issue in unmigrated[:20]:
            lines.append(f"  {issue.table} {issue.airtable_id}: {issue.reason} ({issue.detail})")
        if len(unmigrated) > 20:
            lines.append(f"  … and {len(unmigrated) - 20} more (all of them are in --report FILE.json)")
    else:
        lines.append("Every Airtable record was migrated.")
    lines.append(f"Finished in {result.elapsed_seconds:.1f} s.")
    return "\n".join(lines)


async def _backfill(
    settings: Settings, database_url: str, source: RecordSource, dry_run: bool, display: ProgressDisplay
) -> BackfillResult:
    from podium.adapters.postgres.backfill_store import PostgresBackfillStore
    from podium.adapters.postgres.database import create_engine

    engine = create_engine(settings, database_url)
    try:
        return await run_backfill(source, PostgresBackfillStore(engine), dry_run=dry_run, progress=display)
    finally:
        await engine.dispose()


@click.group("airtable")
def airtable() -> None:
    """Read the v1 Airtable base (PODIUM_AIRTABLE_* settings)."""


@airtable.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def export(directory: Path) -> None:
    """Copy every record of the five Airtable tables, unchanged, into DIRECTORY as JSON files."""
    from podium.adapters.airtable.snapshot import SnapshotWriter
    from podium.cli import load_settings

    settings = load_settings()
    try:
        source = airtable_source(settings)
        sink = SnapshotWriter(directory, base_id=settings.airtable_base_id)
        counts = asyncio.run(export_snapshot(source, sink, progress=ProgressDisplay()))
    except SourceError as exc:
        raise click.ClickException(str(exc)) from exc
    listed = ", ".join(f"{count} {table}" for table, count in counts.items())
    click.echo(f"Exported {listed} to {directory}")


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
    help="Also write the full machine-readable report (every skipped or altered record) to this JSON file.",
)
def backfill(snapshot: Path | None, dry_run: bool, report: Path | None) -> None:
    """Copy the Airtable base into PostgreSQL (idempotent: run it again to resume or to catch up).

    Exit status: 0 all records migrated, 3 completed but some records could not be migrated, 1 failure.
    """
    from podium.adapters.airtable.snapshot import SnapshotSource
    from podium.cli import database, load_settings

    settings = load_settings()
    try:
        source: RecordSource = SnapshotSource(snapshot) if snapshot else airtable_source(settings)
        with database(settings, migrate=True) as url:
            result = asyncio.run(_backfill(settings, url, source, dry_run, ProgressDisplay()))
    except (SourceError, BackfillWriteError) as exc:
        click.echo(f"Error: {exc}", err=True)
        click.echo("Nothing is half-written: run the same command again once the cause is fixed.", err=True)
        sys.exit(FAILURE)
    click.echo(summary(result))
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        click.echo(f"Report written to {report}")
    sys.exit(result.exit_status)


__all__ = ["airtable", "backfill", "summary", "verification_table"]
