"""What the cutover commands print and write: live progress, the verification tables, the summary, and
the guard that keeps Airtable users' personal data out of the git work tree."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import TextIO

import click

from podium.config import Settings
from podium.domain.backfill import BackfillResult, Outcome, Progress, Stage


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


def announce(line: str) -> None:
    """A line on stderr about a wait (a 429's back-off: what for, until when), on its own line even
    while a live progress line is showing."""
    clear = "\r\x1b[2K" if sys.stderr.isatty() else ""
    click.echo(clear + line, err=True)


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}:{rest:02d}"


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
    lines += _v2_sections(result)
    review, new = len(result.needs_review), len(result.new_for_review)
    if review and not new:
        lines.append(
            f"All {review} records left for review were reported by an earlier run: nothing new (exit 4)."
        )
    elif review and new < review:
        lines.append(f"{new} of the {review} records left for review are new since earlier runs (exit 3); "
                     "the others were reported before.")  # fmt: skip
    lines.append(f"Finished in {result.elapsed_seconds:.1f} s.")
    return "\n".join(lines)


def _v2_sections(result: BackfillResult, shown: int = 20) -> list[str]:
    """Conflicts with v2 (both values), rows gone from Airtable, and every row pruned."""
    lines: list[str] = []
    sections = (
        (Outcome.CONFLICT, "rows changed or deleted in v2 since the last run were left as v2 has them "
         "(--overwrite-v2-changes writes Airtable's values):"),
        (Outcome.GONE, "rows written by an earlier run are gone from Airtable; kept (--prune deletes them):"),
        (Outcome.PRUNED, "rows were deleted (--prune)" + (" in a real run" if result.dry_run else "") + ":"),
    )  # fmt: skip
    for outcome, title in sections:
        issues = [issue for issue in result.issues if issue.outcome is outcome]
        if not issues:
            continue
        limit = len(issues) if outcome is Outcome.PRUNED else shown
        lines.append(f"{len(issues)} {title}")
        for issue in issues[:limit]:
            lines.append(f"  {issue.table} {issue.airtable_id}: {issue.reason} ({issue.detail})")
        if len(issues) > limit:
            lines.append(f"  … and {len(issues) - limit} more (all of them are in the report)")
    return lines


def timestamp() -> str:
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


def default_instead(settings: Settings) -> str:
    return (
        f"Leave the path out to use the default under PODIUM_DATA_DIR ({settings.data_dir}), or choose a "
        "folder outside the repository."
    )
