"""``podium airtable export DIR`` and ``podium backfill``: the operator's side of the cutover.

Exit status of ``backfill``: 0 when every Airtable record was migrated (alterations are reported),
3 when the run completed but some records could not be migrated (each listed with its reason), 1 on
failure (Airtable unreadable, database refused a phase, bad settings), 2 on wrong usage (click's
usage errors: an unknown option, a snapshot folder that does not exist, an output path git would not
ignore). Runbook: docs/backfill.md.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

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

if TYPE_CHECKING:
    from podium.adapters.airtable.source import AirtableSource

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


def airtable_source(settings: Settings) -> AirtableSource:
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


def _render(rows: list[list[str]], *, left: int = 1) -> str:
    """Columns aligned: the first ``left`` (words) to the left, the others (numbers) to the right."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            cell.ljust(w) if i < left else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def verification_table(result: BackfillResult) -> str:
    """Airtable count vs Postgres count per table, and what the run did with each record.

    The columns are the keys of the report's ``tables`` entries, so the two always use the same names.
    """
    rows: list[list[str]] = []
    for table, tally in result.tables.items():
        cells = tally.to_json()
        if not rows:
            rows.append(["table", *cells])
        rows.append([str(table), *("-" if value is None else str(value) for value in cells.values())])
    return _render(rows)


def reasons_table(result: BackfillResult) -> str:
    """A count per table, outcome and reason; the columns are the keys of the report's ``issue_counts``."""
    counts = [count.to_json() for count in result.reason_counts()]
    if not counts:
        return ""
    header = list(counts[0])
    rows = [header, *([str(count[key]) for key in header] for count in counts)]
    return _render(rows, left=len(header) - 1)


def summary(result: BackfillResult) -> str:
    verb = "would be" if result.dry_run else "were"
    lines = [verification_table(result), ""]
    reasons = reasons_table(result)
    if reasons:
        lines += [reasons, ""]
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
            lines.append(f"  … and {len(unmigrated) - 20} more (all of them are in the report)")
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


def _timestamp() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H%M%SZ")


def refuse_if_committable(path: Path, what: str, remedy: str) -> None:
    """Stop (exit 2) before writing Airtable users' personal data where ``git add .`` would pick it up.

    That is: inside a git work tree, at a path git does not ignore (a tracked file is not ignored).
    Without git on the machine there is nothing that could commit it, so nothing is checked.
    """
    git = shutil.which("git")
    if git is None:
        return
    target = path.resolve()
    existing = target
    while not existing.is_dir():
        existing = existing.parent
    top = subprocess.run(
        [git, "-C", str(existing), "rev-parse", "--show-toplevel"],
        capture_output=True,
        text=True,
        check=False,
    )
    if top.returncode != 0:
        return  # not inside a git work tree
    root = Path(top.stdout.strip())
    ignored = subprocess.run(
        [git, "-C", str(root), "check-ignore", "-q", str(target)], capture_output=True, check=False
    )
    if ignored.returncode != 1:  # 0: ignored; anything else: git could not tell
        return
    raise click.UsageError(
        f"{what} {path} would be inside the git work tree {root} and not git-ignored, so `git add .` "
        f"would pick up Airtable users' personal data. {remedy}"
    )


def _default_instead(settings: Settings) -> str:
    return (
        f"Leave the path out to use the default under PODIUM_DATA_DIR ({settings.data_dir}), or choose a "
        "folder outside the repository."
    )


@click.group("airtable")
def airtable() -> None:
    """Read the v1 Airtable base (PODIUM_AIRTABLE_* settings), or rehearse against a fake one."""


@airtable.command("export")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
def export(directory: Path | None) -> None:
    """Copy every record of the five Airtable tables, unchanged, into DIRECTORY as JSON files.

    Default DIRECTORY: PODIUM_DATA_DIR/airtable-snapshots/<UTC time>. A DIRECTORY inside the git
    work tree that git does not ignore is refused (exit 2): the records are personal data.
    """
    from podium.adapters.airtable.snapshot import SnapshotWriter
    from podium.cli import load_settings

    settings = load_settings()
    if directory is None:
        directory = settings.data_dir / "airtable-snapshots" / _timestamp()
    refuse_if_committable(directory / "manifest.json", "The snapshot folder", _default_instead(settings))
    try:
        source = airtable_source(settings)
        source.check()
        sink = SnapshotWriter(directory, base_id=settings.airtable_base_id)
        counts = asyncio.run(export_snapshot(source, sink, progress=ProgressDisplay()))
    except SourceError as exc:
        raise click.ClickException(str(exc)) from exc
    listed = ", ".join(f"{count} {table}" for table, count in counts.items())
    click.echo(f"Exported {listed} to {directory}")


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
def backfill(snapshot: Path | None, dry_run: bool, report: Path | None) -> None:
    """Copy the Airtable base into PostgreSQL (idempotent: run it again to resume or to catch up).

    Exit status: 0 all records migrated, 3 completed but some records could not be migrated, 1 failure,
    2 wrong usage (unknown option, missing snapshot folder, a report path git would not ignore).
    """
    from podium.adapters.airtable.snapshot import SnapshotSource
    from podium.cli import database, load_settings

    settings = load_settings()
    if report is None:
        suffix = "-dry-run" if dry_run else ""
        report = settings.data_dir / "backfill-reports" / f"{_timestamp()}{suffix}.json"
    refuse_if_committable(report, "The report", _default_instead(settings))
    if not settings.database_url:
        # The embedded database receives the same records.
        refuse_if_committable(
            settings.data_dir / "postgres" / "PG_VERSION",
            "The embedded database in PODIUM_DATA_DIR",
            "Point PODIUM_DATA_DIR at a git-ignored folder (the default .data is) or outside the repository.",
        )
    try:
        if snapshot is not None:
            source: RecordSource = SnapshotSource(snapshot)
        else:
            live = airtable_source(settings)
            live.check()
            source = live
        with database(settings, migrate=True) as url:
            result = asyncio.run(_backfill(settings, url, source, dry_run, ProgressDisplay()))
    except (SourceError, BackfillWriteError) as exc:
        click.echo(f"Error: {exc}", err=True)
        click.echo("Nothing is half-written: run the same command again once the cause is fixed.", err=True)
        sys.exit(FAILURE)
    click.echo(summary(result))
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    click.echo(f"Report written to {report}")
    sys.exit(result.exit_status)


__all__ = ["airtable", "backfill", "reasons_table", "summary", "verification_table"]
