"""Snapshots, reports and secrets are created readable by their owner only (0600 in 0700 folders),
whatever the umask, and a leftover of a killed run does not pass its mode on."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from podium.adapters.airtable.snapshot import SnapshotWriter
from podium.adapters.private_files import write_private
from podium.cli.serve import development_secret
from podium.config import Settings
from podium.domain.backfill import SourceRecord, SourceTable
from tests.support.private import assert_private


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    previous = os.umask(0o022)  # the usual default: files 0644, folders 0755
    yield
    os.umask(previous)


def test_a_snapshot_in_both_formats_is_private(tmp_path: Path) -> None:
    folder = tmp_path / "secure" / "airtable-2026-12-07"
    folder.parent.mkdir()  # the operator's folder exists: left as it is
    leftover = folder / "users.csv.tmp"
    folder.mkdir(0o755)
    leftover.write_text("half of a killed run")
    os.chmod(folder, 0o700)
    writer = SnapshotWriter(folder, formats=("json", "csv"))
    for table in SourceTable:
        writer.write_table(table, [SourceRecord(id="rec1", created_time="2024-01-01T00:00:00.000Z",
                                                fields={"email": "a@example.org"})])  # fmt: skip
    writer.finish(dict.fromkeys(SourceTable, 1))
    assert assert_private(folder) == 2 * len(SourceTable) + 1


def test_missing_folders_are_created_private_and_reports_are_private(tmp_path: Path) -> None:
    report = tmp_path / "data" / "backfill-reports" / "2026.json"
    write_private(report, '{"issues": []}\n')
    assert report.read_text() == '{"issues": []}\n'
    assert_private(tmp_path / "data")


def test_the_development_secret_is_created_private(tmp_path: Path) -> None:
    settings = Settings.from_env({"PODIUM_DATA_DIR": str(tmp_path / "data")})
    secret = development_secret(settings)
    assert development_secret(settings) == secret
    assert_private(tmp_path / "data")
